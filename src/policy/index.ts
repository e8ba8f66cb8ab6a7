export * from './admission-options';
export * from './namespace-selector';
export * from './runtime-class-policy';
export * from './runtime-class-restriction';
export * from './runtime-class-default';
