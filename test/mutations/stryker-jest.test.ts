import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The jest runner and environment of Stryker's runs (stryker.config.mjs), run by real jest processes
// on a project of three test files, as Stryker's jest runner calls jest: in band, a mutant's covering
// tests named in testNamePattern, the mutant in __STRYKER_ACTIVE_MUTANT__.
const RUNNER = path.join(__dirname, 'stryker-jest-runner.cjs');
const ENVIRONMENT = path.join(__dirname, 'stryker-jest-environment.cjs');
const JEST = require.resolve('jest/bin/jest');

/** A test file that records, in `loaded/`, that jest loaded it, and each test that ran. */
function testFile(name: string, tests: Array<[string, 'passes' | 'fails']>, padding = 0): string {
  return [
    "const fs = require('fs');",
    "const path = require('path');",
    `fs.writeFileSync(path.join(__dirname, 'loaded', '${name}'), '');`,
    `describe('${name}', () => {`,
    ...tests.map(([test, outcome]) => [
      `  test('${test}', () => {`,
      `    fs.writeFileSync(path.join(__dirname, 'loaded', '${name} ${test}'), '');`,
      outcome === 'fails' ? "    throw new Error('the mutant is caught');" : '',
      '  });',
    ].join('\n')),
    '});',
    `// ${'x'.repeat(padding)}`,
  ].join('\n');
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stryker-jest-'));
  // jest's sequencer runs the larger files first when it has no timings: beta, then alpha, then gamma.
  fs.writeFileSync(path.join(dir, 'alpha.test.js'), testFile('alpha', [['one', 'passes'], ['two', 'passes']], 2000));
  fs.writeFileSync(path.join(dir, 'beta.test.js'), testFile('beta', [['fails', 'fails'], ['after', 'passes']], 4000));
  fs.writeFileSync(path.join(dir, 'gamma.test.js'), testFile('gamma', [['one', 'passes']]));
  fs.writeFileSync(path.join(dir, 'package.json'), '{}');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs jest in band as Stryker does; returns what was loaded and each test's status by file. */
function runJest(run: { mutant?: string; testNamePattern?: string }) {
  fs.rmSync(path.join(dir, 'loaded'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'loaded'));
  const out = path.join(dir, `results-${Date.now()}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, STRYKER_TEST_NAMES_FILE: path.join(dir, 'names', 'test-names.json') };
  delete env.__STRYKER_ACTIVE_MUTANT__;
  if (run.mutant) env.__STRYKER_ACTIVE_MUTANT__ = run.mutant;
  const args = [JEST, '--rootDir', dir, '--runInBand', '--ci', '--coverage=false', '--cacheDirectory', path.join(dir, `cache-${Date.now()}`),
    '--testEnvironment', ENVIRONMENT, '--runner', RUNNER, '--json', '--outputFile', out];
  if (run.testNamePattern) args.push('--testNamePattern', run.testNamePattern);
  const result = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
  if (!fs.existsSync(out)) throw new Error(`jest wrote no results (exit ${result.status}): ${result.stderr}`);
  const json = JSON.parse(fs.readFileSync(out, 'utf8'));
  const statuses: Record<string, string[]> = {};
  for (const file of json.testResults) {
    statuses[path.basename(file.name)] = file.assertionResults.map((a: any) => `${a.fullName}: ${a.status}`);
  }
  return { loaded: fs.readdirSync(path.join(dir, 'loaded')).sort(), statuses };
}

describe('Stryker\'s jest runner and environment (stryker.config.mjs), run by real jest processes', () => {
  test('the initial run (no mutant) runs every file and test, and records each file\'s test names for the other runner processes', () => {
    const { loaded } = runJest({});
    expect(loaded).toEqual(['alpha', 'alpha one', 'alpha two', 'beta', 'beta after', 'beta fails', 'gamma', 'gamma one']);
    const names = JSON.parse(fs.readFileSync(path.join(dir, 'names', 'test-names.json'), 'utf8'));
    expect(Object.fromEntries(Object.entries(names).map(([file, n]) => [path.basename(file), n]))).toEqual({
      'alpha.test.js': ['alpha one', 'alpha two'],
      'beta.test.js': ['beta fails', 'beta after'],
      'gamma.test.js': ['gamma one'],
    });
  });

  test('a mutant\'s run loads only the files that hold its covering tests', () => {
    runJest({});
    const { loaded, statuses } = runJest({ mutant: '7', testNamePattern: '(alpha two)|(gamma one)' });
    expect(loaded).toEqual(['alpha', 'alpha two', 'gamma', 'gamma one']);
    expect(statuses).toEqual({
      'alpha.test.js': ['alpha one: pending', 'alpha two: passed'],
      'gamma.test.js': ['gamma one: passed'],
    });
  });

  test('after a covering test fails, the mutant\'s run skips the file\'s other tests and loads no other file', () => {
    runJest({});
    const { loaded, statuses } = runJest({ mutant: '8', testNamePattern: '(beta fails)|(beta after)|(alpha one)|(gamma one)' });
    expect(loaded).toEqual(['beta', 'beta fails']);
    expect(statuses).toEqual({ 'beta.test.js': ['beta fails: failed', 'beta after: pending'] });
  });

  test('a file whose test names were never recorded always runs', () => {
    const { loaded } = runJest({ mutant: '9', testNamePattern: '(gamma one)' });
    expect(loaded).toEqual(['alpha', 'beta', 'gamma', 'gamma one']);
  });

  test('without a mutant, a failure stops nothing', () => {
    runJest({});
    const { statuses } = runJest({});
    expect(statuses['beta.test.js']).toEqual(['beta fails: failed', 'beta after: passed']);
    expect(statuses['alpha.test.js']).toEqual(['alpha one: passed', 'alpha two: passed']);
  });
});
