export * from './core';
export * from './node-setup';
export * from './runtimes';
export * from './workloads';
