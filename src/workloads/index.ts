export * from './footprint';
export * from './sandboxed-workloads';
