/**
 * Self-tests of the node containerd (`node-containerd.ts`) and its systemctl stand-in, with
 * hand-written configs in the fake host root: runc, gVisor and crun pods through CRI, and
 * containerd's own error for an unknown handler. Skipped with the reason when containerd, runsc,
 * the gVisor shim or crun are missing, unless `CI` is set (then they fail).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertContainerdAvailable, describeIfContainerd, testCriConfig } from './containerd';
import { CriClient, CriError } from './cri-client';
import { expectStopAndRemove, expectTwoContainersInOneGvisorKernel } from './gvisor-pod';
import { createHostRoot, HostRoot, UNIFIED_CGROUP_MOUNT } from './host-root';
import { allMountPoints } from './mounts';
import { installIntoRoot, nodeContainerd, NodeContainerd, processesOf } from './node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from './pause-image';
import {
  assertAvailable, crunUnavailableReason, describeIfAvailable, GVISOR_SHIM, gvisorHandlerTable, gvisorUnavailableReason,
  NODE_GVISOR_SHIM_PATH, runcShimHandlerTable, runscToml,
} from './sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const RUNSC_TOML = '/etc/containerd/runsc.toml';

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-ctrd-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Run the stand-in as an agent would: `sh node-systemctl.sh <args>` with the node's env. */
function systemctl(node: NodeContainerd, args: string[], extraEnv: Record<string, string> = {}) {
  const [cmd, ...cmdArgs] = node.systemctlCommand.split(' ');
  return spawnSync(cmd, [...cmdArgs, ...args], { env: { ...process.env, ...node.systemctlEnv(extraEnv) }, encoding: 'utf8', timeout: 90_000 });
}

async function waitForContainerExit(cri: CriClient, id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const status = (await cri.containerStatus(id)).status;
    if (status.state === 'CONTAINER_EXITED') return status;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  throw new Error(`container ${id} did not exit within 30 s`);
}

describeIfContainerd('node containerd in a fake host root', () => {
  beforeAll(() => assertContainerdAvailable());

  describe('the fake root with node mounts', () => {
    test('has /proc, /sys without the unified cgroup, /dev and a writable /usr/local; cleanup unmounts them all', () => {
      const root = createHostRoot({ nodeMounts: true });
      const rootPath = root.path;
      try {
        expect(fs.readFileSync(root.resolve('/proc/self/status'), 'utf8')).toMatch(/^Name:/m);
        expect(fs.existsSync(root.resolve('/sys/fs/cgroup/memory/memory.usage_in_bytes'))).toBe(true);
        expect(root.mounts()).not.toContain(root.resolve(UNIFIED_CGROUP_MOUNT));
        const fsType = (p: string) => spawnSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' }).stdout.trim();
        expect(fsType(root.resolve('/sys/fs/cgroup'))).toBe('tmpfs');
        expect(fsType(root.resolve('/sys/fs/cgroup/memory'))).toBe('cgroupfs');
        if (allMountPoints().includes(UNIFIED_CGROUP_MOUNT)) {
          expect(fsType(root.resolve(UNIFIED_CGROUP_MOUNT))).toBe('tmpfs');
          expect(fsType(UNIFIED_CGROUP_MOUNT)).toBe('cgroup2fs'); // the host keeps it
        }
        expect(fs.existsSync(root.resolve('/dev/null'))).toBe(true);
        expect(fs.statSync(root.resolve('/dev/null')).isCharacterDevice()).toBe(true);
        root.write('/usr/local/bin/probe', 'x');
        expect(fs.existsSync('/usr/local/bin/probe')).toBe(false);
        // chrooted tools see the same
        const r = spawnSync('chroot', [rootPath, 'sh', '-c', 'cat /proc/1/comm >/dev/null && ls /sys/fs/cgroup && echo ok > /tmp/t && cat /tmp/t'], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(/memory[\s\S]*ok/);
      } finally {
        root.cleanup();
      }
      expect(allMountPoints().filter(m => m.startsWith(rootPath))).toEqual([]);
      expect(fs.existsSync(rootPath)).toBe(false);
      expect(fs.existsSync('/proc/self/status')).toBe(true);
      expect(fs.existsSync('/sys/fs/cgroup/memory/memory.usage_in_bytes')).toBe(true);
    });
  });

  describe('a daemon with runc, gVisor and crun handlers', () => {
    let root: HostRoot;
    let node: NodeContainerd;
    let cri: CriClient;

    beforeAll(async () => {
      root = createHostRoot({ nodeMounts: true });
      const tables = [
        // A wrapper that exists only in the fake root: it resolves there or nowhere.
        runcShimHandlerTable('wrapped', '/usr/local/bin/runc-wrapper'),
        gvisorHandlerTable('runsc', RUNSC_TOML),
        runcShimHandlerTable('crun', 'crun'),
      ].join('\n');
      root.write(CONFIG, testCriConfig(tables));
      root.write('/usr/local/bin/runc-wrapper', '#!/bin/sh\necho "$*" >> /var/log/runc-wrapper.log\nexec runc "$@"\n', 0o755);
      root.write(RUNSC_TOML, runscToml());
      if (fs.existsSync(GVISOR_SHIM)) installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
      node = nodeContainerd(root);
      await node.start();
      cri = new CriClient(node.address, { hostRoot: root });
      await importImage(node, pauseTar, PAUSE_IMAGE);
    });

    afterAll(async () => {
      try {
        cri?.close();
        await node?.stop();
      } finally {
        root?.cleanup();
      }
    });

    test('runs with the fake root as its /, with its root, state and socket inside it', () => {
      expect(node.isActive()).toBe(true);
      const pid = node.pid()!;
      // its own mount namespace, whose root is the fake root
      expect(fs.readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
      expect(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).toMatch(new RegExp(`^\\S+ \\S+ \\S+ ${root.path} / `, 'm'));
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining([
        'containerd', '--config', CONFIG, '--root', '/var/lib/containerd', '--state', '/run/containerd', '--address', '/run/containerd/containerd.sock',
      ]));
      // its own network namespace
      expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
      expect(node.address).toBe(root.resolve('/run/containerd/containerd.sock'));
      expect(fs.statSync(node.address).isSocket()).toBe(true);
      expect(fs.existsSync(root.resolve('/var/lib/containerd/io.containerd.content.v1.content'))).toBe(true);
      expect(node.pluginStatus('cri')).toBe('ok');
      expect(node.log()).toMatch(/containerd successfully booted/);
      expect(node.snapshotter).toBe(testCriConfig().match(/snapshotter = "(\w+)"/)![1]);
    });

    test('a runc pod sandbox runs through CRI, its BinaryName resolved in the fake root', async () => {
      const id = await cri.runPodSandbox({ name: 'runc-wrapped', handler: 'wrapped' });
      const status = (await cri.podSandboxStatus(id)).status;
      expect(status.state).toBe('SANDBOX_READY');
      expect(status.runtime_handler).toBe('wrapped');
      expect(root.read('/var/log/runc-wrapper.log')).toMatch(new RegExp(`\\bstart ${id}`));

      const cid = await cri.createContainer(id, { name: 'hello', command: ['/bin/busybox', 'sh', '-c', 'echo hello from runc; uname -r'] });
      await cri.startContainer(cid);
      expect((await waitForContainerExit(cri, cid)).exit_code).toBe(0);
      expect(await cri.containerLog(cid)).toBe(`hello from runc\n${os.release()}\n`);
      await cri.removeContainer(cid);
      await cri.stopPodSandbox(id);
      await cri.removePodSandbox(id);
    });

    test('an unknown handler fails with containerd\'s own message', async () => {
      const err = await cri.runPodSandbox({ name: 'unknown', handler: 'x' }).catch(e => e);
      expect(err).toBeInstanceOf(CriError);
      expect(err.message).toContain('no runtime for "x" is configured');
    });

    describeIfAvailable('gVisor', gvisorUnavailableReason, () => {
      beforeAll(() => assertAvailable(gvisorUnavailableReason));

      test('a pod with two busybox containers runs in one gVisor kernel; stop and remove work', async () => {
        const id = await cri.runPodSandbox({ name: 'gvisor', handler: 'runsc' });
        const sandbox = await cri.podSandboxStatus(id, true);
        const status = sandbox.status;
        expect(status.state).toBe('SANDBOX_READY');
        expect(status.runtime_handler).toBe('runsc');
        // What `crictl inspectp` prints: the handler, and containerd's runtime type behind it.
        const sandboxInfo = JSON.parse(sandbox.info.info);
        expect([sandboxInfo.runtimeHandler, sandboxInfo.runtimeType]).toEqual(['runsc', 'io.containerd.runsc.v1']);

        const containers = await expectTwoContainersInOneGvisorKernel(cri, id, RUNSC_TOML);
        await expectStopAndRemove(cri, id, containers);
        // Nothing of the sandbox is left running (only the daemon itself).
        expect(processesOf(node.stateDir)).toEqual([node.pid()]);
      });
    });

    describeIfAvailable('crun', crunUnavailableReason, () => {
      beforeAll(() => assertAvailable(crunUnavailableReason));

      test('a pod runs through a handler with BinaryName crun, and crun (not runc) ran it', async () => {
        const id = await cri.runPodSandbox({ name: 'crun', handler: 'crun' });
        const status = (await cri.podSandboxStatus(id)).status;
        expect(status.state).toBe('SANDBOX_READY');
        expect(status.runtime_handler).toBe('crun');
        const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sleep', '3600'] });
        await cri.startContainer(cid);
        expect((await cri.containerStatus(cid)).status.state).toBe('CONTAINER_RUNNING');

        // The runc shim keeps the OCI runtime's state under /run/containerd/runc/<ns>, whichever
        // binary it runs: crun's state files are its own (`status`, `config.json`), runc's is
        // `state.json`; `crun list` knows the containers and `runc list` does not.
        const stateDir = root.resolve(`/run/containerd/runc/k8s.io/${cid}`);
        expect(fs.readdirSync(stateDir)).toEqual(expect.arrayContaining(['status', 'config.json']));
        expect(fs.existsSync(path.join(stateDir, 'state.json'))).toBe(false);
        const list = (bin: string) => spawnSync('chroot', [root.path, bin, '--root', '/run/containerd/runc/k8s.io', 'list'], { encoding: 'utf8' }).stdout;
        expect(list('crun')).toContain(cid);
        expect(list('crun')).toContain(id);
        expect(list('runc')).not.toContain(cid);

        await cri.stopContainer(cid, 0);
        await cri.removeContainer(cid);
        await cri.stopPodSandbox(id);
        await cri.removePodSandbox(id);
      });
    });
  });

  describe('the systemctl stand-in', () => {
    let root: HostRoot;
    let node: NodeContainerd;

    beforeAll(async () => {
      root = createHostRoot({ nodeMounts: true });
      root.write(CONFIG, testCriConfig());
      node = nodeContainerd(root, { timeoutMs: 10_000 });
    });

    afterAll(async () => {
      try {
        await node?.stop();
      } finally {
        root?.cleanup();
      }
    });

    test('restart, is-active and stop drive the node daemon, each call recorded', async () => {
      expect(systemctl(node, ['is-active', 'containerd']).stdout).toBe('inactive\n');
      const quiet = systemctl(node, ['is-active', '--quiet', 'containerd']);
      expect([quiet.status, quiet.stdout]).toEqual([3, '']); // systemctl's "not running"


      const restart = systemctl(node, ['restart', 'containerd']);
      expect(restart.stderr).toBe('');
      expect(restart.status).toBe(0);
      const first = node.pid()!;
      expect(first).toBeGreaterThan(0);
      // it answered before restart returned
      expect(node.ctr('version').ok).toBe(true);
      expect(systemctl(node, ['is-active', '--quiet', 'containerd']).status).toBe(0);

      // k3s or containerd: the unit name is the caller's
      expect(systemctl(node, ['restart', 'k3s']).status).toBe(0);
      const second = node.pid()!;
      expect(second).not.toBe(first);
      expect(fs.existsSync(`/proc/${first}`) && !/\) Z/.test(fs.readFileSync(`/proc/${first}/stat`, 'utf8'))).toBe(false);

      expect(systemctl(node, ['stop', 'containerd']).status).toBe(0);
      expect(node.isActive()).toBe(false);
      expect(systemctl(node, ['is-active', 'containerd']).status).not.toBe(0);

      expect(node.systemctlCalls()).toEqual([
        'systemctl is-active containerd',
        'systemctl is-active --quiet containerd',
        'systemctl restart containerd',
        'systemctl is-active --quiet containerd',
        'systemctl restart k3s',
        'systemctl stop containerd',
        'systemctl is-active containerd',
      ]);
    });

    test('STANDIN_ON_RESTART runs before the daemon restarts; STANDIN_ACTIVE gives canned answers', async () => {
      await node.start();
      const before = node.pid()!;
      const seen = path.join(work, 'hook-saw');
      const hook = `cat "$NODE_STATE_DIR/containerd.pid" > ${seen}; echo "$INSTALLER_PID" >> ${seen}`;
      const r = systemctl(node, ['restart', 'containerd'], { STANDIN_ON_RESTART: hook });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [pidDuringHook, installerPid] = fs.readFileSync(seen, 'utf8').trim().split('\n');
      expect(Number(pidDuringHook)).toBe(before);
      expect(Number(installerPid)).toBe(process.pid); // spawnSync's child is the stand-in itself
      expect(node.pid()).not.toBe(before);

      expect(systemctl(node, ['is-active', 'containerd'], { STANDIN_ACTIVE: 'no' }).status).toBe(3);
      await node.restart();
      expect(systemctl(node, ['is-active', 'containerd'], { STANDIN_ACTIVE: 'yes' }).stdout).toBe('active\n');
    });

    test('a config containerd cannot load makes restart fail with the end of the daemon log', () => {
      const good = root.read(CONFIG);
      root.write(CONFIG, 'version = 2\n[plugins\n');
      try {
        const r = systemctl(node, ['restart', 'containerd']);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`containerd in ${root.path} exited during startup`);
        expect(r.stderr).toMatch(/--- last lines of .*containerd\.log ---[\s\S]*toml/i);
        expect(node.isActive()).toBe(false);
      } finally {
        root.write(CONFIG, good);
      }
      expect(systemctl(node, ['restart', 'containerd']).status).toBe(0);
      expect(node.isActive()).toBe(true);
    });

    test('a daemon that never answers on its socket is stopped after the timeout', () => {
      // A real containerd that listens elsewhere, first on the daemon's PATH.
      root.write('/usr/local/elsewhere/containerd', [
        '#!/bin/sh',
        'exec /usr/bin/containerd --config /etc/containerd/config.toml --root /var/lib/elsewhere --state /run/elsewhere --address /run/elsewhere/containerd.sock',
        '',
      ].join('\n'), 0o755);
      const r = systemctl(node, ['restart', 'containerd'], { NODE_CONTAINERD_TIMEOUT: '2', NODE_CONTAINERD_PATH: '/usr/local/elsewhere:/usr/bin' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`containerd in ${root.path} did not answer on /run/containerd/containerd.sock within 2 s`);
      expect(r.stderr).toContain('address=/run/elsewhere/containerd.sock'); // the log's end
      expect(node.isActive()).toBe(false);
      expect(processesOf(node.stateDir)).toEqual([]);
    });
  });
});
