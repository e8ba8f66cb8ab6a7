export * from './overhead';
export * from './scheduling';
export * from './runtime-class';
