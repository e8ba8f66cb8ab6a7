// What `npx projen mutation` runs Stryker on, one target at a time: a module, or one file of
// src/report (the largest module). Per target: the files mutated and the test directories (under
// test/) and test files whose tests may kill their mutants.
export const TARGETS = {
  'core': { mutate: ['src/core/**/*.ts'], tests: ['core', 'runtimes', 'workloads'] },
  'runtimes': { mutate: ['src/runtimes/**/*.ts'], tests: ['runtimes', 'core', 'node-setup', 'containerd'] },
  'policy': { mutate: ['src/policy/**/*.ts'], tests: ['policy'], testFiles: ['node-setup/own-node-policy.test.ts'] },
  ...Object.fromEntries(['cli', 'owners', 'problems', 'model', 'render', 'read', 'fast-yaml']
    .map((file) => [`report/${file}`, { mutate: [`src/report/${file}.ts`], tests: ['report'] }])),
};

/** The file names of a target's results: `report/cli` -> `report-cli`. */
export function slugOf(target) {
  return target.replace(/\//g, '-');
}
