/**
 * End to end through the constructs: a RuncRuntime with a second handler, `runc-audit`, whose
 * binary is a wrapper around runc that records each call (preinstalled on the node). Its
 * node-setup DaemonSet's pod runs as the DaemonSet declares it, with no test override (kubelet
 * played by the harness `kubelet.ts`, in the alpine-like BusyBox userland; API server played by a
 * local HTTPS recorder), on a fake node whose own containerd 1.6 runs inside the host root and is
 * restarted by the agent through the node's systemctl. Pods over CRI run through the wrapper, and
 * SIGTERM with the DaemonSet gone uninstalls. With a NodeSetup re-checking every 10 s, the node
 * then changes under the running pod, and the ready label (as the recorder sees it) and the pod's
 * readiness (its probe's command run in the container, and the kubelet's probes) follow. The
 * tests run concurrently, each on a node of its own.
 *
 * Needs root, containerd, runc, Debian's busybox-static (the pause image) and Alpine's BusyBox
 * (`../shared/tools/busybox`). Skipped with the reason off CI, failing under CI.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import {
  AGENT_TIMEOUT_MS, AUDIT_BINARY, AUDIT_LOG, CONFIG, DaemonSetNode, NODE, preinstallAuditWrapper, restartsIn, synthAudit, until,
} from './daemonset-node';
import { LabelChange } from '../support/api-server';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { busyboxUnavailableReason } from '../support/image-root';
import { Pod, RunningContainer, SystemctlCall } from '../support/kubelet';
import { buildPauseImageTar } from '../support/pause-image';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

/** The NodeSetup's recheckPeriod in the tests of a running pod (the least it allows). */
const RECHECK_SECONDS = 10;
/** What one check of the agent may add to its period here (a CRI call or two and a pod sandbox, on 2 busy cores). */
const CHECK_SLACK_MS = 8_000;
const TEST_TIMEOUT_MS = 400_000;

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'end-to-end-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A node whose node-setup pod (recheckPeriod RECHECK_SECONDS) has installed runc-audit, and what the tests read from it. */
interface RunningPod {
  readonly synthesized: ReturnType<typeof synthAudit>;
  readonly node: DaemonSetNode;
  readonly pod: Pod;
  readonly agent: RunningContainer;
  readonly probe: { readonly periodSeconds: number; readonly timeoutSeconds: number };
  readonly installedConfig: string;
  readonly restartsAfterInstall: number;
}

async function runningPod(): Promise<RunningPod> {
  const synthesized = synthAudit(Duration.seconds(RECHECK_SECONDS));
  const agentSpec = synthesized.daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent');
  expect(agentSpec.env).toContainEqual({ name: 'RECHECK_PERIOD', value: String(RECHECK_SECONDS) });
  const node = await DaemonSetNode.boot(synthesized, pauseTar, preinstallAuditWrapper);
  try {
    const { pod } = await node.installAndExpectLabelAfterServed(synthesized);
    const agent = pod.container('agent');
    // The kubelet's next probe turns the pod ready within a probe period: about when the agent re-checks first.
    await pod.waitForReady('agent', agentSpec.readinessProbe.periodSeconds * 1000 + CHECK_SLACK_MS);
    return {
      synthesized,
      node,
      pod,
      agent,
      probe: agentSpec.readinessProbe,
      installedConfig: node.root.read(CONFIG),
      restartsAfterInstall: restartsOf(node).length,
    };
  } catch (e) {
    await node.cleanup();
    throw e;
  }
}

function restartsOf(node: DaemonSetNode): SystemctlCall[] {
  return restartsIn(node.kubelet.systemctlHistory());
}

function labelled(r: RunningPod): boolean {
  return r.node.api.nodeLabels(NODE)[r.synthesized.readyLabel] === 'ready';
}

function lastChange(r: RunningPod): LabelChange {
  return r.node.changesOf(r.synthesized.readyLabel).slice(-1)[0];
}

/** Runs the probe's command in the container until it gives `ok` (the agent writes its readiness right after the label); returns when, and what it said. */
async function probeUntil(r: RunningPod, ok: boolean): Promise<{ at: number; output: string }> {
  for (let i = 0; ; i++) {
    const result = await r.node.probeNow(r.pod);
    if (result.ok === ok) return { at: Date.now(), output: result.output };
    if (i >= 20) throw new Error(`the readiness probe still ${ok ? 'fails' : 'passes'}: ${result.output}\n--- agent logs ---\n${r.agent.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every kubelet probe that ended from `from` (plus a probe's timeout: it started after `from`) until `to` failed. */
function expectKubeletSawNotReady(r: RunningPod, from: number, to: number): void {
  const between = r.agent.probes().filter((p) => p.at.getTime() >= from + r.probe.timeoutSeconds * 1000 && p.at.getTime() <= to);
  expect(between.filter((p) => p.success)).toEqual([]);
}

// They run at once, each on a node of its own: most of the running-pod cases' time is the agent's period and retry backoff.
describeIfContainerd('RuncRuntime with a second handler (runc-audit), its node-setup DaemonSet\'s pod running (kubelet played by the harness, API server by a local HTTPS recorder) on a node with its own containerd', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfAvailable('the agent in the alpine-like BusyBox userland', busyboxUnavailableReason, () => {
    beforeAll(() => assertAvailable(busyboxUnavailableReason));

    test.concurrent('labelled once a check sandbox ran through its wrapper, the readiness probe passes only after the label; a pod runs through its own binary, only that handler\'s, and an unknown handler fails; SIGTERM with the DaemonSet gone uninstalls (label removed before the restart), config byte-identical', async () => {
      const synthesized = synthAudit();
      expect(synthesized.handler).toBe('runc-audit');
      const node = await DaemonSetNode.boot(synthesized, pauseTar, preinstallAuditWrapper);
      try {
        const { pod, daemon } = await node.installAndExpectLabelAfterServed(synthesized);
        // The label rests on the agent's check sandbox, which ran through the wrapper.
        expect(node.root.read(AUDIT_LOG)).toMatch(/\bstart [0-9a-f]{64}\n/);
        expect(pod.container('agent').logs()).toMatch(/runtime handler runc-audit: a check sandbox reached SANDBOX_READY in \d+ ms/);
        // The state records the spec that ran with the pod's template generation (the DaemonSet controller's label, 1 for a new DaemonSet).
        const [setupName] = fs.readdirSync(node.root.resolve('/var/lib/cdk8s-runtimeclass'));
        expect(JSON.parse(node.root.read(`/var/lib/cdk8s-runtimeclass/${setupName}/state.json`)).spec).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), generation: 1 });

        const cri = node.cri();
        try {
          const id = await cri.runPodSandbox({ name: 'audit', handler: synthesized.handler });
          expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: 'runc-audit' }));
          const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo audited; uname -r'] });
          await cri.startContainer(cid);
          expect(await cri.waitForLog(cid, /\n.*\n/)).toBe(`audited\n${os.release()}\n`);
          const audited = node.root.read(AUDIT_LOG);
          expect(audited).toMatch(new RegExp(`\\bcreate .*${id}`));
          expect(audited).toMatch(new RegExp(`\\bstart ${id}`));
          expect(audited).toMatch(new RegExp(`\\bstart ${cid}`));

          // The node's default handler does not go through it.
          const plain = await cri.runPodSandbox({ name: 'plain', handler: 'runc' });
          expect((await cri.podSandboxStatus(plain)).status.state).toBe('SANDBOX_READY');
          expect(node.root.read(AUDIT_LOG)).not.toContain(plain);
          // A handler nobody added fails the way a real node does.
          await expect(cri.runPodSandbox({ name: 'unknown', handler: 'kata-fc' })).rejects.toThrow('no runtime for "kata-fc" is configured');

          // Only this test's sandboxes: the agent's own come and go on its period.
          for (const sandbox of [id, plain]) {
            await cri.stopPodSandbox(sandbox);
            await cri.removePodSandbox(sandbox);
          }
          expect(node.containerd.pid()).toBe(daemon);
        } finally {
          cri.close();
        }
        await node.uninstallAndExpectGone(pod, synthesized);
      } finally {
        await node.cleanup();
      }
    }, TEST_TIMEOUT_MS);

    test.concurrent(`recheckPeriod ${RECHECK_SECONDS} s; the wrapper's binary removed from the node: the label goes within one period and the readiness probe fails; restored: the label comes back, then the probe passes; nothing restarts`, async () => {
      const r = await runningPod();
      try {
        // The node loses the wrapper (a package removed, a node image upgraded); containerd still lists the handler.
        const broken = Date.now();
        fs.rmSync(r.node.root.resolve(AUDIT_BINARY));
        await until('the label to be removed', () => !labelled(r), RECHECK_SECONDS * 1000 + CHECK_SLACK_MS + 10_000, r.pod);
        const removed = lastChange(r);
        expect(removed.value).toBeNull();
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(RECHECK_SECONDS * 1000 + CHECK_SLACK_MS);
        const notReady = await probeUntil(r, false);
        expect(notReady.output).toMatch(/^not ready: a pod sandbox with runtime handler runc-audit failed to start: .*runc-audit.*(no such file|not found)/i);
        expect(notReady.output).toMatch(/The node is not labelled ready for runc-audit$/);

        // Restored: the agent's next try labels the node again, then the probe passes; nothing restarts.
        preinstallAuditWrapper(r.node.root);
        await until('the label to come back', () => labelled(r), 60_000 + CHECK_SLACK_MS, r.pod);
        const relabelled = lastChange(r);
        expect(relabelled.value).toBe('ready');
        expect((await probeUntil(r, true)).output).toBe('ready: runc-audit');
        expectKubeletSawNotReady(r, notReady.at, relabelled.at.getTime());
        expect(restartsOf(r.node)).toHaveLength(r.restartsAfterInstall);
      } finally {
        await r.node.cleanup();
      }
    }, TEST_TIMEOUT_MS);

    test.concurrent('config.toml reverted and containerd restarted through the node\'s systemctl: the label goes at once, the probe fails and the kubelet sees the pod not ready; the agent puts its handler back (config byte-identical to its install, one restart), labels the node, then the probe passes', async () => {
      const r = await runningPod();
      try {
        // By hand, or by configuration management: outside the pod.
        const broken = Date.now();
        fs.writeFileSync(r.node.root.resolve(CONFIG), r.node.originalConfig);
        await r.node.containerd.restart();
        await until('the label to be removed', () => !labelled(r), RECHECK_SECONDS * 1000, r.pod);
        const removed = lastChange(r);
        expect(removed.value).toBeNull();
        // A new CRI socket is noticed at once, whatever the period.
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(RECHECK_SECONDS * 1000);
        const notReady = await probeUntil(r, false);
        expect(notReady.output).toMatch(/^not ready: containerd does not serve runtime handler\(s\) runc-audit/);
        // The agent retries only after a backoff: the kubelet's next probe sees the pod not ready.
        const since = removed.at.getTime();
        await until('the kubelet to probe the pod not ready', () => r.agent.probes().some((p) => !p.success && p.at.getTime() > since), r.probe.periodSeconds * 1000 + CHECK_SLACK_MS, r.pod);
        expect(labelled(r)).toBe(false);
        expect(r.agent.ready()).toBe(false);

        // The agent's next try installs again: its handler back in config.toml, byte for byte;
        // one restart through the node's systemd; then the label, then the probe passes.
        await until('the label to come back', () => labelled(r), AGENT_TIMEOUT_MS, r.pod);
        const relabelled = lastChange(r);
        expect(r.node.root.read(CONFIG)).toBe(r.installedConfig);
        const repair = restartsOf(r.node).slice(r.restartsAfterInstall);
        expect(repair.map((c) => c.call)).toEqual(['systemctl restart containerd']);
        expect(repair[0].at.getTime()).toBeLessThan(relabelled.at.getTime());
        expect((await probeUntil(r, true)).output).toBe('ready: runc-audit');
        expectKubeletSawNotReady(r, notReady.at, relabelled.at.getTime());
      } finally {
        await r.node.cleanup();
      }
    }, TEST_TIMEOUT_MS);
  });
});
