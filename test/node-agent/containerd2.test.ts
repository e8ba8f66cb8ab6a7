/**
 * The node agent on a node that runs containerd 2.1.9 (Debian's package, unpacked into the
 * node's /usr/local/bin: both the daemon the node's systemctl restarts and the agent's default
 * `chroot /host containerd` run it, the image's PATH putting /usr/local/bin first). The
 * synthesized node-setup DaemonSet's pod runs as a cluster would run it: the kubelet played by
 * the harness (`kubelet.ts`, in the alpine-like BusyBox userland of node:22-alpine, the agent
 * exactly as the DaemonSet declares it: no ONESHOT, no KUBECTL, default HOST_SYSTEMCTL and
 * HOST_CONTAINERD), the API server by a local HTTPS recorder. Three starting configs: 2.1.9's
 * own `containerd config default`, one whose `imports` glob already covers conf.d, and a
 * containerd 1.6-style version 2 file that 2.1.9 migrates. Each: install, the handler served per
 * CRI `runtime_handlers`, a real pod through it, a second pod after the first stopped with the
 * DaemonSet present changes nothing, SIGTERM with the DaemonSet gone gives back every byte. Also
 * gVisor (runsc 20240729, gVisor's shim) and crun 1.21 pods on 2.1.9, and the fact that Debian's
 * crun 1.8.1 cannot run 2.1.9's containers. Where a class cannot run here (crun 1.8.1; gVisor's
 * own network stack on this kernel), the node is never labelled, and the readiness probe says
 * why: the runtime's error with the fix.
 *
 * Needs root, containerd 1.6's tools (the harness), Alpine's BusyBox and ../shared/tools beside
 * the repository; skipped with the reason when something is missing, unless `CI` is set (then it
 * fails).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synth, Synthesized } from './daemonset-node';
import { changedFiles, KubeletNode } from './kubelet-node';
import { CrunRuntime, GvisorRuntime, RuncRuntime, SandboxedRuntime } from '../../src';
import { testCriConfig, writeRuncWrapper } from '../support/containerd';
import { CriClient, CriError } from '../support/cri-client';
import { expectStopAndRemove, expectTwoContainersInOneGvisorKernel } from '../support/gvisor-pod';
import { createHostRoot, HostRoot } from '../support/host-root';
import { busyboxUnavailableReason } from '../support/image-root';
import { Pod } from '../support/kubelet';
import {
  containerd2Default, containerd2DefaultConfig, containerd2UnavailableReason, CRUN_121, crun121UnavailableReason,
  gvisor2024UnavailableReason, installContainerd2, runsc2024, withMachineSettings,
} from '../support/newer-runtimes';
import { installIntoRoot, nodeContainerd } from '../support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';
import { assertAvailable, crunUnavailableReason, describeIfAvailable, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH } from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const RESTART = 'systemctl restart containerd';

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'containerd2-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Why the matrix cannot run here: containerd 2.1.9 or the alpine-like image root is missing. */
function unavailableReason(): string | undefined {
  return containerd2UnavailableReason() ?? busyboxUnavailableReason();
}

/**
 * A node running containerd 2.1.9 for the synthesized setup: containerd 2.1.9 in /usr/local/bin,
 * `files` written into the root, `prepare` run, the daemon started on them with the pause image.
 */
function bootNode2(manifests: any[], files: Record<string, string>, prepare: (root: HostRoot) => void = () => undefined): Promise<KubeletNode> {
  return KubeletNode.boot(manifests, {
    runtime: 'containerd',
    pauseTar,
    prepare: (root) => {
      installContainerd2(root);
      for (const [file, text] of Object.entries(files)) root.write(file, text);
      prepare(root);
    },
  });
}

/** CRI Version of the node's daemon: containerd 2.1.9. */
async function expectContainerd219(node: KubeletNode): Promise<void> {
  const cri = new CriClient(node.address);
  try {
    const v = await cri.version();
    expect([v.runtime_name, v.runtime_version]).toEqual(['containerd', '2.1.9+unknown']);
  } finally {
    cri.close();
  }
}

/**
 * The DaemonSet's pod installs: the recorder sees the ready label once, after the one restart, set
 * by an agent that ran 2.1.9 as its host containerd; the readiness probe passes. Returns the
 * running pod and the daemon's PID.
 */
async function installAndExpectServed(node: KubeletNode, synthesized: Synthesized<SandboxedRuntime>): Promise<{ pod: Pod; daemon: number }> {
  const before = node.runtimePid();
  const pod = await node.runPod();
  await node.expectInstallOutcome(pod, 'installed');
  expect(pod.container('agent').logs()).toMatch(/host containerd 2\.1\.9/);
  expect(node.readyLabels()).toEqual([synthesized.readyLabel]);
  const changes = node.labelChanges(synthesized.readyLabel);
  expect(changes.map((c) => c.value)).toEqual(['ready']);
  expect(node.restarts()).toEqual([RESTART]);
  expect(changes[0].at.getTime()).toBeGreaterThanOrEqual(node.restartTimes()[0].getTime());
  const after = node.runtimePid()!;
  expect(after).toBeGreaterThan(0);
  expect(after).not.toBe(before);
  const probe = await node.probe(pod);
  expect([probe.exitCode, probe.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^ready: ${synthesized.handler}\n`))]);
  await expectContainerd219(node);
  const cri = new CriClient(node.address);
  try {
    expect(await cri.runtimeHandlers()).toEqual(expect.arrayContaining([synthesized.handler, 'runc']));
  } finally {
    cri.close();
  }
  return { pod, daemon: after };
}

/**
 * SIGTERM while the DaemonSet exists keeps everything; a second pod then re-runs the install and
 * changes nothing: no file rewritten (mtimes included), no restart, the same daemon, still labelled
 * and ready. Returns the second pod.
 */
async function expectNoOpRerun(node: KubeletNode, first: Pod, daemon: number, synthesized: Synthesized<SandboxedRuntime>): Promise<Pod> {
  const files = node.files(true);
  const restarts = node.restarts().length;
  const labelChanges = node.api.labelChanges.length;
  const kept = await node.stopPod(first);
  expect(kept.exitCode).toBe(0);
  expect(kept.logs).toContain('the DaemonSet still wants this node');
  const second = await node.runPod();
  await node.expectInstallOutcome(second, 'installed');
  expect(second.container('agent').logs()).toContain('nothing changed: no restart');
  expect(node.restarts()).toHaveLength(restarts);
  expect(node.files(true)).toEqual(files);
  expect(node.runtimePid()).toBe(daemon);
  expect(node.readyLabels()).toEqual([synthesized.readyLabel]);
  expect(node.api.labelChanges.slice(labelChanges).filter((c) => c.value !== 'ready')).toEqual([]);
  expect((await node.probe(second)).exitCode).toBe(0);
  return second;
}

/**
 * SIGTERM with the DaemonSet gone uninstalls: the label removed, then one restart, every file as
 * before install, and the handler is unknown again.
 */
async function uninstallAndExpectRestored(
  node: KubeletNode, pod: Pod, synthesized: Synthesized<SandboxedRuntime>, before: Map<string, string>,
): Promise<void> {
  const restarts = node.restarts().length;
  const labelChanges = node.labelChanges(synthesized.readyLabel).length;
  const exit = await node.uninstallBySigterm(pod);
  expect(exit.exitCode).toBe(0);
  expect(exit.logs).toContain(`DaemonSet ${pod.namespace}/${node.daemonSet.metadata.name} no longer exists`);
  expect(exit.logs).not.toContain('changed since this node setup edited it');
  const removed = node.labelChanges(synthesized.readyLabel).slice(labelChanges);
  expect(removed.map((c) => c.value)).toEqual([null]);
  expect(node.readyLabels()).toEqual([]);
  expect(node.restarts().slice(restarts)).toEqual([RESTART]);
  expect(removed[0].at.getTime()).toBeLessThanOrEqual(node.restartTimes()[restarts].getTime());
  expect(node.files()).toEqual(before);
  const cri = new CriClient(node.address, { hostRoot: node.root });
  try {
    expect(await cri.runtimeHandlers()).not.toContain(synthesized.handler);
    const err = await cri.runPodSandbox({ name: 'after-uninstall', handler: synthesized.handler }).catch((e) => e);
    expect(err).toBeInstanceOf(CriError);
    expect(err.message).toContain(`no runtime for "${synthesized.handler}" is configured`);
  } finally {
    cri.close();
  }
}

/**
 * The DaemonSet's pod never labels the node: its first install ends not ready, the label only
 * ever removed, and the readiness probe fails with the reason. Returns the pod and the reason.
 */
async function expectNeverLabelled(node: KubeletNode, synthesized: Synthesized<SandboxedRuntime>): Promise<{ pod: Pod; reason: string }> {
  const pod = await node.runPod();
  await node.expectInstallOutcome(pod, 'not ready');
  expect(node.readyLabels()).toEqual([]);
  expect(node.labelChanges(synthesized.readyLabel).filter((c) => c.value !== null)).toEqual([]);
  const probe = await node.probe(pod);
  expect(probe.exitCode).toBe(1);
  return { pod, reason: probe.stdout.trim() };
}

/** containerd 2.1.9's default config with `imports = []` set to `list` (a TOML array). */
function defaultWithImports(list: string): string {
  const text = containerd2Default();
  expect(text.match(/^imports = \[\]$/mg)).toHaveLength(1);
  return text.replace(/^imports = \[\]$/m, `imports = ${list}`);
}

/** The machine's two settings as a version 3 drop-in. */
const MACHINE_DROP_IN = [
  'version = 3',
  '',
  "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
  `  sandbox = '${PAUSE_IMAGE}'`,
  '',
  "[plugins.'io.containerd.cri.v1.runtime']",
  '  restrict_oom_score_adj = true',
  '',
].join('\n');

/** The agent's drop-in on a containerd 2.x node. */
const DROP_IN = (node: KubeletNode) => `/etc/containerd/conf.d/${node.daemonSet.metadata.name}.toml`;

/** Starting config: name, files, the node files install writes (the agent's state aside). */
const STARTING_CONFIGS: Array<[string, () => Record<string, string>, (node: KubeletNode) => string[]]> = [
  // The main file's `imports = []` gains the drop-in.
  ['containerd 2.1.9\'s own `config default` (its `imports = []` included)', () => ({ [CONFIG]: containerd2DefaultConfig() }), (node) => [DROP_IN(node), CONFIG]],
  // The glob already covers the drop-in: the main file stays as it is.
  ['a version 3 file importing /etc/containerd/conf.d/*.toml, with a file there', () => ({
    [CONFIG]: defaultWithImports('["/etc/containerd/conf.d/*.toml"]'),
    '/etc/containerd/conf.d/10-machine.toml': MACHINE_DROP_IN,
  }), (node) => [DROP_IN(node)]],
  // Version 2 tables appended between markers, as on containerd 1.x.
  ['a containerd 1.6-style version 2 file, migrated by 2.1.9', () => ({ [CONFIG]: testCriConfig() }), () => [CONFIG]],
];

describeIfAvailable('the node agent on containerd 2.1.9', containerd2UnavailableReason, () => {
  beforeAll(() => assertAvailable(containerd2UnavailableReason));

  test('withMachineSettings changes exactly the two lines of 2.1.9\'s default config', () => {
    const plain = containerd2Default();
    const changed = withMachineSettings(plain).split('\n');
    const diff = plain.split('\n').map((l, i) => [l, changed[i]]).filter(([a, b]) => a !== b);
    expect(diff).toEqual([
      ["      sandbox = 'registry.k8s.io/pause:3.10'", `      sandbox = '${PAUSE_IMAGE}'`],
      ['    restrict_oom_score_adj = false', '    restrict_oom_score_adj = true'],
    ]);
  });

  describeIfAvailable('its node-setup DaemonSet run in the alpine-like BusyBox userland (kubelet played by the harness, API server played by a local HTTPS recorder)', unavailableReason, () => {
    beforeAll(() => assertAvailable(unavailableReason));

    test.each(STARTING_CONFIGS)('%s: install serves a second runc handler, a pod runs through it, a second pod changes nothing, SIGTERM with the DaemonSet gone restores every byte', async (_name, files, written) => {
      const synthesized = synth((chart) => new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath: '/usr/local/bin/runc-audit' }));
      const node = await bootNode2(synthesized.manifests, files(), (root) => {
        // The wrapper exists only in the node: containerd resolves it there or nowhere.
        writeRuncWrapper(root.resolve('/usr/local/bin'), '/var/log/runc-audit.log', 'runc-audit');
      });
      try {
        await expectContainerd219(node);
        const before = node.files();
        const { pod, daemon } = await installAndExpectServed(node, synthesized);
        expect(changedFiles(before, node.files())).toEqual(written(node).sort());

        const cri = new CriClient(node.address, { hostRoot: node.root });
        try {
          const id = await cri.runPodSandbox({ name: 'audit', handler: synthesized.handler });
          expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: synthesized.handler }));
          const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo audited'] });
          await cri.startContainer(cid);
          expect(await cri.waitForLog(cid, /audited/)).toBe('audited\n');
          const calls = node.root.read('/var/log/runc-audit.log');
          expect(calls).toMatch(new RegExp(`\\bcreate .*${id}`));
          expect(calls).toMatch(new RegExp(`\\bstart ${cid}`));
          await cri.removeAll();
        } finally {
          cri.close();
        }

        const second = await expectNoOpRerun(node, pod, daemon, synthesized);
        await uninstallAndExpectRestored(node, second, synthesized, before);
      } finally {
        await node.cleanup();
      }
    }, 300_000);

    describeIfAvailable('gVisor (runsc 20240729, gVisor\'s shim)', gvisor2024UnavailableReason, () => {
      beforeAll(() => assertAvailable(gvisor2024UnavailableReason));

      test('default platform with host networking: labelled, a two-container pod runs in one gVisor kernel, a second pod changes nothing; SIGTERM with the DaemonSet gone removes the handler', async () => {
        const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor', { hostNetworking: true }));
        const gvisor = synthesized.runtime;
        const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
          installIntoRoot(root, runsc2024(), gvisor.runscPath);
          installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
        });
        try {
          const before = node.files();
          const { pod, daemon } = await installAndExpectServed(node, synthesized);
          expect(node.root.read(gvisor.configPath)).toMatch(/^network = "host"\nplatform = "systrap"$/m);
          const second = await expectNoOpRerun(node, pod, daemon, synthesized);
          const cri = new CriClient(node.address, { hostRoot: node.root });
          try {
            const id = await cri.runPodSandbox({ name: 'gvisor', handler: synthesized.handler });
            expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: synthesized.handler }));
            const containers = await expectTwoContainersInOneGvisorKernel(cri, id, gvisor.configPath);
            await expectStopAndRemove(cri, id, containers);
          } finally {
            cri.close();
          }
          await uninstallAndExpectRestored(node, second, synthesized, before);
        } finally {
          await node.cleanup();
        }
      }, 300_000);

      test('the default GvisorRuntime (systrap, gVisor\'s network): runsc\'s own checks pass, the check sandbox does not, so never labelled; the probe says why and the fix', async () => {
        const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor'));
        const gvisor = synthesized.runtime;
        const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
          installIntoRoot(root, runsc2024(), gvisor.runscPath);
          installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
        });
        try {
          const { reason } = await expectNeverLabelled(node, synthesized);
          expect(node.root.read(gvisor.configPath)).toMatch(/^platform = "systrap"$/m);
          expect(reason).toMatch(/^not ready: a pod sandbox with runtime handler runsc failed to start: .*cannot run with network enabled in root network namespace.*\. Fix: gVisor's own network stack does not run on this node's kernel: give the GvisorRuntime hostNetworking: true/);
        } finally {
          await node.cleanup();
        }
      }, 300_000);
    });

    describeIfAvailable('crun 1.21', crun121UnavailableReason, () => {
      beforeAll(() => assertAvailable(crun121UnavailableReason));

      test('labelled, a pod runs under the class\'s handler and crun 1.21 ran it (crun\'s state lists it), a second pod changes nothing; SIGTERM with the DaemonSet gone restores every byte', async () => {
        const binaryPath = '/usr/local/bin/crun';
        const synthesized = synth((chart) => new CrunRuntime(chart, 'crun', { binaryPath }));
        const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
          installIntoRoot(root, CRUN_121, binaryPath);
        });
        try {
          const crun = (...args: string[]) => spawnSync('chroot', [node.root.path, binaryPath, ...args], { encoding: 'utf8' }).stdout;
          expect(crun('--version')).toMatch(/^crun version 1\.21\n/);
          const before = node.files();
          const { pod, daemon } = await installAndExpectServed(node, synthesized);
          const second = await expectNoOpRerun(node, pod, daemon, synthesized);
          const cri = new CriClient(node.address, { hostRoot: node.root });
          try {
            const id = await cri.runPodSandbox({ name: 'crun', handler: synthesized.handler });
            const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo hello from crun; sleep 3600'] });
            await cri.startContainer(cid);
            const info = JSON.parse((await cri.containerStatus(cid, true)).info.info);
            expect(info.runtimeOptions).toEqual(expect.objectContaining({ binary_name: binaryPath }));
            expect(await cri.waitForLog(cid, /hello/)).toBe('hello from crun\n');
            const list = crun('--root', '/run/containerd/runc/k8s.io', 'list');
            expect(list).toContain(id);
            expect(list).toContain(cid);
            await cri.removeAll();
          } finally {
            cri.close();
          }
          await uninstallAndExpectRestored(node, second, synthesized, before);
        } finally {
          await node.cleanup();
        }
      }, 300_000);
    });

    describeIfAvailable('Debian\'s crun 1.8.1', crunUnavailableReason, () => {
      beforeAll(() => assertAvailable(crunUnavailableReason));

      test('CrunRuntime on Debian\'s crun 1.8.1: installed, served, but never labelled; the probe gives crun\'s error and the fix; the retry restarts nothing', async () => {
        const synthesized = synth((chart) => new CrunRuntime(chart, 'crun', { binaryPath: '/usr/bin/crun' }));
        const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() });
        try {
          const { pod, reason } = await expectNeverLabelled(node, synthesized);
          expect(node.labelChanges(synthesized.readyLabel).map((c) => c.value)).toEqual([null]);
          expect(node.restarts()).toEqual([RESTART]);
          expect(pod.container('agent').logs()).toMatch(/containerd serves runtime handler\(s\) crun/);
          expect(reason).toMatch(/^not ready: a pod sandbox with runtime handler crun failed to start: .*unknown version specified.*\. Fix: the OCI runtime is older than the OCI runtime spec this container runtime writes .*install a newer one on the node \(crun 1\.15 or later\)\. The node is not labelled ready for crun$/);
          // The agent retries with backoff: the check again, no restart (nothing on disk changed).
          const failure = /\] ERROR: a pod sandbox with runtime handler crun failed to start: /;
          await node.waitForLog(pod, failure, 2, 60_000);
          expect(node.restarts()).toEqual([RESTART]);
          expect(node.readyLabels()).toEqual([]);
          expect((await node.probe(pod)).exitCode).toBe(1);
        } finally {
          await node.cleanup();
        }
      }, 300_000);
    });
  });

  describeIfAvailable('Debian\'s crun 1.8.1 under containerd 2.1.9\'s CRI', crunUnavailableReason, () => {
    beforeAll(() => assertAvailable(crunUnavailableReason));

    test('cannot run containerd 2.1.9\'s containers: RunPodSandbox fails with "unknown version specified"', async () => {
      const root = createHostRoot({ nodeMounts: true });
      const node = nodeContainerd(root);
      try {
        installContainerd2(root);
        root.write(CONFIG, `${containerd2DefaultConfig()}
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]
  runtime_type = 'io.containerd.runc.v2'
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun.options]
    BinaryName = '/usr/bin/crun'
    SystemdCgroup = false
`);
        await node.start();
        await importImage(node, pauseTar, PAUSE_IMAGE);
        const cri = new CriClient(node.address, { hostRoot: root });
        try {
          expect(await cri.runtimeHandlers()).toContain('crun');
          const err = await cri.runPodSandbox({ name: 'crun-181', handler: 'crun' }).catch((e) => e);
          expect(err).toBeInstanceOf(CriError);
          expect(err.message).toContain('unknown version specified');
          // The node's runc (the default handler) runs the same pod.
          const id = await cri.runPodSandbox({ name: 'runc', handler: 'runc' });
          expect((await cri.podSandboxStatus(id)).status.state).toBe('SANDBOX_READY');
          await cri.removeAll();
        } finally {
          cri.close();
        }
      } finally {
        await node.stop();
        root.cleanup();
      }
    });
  });
});
