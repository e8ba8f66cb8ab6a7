/**
 * The node agent on a real CRI-O 1.34: a cdk8s app with a CRI-O node setup (crun 1.21 at a path
 * the class names, and a second runc handler through a recording wrapper), synthesized, its
 * DaemonSet's pod run as a cluster would run it: the kubelet played by the harness (`kubelet.ts`,
 * in the alpine-like BusyBox userland of node:22-alpine; the agent exactly as the DaemonSet
 * declares it: no ONESHOT, no KUBECTL, its default `chroot /host systemctl`), the API server by a
 * local HTTPS recorder, on a fake node whose own CRI-O (`nodeCrio`) the node's systemctl restarts
 * (the harness's node systemd, forwarding to `node-systemctl.sh` with `NODE_RUNTIME=crio`). Then
 * real pods over CRI, a second pod after the first stopped that changes nothing, and SIGTERM with
 * the DaemonSet gone, which gives every file back.
 *
 * The node's own CRI-O serves `crun` by itself (crun is on its PATH: Debian's 1.8.1, which refuses
 * CRI-O 1.34's specs), so a `crun` pod tells which crun CRI-O runs: before the install and after
 * the uninstall it fails with `unknown version specified`; with the agent's drop-in loaded it runs.
 *
 * Needs root, the CRI-O folder beside the repository (`../shared/tools/crio/`), Alpine's BusyBox
 * (`../shared/tools/busybox/`), conmon and containernetworking-plugins; skipped with the reason
 * when missing, unless `CI` is set.
 */
import { spawnSync } from 'child_process';
import { Chart, Testing } from 'cdk8s';
import { KubeletNode } from './kubelet-node';
import { CrunRuntime, KubernetesDistribution, NodeSetup, RuncRuntime } from '../../src';
import { CriClient, CriError } from '../support/cri-client';
import { busyboxUnavailableReason } from '../support/image-root';
import { CRIO_PAUSE_IMAGE, crioNodeConfig, crioUnavailableReason, NODE_CRUN_121 } from '../support/node-crio';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

const AUDIT_BINARY = '/usr/local/bin/runc-audit';
const AUDIT_LOG = '/var/log/runc-audit.log';
const RESTART = 'systemctl restart crio';

/** Why this cannot run here: CRI-O's tools or the alpine-like image root are missing. */
function unavailableReason(): string | undefined {
  return crioUnavailableReason() ?? busyboxUnavailableReason();
}

/** The node's crio.conf as someone edited it by hand: comments, odd spacing, a blank-line run. */
const HAND_EDITED = crioNodeConfig()
  .replace('[crio.runtime]\n', '# tuned by ops, 2026-11-02 -- do not reformat\n[crio.runtime]   # runtimes below\n')
  .replace('cgroup_manager = "cgroupfs"', 'cgroup_manager   =   "cgroupfs"    # no systemd here')
  .replace('[crio.network]', '\n\n[ crio.network ]');

function synth() {
  const chart = new Chart(Testing.app(), 'test');
  const setup = new NodeSetup(chart, 'setup', { distribution: KubernetesDistribution.CRIO });
  new CrunRuntime(chart, 'crun', { nodeSetup: setup, binaryPath: NODE_CRUN_121 });
  new RuncRuntime(chart, 'audit', { nodeSetup: setup, handler: 'runc-audit', binaryPath: AUDIT_BINARY });
  const manifests = Testing.synth(chart);
  const labels = manifests.filter((m) => m.kind === 'RuntimeClass')
    .map((rc) => Object.keys(rc.scheduling.nodeSelector).find((k) => rc.scheduling.nodeSelector[k] === 'ready')!);
  return { manifests, labels: labels.sort() };
}

async function handlersServed(cri: CriClient): Promise<string[]> {
  return (await cri.status()).runtime_handlers.map((h) => h.name).sort();
}

/** Runs a one-container pod under `handler`; returns its output (`uname -r`) and ids. */
async function runPod(cri: CriClient, handler: string, name: string): Promise<{ sandbox: string; container: string; log: string }> {
  const sandbox = await cri.runPodSandbox({ name, handler, network: 'POD' });
  expect((await cri.podSandboxStatus(sandbox)).status.state).toBe('SANDBOX_READY');
  const container = await cri.createContainer(sandbox, { name: 'c', image: CRIO_PAUSE_IMAGE, command: ['/bin/busybox', 'sh', '-c', `echo ${name}; sleep 3600`] });
  await cri.startContainer(container);
  return { sandbox, container, log: await cri.waitForLog(container, /\n/) };
}

/** A crun pod fails as it does with Debian's crun 1.8.1 (CRI-O's own `crun` handler here). */
async function expectDebianCrunRefuses(cri: CriClient): Promise<void> {
  const err = await cri.runPodSandbox({ name: 'old-crun', handler: 'crun' }).catch((e) => e);
  expect(err).toBeInstanceOf(CriError);
  expect(err.message).toContain('unknown version specified');
  await cri.removeAll();
}

describeIfAvailable('the node agent on a real CRI-O 1.34: its node-setup DaemonSet run in the alpine-like BusyBox userland (kubelet played by the harness, API server played by a local HTTPS recorder)', unavailableReason, () => {
  beforeAll(() => assertAvailable(unavailableReason));

  test('drop-in loaded after one restart (crun 1.21 and a second runc handler run pods), crio.conf kept byte for byte, a second pod changes nothing, SIGTERM with the DaemonSet gone restores every file', async () => {
    const synthesized = synth();
    const node = await KubeletNode.boot(synthesized.manifests, {
      runtime: 'crio',
      prepare: (root) => {
        root.write('/etc/crio/crio.conf', HAND_EDITED);
        root.write(AUDIT_BINARY, `#!/bin/sh\necho "$*" >> ${AUDIT_LOG}\nexec /usr/sbin/runc "$@"\n`, 0o755);
      },
    });
    const crio = node.crio!;
    const setupName = node.daemonSet.metadata.name;
    try {
      const before = node.files();
      const cri = new CriClient(crio.address, { hostRoot: node.root });
      try {
        expect(await handlersServed(cri)).toEqual(['', 'crun', 'runc']);
        await expectDebianCrunRefuses(cri);

        // Install: one restart, the labels after it, the drop-in next to the untouched crio.conf.
        const pidBefore = crio.pid();
        const first = await node.runPod();
        await node.expectInstallOutcome(first, 'installed');
        expect(node.restarts()).toEqual([RESTART]);
        expect(node.readyLabels()).toEqual(synthesized.labels);
        for (const label of synthesized.labels) {
          const changes = node.labelChanges(label);
          expect(changes.map((c) => c.value)).toEqual(['ready']);
          expect(changes[0].at.getTime()).toBeGreaterThanOrEqual(node.restartTimes()[0].getTime());
        }
        expect(crio.pid()).not.toBe(pidBefore);
        expect((await node.probe(first)).exitCode).toBe(0);
        expect(node.root.read('/etc/crio/crio.conf')).toBe(HAND_EDITED);
        const dropIn = `/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-${setupName}.conf`;
        expect(node.root.read(dropIn)).toContain(`[crio.runtime.runtimes.crun]\nruntime_path = "${NODE_CRUN_121}"`);

        // CRI-O loaded it: the handlers over CRI, the tables in its merged config.
        expect(await handlersServed(cri)).toEqual(['', 'crun', 'runc', 'runc-audit']);
        const merged = crio.config();
        expect(merged).toContain(`runtime_path = "${NODE_CRUN_121}"`);
        expect(merged).toContain(`runtime_path = "${AUDIT_BINARY}"`);

        // Pods: crun 1.21 runs the crun one (it lists it); the wrapper records the runc-audit one.
        const crunPod = await runPod(cri, 'crun', 'crun-pod');
        expect(crunPod.log).toBe('crun-pod\n');
        const listed = spawnSync('chroot', [node.root.path, NODE_CRUN_121, '--root', '/run/crun', 'list'], { encoding: 'utf8' }).stdout;
        expect(listed).toContain(crunPod.container);
        const auditPod = await runPod(cri, 'runc-audit', 'audit-pod');
        expect(auditPod.log).toBe('audit-pod\n');
        const audited = node.root.read(AUDIT_LOG);
        expect(audited).toMatch(new RegExp(`\\bstart ${auditPod.container}`));
        expect(audited).not.toContain(crunPod.container);
        expect(await cri.removeAll()).toEqual([]);

        // SIGTERM with the DaemonSet there keeps everything; a second pod writes and restarts nothing.
        const installed = node.files(true);
        const pidInstalled = crio.pid();
        const labelChanges = node.api.labelChanges.length;
        const kept = await node.stopPod(first);
        expect(kept.exitCode).toBe(0);
        expect(kept.logs).toContain('the DaemonSet still wants this node');
        const second = await node.runPod();
        await node.expectInstallOutcome(second, 'installed');
        expect(second.container('agent').logs()).toContain('nothing changed: no restart');
        expect(node.restarts()).toEqual([RESTART]);
        expect(node.files(true)).toEqual(installed);
        expect(crio.pid()).toBe(pidInstalled);
        expect(node.readyLabels()).toEqual(synthesized.labels);
        expect(node.api.labelChanges.slice(labelChanges).filter((c) => c.value !== 'ready')).toEqual([]);
        expect((await node.probe(second)).exitCode).toBe(0);

        // SIGTERM with the DaemonSet gone: labels first, one restart last, every file as before,
        // runc-audit gone, and `crun` is CRI-O's own again (Debian's crun), which the uninstall
        // must not wait out.
        const started = Date.now();
        const gone = await node.uninstallBySigterm(second);
        expect(Date.now() - started).toBeLessThan(60_000);
        expect(gone.exitCode).toBe(0);
        expect(gone.logs).toContain(`DaemonSet ${second.namespace}/${setupName} no longer exists`);
        expect(node.restarts()).toEqual([RESTART, RESTART]);
        for (const label of synthesized.labels) {
          const removed = node.labelChanges(label).filter((c) => c.value === null);
          expect(removed).toHaveLength(1);
          expect(removed[0].at.getTime()).toBeLessThanOrEqual(node.restartTimes()[1].getTime());
        }
        expect(node.readyLabels()).toEqual([]);
        expect(node.files()).toEqual(before);
        expect(node.root.exists(`/var/lib/cdk8s-runtimeclass/${setupName}`)).toBe(false);
        expect(await handlersServed(cri)).toEqual(['', 'crun', 'runc']);
        const err = await cri.runPodSandbox({ name: 'after-uninstall', handler: 'runc-audit' }).catch((e) => e);
        expect(err).toBeInstanceOf(CriError);
        await expectDebianCrunRefuses(cri);
      } finally {
        await cri.removeAll();
        cri.close();
      }
    } finally {
      await node.cleanup();
    }
  }, 400_000);
});
