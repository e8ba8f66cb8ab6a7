export * from './core';
export * from './runtimes';
export * from './workloads';
