export * from './core';
export * from './managed';
export * from './migration';
export * from './monitoring';
export * from './node-setup';
export * from './policy';
export * from './runtimes';
export * from './workloads';
