export * from './runtime-alerts';
