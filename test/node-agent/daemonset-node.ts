/**
 * The end-to-end tests' view of a node whose node-setup pod runs as a cluster runs it: a
 * `KubeletNode` (`kubelet-node.ts`: the node's own containerd 1.6 in a host root with the pod
 * network's CNI bridge, the kubelet played by the harness with the agent in the alpine-like
 * BusyBox userland exactly as its DaemonSet declares it, the API server by a local HTTPS
 * recorder) booted on the node's own config (runc only), plus the expectations these tests share:
 * an install labelled after the restart and only then ready, and an uninstall by SIGTERM with the
 * DaemonSet gone that removes the label before the restart and gives the config back byte for byte.
 *
 * What the cluster and the node see is read from the harness: labels from the recorder
 * (`api.nodeLabels`, `api.labelChanges`), restarts from the node's systemd
 * (`kubelet.systemctlHistory()`), readiness from the probe (its command run in the container, and
 * the kubelet's probe results).
 */
import * as fs from 'fs';
import { Chart, Duration, Testing } from 'cdk8s';
import { KUBELET_NODE_NAME, KubeletNode } from './kubelet-node';
import { NodeSetup, RuncRuntime, SandboxedRuntime } from '../../src';
import { LabelChange, RecordingApiServer } from '../support/api-server';
import { testCriConfig } from '../support/containerd';
import { CriClient, CriError } from '../support/cri-client';
import { HostRoot } from '../support/host-root';
import { Kubelet, Pod, SystemctlCall } from '../support/kubelet';
import { NodeContainerd } from '../support/node-containerd';

export const CONFIG = '/etc/containerd/config.toml';
export const NODE = KUBELET_NODE_NAME;
/** The node's labels before any node setup ran. */
export const NODE_LABELS = { 'kubernetes.io/os': 'linux' };
/** The agent may wait for containerd up to its VERIFY_TIMEOUT (120 s in the DaemonSet). */
export const AGENT_TIMEOUT_MS = 150_000;
/** How often the tests run the readiness probe's command themselves while the agent installs. */
const PROBE_SAMPLE_MS = 500;

/** A synthesized app with one runtime, and what the cluster reads from it. */
export interface Synthesized<R extends SandboxedRuntime> {
  readonly runtime: R;
  readonly manifests: any[];
  /** The RuntimeClass's handler, as synthesized. */
  readonly handler: string;
  /** The node label the RuntimeClass selects (value `ready`). */
  readonly readyLabel: string;
  /** The node setup's DaemonSet. */
  readonly daemonSet: any;
}

export function synth<R extends SandboxedRuntime>(make: (chart: Chart) => R): Synthesized<R> {
  const chart = new Chart(Testing.app(), 'test');
  const runtime = make(chart);
  const manifests = Testing.synth(chart);
  const runtimeClass = manifests.find((m) => m.kind === 'RuntimeClass');
  const selector = Object.entries(runtimeClass.scheduling.nodeSelector as Record<string, string>).filter(([, v]) => v === 'ready');
  expect(selector).toHaveLength(1);
  const daemonSets = manifests.filter((m) => m.kind === 'DaemonSet');
  expect(daemonSets).toHaveLength(1);
  return { runtime, manifests, handler: runtimeClass.handler, readyLabel: selector[0][0], daemonSet: daemonSets[0] };
}

/** The binary of the second runc handler `runc-audit`: a wrapper that records each call, then runs runc. */
export const AUDIT_BINARY = '/usr/local/bin/runc-audit';
export const AUDIT_LOG = '/var/log/runc-audit.log';

/** A RuncRuntime with a second handler, `runc-audit`, whose binary is the wrapper; its own NodeSetup with `recheckPeriod` if given. */
export function synthAudit(recheckPeriod?: Duration): Synthesized<RuncRuntime> {
  return synth((chart) => new RuncRuntime(chart, 'audit', {
    handler: 'runc-audit',
    binaryPath: AUDIT_BINARY,
    nodeSetup: recheckPeriod ? new NodeSetup(chart, 'setup', { recheckPeriod }) : undefined,
  }));
}

/** Puts the wrapper on the node (only there: containerd resolves it in the node's root or nowhere). */
export function preinstallAuditWrapper(root: HostRoot): void {
  root.write(AUDIT_BINARY, `#!/bin/sh\necho "$*" >> ${AUDIT_LOG}\nexec runc "$@"\n`, 0o755);
}

/** Polls `condition` every 100 ms; fails after `timeoutMs`, or at once when the pod's agent exits, with its logs. */
export async function until(what: string, condition: () => boolean, timeoutMs: number, pod?: Pod): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    const agent = pod?.container('agent');
    if (agent && !agent.running()) throw new Error(`the agent exited while waiting for ${what}:\n${agent.logs()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${agent ? `\n--- agent logs ---\n${agent.logs()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `systemctl restart ...` calls among `calls`. */
export function restartsIn(calls: SystemctlCall[]): SystemctlCall[] {
  return calls.filter((c) => /^systemctl restart /.test(c.call));
}

/**
 * A node as before the DaemonSet's pod starts: its own config (runc only), `prepare` (what the
 * node has "preinstalled"), its containerd running with the pause image; the recorder knows the
 * node with its usual labels; the kubelet runs pods in the alpine-like BusyBox userland.
 */
export class DaemonSetNode {
  static async boot(
    synthesized: Synthesized<SandboxedRuntime>, pauseTar: string, prepare: (root: HostRoot) => void = () => undefined,
  ): Promise<DaemonSetNode> {
    const node = await KubeletNode.boot(synthesized.manifests, {
      runtime: 'containerd',
      pauseTar,
      prepare: (root) => {
        root.write(CONFIG, testCriConfig());
        prepare(root);
      },
    });
    return new DaemonSetNode(node);
  }

  /** The node's config as it was before any pod ran. */
  readonly originalConfig: Buffer;

  private constructor(readonly node: KubeletNode) {
    this.originalConfig = fs.readFileSync(node.root.resolve(CONFIG));
  }

  get root(): HostRoot {
    return this.node.root;
  }

  get containerd(): NodeContainerd {
    return this.node.containerd!;
  }

  get api(): RecordingApiServer {
    return this.node.api;
  }

  get kubelet(): Kubelet {
    return this.node.kubelet;
  }

  /** A CRI client of the node's containerd (close it). */
  cri(): CriClient {
    return new CriClient(this.containerd.address, { hostRoot: this.root });
  }

  /** The changes of `label` on this node that the recorder accepted, oldest first. */
  changesOf(label: string): LabelChange[] {
    return this.node.labelChanges(label);
  }

  /**
   * Starts the DaemonSet's pod and waits for its ready label. Expects: the label set once, after
   * the agent's one restart of the node's containerd, and that daemon still the one running (so
   * the label was set while it served the handler); the readiness probe never passed before the
   * label was set (its command, run inside the container every PROBE_SAMPLE_MS during the
   * install, and the kubelet's own probes), and passes right after it (the kubelet's next probe
   * turns the pod ready: `pod.waitForReady`, up to a probe period away). Returns the pod and the
   * daemon's PID.
   */
  async installAndExpectLabelAfterServed(synthesized: Synthesized<SandboxedRuntime>): Promise<{ pod: Pod; daemon: number }> {
    const before = this.containerd.pid();
    const pod = await this.node.runPod();
    const agent = pod.container('agent');
    // The kubelet probes every periodSeconds, which an install may fit in: the same probe, more often.
    const samples: Array<{ at: number; ok: boolean; output: string }> = [];
    const deadline = Date.now() + AGENT_TIMEOUT_MS;
    while (this.api.nodeLabels(NODE)[synthesized.readyLabel] !== 'ready') {
      if (!agent.running()) throw new Error(`the agent exited before the ready label was set:\n${agent.logs()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${AGENT_TIMEOUT_MS} ms waiting for the ready label ${synthesized.readyLabel}\n--- agent logs ---\n${agent.logs()}`);
      const probe = await this.probeNow(pod);
      samples.push({ at: Date.now(), ...probe });
      await new Promise((r) => setTimeout(r, PROBE_SAMPLE_MS));
    }
    const changes = this.api.labelChanges.map((c) => [c.node, c.label, c.value]);
    expect(changes).toEqual([[NODE, synthesized.readyLabel, 'ready']]);
    const labelledAt = this.api.labelChanges[0].at.getTime();
    const restarts = restartsIn(this.kubelet.systemctlHistory());
    expect(restarts.map((c) => c.call)).toEqual(['systemctl restart containerd']);
    expect(restarts[0].at.getTime()).toBeLessThan(labelledAt);
    const after = this.containerd.pid()!;
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    expect(this.containerd.pluginStatus('cri')).toBe('ok');

    const sampledBefore = samples.filter((p) => p.at <= labelledAt);
    expect(sampledBefore.length).toBeGreaterThan(0);
    expect(sampledBefore.filter((p) => p.ok)).toEqual([]);
    // The kubelet's own probes before the label failed too; the probe's command passes right after it.
    this.expectNoProbePassedBefore(pod, labelledAt);
    let probe = await this.probeNow(pod);
    for (let i = 0; !probe.ok && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the agent marks itself ready right after the label
      probe = await this.probeNow(pod);
    }
    expect(probe).toEqual({ ok: true, output: `ready: ${synthesized.handler}` });
    expect(this.containerd.pid()).toBe(after);
    return { pod, daemon: after };
  }

  /** The pod's readiness probe ran before `at` and failed every time it did. */
  expectNoProbePassedBefore(pod: Pod, at: number): void {
    const before = pod.container('agent').probes().filter((p) => p.at.getTime() <= at);
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((p) => p.success)).toEqual([]);
  }

  /** Runs the agent container's readiness probe, as the DaemonSet declares it, now (what the kubelet's next probe sees). */
  async probeNow(pod: Pod): Promise<{ ok: boolean; output: string }> {
    const r = await this.node.probe(pod);
    return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).trim() };
  }

  /**
   * Uninstalls as a cluster does: the DaemonSet is gone (deleted, or it no longer selects the
   * node) and the kubelet stops the pod with SIGTERM. Expects: the label removed, before the
   * agent's one restart of containerd; the node's config byte-identical to what it was; a pod
   * with the handler failing as on a node that never had it; no pod sandbox left.
   */
  async uninstallAndExpectGone(pod: Pod, synthesized: Synthesized<SandboxedRuntime>): Promise<void> {
    const labelsBefore = this.changesOf(synthesized.readyLabel).length;
    const callsBefore = this.kubelet.systemctlHistory().length;
    const exit = await this.node.uninstallBySigterm(pod);
    expect(exit.exitCode).toBe(0);
    expect(exit.logs).toContain(`DaemonSet ${pod.namespace}/${synthesized.daemonSet.metadata.name} no longer exists`);
    const removed = this.changesOf(synthesized.readyLabel).slice(labelsBefore);
    expect(removed.map((c) => c.value)).toEqual([null]);
    const restarts = restartsIn(this.kubelet.systemctlHistory().slice(callsBefore));
    expect(restarts.map((c) => c.call)).toEqual(['systemctl restart containerd']);
    // The label goes first, the restart onto the node's own config comes last.
    expect(removed[0].at.getTime()).toBeLessThan(restarts[0].at.getTime());
    expect(this.api.nodeLabels(NODE)).toEqual(NODE_LABELS);
    expect(fs.readFileSync(this.root.resolve(CONFIG)).equals(this.originalConfig)).toBe(true);
    const cri = this.cri();
    try {
      const err = await cri.runPodSandbox({ name: 'after-uninstall', handler: synthesized.handler }).catch((e) => e);
      expect(err).toBeInstanceOf(CriError);
      expect(err.message).toContain(`no runtime for "${synthesized.handler}" is configured`);
      expect(await cri.listPodSandbox()).toEqual([]);
    } finally {
      cri.close();
    }
  }

  cleanup(): Promise<void> {
    return this.node.cleanup();
  }
}
