export * from './artifacts';
export * from './node-setup';
