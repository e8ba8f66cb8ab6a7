import { cdk8s, javascript, JsonFile } from 'projen';

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
  github: false,
  release: false,
  depsUpgrade: false,
  pullRequestTemplate: false,

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

// The node installer is a shell script read at synth time: ship it next to the compiled code,
// as part of every compile (post-compile runs only in a full build).
project.compileTask.exec('cp src/node-setup/installer.sh lib/node-setup/installer.sh');

// Every example app synthesizes into examples/dist/<name>/.
project.addTask('examples', {
  description: 'Synthesize every example app into YAML under examples/dist/',
  exec: 'ts-node --project examples/tsconfig.json examples/synth-all.ts',
});

project.addTask('benchmark', {
  description: 'Print synth, require and installer timings and gVisor\'s measured per-pod overhead (numbers, not pass/fail)',
  exec: 'ts-node --project benchmark/tsconfig.json benchmark/run.ts',
});

project.gitignore.exclude('/examples/dist/');
// The installer's corpus mirrors real nodes byte for byte (one file has CRLF line ends on purpose).
project.gitattributes.addAttributes('/test/node-setup/installer/corpus/**', '-text');
project.npmignore?.exclude('/examples/', '/benchmark/', '/.ci/');

project.synth();
