// The jest runner of Stryker's runs (stryker.config.mjs). Stryker runs a mutant's covering tests by
// name (testNamePattern) over every test file, and runs them all even once one has failed. This
// runner, in a mutant's run, runs only the files that hold a test of that name (as recorded by
// stryker-jest-environment.cjs in Stryker's initial run; a file never recorded always runs), one at
// a time, and stops at the first file with a failure: the mutant is killed either way, sooner.
// Stryker's initial run (no mutant active) runs everything as jest's own runner does.
const TestRunner = require('jest-runner').default;
const { shared, activeMutant } = require('./stryker-jest-shared.cjs');

class StrykerRunRunner extends TestRunner {
  constructor(globalConfig, context) {
    super(globalConfig, context);
    this.namePattern = globalConfig.testNamePattern ? new RegExp(globalConfig.testNamePattern, 'i') : undefined;
    const failed = () => {
      const mutant = activeMutant();
      if (mutant !== undefined) shared().failedUnder = mutant;
    };
    this.on('test-file-success', ([, result]) => {
      if (result.numFailingTests > 0 || result.testExecError) failed();
    });
    this.on('test-file-failure', failed);
  }

  async runTests(tests, watcher, options) {
    const mutant = activeMutant();
    if (mutant === undefined || !options.serial) return super.runTests(tests, watcher, options);
    const state = shared();
    const pattern = this.namePattern;
    const wanted = tests.filter((test) => {
      const names = state.testsByFile.get(test.path);
      return !pattern || !names || [...names].some((name) => pattern.test(name));
    });
    for (const test of wanted) {
      if (state.failedUnder === mutant) break;
      await super.runTests([test], watcher, options);
    }
  }
}

module.exports = StrykerRunRunner;
