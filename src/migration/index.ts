export * from './runtime-migration';
