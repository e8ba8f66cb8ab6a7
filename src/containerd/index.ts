// Internal barrel for the pure renderers: the lead decides what, if anything, reaches src/index.ts.
export * from './handler-config';
export * from './toml';
export * from './containerd-config';
export * from './crio-config';
export * from './runsc-config';
