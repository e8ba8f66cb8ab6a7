// Stryker (mutation testing) of one target of test/mutations/stryker-targets.mjs, named by
// MUTATION_TARGET. Each target keeps its own incremental results in reports/stryker/, so a run
// tests only what changed since, and an interrupted series of runs resumes where it stopped.
// `npx projen mutation` runs every target (or those given: `npx projen mutation -- policy report/cli`).
import { fileURLToPath } from 'url';
import { slugOf, TARGETS } from './test/mutations/stryker-targets.mjs';

const target = process.env.MUTATION_TARGET;
if (!Object.prototype.hasOwnProperty.call(TARGETS, target ?? '')) {
  throw new Error(`MUTATION_TARGET must be one of ${Object.keys(TARGETS).join(', ')} (got ${JSON.stringify(target)}): run \`npx projen mutation\``);
}
const { mutate, tests, testFiles = [], ignoreStatic = true } = TARGETS[target];
const slug = slugOf(target);
const own = (file) => fileURLToPath(new URL(`./test/mutations/${file}`, import.meta.url));
// Where the test runner processes share the test names recorded in the initial run (stryker-jest-shared.cjs).
process.env.STRYKER_TEST_NAMES_FILE = fileURLToPath(new URL(`./.stryker-tmp/test-names-${process.pid}.json`, import.meta.url));

export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'package.json',
    enableFindRelatedTests: false,
    config: {
      testMatch: [`<rootDir>/test/@(${tests.join('|')})/**/*.test.ts`, ...testFiles.map((f) => `<rootDir>/test/${f}`)],
      // Tests that run the code in child processes, or need root and containerd: Stryker cannot see what they cover.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/report/cli-process.test.ts', '<rootDir>/test/containerd/containerd-binary.test.ts'],
      collectCoverage: false,
      // A mutant's run loads only the test files that hold its covering tests, and stops at its first failing test.
      testEnvironment: own('stryker-jest-environment.cjs'),
      runner: own('stryker-jest-runner.cjs'),
      reporters: ['default'],
    },
  },
  mutate: [...mutate, '!src/**/index.ts'],
  coverageAnalysis: 'perTest',
  ignoreStatic,
  incremental: true,
  incrementalFile: `reports/stryker/${slug}.json`,
  concurrency: 2,
  // Added to 1.5 times the covering tests' own time before a mutant counts as an endless loop:
  // generous, because each run also loads its test files, which takes seconds on a busy machine.
  timeoutMS: 60000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['/coverage', '/test-reports', '/reports/mutation', '/lib', '/dist', '/.jsii', '/API.md'],
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  // The runner (test/mutations/stryker.mjs) reports the scores and fails below 80%.
  thresholds: { high: 90, low: 80, break: null },
};
