/**
 * End to end through the constructs: a RuncRuntime with a second handler, `runc-audit`, whose
 * binary is a wrapper around runc that records each call. Its node-setup DaemonSet's pod runs as
 * the DaemonSet declares it (kubelet played by the harness `kubelet.ts`, in the alpine-like
 * BusyBox userland; API server played by a local HTTPS recorder) on a fake node whose own
 * containerd 1.6 runs inside the host root. Pods over CRI run through the wrapper; while the
 * agent's pod runs, the ready label and the pod's readiness follow what happens on the node; SIGTERM
 * with the DaemonSet gone uninstalls.
 *
 * Needs root, containerd, runc, Debian's busybox-static (the pause image) and Alpine's BusyBox
 * (`../shared/tools/busybox`). Skipped with the reason off CI, failing under CI.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import {
  AGENT_TIMEOUT_MS, CONFIG, DaemonSetNode, NODE, restartsIn, synth, Synthesized, until,
} from './daemonset-node';
import { NodeSetup, RuncRuntime } from '../../src';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { HostRoot } from '../support/host-root';
import { busyboxUnavailableReason, describeIfImageRoot } from '../support/image-root';
import { Pod } from '../support/kubelet';
import { buildPauseImageTar } from '../support/pause-image';

const BINARY = '/usr/local/bin/runc-audit';
const AUDIT_LOG = '/var/log/runc-audit.log';
/** Exists only in the fake node: containerd resolves it there or nowhere. */
const WRAPPER = `#!/bin/sh\necho "$*" >> ${AUDIT_LOG}\nexec runc "$@"\n`;
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

function synthAudit(recheckPeriod?: Duration): Synthesized<RuncRuntime> {
  return synth((chart) => new RuncRuntime(chart, 'audit', {
    handler: 'runc-audit',
    binaryPath: BINARY,
    nodeSetup: recheckPeriod ? new NodeSetup(chart, 'setup', { recheckPeriod }) : undefined,
  }));
}

function preinstallWrapper(root: HostRoot): void {
  root.write(BINARY, WRAPPER, 0o755);
}

/** The readiness probe's period, as the DaemonSet declares it, in ms. */
function probePeriodMs(synthesized: Synthesized<RuncRuntime>): number {
  return synthesized.daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent').readinessProbe.periodSeconds * 1000;
}

describeIfContainerd('RuncRuntime with a second handler (runc-audit), installed by its node-setup DaemonSet (kubelet played by the harness, API server by a local HTTPS recorder) on a node with its own containerd', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfImageRoot('the agent in the alpine-like BusyBox userland', busyboxUnavailableReason, () => {
    test('labelled once a check sandbox ran through the wrapper, ready only after the label; a pod runs through its own binary, only that handler\'s; SIGTERM with the DaemonSet gone uninstalls (label removed before the restart), config byte-identical', async () => {
      const synthesized = synthAudit();
      expect(synthesized.handler).toBe('runc-audit');
      const node = await DaemonSetNode.boot(pauseTar, preinstallWrapper);
      try {
        const { pod, daemon } = await node.installAndExpectLabelAfterServed(synthesized);
        // The label rests on the agent's check sandbox, which ran through the wrapper.
        expect(node.root.read(AUDIT_LOG)).toMatch(/\bstart [0-9a-f]{64}\n/);
        expect(pod.container('agent').logs()).toMatch(/runtime handler runc-audit: a check sandbox reached SANDBOX_READY in \d+ ms/);

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

    test(`while the pod runs, the label and the readiness probe follow the node (recheckPeriod ${RECHECK_SECONDS} s): the wrapper removed takes both away within one period and restoring it brings both back; config.toml reverted and containerd restarted takes both away and the agent puts its handler back`, async () => {
      const synthesized = synthAudit(Duration.seconds(RECHECK_SECONDS));
      const agentSpec = synthesized.daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent');
      expect(agentSpec.env).toContainEqual({ name: 'RECHECK_PERIOD', value: String(RECHECK_SECONDS) });
      const recheckMs = RECHECK_SECONDS * 1000;
      const probeMs = probePeriodMs(synthesized);
      const label = synthesized.readyLabel;
      const node = await DaemonSetNode.boot(pauseTar, preinstallWrapper);
      const labelled = () => node.api.nodeLabels(NODE)[label] === 'ready';
      const restarts = () => restartsIn(node.kubelet.systemctlHistory());
      try {
        const { pod } = await node.installAndExpectLabelAfterServed(synthesized);
        const agent = pod.container('agent');
        const installedConfig = node.root.read(CONFIG);
        const restartsAfterInstall = restarts().length;

        // The node loses the wrapper (a package removed, a node image upgraded); containerd still lists the handler.
        let broken = Date.now();
        fs.rmSync(node.root.resolve(BINARY));
        await until('the label to be removed', () => !labelled(), recheckMs + CHECK_SLACK_MS + 10_000, pod);
        let removed = node.changesOf(label).slice(-1)[0];
        expect(removed.value).toBeNull();
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(recheckMs + CHECK_SLACK_MS);
        await until('the pod to turn not ready', () => !agent.ready(), probeMs + CHECK_SLACK_MS, pod);
        let notReadySince = Date.now();
        expect(agent.probes().slice(-1)[0].output).toMatch(/^not ready: a pod sandbox with runtime handler runc-audit failed to start: .*runc-audit.*(no such file|not found)/i);
        expect(agent.probes().slice(-1)[0].output).toMatch(/The node is not labelled ready for runc-audit\n?$/);

        // Restored: the agent's next try labels the node again, and then the pod turns ready; nothing restarts.
        preinstallWrapper(node.root);
        await until('the label to come back', labelled, 60_000 + CHECK_SLACK_MS, pod);
        let relabelled = node.changesOf(label).slice(-1)[0];
        expect(relabelled.value).toBe('ready');
        await pod.waitForReady('agent', probeMs + CHECK_SLACK_MS);
        expectFailedBetween(pod, notReadySince, relabelled.at.getTime());
        expect(restarts()).toHaveLength(restartsAfterInstall);

        // config.toml is reverted to the node's own bytes and containerd restarted, outside the
        // pod (by hand, or by configuration management) through the node's systemctl.
        broken = Date.now();
        fs.writeFileSync(node.root.resolve(CONFIG), node.originalConfig);
        await node.containerd.restart();
        await until('the label to be removed', () => !labelled(), recheckMs + CHECK_SLACK_MS + 10_000, pod);
        removed = node.changesOf(label).slice(-1)[0];
        expect(removed.value).toBeNull();
        // A new CRI socket is noticed at once, whatever the period.
        expect(removed.at.getTime() - broken).toBeLessThanOrEqual(recheckMs);
        await until('the pod to turn not ready', () => !agent.ready(), probeMs + CHECK_SLACK_MS, pod);
        notReadySince = Date.now();
        expect(agent.probes().slice(-1)[0].output).toMatch(/^not ready: containerd does not serve runtime handler\(s\) runc-audit/);

        // The agent's next try installs again: its handler back in config.toml, byte for byte;
        // one restart through the node's systemd; then the label, then the pod ready.
        await until('the label to come back', labelled, AGENT_TIMEOUT_MS, pod);
        relabelled = node.changesOf(label).slice(-1)[0];
        expect(node.root.read(CONFIG)).toBe(installedConfig);
        const repair = restarts().slice(restartsAfterInstall);
        expect(repair.map((c) => c.call)).toEqual(['systemctl restart containerd']);
        expect(repair[0].at.getTime()).toBeLessThan(relabelled.at.getTime());
        await pod.waitForReady('agent', probeMs + CHECK_SLACK_MS);
        expectFailedBetween(pod, notReadySince, relabelled.at.getTime());
        expect(agent.probes().slice(-1)[0].output.trim()).toBe('ready: runc-audit');
      } finally {
        await node.cleanup();
      }
    }, TEST_TIMEOUT_MS);
  });
});

/** Every probe that ended from `from` until `to` (ms since the epoch) failed: none passed before the label was back. */
function expectFailedBetween(pod: Pod, from: number, to: number): void {
  const between = pod.container('agent').probes().filter((p) => p.at.getTime() >= from && p.at.getTime() <= to);
  expect(between.filter((p) => p.success)).toEqual([]);
}
