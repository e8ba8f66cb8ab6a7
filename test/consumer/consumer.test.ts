// Packs the library with `npm pack`, installs the tarball into a fresh cdk8s app outside the
// repository (cdk8s, cdk8s-plus-27 and constructs from the registry), synthesizes a
// quick-start app with plain `node`, and checks the YAML a user would apply. In a release build
// (`npx projen release`) package.json holds the bumped version, so this installs the versioned
// tarball that is published.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

const repo = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const peers = manifest.devDependencies;

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' } });
}

/** True when lib/ is missing or older than some file under src/, or the jsii assembly is of another version. */
function libIsStale(): boolean {
  const lib = path.join(repo, 'lib', 'index.js');
  const assembly = path.join(repo, '.jsii');
  if (!fs.existsSync(lib) || !fs.existsSync(assembly)) return true;
  if (JSON.parse(fs.readFileSync(assembly, 'utf8')).version !== manifest.version) return true;
  const built = fs.statSync(lib).mtimeMs;
  const newest = (dir: string): number => Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs;
  }));
  return newest(path.join(repo, 'src')) > built;
}

const QUICK_START = `
const { App, Chart } = require('cdk8s');
const kplus = require('cdk8s-plus-27');
const { KataRuntime, KataHypervisor, GvisorRuntime, SandboxedDeployment } = require('cdk8s-runtimeclass');

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'quickstart', { namespace: 'shop' });
const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.QEMU });
const gvisor = new GvisorRuntime(chart, 'gvisor');
new SandboxedDeployment(chart, 'checkout', { runtime: kata, replicas: 2, containers: [{ image: 'nginx:1.27', portNumber: 80 }] });
const untrusted = new kplus.Deployment(chart, 'renderer', { containers: [{ image: 'ghcr.io/example/renderer:1.0' }] });
gvisor.pin(untrusted);
app.synth();

const bad = new App({ outdir: 'dist-bad' });
const badChart = new Chart(bad, 'bad');
const kata2 = new KataRuntime(badChart, 'kata');
kata2.pin(new kplus.Deployment(badChart, 'agent', { hostNetwork: true, containers: [{ image: 'agent' }] }));
try { bad.synth(); console.log('NO ERROR'); } catch (e) { console.log('ERROR: ' + e.message); }
`;

describe('consumer: the packed library in a fresh cdk8s app', () => {
  let work: string;

  beforeAll(() => {
    if (libIsStale()) run('npx', ['projen', 'compile'], repo);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-runtimeclass-consumer-'));
    const tarball = run('npm', ['pack', '--pack-destination', work, '--silent'], repo).trim().split('\n').pop()!;
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', path.join(work, tarball),
      `cdk8s@${peers.cdk8s}`, `cdk8s-plus-27@${peers['cdk8s-plus-27']}`, `constructs@${peers.constructs}`], app);
    fs.writeFileSync(path.join(app, 'main.js'), QUICK_START);
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball is named after the version in package.json, and installs as that version', () => {
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.tgz'))).toEqual([`cdk8s-runtimeclass-${manifest.version}.tgz`]);
    const installed = JSON.parse(fs.readFileSync(path.join(work, 'app', 'node_modules', 'cdk8s-runtimeclass', 'package.json'), 'utf8'));
    expect(installed.version).toBe(manifest.version);
    // The jsii assembly carries the same version: it is what the other languages are generated from.
    expect(JSON.parse(fs.readFileSync(path.join(work, 'app', 'node_modules', 'cdk8s-runtimeclass', '.jsii'), 'utf8')).version).toBe(manifest.version);
  });

  test('the tarball ships the compiled library and its jsii manifest, not the sources of tests or examples', () => {
    const files = run('tar', ['-tzf', path.join(work, fs.readdirSync(work).find((f) => f.endsWith('.tgz'))!)], work).split('\n');
    expect(files).toContain('package/lib/index.js');
    expect(files).toContain('package/lib/index.d.ts');
    expect(files).toContain('package/.jsii');
    expect(files).toContain('package/lib/node-agent/agent.js');
    expect(files).toContain('package/lib/cli.js');
    // The report command's YAML parser travels inside the package.
    expect(files).toContain('package/node_modules/yaml/package.json');
    expect(files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/examples/') || f.startsWith('package/src/'))).toEqual([]);
  });

  test('synthesizes the quick start: cluster-scoped classes, pinned workloads, and a clear error for a bad pin', () => {
    const app = path.join(work, 'app');
    const output = run('node', ['main.js'], app);
    const docs = parseAllDocuments(fs.readFileSync(path.join(app, 'dist', 'quickstart.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const classes = docs.filter((d) => d.kind === 'RuntimeClass');
    expect(classes.map((c) => [c.metadata.name, c.handler, c.metadata.namespace])).toEqual([
      ['kata-qemu', 'kata-qemu', undefined],
      ['runsc', 'runsc', undefined],
    ]);
    expect(classes[0].overhead).toEqual({ podFixed: { cpu: '250m', memory: '320Mi' } });
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => [d.metadata.namespace, d.spec.template.spec.runtimeClassName])).toEqual([
      ['shop', 'kata-qemu'],
      ['shop', 'runsc'],
    ]);
    expect(output).toContain('ERROR: Validation failed');
    expect(output).toContain('[bad/agent/Resource]');
    expect(output).toContain('sets hostNetwork: true, which RuntimeClass "kata-qemu" cannot give');
  });

  test('the node agent shipped in the synthesized ConfigMap is the compiled one, and runs with plain node', () => {
    const app = path.join(work, 'app');
    if (!fs.existsSync(path.join(app, 'dist', 'quickstart.k8s.yaml'))) run('node', ['main.js'], app);
    const docs = parseAllDocuments(fs.readFileSync(path.join(app, 'dist', 'quickstart.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const daemonSet = docs.find((d) => d.kind === 'DaemonSet' && d.metadata.name === 'kata-qemu-node-setup');
    const mounted = daemonSet.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name;
    const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === mounted);
    const compiled = fs.readFileSync(path.join(app, 'node_modules', 'cdk8s-runtimeclass', 'lib', 'node-agent', 'agent.js'), 'utf8');
    expect(configMap.data['agent.js']).toBe(compiled.replace(/\n\/\/# sourceMappingURL=data:[^\n]*\n?$/, '\n'));
    expect(configMap.data['agent.js']).not.toContain('sourceMappingURL');
    // The ConfigMap's files, as the DaemonSet mounts them, run an uninstall that finds nothing to undo.
    const dir = path.join(work, 'configmap');
    const root = path.join(work, 'host');
    fs.mkdirSync(dir);
    fs.mkdirSync(root);
    for (const [key, value] of Object.entries<string>(configMap.data)) fs.writeFileSync(path.join(dir, key), value);
    const result = spawnSync('node', [path.join(dir, 'agent.js')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ACTION: 'uninstall', HOST_ROOT: root, STATE_DIR: path.join(work, 'state'), NODE_NAME: 'node-1', KUBECTL: 'true' },
    });
    expect(result.stderr).toContain('[kata-qemu-node-setup] nothing recorded in /var/lib/cdk8s-runtimeclass/kata-qemu-node-setup: nothing to undo');
    expect(result.status).toBe(0);
  });

  test('the report command runs from the installed package on the synthesized YAML', () => {
    const app = path.join(work, 'app');
    if (!fs.existsSync(path.join(app, 'dist', 'quickstart.k8s.yaml'))) run('node', ['main.js'], app);
    const output = run('npx', ['--no-install', 'cdk8s-runtimeclass', 'report', '--check', '--format', 'json', 'dist'], app);
    const report = JSON.parse(output);
    expect(report.schemaVersion).toBe(3);
    expect(report.problems).toEqual([]);
    const checkout = report.workloads.find((w: any) => w.runtimeClassName === 'kata-qemu');
    expect([checkout.kind, checkout.replicas, checkout.overhead]).toEqual(['Deployment', 2, { cpu: '250m', memory: '320Mi' }]);
  });
});
