// Internal barrel for the pure renderers: src/index.ts decides what, if anything, reaches the package root.
export * from './handler-config';
export * from './toml';
export * from './containerd-config';
export * from './crio-config';
export * from './runsc-config';
