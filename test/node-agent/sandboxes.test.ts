/**
 * End to end through the constructs: a cdk8s app synthesized with this library, its node-setup
 * DaemonSet's pod run as the DaemonSet declares it, with no test override (kubelet played by the
 * harness `kubelet.ts`, in the alpine-like BusyBox userland; API server played by a local HTTPS
 * recorder), on a fake node whose own containerd 1.6 runs inside the host root and is restarted by
 * the agent through the node's systemctl. Then real pods over CRI: gVisor (PTRACE, host
 * networking) and crun; a default gVisor class on a runsc that predates its platform is
 * installed but never labelled ready; SIGTERM with the DaemonSet gone uninstalls and each handler
 * is gone. (A second runc handler with its own binary, and what a running pod does when the node
 * changes under it, are in `end-to-end.test.ts`.)
 *
 * Needs root and containerd; gVisor needs runsc and gVisor's containerd shim, crun needs crun;
 * the pod needs Alpine's BusyBox (`../shared/tools/busybox`). Skipped with the reason when they
 * are missing, unless `CI` is set (then they fail).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AGENT_TIMEOUT_MS, DaemonSetNode, NODE, NODE_LABELS, synth, until,
} from './daemonset-node';
import { CrunRuntime, GvisorPlatform, GvisorRuntime } from '../../src';
import { SYSTRAP_FIRST_RELEASE } from '../../src/node-agent/runsc';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { CriError } from '../support/cri-client';
import { expectStopAndRemove, expectTwoContainersInOneGvisorKernel } from '../support/gvisor-pod';
import { HostRoot } from '../support/host-root';
import { busyboxUnavailableReason } from '../support/image-root';
import { installIntoRoot, processesOf } from '../support/node-containerd';
import { buildPauseImageTar } from '../support/pause-image';
import {
  assertAvailable, crunUnavailableReason, describeIfAvailable, GVISOR_SHIM, gvisorUnavailableReason, NODE_GVISOR_SHIM_PATH, RUNSC,
} from '../support/sandbox-runtimes';

/** Each test may wait for the agent up to AGENT_TIMEOUT_MS, and then for pods and the uninstall. */
const TEST_TIMEOUT_MS = 400_000;

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxes-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Copies the machine's runsc and gVisor's shim into the node's /usr/local/bin, where the class expects them. */
function preinstallGvisor(gvisor: GvisorRuntime) {
  return (root: HostRoot) => {
    installIntoRoot(root, RUNSC, gvisor.runscPath);
    installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
  };
}

describeIfContainerd('runtimes synthesized by this library, installed by their node-setup DaemonSet (kubelet played by the harness, API server by a local HTTPS recorder) on a node with its own containerd', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfAvailable('the agent in the alpine-like BusyBox userland', busyboxUnavailableReason, () => {
    beforeAll(() => assertAvailable(busyboxUnavailableReason));

    describeIfAvailable('GvisorRuntime', gvisorUnavailableReason, () => {
      beforeAll(() => assertAvailable(gvisorUnavailableReason));

      test('PTRACE with host networking: labelled after containerd serves it, the readiness probe passes only after the label; a two-container pod runs in one gVisor kernel under the class\'s handler; stop, remove and uninstall by SIGTERM work', async () => {
        const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor', { platform: GvisorPlatform.PTRACE, hostNetworking: true }));
        const gvisor = synthesized.runtime;
        const node = await DaemonSetNode.boot(synthesized, pauseTar, preinstallGvisor(gvisor));
        try {
          const { pod, daemon } = await node.installAndExpectLabelAfterServed(synthesized);
          expect(node.root.read(gvisor.configPath)).toBe('binary_name = "/usr/local/bin/runsc"\n\n[runsc_config]\nnetwork = "host"\nplatform = "ptrace"\n');

          const cri = node.cri();
          try {
            const id = await cri.runPodSandbox({ name: 'gvisor', handler: synthesized.handler });
            const sandbox = await cri.podSandboxStatus(id, true);
            expect(sandbox.status.state).toBe('SANDBOX_READY');
            expect(sandbox.status.runtime_handler).toBe(synthesized.handler);
            const sandboxInfo = JSON.parse(sandbox.info.info);
            expect([sandboxInfo.runtimeHandler, sandboxInfo.runtimeType]).toEqual([synthesized.handler, 'io.containerd.runsc.v1']);

            const containers = await expectTwoContainersInOneGvisorKernel(cri, id, gvisor.configPath);
            await expectStopAndRemove(cri, id, containers);
            // Nothing of the sandbox is left running (the agent's next check is a period away),
            // and no restart happened since the label.
            expect(processesOf(node.containerd.stateDir)).toEqual([daemon]);
          } finally {
            cri.close();
          }

          await node.uninstallAndExpectGone(pod, synthesized);
          expect(node.root.exists(gvisor.configPath)).toBe(false);
        } finally {
          await node.cleanup();
        }
      }, TEST_TIMEOUT_MS);

      test('default platform (SYSTRAP) on a runsc that predates it: installed, but the node is never labelled ready and the pod never ready, and both say why', async () => {
        const release = /runsc version (\S+)/.exec(execFileSync(RUNSC, ['--version'], { encoding: 'utf8' }))![1];
        const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor'));
        const gvisor = synthesized.runtime;
        expect(gvisor.platform).toBe(GvisorPlatform.SYSTRAP);
        const node = await DaemonSetNode.boot(synthesized, pauseTar, preinstallGvisor(gvisor));
        try {
          if (/(\d{8})(\.\d+)?$/.exec(release)![1] >= SYSTRAP_FIRST_RELEASE.slice(0, 8)) {
            // A runsc that knows systrap: the class runs here and is labelled like any other.
            await node.installAndExpectLabelAfterServed(synthesized);
            return;
          }
          const pod = await node.kubelet.runPod(synthesized.manifests);
          const agent = pod.container('agent');
          await until('the agent to give up on this node', () => agent.logs().includes('not ready on this node; waiting for SIGTERM'), AGENT_TIMEOUT_MS, pod);
          const probe = await node.probeNow(pod);
          expect(probe.ok).toBe(false);
          const reason = probe.output.replace(/^not ready: /, '');
          expect(reason).toContain(`runtime handler ${synthesized.handler}: runsc ${release} on this node does not know platform "systrap"`);
          expect(reason).toContain('use GvisorPlatform.PTRACE');
          expect(reason).toContain('install a gVisor release from 2023-02-27 (release-20230227.0) or later');
          expect(reason).toContain(`The node is not labelled ready for ${synthesized.handler}`);
          expect(agent.logs()).toContain(reason);
          // Never labelled ready; the label is only removed (in case an earlier pod set it).
          expect(node.changesOf(synthesized.readyLabel).map((c) => c.value)).toEqual([null]);
          expect(node.api.nodeLabels(NODE)).toEqual(NODE_LABELS);
          expect(agent.probes().length).toBeGreaterThan(0);
          expect(agent.probes().filter((p) => p.success)).toEqual([]);
          expect(agent.ready()).toBe(false);
          // The agent changed the node (one restart) and stays, waiting for SIGTERM.
          expect(node.kubelet.systemctlCalls().filter((c) => c.startsWith('systemctl restart'))).toEqual(['systemctl restart containerd']);
          expect(agent.running()).toBe(true);

          // The handler is installed and served: its pods fail exactly as the label would have let them.
          const cri = node.cri();
          try {
            const err = await cri.runPodSandbox({ name: 'systrap', handler: synthesized.handler }).catch((e) => e);
            expect(err).toBeInstanceOf(CriError);
            expect(err.message).toContain('OCI runtime create failed: unknown platform: systrap');
            await cri.removeAll();
          } finally {
            cri.close();
          }

          await node.uninstallAndExpectGone(pod, synthesized);
        } finally {
          await node.cleanup();
        }
      }, TEST_TIMEOUT_MS);
    });

    describeIfAvailable('CrunRuntime', crunUnavailableReason, () => {
      beforeAll(() => assertAvailable(crunUnavailableReason));

      test('labelled after containerd serves it, the readiness probe passes only after the label; a pod runs under the class\'s handler, and crun (not runc) ran it; uninstall by SIGTERM removes the handler', async () => {
        const synthesized = synth((chart) => new CrunRuntime(chart, 'crun'));
        const node = await DaemonSetNode.boot(synthesized, pauseTar);
        try {
          const { pod, daemon } = await node.installAndExpectLabelAfterServed(synthesized);
          const cri = node.cri();
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
            expect(node.containerd.pid()).toBe(daemon);
          } finally {
            cri.close();
          }
          await node.uninstallAndExpectGone(pod, synthesized);
        } finally {
          await node.cleanup();
        }
      }, TEST_TIMEOUT_MS);
    });
  });
});
