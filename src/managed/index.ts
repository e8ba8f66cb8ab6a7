export * from './platform-kinds';
export * from './managed-runtime-class';
export * from './managed-platform';
