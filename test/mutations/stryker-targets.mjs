// What `npx projen mutation` runs Stryker on, one target at a time: a module, or one file of
// src/core or src/report (the largest modules: their tests synthesize whole charts, so one file's
// mutants take up to an hour on two cores). Per target: the files mutated and the test directories (under
// test/) and test files whose tests may kill their mutants; ignoreStatic: false where mutants that run as
// a module loads must be tested against every test.
export const TARGETS = {
  ...Object.fromEntries(['names', 'values', 'quantity', 'quantity-input', 'resource-amounts', 'resources', 'host-namespaces',
    'pod-spec', 'pinning', 'scheduling', 'overhead', 'written-manifests', 'runtime-class', 'app-checks']
    .map((file) => [`core/${file}`, { mutate: [`src/core/${file}.ts`], tests: ['core', 'runtimes', 'workloads'] }])),
  'runtimes': { mutate: ['src/runtimes/**/*.ts'], tests: ['runtimes', 'core', 'node-setup', 'containerd'] },
  'policy': { mutate: ['src/policy/**/*.ts'], tests: ['policy'], testFiles: ['node-setup/own-node-policy.test.ts'] },
  ...Object.fromEntries(['cli', 'owners', 'problems', 'model', 'render', 'read']
    .map((file) => [`report/${file}`, { mutate: [`src/report/${file}.ts`], tests: ['report'] }])),
  // The fast YAML reader has about 1,200 mutants: scored in three parts (line ranges of the file), each
  // with its own results, so that a series of runs keeps what each part has done.
  'report/fast-yaml/block': { mutate: ['src/report/fast-yaml.ts:1-240'], tests: ['report'] },
  'report/fast-yaml/scalars': { mutate: ['src/report/fast-yaml.ts:241-432'], tests: ['report'] },
  'report/fast-yaml/flow': { mutate: ['src/report/fast-yaml.ts:433-9999'], tests: ['report'] },
  // owners.ts builds its table of controller name suffixes as it loads, and one test (large-input's
  // "what the report loads") loads it again inside the test: Stryker would run each table mutant
  // against that test alone. Run them against every test instead (Stryker's default for mutants that
  // run as a module loads). The same holds for render.ts's texts and model.ts's tables defined as they load.
  'report/owners': { mutate: ['src/report/owners.ts'], tests: ['report'], ignoreStatic: false },
  'report/render': { mutate: ['src/report/render.ts'], tests: ['report'], ignoreStatic: false },
  'report/model': { mutate: ['src/report/model.ts'], tests: ['report'], ignoreStatic: false },
};

/** The file names of a target's results: `report/cli` -> `report-cli`. */
export function slugOf(target) {
  return target.replace(/\//g, '-');
}
