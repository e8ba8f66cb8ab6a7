// The jest environment of Stryker's runs (stryker.config.mjs): Node's, plus two things Stryker's
// jest runner does not do.
// - It records each test's full name by file, for stryker-jest-runner.cjs to run only the files
//   that hold the tests covering a mutant.
// - Once a test has failed under a mutant (the mutant is killed), the file's remaining tests are
//   skipped: they cannot change the outcome, and the mutant's run ends sooner.
const { TestEnvironment } = require('jest-environment-node');
const { shared, saveTestNames, activeMutant } = require('./stryker-jest-shared.cjs');

/** A test's name as jest's testNamePattern matches it: its describe blocks' names, then its own. */
function fullName(test) {
  const names = [];
  for (let block = test.parent; block && block.parent; block = block.parent) names.unshift(block.name);
  names.push(test.name);
  return names.join(' ');
}

class StrykerRunEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async teardown() {
    if (activeMutant() === undefined) saveTestNames();
    await super.teardown();
  }

  async handleTestEvent(event) {
    const state = shared();
    const mutant = activeMutant();
    if (event.name === 'test_start') {
      let names = state.testsByFile.get(this.testPath);
      if (!names) state.testsByFile.set(this.testPath, (names = new Set()));
      names.add(fullName(event.test));
      if (mutant !== undefined && state.failedUnder === mutant) event.test.mode = 'skip';
    } else if (event.name === 'test_done' && event.test.errors.length > 0 && mutant !== undefined) {
      state.failedUnder = mutant;
    }
  }
}

module.exports = StrykerRunEnvironment;
