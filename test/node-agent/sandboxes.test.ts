/**
 * End to end through the constructs: a cdk8s app synthesized with this library, its node
 * setup's ConfigMap and agent container taken as the kubelet would run them (TestNode with
 * `synthesizedAgent`), on a fake node whose own containerd 1.6 runs inside the host root and is
 * restarted by the agent. Then real pods over CRI: gVisor (PTRACE, host networking), crun, and a
 * second runc handler with its own binary; a default gVisor class on a runsc that predates its
 * platform is installed but never labelled ready; after uninstall each handler is gone.
 *
 * Needs root and containerd; gVisor needs runsc and gVisor's containerd shim, crun needs crun.
 * Skipped with the reason when they are missing, unless `CI` is set (then they fail).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { NODE_NAME, RunResult, synthesizedAgent, TestNode } from './helpers';
import { CrunRuntime, GvisorPlatform, GvisorRuntime, RuncRuntime, SandboxedRuntime } from '../../src';
import { SYSTRAP_FIRST_RELEASE } from '../../src/node-agent/runsc';
import { assertContainerdAvailable, describeIfContainerd, testCriConfig } from '../support/containerd';
import { CriClient, CriError } from '../support/cri-client';
import { expectStopAndRemove, expectTwoContainersInOneGvisorKernel } from '../support/gvisor-pod';
import { HostRoot } from '../support/host-root';
import { installIntoRoot, processesOf } from '../support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';
import {
  assertAvailable, crunUnavailableReason, describeIfAvailable, GVISOR_SHIM, gvisorUnavailableReason, NODE_GVISOR_SHIM_PATH, RUNSC,
} from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
/** The agent may wait for containerd up to its VERIFY_TIMEOUT (120 s in the DaemonSet). */
const AGENT_TIMEOUT_MS = 150_000;

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxes-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A synthesized app with one runtime, and what the cluster reads from it. */
interface Synthesized<R extends SandboxedRuntime> {
  readonly runtime: R;
  readonly manifests: any[];
  /** The RuntimeClass's handler, as synthesized. */
  readonly handler: string;
  /** The node label the RuntimeClass selects (value `ready`). */
  readonly readyLabel: string;
}

function synth<R extends SandboxedRuntime>(make: (chart: Chart) => R): Synthesized<R> {
  const chart = new Chart(Testing.app(), 'test');
  const runtime = make(chart);
  const manifests = Testing.synth(chart);
  const runtimeClass = manifests.find((m) => m.kind === 'RuntimeClass');
  const selector = Object.entries(runtimeClass.scheduling.nodeSelector as Record<string, string>).filter(([, v]) => v === 'ready');
  expect(selector).toHaveLength(1);
  return { runtime, manifests, handler: runtimeClass.handler, readyLabel: selector[0][0] };
}

/**
 * A node for the synthesized setup: the node's own config (runc only), `prepare` (binaries the
 * node has "preinstalled"), its containerd running with the pause image, as on a node before
 * the DaemonSet's pod starts.
 */
async function bootNode(manifests: any[], prepare: (root: HostRoot) => void = () => undefined): Promise<TestNode> {
  const node = new TestNode(undefined, {}, { agent: synthesizedAgent(manifests), ownContainerd: true });
  try {
    node.root.write(CONFIG, testCriConfig());
    prepare(node.root);
    await node.containerd!.start();
    await importImage(node.containerd!, pauseTar, PAUSE_IMAGE);
    // The pod's mounts land on this node's dirs, never on this machine's real paths.
    const env = node.env();
    expect([env.HOST_ROOT, env.STATE_DIR, env.ARTIFACTS_DIR, env.ACTION, env.NODE_NAME]).toEqual([node.root.path, node.stateDir, node.artifactsDir, 'install', NODE_NAME]);
  } catch (e) {
    await node.cleanup();
    throw e;
  }
  return node;
}

function mustSucceed(r: RunResult, what: string): void {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
}

/**
 * Installs; the ready label is recorded once, after the last restart of the node's containerd,
 * and that daemon is still the one running (so the label was set while it served the handler).
 * Returns the daemon's PID.
 */
function installAndExpectLabelAfterServed(node: TestNode, synthesized: Synthesized<SandboxedRuntime>): number {
  const containerd = node.containerd!;
  const before = containerd.pid();
  mustSucceed(node.install({ timeoutMs: AGENT_TIMEOUT_MS }), 'install');
  const calls = node.calls();
  const label = `kubectl label node ${NODE_NAME} ${synthesized.readyLabel}=ready --overwrite`;
  expect(node.labelCalls()).toEqual([label]);
  expect(node.restarts()).toEqual(['systemctl restart containerd']);
  expect(calls.indexOf(label)).toBeGreaterThan(calls.indexOf('systemctl restart containerd'));
  const after = containerd.pid()!;
  expect(after).toBeGreaterThan(0);
  expect(after).not.toBe(before);
  expect(node.readiness()).toEqual({ ready: true, reason: undefined });
  return after;
}

/** Uninstalls: the label goes, the config is the node's own again, and a pod with the handler fails as on a node without it. */
async function uninstallAndExpectGone(node: TestNode, synthesized: Synthesized<SandboxedRuntime>): Promise<void> {
  node.clearCalls();
  mustSucceed(node.uninstall({ timeoutMs: AGENT_TIMEOUT_MS }), 'uninstall');
  const unlabel = `kubectl label node ${NODE_NAME} ${synthesized.readyLabel}-`;
  expect(node.labelCalls()).toEqual([unlabel]);
  // The label goes first, the restart onto the node's own config comes last.
  expect(node.restarts()).toEqual(['systemctl restart containerd']);
  expect(node.calls().indexOf(unlabel)).toBeLessThan(node.calls().indexOf('systemctl restart containerd'));
  expect(node.root.read(CONFIG)).toBe(testCriConfig());
  const cri = new CriClient(node.containerd!.address, { hostRoot: node.root });
  try {
    const err = await cri.runPodSandbox({ name: 'after-uninstall', handler: synthesized.handler }).catch((e) => e);
    expect(err).toBeInstanceOf(CriError);
    expect(err.message).toContain(`no runtime for "${synthesized.handler}" is configured`);
    expect(await cri.listPodSandbox()).toEqual([]);
  } finally {
    cri.close();
  }
}

/** Copies the machine's runsc and gVisor's shim into the node's /usr/local/bin, where the class expects them. */
function preinstallGvisor(gvisor: GvisorRuntime) {
  return (root: HostRoot) => {
    installIntoRoot(root, RUNSC, gvisor.runscPath);
    installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
  };
}

describeIfContainerd('runtimes synthesized by this library, installed by their node agent on a node with its own containerd', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfAvailable('GvisorRuntime', gvisorUnavailableReason, () => {
    beforeAll(() => assertAvailable(gvisorUnavailableReason));

    test('PTRACE with host networking: a two-container pod runs in one gVisor kernel under the class\'s handler; stop, remove and uninstall work', async () => {
      const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor', { platform: GvisorPlatform.PTRACE, hostNetworking: true }));
      const gvisor = synthesized.runtime;
      const node = await bootNode(synthesized.manifests, preinstallGvisor(gvisor));
      const containerd = node.containerd!;
      try {
        const daemon = installAndExpectLabelAfterServed(node, synthesized);
        expect(node.root.read(gvisor.configPath)).toBe('binary_name = "/usr/local/bin/runsc"\n\n[runsc_config]\nnetwork = "host"\nplatform = "ptrace"\n');

        const cri = new CriClient(containerd.address, { hostRoot: node.root });
        try {
          const id = await cri.runPodSandbox({ name: 'gvisor', handler: synthesized.handler });
          const sandbox = await cri.podSandboxStatus(id, true);
          expect(sandbox.status.state).toBe('SANDBOX_READY');
          expect(sandbox.status.runtime_handler).toBe(synthesized.handler);
          const sandboxInfo = JSON.parse(sandbox.info.info);
          expect([sandboxInfo.runtimeHandler, sandboxInfo.runtimeType]).toEqual([synthesized.handler, 'io.containerd.runsc.v1']);

          const containers = await expectTwoContainersInOneGvisorKernel(cri, id, gvisor.configPath);
          await expectStopAndRemove(cri, id, containers);
          // Nothing of the sandbox is left running, and no restart happened since the label.
          expect(processesOf(containerd.stateDir)).toEqual([daemon]);
        } finally {
          cri.close();
        }

        await uninstallAndExpectGone(node, synthesized);
        expect(node.root.exists(gvisor.configPath)).toBe(false);
      } finally {
        await node.cleanup();
      }
    });

    test('default platform (SYSTRAP) on a runsc that predates it: installed, but the node is never labelled ready, and says why', async () => {
      const release = /runsc version (\S+)/.exec(execFileSync(RUNSC, ['--version'], { encoding: 'utf8' }))![1];
      const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor'));
      const gvisor = synthesized.runtime;
      expect(gvisor.platform).toBe(GvisorPlatform.SYSTRAP);
      const node = await bootNode(synthesized.manifests, preinstallGvisor(gvisor));
      const containerd = node.containerd!;
      try {
        const result = node.install({ timeoutMs: AGENT_TIMEOUT_MS });
        if (/(\d{8})(\.\d+)?$/.exec(release)![1] >= SYSTRAP_FIRST_RELEASE.slice(0, 8)) {
          // A runsc that knows systrap: the class runs here and is labelled like any other.
          mustSucceed(result, 'install');
          expect(node.labelCalls()).toEqual([`kubectl label node ${NODE_NAME} ${synthesized.readyLabel}=ready --overwrite`]);
          return;
        }
        // ONESHOT: 2 = this node cannot run the setup's runtimes.
        expect(result.status).toBe(2);
        const reason = node.readiness().reason!;
        expect(node.readiness().ready).toBe(false);
        expect(reason).toContain(`runtime handler ${synthesized.handler}: runsc ${release} on this node does not know platform "systrap"`);
        expect(reason).toContain('use GvisorPlatform.PTRACE');
        expect(reason).toContain('install a gVisor release from 2023-02-27 (release-20230227.0) or later');
        expect(reason).toContain(`The node is not labelled ready for ${synthesized.handler}`);
        expect(result.stdout + result.stderr).toContain(reason);
        // Never labelled ready; the label is only removed (in case an earlier run set it).
        expect(node.labelCalls()).toEqual([`kubectl label node ${NODE_NAME} ${synthesized.readyLabel}-`]);

        // The handler is installed and served: its pods fail exactly as the label would have let them.
        const cri = new CriClient(containerd.address, { hostRoot: node.root });
        try {
          const err = await cri.runPodSandbox({ name: 'systrap', handler: synthesized.handler }).catch((e) => e);
          expect(err).toBeInstanceOf(CriError);
          expect(err.message).toContain('OCI runtime create failed: unknown platform: systrap');
          await cri.removeAll();
        } finally {
          cri.close();
        }

        await uninstallAndExpectGone(node, synthesized);
      } finally {
        await node.cleanup();
      }
    });
  });

  describeIfAvailable('CrunRuntime', crunUnavailableReason, () => {
    beforeAll(() => assertAvailable(crunUnavailableReason));

    test('a pod runs under the class\'s handler, and crun (not runc) ran it; uninstall removes the handler', async () => {
      const synthesized = synth((chart) => new CrunRuntime(chart, 'crun'));
      const node = await bootNode(synthesized.manifests);
      const containerd = node.containerd!;
      try {
        const daemon = installAndExpectLabelAfterServed(node, synthesized);
        const cri = new CriClient(containerd.address, { hostRoot: node.root });
        try {
          const id = await cri.runPodSandbox({ name: 'crun', handler: synthesized.handler });
          expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: synthesized.handler }));
          const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo hello from crun; sleep 3600'] });
          await cri.startContainer(cid);
          const status = await cri.containerStatus(cid, true);
          expect(status.status.state).toBe('CONTAINER_RUNNING');
          expect(JSON.parse(status.info.info).runtimeOptions).toEqual(expect.objectContaining({ binary_name: '/usr/bin/crun' }));
          expect(await cri.waitForLog(cid, /hello/)).toBe('hello from crun\n');

          // The runc shim keeps the OCI runtime's state under /run/containerd/runc/<ns>: crun's
          // own files (`status`, `config.json`; runc writes `state.json`), and `crun list`
          // knows the containers while `runc list` does not.
          const stateDir = node.root.resolve(`/run/containerd/runc/k8s.io/${cid}`);
          expect(fs.readdirSync(stateDir)).toEqual(expect.arrayContaining(['status', 'config.json']));
          expect(fs.existsSync(path.join(stateDir, 'state.json'))).toBe(false);
          const list = (bin: string) => spawnSync('chroot', [node.root.path, bin, '--root', '/run/containerd/runc/k8s.io', 'list'], { encoding: 'utf8' }).stdout;
          expect(list('crun')).toContain(cid);
          expect(list('crun')).toContain(id);
          expect(list('runc')).not.toContain(cid);

          await cri.stopContainer(cid, 0);
          await cri.removeContainer(cid);
          await cri.stopPodSandbox(id);
          await cri.removePodSandbox(id);
          expect(containerd.pid()).toBe(daemon);
        } finally {
          cri.close();
        }
        await uninstallAndExpectGone(node, synthesized);
      } finally {
        await node.cleanup();
      }
    });
  });

  test('RuncRuntime with a second handler (runc-audit): a pod runs through its own binary, only that handler\'s; uninstall removes it', async () => {
    const binaryPath = '/usr/local/bin/runc-audit';
    const synthesized = synth((chart) => new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath }));
    expect(synthesized.handler).toBe('runc-audit');
    const auditLog = '/var/log/runc-audit.log';
    const node = await bootNode(synthesized.manifests, (root) => {
      // Exists only in the fake node: containerd resolves it there or nowhere.
      root.write(binaryPath, `#!/bin/sh\necho "$*" >> ${auditLog}\nexec runc "$@"\n`, 0o755);
    });
    const containerd = node.containerd!;
    try {
      const daemon = installAndExpectLabelAfterServed(node, synthesized);
      const cri = new CriClient(containerd.address, { hostRoot: node.root });
      try {
        const id = await cri.runPodSandbox({ name: 'audit', handler: synthesized.handler });
        expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: 'runc-audit' }));
        const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo audited; uname -r'] });
        await cri.startContainer(cid);
        expect(await cri.waitForLog(cid, /\n.*\n/)).toBe(`audited\n${os.release()}\n`);
        const audited = node.root.read(auditLog);
        expect(audited).toMatch(new RegExp(`\\bstart ${id}`));
        expect(audited).toMatch(new RegExp(`\\bstart ${cid}`));

        // The node's default handler does not go through it.
        const plain = await cri.runPodSandbox({ name: 'plain', handler: 'runc' });
        expect((await cri.podSandboxStatus(plain)).status.state).toBe('SANDBOX_READY');
        expect(node.root.read(auditLog)).not.toContain(plain);
        await cri.removeAll();
        expect(containerd.pid()).toBe(daemon);
      } finally {
        cri.close();
      }
      await uninstallAndExpectGone(node, synthesized);
    } finally {
      await node.cleanup();
    }
  });
});
