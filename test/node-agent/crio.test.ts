/**
 * The node agent on a real CRI-O 1.34: a cdk8s app with a CRI-O node setup (crun 1.21 at a path
 * the class names, and a second runc handler through a recording wrapper), synthesized, its
 * agent run as the DaemonSet declares it on a fake node whose own CRI-O (`nodeCrio`) the agent
 * restarts through HOST_SYSTEMCTL. Then real pods over CRI, a no-op re-run, and an uninstall that
 * gives every file back.
 *
 * The node's own CRI-O serves `crun` by itself (crun is on its PATH: Debian's 1.8.1, which refuses
 * CRI-O 1.34's specs), so a `crun` pod tells which crun CRI-O runs: before the install and after
 * the uninstall it fails with `unknown version specified`; with the agent's drop-in loaded it runs.
 *
 * Needs root and the CRI-O folder beside the repository (`../shared/tools/crio/`), conmon and
 * containernetworking-plugins; skipped with the reason when missing, unless `CI` is set.
 */
import { spawnSync } from 'child_process';
import { Chart, Testing } from 'cdk8s';
import { NODE_NAME, RunResult, synthesizedAgent, TestNode } from './helpers';
import { CrunRuntime, KubernetesDistribution, NodeSetup, RuncRuntime } from '../../src';
import { CriClient, CriError } from '../support/cri-client';
import { assertCrioAvailable, CRIO_PAUSE_IMAGE, crioNodeConfig, crioUnavailableReason, NODE_CRUN_121 } from '../support/node-crio';
import { describeIfAvailable } from '../support/sandbox-runtimes';

/** The agent may wait for CRI-O up to its VERIFY_TIMEOUT (120 s in the DaemonSet). */
const AGENT_TIMEOUT_MS = 150_000;
const AUDIT_BINARY = '/usr/local/bin/runc-audit';
const AUDIT_LOG = '/var/log/runc-audit.log';

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
  return { manifests, labels: labels.sort(), agent: synthesizedAgent(manifests) };
}

function mustSucceed(r: RunResult, what: string): void {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
}

/** The node's files under /etc and /opt: path -> mode and bytes. */
function nodeFiles(node: TestNode): Map<string, string> {
  return new Map([...node.snapshot()].filter(([p]) => p.startsWith('/etc/') || p.startsWith('/opt/')));
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

describeIfAvailable('the node agent on a real CRI-O 1.34', crioUnavailableReason, () => {
  beforeAll(() => assertCrioAvailable());

  test('drop-in loaded after one restart (crun 1.21 and a second runc handler run pods), crio.conf kept byte for byte, a no-op re-run, uninstall restores every file', async () => {
    const synthesized = synth();
    const node = new TestNode(undefined, {}, { agent: synthesized.agent, ownCrio: true });
    const crio = node.crio!;
    try {
      node.root.write('/etc/crio/crio.conf', HAND_EDITED);
      node.root.write(AUDIT_BINARY, `#!/bin/sh\necho "$*" >> ${AUDIT_LOG}\nexec /usr/sbin/runc "$@"\n`, 0o755);
      await crio.start();
      const before = nodeFiles(node);
      const cri = new CriClient(crio.address, { hostRoot: node.root });
      try {
        expect(await handlersServed(cri)).toEqual(['', 'crun', 'runc']);
        await expectDebianCrunRefuses(cri);

        // Install: one restart, the label after it, the drop-in next to the untouched crio.conf.
        const pidBefore = crio.pid();
        mustSucceed(node.install({ timeoutMs: AGENT_TIMEOUT_MS }), 'install');
        expect(node.restarts()).toEqual(['systemctl restart crio']);
        const labelCalls = synthesized.labels.map((l) => `kubectl label node ${NODE_NAME} ${l}=ready --overwrite`);
        expect(node.labelCalls().sort()).toEqual(labelCalls.sort());
        for (const call of labelCalls) expect(node.calls().indexOf(call)).toBeGreaterThan(node.calls().indexOf('systemctl restart crio'));
        expect(crio.pid()).not.toBe(pidBefore);
        expect(node.root.read('/etc/crio/crio.conf')).toBe(HAND_EDITED);
        const dropIn = `/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-${synthesized.agent.setupName}.conf`;
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

        // A no-op re-run: nothing written, nothing restarted.
        const installed = nodeFiles(node);
        const pidInstalled = crio.pid();
        node.clearCalls();
        mustSucceed(node.install({ timeoutMs: AGENT_TIMEOUT_MS }), 're-run');
        expect(node.restarts()).toEqual([]);
        expect(nodeFiles(node)).toEqual(installed);
        expect(crio.pid()).toBe(pidInstalled);

        // Uninstall: labels first, one restart last, every file as before, runc-audit gone, and
        // `crun` is CRI-O's own again (Debian's crun), which the uninstall must not wait out.
        node.clearCalls();
        const started = Date.now();
        mustSucceed(node.uninstall({ timeoutMs: AGENT_TIMEOUT_MS }), 'uninstall');
        expect(Date.now() - started).toBeLessThan(60_000);
        expect(node.restarts()).toEqual(['systemctl restart crio']);
        const unlabel = synthesized.labels.map((l) => `kubectl label node ${NODE_NAME} ${l}-`);
        expect(node.labelCalls().sort()).toEqual(unlabel.sort());
        for (const call of unlabel) expect(node.calls().indexOf(call)).toBeLessThan(node.calls().indexOf('systemctl restart crio'));
        expect(nodeFiles(node)).toEqual(before);
        expect(node.root.exists(`/var/lib/cdk8s-runtimeclass/${synthesized.agent.setupName}`)).toBe(false);
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
