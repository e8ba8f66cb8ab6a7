// The footprint report's stages, for the command line and tests. Not part of the library's
// jsii API (src/index.ts does not export it).
export * from './read';
export * from './model';
export * from './problems';
export * from './render';
export * from './cli';
