// The public API of the core layer. Helpers that other layers share (validation, rendering,
// merging) stay importable from their own files and out of the package root.
export type { PodOverheadProps, ResourceAmountsProps } from './overhead';
export { PodOverhead } from './overhead';
export { ResourceAmounts } from './resource-amounts';
export type { RuntimeScheduling, RuntimeToleration } from './scheduling';
export { TaintEffect, TolerationOperator } from './scheduling';
export type { IRuntimeClass, RuntimeClassProps, RuntimeClassReferenceOptions, RuntimeLimits } from './runtime-class';
export { RuntimeClass } from './runtime-class';
