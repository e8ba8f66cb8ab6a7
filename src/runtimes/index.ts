export * from './sandboxed-runtime';
export * from './kata';
export * from './gvisor';
export * from './crun';
export * from './runc';
