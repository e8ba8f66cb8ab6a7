#!/usr/bin/env node
// The package's command line (`npx cdk8s-runtimeclass report ...`): binds the report to the
// process. Not exported from the library's entry point.
import * as fs from 'fs';
import { runCli } from './report/cli';
import { descriptorChunks } from './report/read';

process.exitCode = runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: () => fs.readFileSync(0, 'utf8'),
  stdinChunks: () => descriptorChunks(0),
});
