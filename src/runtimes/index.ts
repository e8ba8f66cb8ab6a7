export type { ContainerdHandlerOptions, CrioHandlerOptions, RuntimePresetOptions, SandboxedRuntimeProps } from './sandboxed-runtime';
export { CrioRuntimeType, SandboxedRuntime } from './sandboxed-runtime';
export * from './kata';
export * from './gvisor';
export * from './crun';
export * from './runc';
