/**
 * Each defect seen in the shell installer that the node agent replaced, as a test of the agent on
 * a fake node with Debian's real containerd (recording kubectl stand-in; systemctl stand-in that
 * restarts a real containerd).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  agentState, corpus, leftoverTemps, loadedHandlers, RUNC_TEST, runtimeHeaders, testSpec, TestNode,
} from './helpers';
import { assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
// kata-qemu runs virtual machines: installed and labelled only on nodes with /dev/kvm (these machines have none).
const OURS = ['runc-test'];
const READY = ['runtimeclass.cdk8s.io/runc-test=ready'];

function readyCalls(node: TestNode): string[] {
  return node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'));
}

function dumpedHandlers(node: TestNode): string[] {
  const dump = configDump(CONFIG, { chrootDir: node.root.path });
  expect(dump.stderr).not.toMatch(/failed to load/);
  return runtimeHeaders(dump.stdout, CRI_PLUGIN_V1);
}

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

describeIfContainerd('defects of the shell installer, fixed in the node agent', () => {
  let node: TestNode;
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => node?.cleanup());

  test.each([
    ['absolute', '/var/lib/node-config/containerd.toml'],
    ['relative', '../../var/lib/node-config/containerd.toml'],
  ])('a config.toml that is a symlink with an %s target: edited at its target inside the host root, the link stays, uninstall restores the target', (_kind, target) => {
    node = new TestNode();
    const original = corpus('kubeadm-systemd-cgroup.toml');
    node.root.write('/var/lib/node-config/containerd.toml', original);
    fs.mkdirSync(node.root.resolve('/etc/containerd'), { recursive: true });
    fs.symlinkSync(target, node.root.resolve(CONFIG));
    // An absolute target is the host's path: the machine running the test has no such file.
    expect(fs.existsSync('/var/lib/node-config/containerd.toml')).toBe(false);

    expect(node.install().status).toBe(0);
    expect(fs.readlinkSync(node.root.resolve(CONFIG))).toBe(target);
    const edited = node.root.read('/var/lib/node-config/containerd.toml');
    expect(edited.startsWith(original)).toBe(true);
    expect(edited).toContain('# BEGIN cdk8s-runtimeclass test-setup');
    expect(dumpedHandlers(node)).toEqual(expect.arrayContaining(OURS));
    expect(loadedHandlers(node)).toEqual(expect.arrayContaining(OURS));
    expect(readyCalls(node)).toHaveLength(1);

    expect(node.uninstall().status).toBe(0);
    expect(fs.readlinkSync(node.root.resolve(CONFIG))).toBe(target);
    expect(node.root.read('/var/lib/node-config/containerd.toml')).toBe(original);
    expect(fs.existsSync('/var/lib/node-config')).toBe(false);
  });

  test('a directory where containerd\'s config file should be (not a file, not unreadable as empty): refused with the path named, nothing written, never labelled', () => {
    node = new TestNode();
    node.root.write(`${CONFIG}/note`, 'left by configuration management\n');
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/config\.toml/);
    expect(r.stderr).toMatch(/not a (regular )?file|is a directory/i);
    expect(readyCalls(node)).toEqual([]);
    expect(node.restarts()).toEqual([]);
    expect(node.snapshot()).toEqual(before);
  });

  test('an uninstall killed while it deletes its own state: the next uninstall (or install) finishes, nothing of ours is left', () => {
    node = new TestNode();
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const before = node.snapshot();
    expect(node.install().status).toBe(0);
    for (const step of ['tombstone-delete', 'tombstone']) {
      const killed = node.uninstall({ env: { AGENT_CRASH_AT: step } });
      expect(killed.signal).toBe('SIGKILL');
      expect(node.bytes(CONFIG)!.toString()).toBe(original);
      const again = node.uninstall();
      expect({ step, status: again.status, stderr: again.status === 0 ? '' : again.stderr }).toEqual({ step, status: 0, stderr: '' });
      expect(node.snapshot()).toEqual(before);
      expect(node.root.exists('/var/lib/cdk8s-runtimeclass')).toBe(false);
      expect(node.install().status).toBe(0);
    }
    // An install after such a crash takes over too.
    expect(node.uninstall({ env: { AGENT_CRASH_AT: 'tombstone-delete' } }).signal).toBe('SIGKILL');
    expect(node.install().status).toBe(0);
    expect(node.root.exists('/var/lib/cdk8s-runtimeclass/.test-setup.tombstone')).toBe(false);
    expect(node.uninstall().status).toBe(0);
    expect(node.snapshot()).toEqual(before);
  });

  test('killed during the rollback after a restart the runtime did not survive, then re-run while it stays down: never labelled ready', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('nvidia-default-runtime.toml'));
    // A runtime that never comes back: the stand-in starts nothing, so no CRI answers.
    const down = { STANDIN_RUNTIME: 'none', VERIFY_TIMEOUT: '1' };
    const killed = node.install({ env: { ...down, AGENT_CRASH_AT: `rollback:${CONFIG}` } });
    expect(killed.signal).toBe('SIGKILL');
    for (let i = 0; i < 3; i++) {
      const again = node.install({ env: down });
      expect(again.status).toBe(1);
      expect(node.readiness().reason).toMatch(/^containerd came back but does not serve runtime handler\(s\) runc-test within 1s \(no CRI answer on .*\); the previous configuration was restored/);
      expect(agentState(node).restartPending).toBe(true);
    }
    expect(readyCalls(node)).toEqual([]);
    // Once the runtime works again, the next run converges and labels.
    expect(node.install().status).toBe(0);
    expect(readyCalls(node)).toHaveLength(1);
    expect(loadedHandlers(node)).toEqual(expect.arrayContaining(OURS));
    expect(agentState(node).restartPending).toBe(false);
  });

  test('install racing uninstall of the same setup: serialized, and the node ends consistent whichever wins', async () => {
    node = new TestNode();
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    expect(node.install().status).toBe(0);
    for (let round = 0; round < 4; round++) {
      node.clearCalls();
      const runs = round % 2 === 0 ? [node.spawn({ action: 'install' }), node.spawn({ action: 'uninstall' })] : [node.spawn({ action: 'uninstall' }), node.spawn({ action: 'install' })];
      const results = await Promise.all(runs.map((r) => r.done));
      expect(results.map((r) => r.status)).toEqual([0, 0]);
      const labels = node.labelCalls();
      const lastForReady = READY.map((l) => labels.map((c, i) => [c, i] as const).filter(([c]) => c.includes(l.split('=')[0])).pop()![0]);
      const installed = node.bytes(CONFIG)!.toString() !== original;
      expect({ round, installed, state: agentState(node) !== undefined, lastLabelCalls: lastForReady.map((c) => c.endsWith('=ready --overwrite')) })
        .toEqual({ round, installed, state: installed, lastLabelCalls: [installed] });
      expect(loadedHandlers(node)?.includes('runc-test') ?? false).toBe(installed);
    }
  });

  test('an uninstall killed after restoring the config but before the restart: the re-run restarts, containerd drops our handlers', () => {
    node = new TestNode();
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    expect(node.install().status).toBe(0);
    const killed = node.uninstall({ env: { AGENT_CRASH_AT: 'restart:containerd' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    // containerd still serves what it loaded before.
    expect(loadedHandlers(node)).toEqual(expect.arrayContaining(OURS));
    node.clearCalls();
    expect(node.uninstall().status).toBe(0);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
    expect(loadedHandlers(node)!.filter((h) => OURS.includes(h))).toEqual([]);
    expect(node.root.exists('/var/lib/cdk8s-runtimeclass')).toBe(false);
  });

  test('a link planted at an artifact\'s destination is replaced by the file, its target left alone; uninstall puts the link back', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST], artifacts: [{ arch: 'any', source: 'image', location: 'tool', destination: '/opt/tools/tool' }] }));
    fs.writeFileSync(path.join(node.artifactsDir, 'tool'), 'new tool\n', { mode: 0o755 });
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    node.root.write('/var/lib/precious', 'precious\n');
    fs.mkdirSync(node.root.resolve('/opt/tools'), { recursive: true });
    fs.symlinkSync('/var/lib/precious', node.root.resolve('/opt/tools/tool'));
    expect(node.install().status).toBe(0);
    expect(fs.lstatSync(node.root.resolve('/opt/tools/tool')).isFile()).toBe(true);
    expect(node.root.read('/opt/tools/tool')).toBe('new tool\n');
    expect(node.root.read('/var/lib/precious')).toBe('precious\n');
    expect(node.uninstall().status).toBe(0);
    expect(fs.readlinkSync(node.root.resolve('/opt/tools/tool'))).toBe('/var/lib/precious');
    expect(node.root.read('/var/lib/precious')).toBe('precious\n');
  });

  test('an absolute /opt link: the artifact lands under the host root\'s target, never on the machine running the agent', () => {
    const marker = `cdk8s-runtimeclass-test-${process.pid}-${Date.now()}`;
    node = new TestNode(testSpec({ handlers: [RUNC_TEST], artifacts: [{ arch: 'any', source: 'image', location: 'tool', destination: `/opt/${marker}/tool` }] }));
    fs.writeFileSync(path.join(node.artifactsDir, 'tool'), 'tool\n', { mode: 0o755 });
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    fs.rmSync(node.root.resolve('/opt'), { recursive: true, force: true });
    fs.mkdirSync(node.root.resolve('/srv/opt'), { recursive: true });
    fs.symlinkSync('/srv/opt', node.root.resolve('/opt'));
    expect(node.install().status).toBe(0);
    expect(node.root.read(`/srv/opt/${marker}/tool`)).toBe('tool\n');
    expect(fs.existsSync(`/srv/opt/${marker}`)).toBe(false);
    expect(node.uninstall().status).toBe(0);
    expect(node.root.exists(`/srv/opt/${marker}`)).toBe(false);
    expect(fs.readlinkSync(node.root.resolve('/opt'))).toBe('/srv/opt');
  });

  test('a directory artifact whose destination holds files the setup did not put there (or a link inside it) is refused; uninstall removes only what the setup installed', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST], artifacts: [{ arch: 'any', source: 'image', location: 'kata', destination: '/srv/shared' }] }));
    fs.mkdirSync(path.join(node.artifactsDir, 'kata', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(node.artifactsDir, 'kata', 'bin', 'shim'), 'shim\n', { mode: 0o755 });
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    node.root.write('/srv/shared/someone-elses-tool', 'theirs\n');
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toBe('refusing to install to /srv/shared: it holds files this node setup did not put there (/srv/shared/someone-elses-tool). '
      + 'A directory artifact owns its destination and uninstall removes it: give it a directory of its own such as /opt/<runtime>, or empty this one');
    expect(node.snapshot()).toEqual(before);

    // Emptied, it installs; an earlier version's files are removed; uninstall takes only ours.
    fs.rmSync(node.root.resolve('/srv/shared/someone-elses-tool'));
    fs.writeFileSync(path.join(node.artifactsDir, 'kata', 'old'), 'old\n');
    expect(node.install().status).toBe(0);
    fs.rmSync(path.join(node.artifactsDir, 'kata', 'old'));
    expect(node.install().status).toBe(0);
    expect(node.root.exists('/srv/shared/old')).toBe(false);
    expect(node.root.read('/srv/shared/bin/shim')).toBe('shim\n');
    // Someone plants a link inside it: the next install refuses rather than write through it.
    fs.symlinkSync('/usr/share', node.root.resolve('/srv/shared/share'));
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toContain('it holds files this node setup did not put there (/srv/shared/share)');
    fs.rmSync(node.root.resolve('/srv/shared/share'));
    expect(node.uninstall().status).toBe(0);
    expect(node.root.exists('/srv/shared')).toBe(true); // it existed before
    expect(node.root.exists('/srv/shared/bin')).toBe(false);
  });

  test.each([
    ['a directory artifact into /usr/local/bin', { artifacts: [{ arch: 'any', source: 'image', location: 'kata', destination: '/usr/local/bin' }] }, 'refusing to install to /usr/local/bin: it is a system directory that other software shares'],
    ['a host file onto containerd\'s config', { hostFiles: { [CONFIG]: 'version = 2\n' } }, 'refusing to install to /etc/containerd/config.toml: it is /etc/containerd/config.toml, which the node setup manages itself'],
    ['a host file into the agent\'s state', { hostFiles: { '/var/lib/cdk8s-runtimeclass/test-setup/state.json': '{}' } }, 'refusing to install to /var/lib/cdk8s-runtimeclass/test-setup/state.json: it is /var/lib/cdk8s-runtimeclass'],
    ['a host file at "/."', { hostFiles: { '/.': 'x' } }, 'refusing to install to /.: it must be normalized'],
  ] as const)('a spec that skipped synth-time validation, %s: refused on the node too, nothing changed', (_name, overrides, reason) => {
    const spec = testSpec({ handlers: [RUNC_TEST], ...(overrides as any) });
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }), { 'spec.json': JSON.stringify(spec) });
    fs.mkdirSync(path.join(node.artifactsDir, 'kata'));
    fs.writeFileSync(path.join(node.artifactsDir, 'kata', 'x'), 'x\n');
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toContain(reason);
    expect(node.snapshot()).toEqual(before);
  });

  test('no space left while writing an artifact: a clear error, no partial file, the config untouched', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST], artifacts: [{ arch: 'any', source: 'image', location: 'big', destination: '/opt/full/big' }] }));
    fs.writeFileSync(path.join(node.artifactsDir, 'big'), Buffer.alloc(512 * 1024, 1), { mode: 0o755 });
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    fs.mkdirSync(node.root.resolve('/opt/full'));
    mount(['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', node.root.resolve('/opt/full')]);
    const r = node.install();
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^could not write \/opt\/full\/big on the node: ENOSPC: no space left on device/);
    expect(fs.readdirSync(node.root.resolve('/opt/full'))).toEqual([]);
    expect(leftoverTemps(node)).toEqual([]);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    expect(readyCalls(node)).toEqual([]);
  });

  test('a UTF-8 byte order mark before "version = 2": read as version 2 (as containerd reads it), restored byte for byte', () => {
    node = new TestNode();
    // The mark right before the version line, as some editors save a file.
    const withoutVersion = corpus('kubeadm-systemd-cgroup.toml').replace(/^version = 2\n/m, '');
    const original = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`version = 2\n${withoutVersion}`)]);
    node.root.write(CONFIG, original);
    const r = node.install();
    expect(r.stderr).toContain('/etc/containerd/config.toml: config version 2');
    expect(r.status).toBe(0);
    expect(dumpedHandlers(node)).toEqual(expect.arrayContaining(OURS));
    expect(node.bytes(CONFIG)!.subarray(0, original.length).equals(original)).toBe(true);
    expect(node.uninstall().status).toBe(0);
    expect(node.bytes(CONFIG)!.equals(original)).toBe(true);
  });

  test('a lock held by an agent that was killed does not hold up the next run', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    expect(node.install({ env: { AGENT_CRASH_AT: 'locked' } }).signal).toBe('SIGKILL');
    const started = Date.now();
    expect(node.install({ env: { LOCK_TIMEOUT: '5' } }).status).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('the text "@SYSTEMD_CGROUP@" inside a user\'s option stays as written, and is the binary the runtime runs', () => {
    const odd = { ...RUNC_TEST, options: { BinaryName: '/opt/@SYSTEMD_CGROUP@/runc' } };
    node = new TestNode(testSpec({ handlers: [odd] }));
    node.root.write(CONFIG, corpus('kubeadm-systemd-cgroup.toml'));
    // The node has no such binary: the check sandbox fails on exactly that path, so no label.
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toMatch(/^a pod sandbox with runtime handler runc-test failed to start: .*\/opt\/@SYSTEMD_CGROUP@\/runc/);
    expect(readyCalls(node)).toEqual([]);
    const dump = configDump(CONFIG, { chrootDir: node.root.path }).stdout;
    expect(dump).toContain('BinaryName = "/opt/@SYSTEMD_CGROUP@/runc"');
    expect(dump).toMatch(/runtimes\.runc-test\.options\]\n(?:.*\n)*?\s*SystemdCgroup = true/);
  });

  test('a read-only /etc: exit 1 with the reason (exit 2 means only "this node cannot run these runtimes")', () => {
    node = new TestNode();
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const etc = node.root.resolve('/etc');
    mount(['--bind', etc, etc]);
    mount(['-o', 'remount,bind,ro', etc]);
    const r = node.install();
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toMatch(/read-only file system/i);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    expect(readyCalls(node)).toEqual([]);
  });
});
