/**
 * Self-tests of the kubelet harness (`kubelet.ts`): a synthesized RuncRuntime with a second runc
 * handler, its node-setup DaemonSet run as the kubelet would run it (kubelet played by the
 * harness, API server played by a local HTTPS recorder), in the alpine-like BusyBox userland and
 * in Debian slim, against the node's own containerd 1.6 in a fake host root.
 *
 * Needs root, containerd, runc, Debian's busybox-static (the pause image), Alpine's BusyBox
 * (`../shared/tools/busybox`) and, for the Debian root, debootstrap (its first build takes a
 * minute or two; cached afterwards). Skipped with the reason off CI, failing under CI.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { RecordingApiServer } from './api-server';
import { assertContainerdAvailable, describeIfContainerd, testCriConfig } from './containerd';
import { createHostRoot, HostRoot } from './host-root';
import {
  alpineLikeRoot, busyboxUnavailableReason, debianSlimRoot, debianSlimUnavailableReason, ImageRoot,
} from './image-root';
import { Kubelet, Pod } from './kubelet';
import { nodeContainerd, NodeContainerd } from './node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from './pause-image';
import { describeIfAvailable } from './sandbox-runtimes';
import { RuncRuntime } from '../../src';

const CONFIG = '/etc/containerd/config.toml';
const NODE = 'node-1';
const BINARY = '/usr/local/bin/runc-audit';
/** The agent waits for containerd up to VERIFY_TIMEOUT (120 s in the DaemonSet). */
const INSTALL_TIMEOUT_MS = 150_000;

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function synthesized(): { manifests: any[]; handler: string; readyLabel: string } {
  const chart = new Chart(Testing.app(), 'test');
  new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath: BINARY });
  const manifests = Testing.synth(chart);
  const runtimeClass = manifests.find((m) => m.kind === 'RuntimeClass');
  const [readyLabel] = Object.entries(runtimeClass.scheduling.nodeSelector as Record<string, string>).find(([, v]) => v === 'ready')!;
  return { manifests, handler: runtimeClass.handler, readyLabel };
}

async function until(what: string, condition: () => boolean, timeoutMs: number, pod?: Pod): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (pod && !pod.container('agent').running()) throw new Error(`the agent exited while waiting for ${what}:\n${pod.container('agent').logs()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${pod ? `\n--- agent logs ---\n${pod.container('agent').logs()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A node as before the DaemonSet's pod starts: its config (runc only), the handler's binary, its containerd with the pause image. */
async function bootNode(): Promise<{ root: HostRoot; containerd: NodeContainerd }> {
  const root = createHostRoot({ nodeMounts: true });
  root.write(CONFIG, testCriConfig());
  root.write(BINARY, '#!/bin/sh\nexec runc "$@"\n', 0o755);
  const containerd = nodeContainerd(root);
  try {
    await containerd.start();
    await importImage(containerd, pauseTar, PAUSE_IMAGE);
  } catch (e) {
    await containerd.stop();
    root.cleanup();
    throw e;
  }
  return { root, containerd };
}

/**
 * Install, the recorder sees the ready label, the readiness probe passes; SIGTERM while the
 * DaemonSet exists leaves it installed; a new pod, then SIGTERM with the DaemonSet gone,
 * uninstalls and gives the node its config back byte for byte.
 */
async function installKeepUninstall(image: ImageRoot, checkContainer: (pod: Pod) => Promise<void>): Promise<void> {
  const app = synthesized();
  const { root, containerd } = await bootNode();
  const api = new RecordingApiServer({ nodes: { [NODE]: { 'kubernetes.io/os': 'linux' } } });
  await api.start();
  const systemctl = { command: containerd.systemctlCommand, env: containerd.systemctlEnv() };
  const kubelet = new Kubelet({ hostRoot: root, imageRoot: image, apiServer: api, nodeName: NODE, systemctl });
  const before = fs.readFileSync(root.resolve(CONFIG));
  try {
    // Install.
    const pod = await kubelet.runPod(app.manifests);
    await until('the ready label', () => api.nodeLabels(NODE)[app.readyLabel] === 'ready', INSTALL_TIMEOUT_MS, pod);
    const patch = api.calls.find((c) => c.method === 'PATCH')!;
    expect(patch).toEqual({
      method: 'PATCH',
      path: `/api/v1/nodes/${NODE}`,
      authorization: `Bearer ${pod.token}`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [app.readyLabel]: 'ready' } } },
    });
    expect(kubelet.systemctlCalls()).toContain('systemctl restart containerd');
    expect(containerd.pluginStatus('cri')).toBe('ok');
    expect(root.read(CONFIG)).toContain(`runtimes.${app.handler}]`);
    await pod.waitForReady('agent', 30_000);
    // The first probe ran before the agent was done, and failed: readiness follows the probe.
    expect(pod.container('agent').probes()[0].success).toBe(false);
    expect(pod.container('agent').probes().slice(-1)[0].success).toBe(true);
    await checkContainer(pod);

    // SIGTERM, the DaemonSet still there (a pod restart or rollout): stays installed.
    const kept = await pod.stop();
    expect(kept.agent.exitCode).toBe(0);
    expect(kept.agent.logs).toContain('the DaemonSet still wants this node');
    expect(api.nodeLabels(NODE)[app.readyLabel]).toBe('ready');
    expect(root.read(CONFIG)).toContain(`runtimes.${app.handler}]`);

    // A new pod; SIGTERM with the DaemonSet gone: uninstalls.
    const second = await kubelet.runPod(app.manifests);
    await second.waitForReady('agent', INSTALL_TIMEOUT_MS);
    api.daemonSet = 'gone';
    const gone = await second.stop();
    expect(gone.agent.exitCode).toBe(0);
    expect(gone.agent.logs).toContain(`DaemonSet ${second.namespace}/${app.manifests.find((m) => m.kind === 'DaemonSet').metadata.name} no longer exists`);
    expect(api.nodeLabels(NODE)).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(fs.readFileSync(root.resolve(CONFIG)).equals(before)).toBe(true);
    expect(containerd.pluginStatus('cri')).toBe('ok');
  } finally {
    await kubelet.stop();
    await containerd.stop();
    root.cleanup();
    await api.stop();
  }
}

describeIfContainerd('node setup DaemonSet of a synthesized RuncRuntime (kubelet played by the harness, API server played by a local HTTPS recorder)', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfAvailable('in the alpine-like BusyBox userland', busyboxUnavailableReason, () => {
    let image: ImageRoot;
    beforeAll(() => { image = alpineLikeRoot(); });

    test('the root holds BusyBox, node and its libraries, and nothing else that runs', () => {
      const found: string[] = [];
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(image.path, rel), { withFileTypes: true })) {
          const p = path.posix.join(rel, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.isSymbolicLink()) found.push(`${p} -> ${fs.readlinkSync(path.join(image.path, p))}`);
          else found.push(p);
        }
      };
      walk('/');
      const other = found.filter((f) => !f.endsWith(' -> /bin/busybox') && !f.startsWith('/etc/') && !/^\/lib(64)?\/.*\.so[.\d]*$/.test(f)
        && !['/bin/busybox', '/usr/local/bin/node', '/var/run -> /run'].includes(f));
      expect(other).toEqual([]);
      expect(found).toContain('/usr/bin/flock -> /bin/busybox');
      expect(found).toContain('/bin/sh -> /bin/busybox');
    });

    test('install, label seen by the recorder, readiness probe passes; SIGTERM keeps it while the DaemonSet exists; SIGTERM with the DaemonSet gone uninstalls, config byte-identical', async () => {
      await installKeepUninstall(image, async (pod) => {
        const agent = pod.container('agent');
        // PID 1 of its own PID namespace is the agent, as the manifest's command says.
        expect((await agent.exec(['cat', '/proc/1/cmdline'])).stdout.split('\0').filter(Boolean)).toEqual(['node', '/etc/runtimeclass-setup/agent.js']);
        // The flock it finds is BusyBox's; the root file system is read-only; the ConfigMap is the kubelet's ..data layout.
        expect((await agent.exec(['flock', '-x', '-w', '1', '0'])).stderr).toContain("flock: invalid option -- 'w'");
        expect((await agent.exec(['touch', '/written'])).stderr).toContain('Read-only file system');
        expect((await agent.exec(['readlink', '/etc/runtimeclass-setup/agent.js'])).stdout.trim()).toBe('..data/agent.js');
        expect((await agent.exec(['hostname'])).stdout.trim()).toBe(pod.name);
      });
    }, 600_000);
  });

  describeIfAvailable('in Debian slim (debootstrap --variant=minbase bookworm)', debianSlimUnavailableReason, () => {
    let image: ImageRoot;
    beforeAll(() => { image = debianSlimRoot(); }, 1_200_000);

    test('install, label seen by the recorder, readiness probe passes; SIGTERM keeps it while the DaemonSet exists; SIGTERM with the DaemonSet gone uninstalls, config byte-identical', async () => {
      await installKeepUninstall(image, async (pod) => {
        const agent = pod.container('agent');
        expect((await agent.exec(['flock', '--version'])).stdout).toContain('util-linux');
        expect((await agent.exec(['sh', '-c', 'env | grep ^KUBERNETES_SERVICE_HOST='])).stdout.trim()).toBe('KUBERNETES_SERVICE_HOST=10.96.0.1');
      });
    }, 600_000);
  });
});
