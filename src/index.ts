export * from './core';
export * from './managed';
export * from './migration';
export * from './monitoring';
// The node setup's module also holds what runtimes hand it and its label prefix: only its
// documented types reach the package root.
export type { ImageArtifactOptions, PreinstalledArtifactOptions, UrlArtifactOptions } from './node-setup/artifacts';
export { CpuArchitecture, RuntimeArtifacts } from './node-setup/artifacts';
export type { NodeSetupProps } from './node-setup/node-setup';
export { KubernetesDistribution, NodeSetup } from './node-setup/node-setup';
export * from './policy';
export * from './runtimes';
export * from './workloads';
