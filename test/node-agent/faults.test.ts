/**
 * The node agent when things go wrong: refusals that change nothing, containerd rejecting the
 * result, a runtime that does not come back (rolled back), concurrent installers, a crash in the
 * middle, nodes without KVM or without an artifact for their architecture, a bad download.
 */
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import { corpus, expectOnlyRemoved, RUNC_TEST, runtimeHeaders, testSpec, TestNode } from './helpers';
import { renderNodeAgentFiles } from '../../src/node-setup/node-agent-files';
import { assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';

/** The other CPU architecture than this machine's, as the installer names them. */
const THIS_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const OTHER_ARCH = THIS_ARCH === 'amd64' ? 'arm64' : 'amd64';

function sha512(data: Buffer | string): string {
  return crypto.createHash('sha512').update(data).digest('hex');
}

describeIfContainerd('node agent faults (real containerd; recording kubectl stand-in)', () => {
  let node: TestNode;
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => node?.cleanup());

  test('a kata-qemu table not made by us: refused, nothing changed (recording kubectl stand-in)', () => {
    // kata-qemu planned as on a node with /dev/kvm: the conflict is found before any check sandbox.
    node = new TestNode(testSpec({ kvmHandlers: [] }));
    node.root.write(CONFIG, corpus('existing-kata-qemu.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(1);
    const reason = node.readiness().reason!;
    expect(reason).toContain('refusing to change anything: /etc/containerd/config.toml already defines the runtime handler \'kata-qemu\' (line 16:[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu])');
    expect(reason).toContain('not written by the cdk8s-runtimeclass node setup \'test-setup\'');
    expect(r.stderr).toContain(`[test-setup] ERROR: ${reason}`);
    expect(node.readiness().ready).toBe(false);
    expect(node.snapshot()).toEqual(before);
    expect(node.calls().filter((c) => !c.startsWith('kubectl label'))).toEqual([]);
    expectOnlyRemoved(node, ['runc-test', 'kata-qemu']);
  });

  test('a handler that needs its own snapshotter (Kata Firecracker) on containerd 1.6, alone in its setup: not runnable here, nothing changed, the pod ready with the reason (exit 2)', () => {
    const firecracker = { ...RUNC_TEST, handler: 'kata-fc-test', snapshotter: 'devmapper' };
    node = new TestNode(testSpec({ handlers: [firecracker], readyLabels: { 'kata-fc-test': 'runtimeclass.cdk8s.io/kata-fc-test' } }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(2);
    expect(node.readiness().ready).toBe(true);
    expect(node.readyText()).toMatch(/^ready: nothing to run on this node, never labelled: this node can run none of the runtime handlers of node setup 'test-setup': kata-fc-test \(containerd 1\.6\.\S+ ignores per-handler snapshotters \(they arrived in 1\.7\) and this handler needs the devmapper snapshotter: .*Fix: upgrade containerd to 1\.7 or later/);
    expect(node.snapshot()).toEqual(before);
    expect(node.restarts()).toEqual([]);
    expectOnlyRemoved(node, ['kata-fc-test']);
  });

  test('invalid existing TOML: refused with containerd\'s parse error, unchanged', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('invalid.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^refusing to change anything: containerd cannot read \/etc\/containerd\/config.toml as it is now: .*unescaped control character/);
    expect(node.snapshot()).toEqual(before);
    expect(node.calls().filter((c) => !c.startsWith('kubectl label'))).toEqual([]);
    expectOnlyRemoved(node, ['runc-test', 'kata-qemu']);
  });

  test('a config the host containerd rejects: old bytes kept, exit 1, reason in not-ready', () => {
    node = new TestNode(testSpec(), {
      // What a broken renderer could produce: containerd 1.6 refuses a string for a boolean.
      'containerd-v2.runc-test.toml': '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-test]\n'
        + '  runtime_type = "io.containerd.runc.v2"\n  privileged_without_host_devices = "yes"\n',
    });
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^containerd rejects the configuration with our runtimes added: .*Can't convert yes\(string\) to bool.*\/etc\/containerd\/config.toml was not changed$/);
    expect(node.snapshot()).toEqual(before);
    expect(node.restarts()).toEqual([]);
    expectOnlyRemoved(node, ['runc-test', 'kata-qemu']);
  });

  test('a fragment that would drop a handler (duplicate table): refused before any change', () => {
    // The node runs runc with SystemdCgroup = true: the agent reads the systemd variant.
    const tables = renderNodeAgentFiles(testSpec())['containerd-v2.runc-test.systemd.toml'];
    node = new TestNode(testSpec(), { 'containerd-v2.runc-test.systemd.toml': tables + '\n' + tables });
    node.root.write(CONFIG, corpus('kubeadm-systemd-cgroup.toml'));
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toMatch(/duplicated tables/);
    expect(node.snapshot()).toEqual(before);
  });

  test('containerd does not come back after the restart: rolled back and restarted again (recording systemctl stand-in)', () => {
    node = new TestNode();
    const original = corpus('kubeadm-systemd-cgroup.toml');
    node.root.write(CONFIG, original);
    const r = node.install({ env: { STANDIN_ACTIVE: 'no', VERIFY_TIMEOUT: '1' } });
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^containerd did not come back active within 1s after the restart; the previous configuration was restored and containerd restarted again/);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    expect(node.restarts()).toEqual(['systemctl restart containerd', 'systemctl restart containerd']);
    expectOnlyRemoved(node, ['runc-test', 'kata-qemu']);
    // The state still knows the file, so an uninstall is clean; the restart after the rollback
    // was never verified (containerd never came back), so it is still pending and the uninstall
    // restarts once more.
    node.clearCalls();
    expect(node.uninstall().status).toBe(0);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
  });

  test('containerd 1.6 with a version 3 file: refused (1.6 would silently ignore io.containerd.cri.v1.*)', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('v3-no-imports.toml'));
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toMatch(/config version 3, but this node runs containerd 1\.6\.\d+.*silently ignores every io\.containerd\.cri\.v1\.\* setting/);
    expect(node.snapshot()).toEqual(before);
  });

  test('two different node setups at once: serialized, both handlers present, one restart per change', async () => {
    node = new TestNode(testSpec({ setupName: 'setup-a', handlers: [RUNC_TEST] }));
    const cmB = node.writeConfigMap(testSpec({ setupName: 'setup-b', handlers: [{ ...RUNC_TEST, handler: 'runc-b' }] }), {}, path.join(node.dir, 'cm-b'));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const a = node.spawn();
    const b = node.spawn({ cmDir: cmB });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.status, rb.status]).toEqual([0, 0]);
    const text = node.bytes(CONFIG)!.toString();
    expect(text.startsWith(original)).toBe(true);
    expect(text).toContain('# BEGIN cdk8s-runtimeclass setup-a\n');
    expect(text).toContain('# BEGIN cdk8s-runtimeclass setup-b\n');
    expect(runtimeHeaders(configDump(CONFIG, { chrootDir: node.root.path }).stdout, CRI_PLUGIN_V1)).toEqual(['runc', 'runc-b', 'runc-test']);
    expect(node.restarts()).toEqual(['systemctl restart containerd', 'systemctl restart containerd']);

    // Uninstalling one keeps the other's block; uninstalling both gives the original back.
    expect(node.uninstall().status).toBe(0);
    expect(runtimeHeaders(configDump(CONFIG, { chrootDir: node.root.path }).stdout, CRI_PLUGIN_V1)).toEqual(['runc', 'runc-b']);
    expect(node.uninstall({ cmDir: cmB }).status).toBe(0);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
  });

  test('the same node setup twice at once: one change, one restart', async () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const runs = [node.spawn(), node.spawn()];
    const results = await Promise.all(runs.map(r => r.done));
    expect(results.map(r => r.status)).toEqual([0, 0]);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
    expect(results.map(r => r.stderr).join('\n')).toContain('nothing changed: no restart');
    const text = node.bytes(CONFIG)!.toString();
    expect(text.split('# BEGIN cdk8s-runtimeclass test-setup').length).toBe(2);
  });

  test('agent killed between the config change and the restart: a re-run restarts, an uninstall restores', () => {
    node = new TestNode();
    const original = corpus('nvidia-default-runtime.toml');
    node.root.write(CONFIG, original);
    const killed = node.install({ env: { STANDIN_ON_RESTART: 'kill -9 "$INSTALLER_PID"' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(node.bytes(CONFIG)!.toString()).toContain('# BEGIN cdk8s-runtimeclass test-setup');
    expect(JSON.parse(node.root.read('/var/lib/cdk8s-runtimeclass/test-setup/state.json')).restartPending).toBe(true);

    node.clearCalls();
    const rerun = node.install();
    expect(rerun.status).toBe(0);
    expect(rerun.stderr).toContain('did not finish its restart: restarting now');
    expect(node.restarts()).toEqual(['systemctl restart containerd']);

    node.clearCalls();
    expect(node.uninstall().status).toBe(0);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
  });

  test('a refused configuration installs no artifact either; killed after the artifacts, an uninstall gives everything back', () => {
    const spec = testSpec({
      artifacts: [{ arch: 'any', source: 'image', location: 'kata/bin/containerd-shim-kata-v2', destination: '/opt/kata/bin/containerd-shim-kata-v2' }],
      hostFiles: { '/etc/kata-containers/configuration.toml': '[hypervisor.qemu]\npath = "/opt/kata/bin/qemu-system-x86_64"\n' },
      // kata-qemu planned as on a node with /dev/kvm: its conflict is found, and the kill comes, before any check sandbox.
      kvmHandlers: [],
    });
    node = new TestNode(spec);
    fs.mkdirSync(path.join(node.artifactsDir, 'kata/bin'), { recursive: true });
    fs.writeFileSync(path.join(node.artifactsDir, 'kata/bin/containerd-shim-kata-v2'), '#!/bin/sh\necho shim\n', { mode: 0o755 });
    node.root.write(CONFIG, corpus('existing-kata-qemu.toml'));
    const before = node.snapshot();

    // Every check runs before the first change: a refusal leaves the node as it was.
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toContain('already defines the runtime handler \'kata-qemu\'');
    expect(node.snapshot()).toEqual(before);

    // Killed once the artifacts are in but before the configuration is written.
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const original = node.snapshot();
    const killed = node.install({ env: { AGENT_CRASH_AT: 'write:/etc/containerd/config.toml' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(node.root.read('/opt/kata/bin/containerd-shim-kata-v2')).toBe('#!/bin/sh\necho shim\n');
    expect(fs.statSync(node.root.resolve('/opt/kata/bin/containerd-shim-kata-v2')).mode.toString(8).slice(-3)).toBe('755');
    expect(node.root.read('/etc/kata-containers/configuration.toml')).toContain('[hypervisor.qemu]');
    expect(node.bytes(CONFIG)!.toString()).toBe(corpus('containerd-1.6-default.toml'));

    node.clearCalls();
    const un = node.uninstall();
    expect(un.status).toBe(0);
    expect(node.snapshot()).toEqual(original);
    expect(node.labelCalls()).toEqual([
      'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test-',
      'kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu-',
    ]);
    // The killed run had recorded "restart pending" before its first write: the runtime is
    // restarted once so that what it runs matches the disk.
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
  });

  test('every handler needs KVM and there is no /dev/kvm: not labelled, nothing installed; the pod is ready (nothing to run here: a rollout does not wait for it) and says why', () => {
    node = new TestNode(testSpec({ kvmHandlers: ['runc-test', 'kata-qemu'] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(2);
    expect(node.readiness()).toEqual({ ready: true, reason: undefined });
    expect(node.readyText()).toMatch(/^ready: nothing to run on this node, never labelled: this node has no \/dev\/kvm: the runtime handler\(s\) runc-test kata-qemu run virtual machines/);
    expect(fs.readFileSync(path.join(node.stateDir, 'unavailable'), 'utf8')).toBe('not installed here: runc-test (it runs virtual machines and this node has no /dev/kvm); '
      + 'kata-qemu (it runs virtual machines and this node has no /dev/kvm)\n');
    expect(r.stderr).toContain('[test-setup] NOT READY: this node has no /dev/kvm');
    expect(node.snapshot()).toEqual(before);
    expect(node.labelCalls().filter(c => c.includes('=ready'))).toEqual([]);
    expect(node.restarts()).toEqual([]);

    // With a /dev/kvm character device the same setup installs; runc-test is labelled, kata-qemu
    // is not: this node has no Kata shim, and its check sandbox says so.
    execFileSync('mknod', [node.root.resolve('/dev/kvm'), 'c', '10', '232']);
    node.clearCalls();
    expect(node.install().status).toBe(1);
    expect(node.labelCalls()).toEqual([
      'kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu-',
      'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test=ready --overwrite',
    ]);
    expect(node.readiness().reason).toMatch(/^a pod sandbox with runtime handler kata-qemu failed to start: .*containerd-shim-kata-qemu-v2.*The node is not labelled ready for kata-qemu$/);
  });

  test('only kata-qemu needs KVM and there is no /dev/kvm: runc-test is installed and labelled, kata-qemu is neither (recording kubectl stand-in)', () => {
    node = new TestNode(testSpec({ kvmHandlers: ['kata-qemu'] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const r = node.install();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('[test-setup] WARNING: runtime handler kata-qemu is not installed on this node and not labelled ready here: it runs virtual machines and this node has no /dev/kvm');
    // The installer pod is ready (a rollout does not stall on nodes without KVM) ...
    expect(node.readiness().ready).toBe(true);
    // ... and only the handler that needs no VM is offered on this node.
    expect(node.labelCalls().filter((c) => c.includes('=ready'))).toEqual([
      'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test=ready --overwrite',
    ]);
    const dump = configDump(node.root.resolve(CONFIG)).stdout;
    expect(runtimeHeaders(dump, CRI_PLUGIN_V1)).toEqual(['runc', 'runc-test']);
  });

  test('no artifact for this node\'s architecture for any handler: not labelled, nothing installed, the pod ready with the reason (exit 2)', () => {
    node = new TestNode(testSpec({
      handlers: [RUNC_TEST],
      kvmHandlers: [],
      artifacts: [{ arch: OTHER_ARCH, source: 'url', location: 'https://example.invalid/runsc', sha512: 'a'.repeat(128), destination: '/usr/local/bin/runsc' }],
    }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    const r = node.install();
    expect(r.status).toBe(2);
    expect(node.readiness().ready).toBe(true);
    expect(node.readyText()).toMatch(new RegExp(`^ready: nothing to run on this node, never labelled: no artifact for this node's CPU architecture \\(${THIS_ARCH}, uname -m: \\S+\\) for: /usr/local/bin/runsc\\.`));
    expect(node.snapshot()).toEqual(before);
    expect(node.labelCalls().filter(c => c.includes('=ready'))).toEqual([]);
  });

  test('a handler without an artifact for this node\'s architecture is skipped with its reason; the others install and are labelled', () => {
    const other = { ...RUNC_TEST, handler: 'runc-other' };
    node = new TestNode(testSpec({
      handlers: [RUNC_TEST, other],
      artifacts: [
        { arch: OTHER_ARCH, source: 'url', location: 'https://example.invalid/other', sha512: 'a'.repeat(128), destination: '/opt/other/bin/other', handlers: ['runc-other'] },
        { arch: 'any', source: 'image', location: 'helper', destination: '/opt/runc-test/helper', handlers: ['runc-test'] },
      ],
    }));
    fs.writeFileSync(path.join(node.artifactsDir, 'helper'), '#!/bin/sh\n', { mode: 0o755 });
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const r = node.install();
    expect(r.status).toBe(0);
    const reason = `no artifact for this node's CPU architecture (${THIS_ARCH}) for /opt/other/bin/other. Fix: add an artifact for ${THIS_ARCH} to the runtime, or keep its class off ${THIS_ARCH} nodes (nodeSelector kubernetes.io/arch)`;
    expect(r.stderr).toContain(`runtime handler runc-other is not installed on this node and not labelled ready here: ${reason}`);
    expect(fs.readFileSync(path.join(node.stateDir, 'unavailable'), 'utf8').trim()).toBe(`not installed here: runc-other (${reason})`);
    expect(runtimeHeaders(configDump(node.root.resolve(CONFIG)).stdout, CRI_PLUGIN_V1)).toEqual(['runc', 'runc-test']);
    expect(node.bytes('/opt/runc-test/helper')?.toString()).toBe('#!/bin/sh\n');
    expect(node.labelCalls().filter((c) => c.includes('=ready'))).toEqual(['kubectl label node node-1 runtimeclass.cdk8s.io/runc-test=ready --overwrite']);
  });

  test('URL artifacts: sha512 mismatch installs nothing; a match installs 0755 atomically', async () => {
    // Two versions large enough that a write in place would be seen half done.
    const version = (seed: string) => Buffer.concat([Buffer.from(`#!/bin/sh\necho ${seed}\n#`), Buffer.alloc(8 * 1024 * 1024, seed)]);
    const first = version('a');
    const second = version('b');
    const spec = (file: string, sha: string) => testSpec({
      artifacts: [{ arch: THIS_ARCH, source: 'url', location: `file://${file}`, sha512: sha, destination: '/opt/gvisor/bin/runsc' }],
    });
    node = new TestNode(testSpec());
    const firstFile = path.join(node.dir, 'runsc-1');
    const secondFile = path.join(node.dir, 'runsc-2');
    fs.writeFileSync(firstFile, first);
    fs.writeFileSync(secondFile, second);
    node.writeConfigMap(spec(firstFile, '0'.repeat(128)));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();

    const bad = node.install();
    expect(bad.status).toBe(1);
    expect(node.readiness().reason).toBe(`sha512 mismatch for file://${firstFile}: expected ${'0'.repeat(128)}, got ${sha512(first)}. `
      + 'Nothing was installed from it. Fix: correct the URL or the sha512 given to RuntimeArtifacts.fromUrl');
    expect(node.snapshot()).toEqual(before);

    node.writeConfigMap(spec(firstFile, sha512(first)));
    expect(node.install().status).toBe(0);
    const target = node.root.resolve('/opt/gvisor/bin/runsc');
    expect(fs.readFileSync(target).equals(first)).toBe(true);
    expect(fs.statSync(target).mode.toString(8).slice(-4)).toBe('0755');
    const firstInode = fs.statSync(target).ino;

    // The new version replaces the old one while a reader watches the path: every look finds
    // the whole old or the whole new file, never a missing or partial one. The agent's
    // temporary file (.runsc.cdk8s-tmp-<random>, beside the target) is the only other name seen.
    node.writeConfigMap(spec(secondFile, sha512(second)));
    const run = node.spawn({ action: 'install' });
    let finished = false;
    void run.done.then(() => { finished = true; });
    const seen = { first: 0, second: 0, missing: 0, partial: 0 };
    const otherNames = new Set<string>();
    while (!finished) {
      let bytes: Buffer | undefined;
      try {
        bytes = fs.readFileSync(target);
      } catch (e: any) {
        if (e.code !== 'ENOENT') throw e;
      }
      if (bytes === undefined) seen.missing++;
      else if (bytes.equals(first)) seen.first++;
      else if (bytes.equals(second)) seen.second++;
      else seen.partial++;
      for (const name of fs.readdirSync(path.dirname(target))) if (name !== 'runsc') otherNames.add(name);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await run.done).status).toBe(0);
    expect({ missing: seen.missing, partial: seen.partial }).toEqual({ missing: 0, partial: 0 });
    expect(seen.first + seen.second).toBeGreaterThan(0);
    for (const name of otherNames) expect(name).toMatch(/^\.runsc\.cdk8s-tmp-[0-9a-f]{12}$/);
    // A rename, not a write in place: the path has a new inode, with the new bytes and 0755.
    expect(fs.readFileSync(target).equals(second)).toBe(true);
    expect(fs.statSync(target).ino).not.toBe(firstInode);
    expect(fs.statSync(target).mode.toString(8).slice(-4)).toBe('0755');
    // Nothing is left beside it.
    expect(fs.readdirSync(path.dirname(target))).toEqual(['runsc']);
  });

  test('replacing a binary that is running: no "Text file busy", the running process keeps its inode', async () => {
    const spec = testSpec({
      artifacts: [{ arch: 'any', source: 'image', location: 'bin/sleeper', destination: '/opt/test/bin/sleeper' }],
    });
    node = new TestNode(spec);
    fs.mkdirSync(path.join(node.artifactsDir, 'bin'));
    fs.copyFileSync('/usr/bin/sleep', path.join(node.artifactsDir, 'bin/sleeper'));
    fs.chmodSync(path.join(node.artifactsDir, 'bin/sleeper'), 0o755);
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    expect(node.install().status).toBe(0);
    const installed = node.root.resolve('/opt/test/bin/sleeper');
    const oldInode = fs.statSync(installed).ino;

    const running = spawn(installed, ['30'], { stdio: 'ignore' });
    try {
      await new Promise(resolve => setTimeout(resolve, 200));
      const exe = `/proc/${running.pid}/exe`;
      expect(fs.statSync(exe).ino).toBe(oldInode);
      fs.copyFileSync('/usr/bin/true', path.join(node.artifactsDir, 'bin/sleeper'));
      const r = node.install();
      expect(r.stderr).not.toContain('Text file busy');
      expect(r.status).toBe(0);
      expect(node.bytes('/opt/test/bin/sleeper')!.equals(fs.readFileSync('/usr/bin/true'))).toBe(true);
      // The process still runs the old file (now unlinked) while the path names a new inode.
      expect(running.exitCode).toBeNull();
      expect(fs.statSync(exe).ino).toBe(oldInode);
      expect(fs.readlinkSync(exe)).toBe(`${installed} (deleted)`);
      expect(fs.statSync(installed).ino).not.toBe(oldInode);
      expect(fs.readFileSync(exe).equals(fs.readFileSync('/usr/bin/sleep'))).toBe(true);
    } finally {
      running.kill('SIGKILL');
    }
    // Uninstall removes what it installed (and the directories it created).
    expect(node.uninstall().status).toBe(0);
    expect(node.root.exists('/opt/test')).toBe(false);
  });

  test('no runnable host containerd: refused before any change', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const before = node.snapshot();
    expect(node.install({ env: { HOST_CONTAINERD: `chroot ${node.root.path} /nonexistent/containerd` } }).status).toBe(1);
    expect(node.readiness().reason).toMatch(/^cannot run the host's containerd \('chroot .* \/nonexistent\/containerd --version' failed\); every change is validated with it/);
    expect(node.snapshot()).toEqual(before);
  });

  test('labelling denied (RBAC): not ready; the uninstall refuses to go on without removing the labels (recording kubectl stand-in)', () => {
    node = new TestNode();
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    expect(node.install({ env: { STANDIN_LABEL: 'fail' } }).status).toBe(1);
    // The first label call is the removal of kata-qemu's (not offered without /dev/kvm).
    expect(node.readiness().reason).toMatch(/^could not remove label runtimeclass.cdk8s.io\/kata-qemu from node node-1: Error from server \(Forbidden\).*\(check the node setup's RBAC: nodes get\/patch\)$/);
    expect(node.uninstall({ env: { STANDIN_LABEL: 'fail' } }).status).toBe(1);
    expect(node.readiness().reason).toMatch(/^could not remove label runtimeclass.cdk8s.io\/runc-test from node node-1: .* not uninstalling, so that no pod lands on a node being unconfigured/);
    expect(node.bytes(CONFIG)!.toString()).toContain('# BEGIN cdk8s-runtimeclass test-setup');
    expect(node.uninstall().status).toBe(0);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
  });

  test('a result that TOML 1.0 parsers accept even where the node used dotted keys', () => {
    node = new TestNode();
    node.root.write(CONFIG, corpus('unusual-dotted-keys.toml'));
    expect(node.install().status).toBe(0);
    const parsed: any = parseToml(node.bytes(CONFIG)!.toString());
    const runtimes = parsed.plugins[CRI_PLUGIN_V1].containerd.runtimes;
    expect(Object.keys(runtimes).sort()).toEqual(['runc', 'runc-test']);
    expect(runtimes.runc.options.SystemdCgroup).toBe(true);
  });
});
