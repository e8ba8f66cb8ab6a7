export * from './deployment-migration';
export * from './migration-split';
export * from './runtime-migration';
