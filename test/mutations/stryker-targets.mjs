// What `npx projen mutation` runs Stryker on, one target at a time: a module, or one file of
// src/core or src/report (the largest modules: their tests synthesize whole charts, so one file's
// mutants take up to an hour on two cores). Per target: the files mutated and the test directories (under
// test/) and test files whose tests may kill their mutants.
export const TARGETS = {
  ...Object.fromEntries(['names', 'values', 'quantity', 'quantity-input', 'resource-amounts', 'resources', 'host-namespaces',
    'pod-spec', 'pinning', 'scheduling', 'overhead', 'written-manifests', 'runtime-class', 'app-checks']
    .map((file) => [`core/${file}`, { mutate: [`src/core/${file}.ts`], tests: ['core', 'runtimes', 'workloads'] }])),
  'runtimes': { mutate: ['src/runtimes/**/*.ts'], tests: ['runtimes', 'core', 'node-setup', 'containerd'] },
  'policy': { mutate: ['src/policy/**/*.ts'], tests: ['policy'], testFiles: ['node-setup/own-node-policy.test.ts'] },
  ...Object.fromEntries(['cli', 'owners', 'problems', 'model', 'render', 'read', 'fast-yaml']
    .map((file) => [`report/${file}`, { mutate: [`src/report/${file}.ts`], tests: ['report'] }])),
};

/** The file names of a target's results: `report/cli` -> `report-cli`. */
export function slugOf(target) {
  return target.replace(/\//g, '-');
}
