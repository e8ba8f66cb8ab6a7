/**
 * End to end through the constructs, while the node-setup pod runs: a RuncRuntime with a second
 * handler, `runc-audit` (a wrapper around runc that records each call, preinstalled on the node),
 * and a NodeSetup re-checking every 10 s. Its DaemonSet's pod runs as the DaemonSet declares it,
 * with no test override (kubelet played by the harness `kubelet.ts`, in the alpine-like BusyBox
 * userland; API server played by a local HTTPS recorder), on a fake node whose own containerd 1.6
 * runs inside the host root. Then the node changes under the running pod, and the ready label (as
 * the recorder sees it) and the pod's readiness (as the kubelet's probes see it) follow.
 * Install, pods through the wrapper and uninstall are in `sandboxes.test.ts`.
 *
 * Needs root, containerd, runc, Debian's busybox-static (the pause image) and Alpine's BusyBox
 * (`../shared/tools/busybox`). Skipped with the reason off CI, failing under CI.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import {
  AGENT_TIMEOUT_MS, AUDIT_BINARY, CONFIG, DaemonSetNode, NODE, preinstallAuditWrapper, restartsIn, synthAudit, until,
} from './daemonset-node';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { busyboxUnavailableReason, describeIfImageRoot } from '../support/image-root';
import { buildPauseImageTar } from '../support/pause-image';

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

describeIfContainerd('RuncRuntime with a second handler (runc-audit), installed by its node-setup DaemonSet (kubelet played by the harness, API server by a local HTTPS recorder) on a node with its own containerd', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfImageRoot('the agent in the alpine-like BusyBox userland', busyboxUnavailableReason, () => {
    test(`while the pod runs, the label and the readiness probe follow the node (recheckPeriod ${RECHECK_SECONDS} s): the wrapper removed takes both away within one period and restoring it brings both back; config.toml reverted and containerd restarted takes both away at once (the kubelet sees the pod not ready) and the agent puts its handler back`, async () => {
      const synthesized = synthAudit(Duration.seconds(RECHECK_SECONDS));
      const agentSpec = synthesized.daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent');
      expect(agentSpec.env).toContainEqual({ name: 'RECHECK_PERIOD', value: String(RECHECK_SECONDS) });
      const recheckMs = RECHECK_SECONDS * 1000;
      const probe = agentSpec.readinessProbe;
      const probeMs = probe.periodSeconds * 1000;
      const label = synthesized.readyLabel;
      const node = await DaemonSetNode.boot(pauseTar, preinstallAuditWrapper);
      const labelled = () => node.api.nodeLabels(NODE)[label] === 'ready';
      const restarts = () => restartsIn(node.kubelet.systemctlHistory());
      try {
        const { pod } = await node.installAndExpectLabelAfterServed(synthesized);
        const agent = pod.container('agent');
        // The kubelet's next probe turns the pod ready, within a probe period: as long as the agent's first re-check.
        await pod.waitForReady('agent', probeMs + CHECK_SLACK_MS);
        const installedConfig = node.root.read(CONFIG);
        const restartsAfterInstall = restarts().length;
        /** Runs the probe's command in the container until it gives `ok` (the agent writes its readiness right after the label); returns when and what it said. */
        const probeUntil = async (ok: boolean): Promise<{ at: number; output: string }> => {
          for (let i = 0; ; i++) {
            const r = await node.probeNow(pod, synthesized);
            if (r.ok === ok) return { at: Date.now(), output: r.output };
            if (i >= 20) throw new Error(`the readiness probe still ${ok ? 'fails' : 'passes'}: ${r.output}\n--- agent logs ---\n${agent.logs()}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        };
        /** The kubelet's probes that ended from `from` until `to`: every one failed (a probe ends within timeoutSeconds of its start). */
        const expectKubeletSawNotReady = (from: number, to: number) => {
          const between = agent.probes().filter((p) => p.at.getTime() >= from + probe.timeoutSeconds * 1000 && p.at.getTime() <= to);
          expect(between.filter((p) => p.success)).toEqual([]);
        };

        // The node loses the wrapper (a package removed, a node image upgraded); containerd still lists the handler.
        let broken = Date.now();
        fs.rmSync(node.root.resolve(AUDIT_BINARY));
        await until('the label to be removed', () => !labelled(), recheckMs + CHECK_SLACK_MS + 10_000, pod);
        let removed = node.changesOf(label).slice(-1)[0];
        expect(removed.value).toBeNull();
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(recheckMs + CHECK_SLACK_MS);
        let notReady = await probeUntil(false);
        expect(notReady.output).toMatch(/^not ready: a pod sandbox with runtime handler runc-audit failed to start: .*runc-audit.*(no such file|not found)/i);
        expect(notReady.output).toMatch(/The node is not labelled ready for runc-audit$/);

        // Restored: the agent's next try labels the node again, then the probe passes; nothing restarts.
        preinstallAuditWrapper(node.root);
        await until('the label to come back', labelled, 60_000 + CHECK_SLACK_MS, pod);
        let relabelled = node.changesOf(label).slice(-1)[0];
        expect(relabelled.value).toBe('ready');
        expect((await probeUntil(true)).output).toBe('ready: runc-audit');
        expectKubeletSawNotReady(notReady.at, relabelled.at.getTime());
        expect(restarts()).toHaveLength(restartsAfterInstall);

        // config.toml is reverted to the node's own bytes and containerd restarted, outside the
        // pod (by hand, or by configuration management) through the node's systemctl.
        broken = Date.now();
        fs.writeFileSync(node.root.resolve(CONFIG), node.originalConfig);
        await node.containerd.restart();
        await until('the label to be removed', () => !labelled(), recheckMs, pod);
        removed = node.changesOf(label).slice(-1)[0];
        expect(removed.value).toBeNull();
        // A new CRI socket is noticed at once, whatever the period.
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(recheckMs);
        notReady = await probeUntil(false);
        expect(notReady.output).toMatch(/^not ready: containerd does not serve runtime handler\(s\) runc-audit/);
        // The agent retries only after a backoff: the kubelet's next probe sees the pod not ready.
        const since = removed.at.getTime();
        await until('the kubelet to probe the pod not ready', () => agent.probes().some((p) => !p.success && p.at.getTime() > since), probeMs + CHECK_SLACK_MS, pod);
        expect(labelled()).toBe(false);
        expect(agent.ready()).toBe(false);

        // The agent's next try installs again: its handler back in config.toml, byte for byte;
        // one restart through the node's systemd; then the label, then the probe passes again.
        await until('the label to come back', labelled, AGENT_TIMEOUT_MS, pod);
        relabelled = node.changesOf(label).slice(-1)[0];
        expect(node.root.read(CONFIG)).toBe(installedConfig);
        const repair = restarts().slice(restartsAfterInstall);
        expect(repair.map((c) => c.call)).toEqual(['systemctl restart containerd']);
        expect(repair[0].at.getTime()).toBeLessThan(relabelled.at.getTime());
        expect((await probeUntil(true)).output).toBe('ready: runc-audit');
        expectKubeletSawNotReady(notReady.at, relabelled.at.getTime());
      } finally {
        await node.cleanup();
      }
    }, TEST_TIMEOUT_MS);
  });
});

