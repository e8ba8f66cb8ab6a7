// State shared by stryker-jest-environment.cjs and stryker-jest-runner.cjs. Jest loads each of them
// once per Stryker test runner process, outside the tests' own module registries, and Stryker runs
// each mutant's tests in one such process (runInBand). The test names recorded in Stryker's initial
// run (one process) are also written to a file (STRYKER_TEST_NAMES_FILE, set by stryker.config.mjs)
// for the other runner processes.
const fs = require('fs');
const path = require('path');

const KEY = Symbol.for('cdk8s-runtimeclass.stryker');

/**
 * @returns {{ testsByFile: Map<string, Set<string>>, failedUnder: string | undefined }}
 *   testsByFile: every test's full name (as Stryker names it in its test filter), by test file;
 *   failedUnder: the active mutant under which a test last failed.
 */
function shared() {
  if (!globalThis[KEY]) globalThis[KEY] = { testsByFile: new Map(), failedUnder: undefined };
  const state = globalThis[KEY];
  const file = process.env.STRYKER_TEST_NAMES_FILE;
  if (state.testsByFile.size === 0 && file && fs.existsSync(file)) {
    for (const [testPath, names] of Object.entries(JSON.parse(fs.readFileSync(file, 'utf8')))) {
      state.testsByFile.set(testPath, new Set(names));
    }
  }
  return state;
}

/** Writes the recorded test names for the other runner processes. */
function saveTestNames() {
  const file = process.env.STRYKER_TEST_NAMES_FILE;
  if (!file) return;
  const byFile = Object.fromEntries([...shared().testsByFile].map(([testPath, names]) => [testPath, [...names]]));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(byFile));
  fs.renameSync(`${file}.tmp`, file);
}

/** The mutant Stryker's jest runner has switched on for this run, or undefined (its initial run). */
function activeMutant() {
  return process.env.__STRYKER_ACTIVE_MUTANT__;
}

module.exports = { shared, saveTestNames, activeMutant };
