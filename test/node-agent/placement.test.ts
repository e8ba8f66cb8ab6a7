/**
 * A shared node setup installs each handler only where its class can run: a handler whose class
 * selects other node labels, that needs /dev/kvm on a node without it, or that needs a per-handler
 * snapshotter the node's containerd ignores, is left out of the configuration on that node, never
 * labelled there, and named with its reason in the log and the agent's `unavailable` file; the
 * others install as usual. Real containerd 1.6 (Debian's), the node's labels held by the local
 * HTTPS recorder that stands in for the API server.
 */
import * as fs from 'fs';
import * as path from 'path';
import { corpus, KATA_QEMU, loadedHandlers, RUNC_TEST, runtimeHeaders, testSpec, TestNode } from './helpers';
import { renderContainerdRuntimeTables } from '../../src/containerd';
import { HandlerConfig } from '../../src/containerd/handler-config';
import { InstallerSpec } from '../../src/node-agent/setup-spec';
import { RecordingApiServer } from '../support/api-server';
import { assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
/** A second runc-based handler (it runs pods here through the same runc-test binary), for the class on pool vm. */
const RUNC_VM: HandlerConfig = { ...RUNC_TEST, handler: 'runc-vm' };
const READY = (handler: string) => `runtimeclass.cdk8s.io/${handler}`;

function sharedSpec(overrides: Partial<InstallerSpec> = {}): InstallerSpec {
  return testSpec({ handlers: [RUNC_TEST, RUNC_VM], kvmHandlers: [], ...overrides });
}

describeIfContainerd('a shared node setup installs each handler where its class can run (real containerd 1.6, API server recorder)', () => {
  let node: TestNode;
  let api: RecordingApiServer;
  let env: { [key: string]: string | undefined };
  beforeAll(() => assertContainerdAvailable());
  beforeEach(async () => {
    api = new RecordingApiServer({ nodes: { 'node-1': { 'kubernetes.io/os': 'linux', 'pool': 'general' } } });
    const port = await api.start();
    env = { KUBECTL: undefined, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port), SERVICE_ACCOUNT_DIR: api.accountDir('token-1') };
  });
  afterEach(async () => {
    await node?.cleanup();
    await api.stop();
  });

  const ours = (labels: { [key: string]: string }) => Object.keys(labels).filter((k) => k.startsWith('runtimeclass.cdk8s.io/')).sort();
  const unavailable = () => {
    const file = path.join(node.stateDir, 'unavailable');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
  };
  // Spawned, not run synchronously: the recorder answers from this process.
  const install = () => node.spawn({ action: 'install', env }).done;
  const uninstall = () => node.spawn({ action: 'uninstall', env }).done;
  const handlersOnDisk = () => runtimeHeaders(configDump(node.root.resolve(CONFIG)).stdout, CRI_PLUGIN_V1);

  test('a KVM handler on a node without /dev/kvm is not installed: only the runc-based one is in config.toml and labelled, the reason is in the log and the unavailable file', async () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST, KATA_QEMU], kvmHandlers: [KATA_QEMU.handler] }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const r = await install();
    expect(r.status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test']);
    expect(node.root.read(CONFIG)).not.toContain('kata-qemu]');
    expect(loadedHandlers(node)).toEqual(['runc', 'runc-test']);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
    expect(r.stderr).toContain('[test-setup] WARNING: runtime handler kata-qemu is not installed on this node and not labelled ready here: it runs virtual machines and this node has no /dev/kvm');
    expect(unavailable()).toBe('not installed here: kata-qemu (it runs virtual machines and this node has no /dev/kvm)');
    expect(node.readiness().ready).toBe(true);

    expect((await uninstall()).status).toBe(0);
    expect(node.root.read(CONFIG)).toBe(original);
    expect(ours(api.nodeLabels())).toEqual([]);
  });

  test('a class selector the node does not match: that handler is not installed, the other is; labels change -> the next run adds it (one restart), then removes it with its label (one restart); uninstall restores the bytes', async () => {
    node = new TestNode(sharedSpec({ classNodeSelectors: { 'runc-vm': [{ pool: 'vm' }] } }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);

    // pool=general: runc-vm's class wants pool=vm.
    let r = await install();
    expect(r.status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test']);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
    const reason = 'its class\'s node selector wants pool=vm, this node has pool=general';
    expect(r.stderr).toContain(`runtime handler runc-vm is not installed on this node and not labelled ready here: ${reason}`);
    expect(unavailable()).toBe(`not installed here: runc-vm (${reason})`);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);

    // The node joins pool vm: runc-vm is added like a handler of a new spec, with one restart.
    api.setNodeLabel('node-1', 'pool', 'vm');
    node.clearCalls();
    r = await install();
    expect(r.status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test', 'runc-vm']);
    expect(loadedHandlers(node)).toEqual(['runc', 'runc-test', 'runc-vm']);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test'), READY('runc-vm')]);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
    expect(unavailable()).toBeUndefined();
    // With every handler runnable, the block holds the whole set's tables, byte for byte as rendered for all of them.
    expect(node.root.read(CONFIG)).toContain(renderContainerdRuntimeTables([RUNC_TEST, RUNC_VM], 2, { systemdCgroup: false }));

    // A re-run on the same node: nothing written, nothing restarted.
    const installed = node.snapshot();
    node.clearCalls();
    expect((await install()).status).toBe(0);
    expect(node.restarts()).toEqual([]);
    const after = node.snapshot();
    for (const k of [...after.keys()]) if (k.startsWith('/var/lib/cdk8s-runtimeclass')) expect(after.get(k)).toEqual(installed.get(k));
    expect(after).toEqual(installed);

    // It leaves pool vm: runc-vm's label goes and its table with it, one restart; containerd no longer serves it.
    api.setNodeLabel('node-1', 'pool', 'general');
    node.clearCalls();
    r = await install();
    expect(r.status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test']);
    expect(loadedHandlers(node)).toEqual(['runc', 'runc-test']);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);

    expect((await uninstall()).status).toBe(0);
    expect(node.root.read(CONFIG)).toBe(original);
    expect(ours(api.nodeLabels())).toEqual([]);
  });

  test('a skipped handler\'s artifacts and host files are not installed on that node; when the node can run it, they are installed with its table; uninstall restores the bytes', async () => {
    node = new TestNode(sharedSpec({
      classNodeSelectors: { 'runc-vm': [{ pool: 'vm' }] },
      artifacts: [
        { arch: 'any', source: 'image', location: 'test-bin', destination: '/opt/runc-test/bin/helper', handlers: ['runc-test'] },
        { arch: 'any', source: 'image', location: 'vm-tree', destination: '/opt/runc-vm', handlers: ['runc-vm'] },
        { arch: 'any', source: 'image', location: 'shared-bin', destination: '/opt/shared/shared-helper', handlers: ['runc-test', 'runc-vm'] },
      ],
      hostFiles: { '/etc/runc-test.toml': 'for runc-test\n', '/etc/runc-vm.toml': 'for runc-vm\n' },
      hostFileHandlers: { '/etc/runc-test.toml': ['runc-test'], '/etc/runc-vm.toml': ['runc-vm'] },
    }));
    fs.writeFileSync(path.join(node.artifactsDir, 'test-bin'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(node.artifactsDir, 'shared-bin'), '#!/bin/sh\necho shared\n', { mode: 0o755 });
    fs.mkdirSync(path.join(node.artifactsDir, 'vm-tree', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(node.artifactsDir, 'vm-tree', 'bin', 'vm'), '#!/bin/sh\necho vm\n', { mode: 0o755 });
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const before = node.snapshot();
    const installedHere = () => ['/opt/runc-test/bin/helper', '/opt/runc-vm/bin/vm', '/opt/shared/shared-helper', '/etc/runc-test.toml', '/etc/runc-vm.toml']
      .filter((p) => fs.existsSync(node.root.resolve(p)));

    // pool=general: runc-vm's class wants pool=vm; nothing of runc-vm's reaches the node.
    expect((await install()).status).toBe(0);
    expect(installedHere()).toEqual(['/opt/runc-test/bin/helper', '/opt/shared/shared-helper', '/etc/runc-test.toml']);
    expect(fs.existsSync(node.root.resolve('/opt/runc-vm'))).toBe(false);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);

    // The node joins pool vm: runc-vm's tree and host file come with its table.
    api.setNodeLabel('node-1', 'pool', 'vm');
    expect((await install()).status).toBe(0);
    expect(installedHere()).toEqual(['/opt/runc-test/bin/helper', '/opt/runc-vm/bin/vm', '/opt/shared/shared-helper', '/etc/runc-test.toml', '/etc/runc-vm.toml']);
    expect(node.root.read('/etc/runc-vm.toml')).toBe('for runc-vm\n');
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test'), READY('runc-vm')]);

    expect((await uninstall()).status).toBe(0);
    expect(node.snapshot()).toEqual(before);
    expect(ours(api.nodeLabels())).toEqual([]);
  });

  test('the running agent notices a label change at its next re-check and installs what the node can run now, without a pod restart', async () => {
    node = new TestNode(sharedSpec({ classNodeSelectors: { 'runc-vm': [{ pool: 'vm' }] } }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const agent = node.spawn({ env: { ...env, ONESHOT: undefined, RECHECK_PERIOD: '1' }, timeoutMs: 120_000 });
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 600 && !what(); i++) await new Promise((r) => setTimeout(r, 100));
      return what();
    };
    try {
      expect(await until(() => api.nodeLabels()[READY('runc-test')] === 'ready')).toBe(true);
      expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
      api.setNodeLabel('node-1', 'pool', 'vm');
      expect(await until(() => api.nodeLabels()[READY('runc-vm')] === 'ready')).toBe(true);
      expect(handlersOnDisk()).toEqual(['runc', 'runc-test', 'runc-vm']);
      api.setNodeLabel('node-1', 'pool', 'general');
      expect(await until(() => api.nodeLabels()[READY('runc-vm')] === undefined)).toBe(true);
      expect(await until(() => !handlersOnDisk().includes('runc-vm'))).toBe(true);
      expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
    } finally {
      agent.child.kill('SIGTERM');
    }
    const result = await agent.done;
    expect(result.stderr).toContain('the runtime handlers this node can run changed (runc-test -> runc-test runc-vm): installing again');
    expect(result.stderr).toContain('the runtime handlers this node can run changed (runc-test runc-vm -> runc-test): installing again');
  });

  test('a node that can run none of the handlers any more: labels removed, the configuration an earlier run installed taken out again, every reason given, the pod ready, retried (exit 1)', async () => {
    node = new TestNode(sharedSpec({ classNodeSelectors: { 'runc-test': [{ pool: 'general' }], 'runc-vm': [{ pool: 'vm' }, { pool: 'gpu' }] } }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    expect((await install()).status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test']);

    api.setNodeLabel('node-1', 'pool', undefined);
    node.clearCalls();
    const r = await install();
    expect(r.status).toBe(1);
    expect(node.readiness().ready).toBe(true);
    expect(node.readyText()).toBe('ready: nothing to run on this node, never labelled: this node can run none of the runtime handlers of node setup \'test-setup\': '
      + 'runc-test (its class\'s node selector wants pool=general, this node has no pool); '
      + 'runc-vm (its class\'s node selector wants pool=vm, this node has no pool; another class\'s wants pool=gpu, this node has no pool). '
      + 'The node is not labelled ready for any of them and their configuration was not installed; tried again, since the node\'s labels may change');
    expect(ours(api.nodeLabels())).toEqual([]);
    expect(node.root.read(CONFIG)).toBe(original);
    expect(loadedHandlers(node)).toEqual(['runc']);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
  });

  test('a handler that needs a per-handler snapshotter on containerd 1.6 (which ignores it) is skipped; the others install', async () => {
    const firecracker: HandlerConfig = { ...RUNC_TEST, handler: 'kata-fc-test', snapshotter: 'devmapper' };
    node = new TestNode(sharedSpec({ handlers: [RUNC_TEST, firecracker] }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const r = await install();
    expect(r.status).toBe(0);
    expect(handlersOnDisk()).toEqual(['runc', 'runc-test']);
    expect(ours(api.nodeLabels())).toEqual([READY('runc-test')]);
    expect(unavailable()).toMatch(/^not installed here: kata-fc-test \(containerd 1\.6\.\S+ ignores per-handler snapshotters \(they arrived in 1\.7\) and this handler needs the devmapper snapshotter: its pods would fail at sandbox creation\. Fix: upgrade containerd to 1\.7 or later/);
    expect(r.stderr).toContain('runtime handler kata-fc-test is not installed on this node and not labelled ready here: containerd 1.6');
    expect((await uninstall()).status).toBe(0);
    expect(node.root.read(CONFIG)).toBe(original);
  });
});
