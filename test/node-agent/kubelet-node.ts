/**
 * A fake node whose node-setup pod is run the way a cluster runs it: the kubelet played by the
 * harness (`kubelet.ts`: the synthesized DaemonSet's pod in the alpine-like BusyBox userland of
 * `node:22-alpine`, its volumes, env, probe and SIGTERM), the API server by a local HTTPS
 * recorder (`api-server.ts`), and the node's own container runtime (containerd, or CRI-O 1.34) in
 * the fake host root, which the agent restarts through `chroot /host systemctl` (the harness's
 * node systemd, forwarding to `node-systemctl.sh`). The agent runs exactly as its DaemonSet
 * declares it: no ONESHOT, no KUBECTL, no HOST_SYSTEMCTL or HOST_CONTAINERD.
 *
 *   const node = await KubeletNode.boot(manifests, { runtime: 'containerd', prepare, pauseTar });
 *   try {
 *     const pod = await node.runPod();
 *     await node.waitForInstall(pod);                 // 'installed' or 'not ready'
 *     node.readyLabels(); node.restarts(); await node.probe(pod);
 *     await node.stopPod(pod);                        // SIGTERM, the DaemonSet still there
 *     const exit = await node.uninstallBySigterm(await node.runPod());
 *   } finally {
 *     await node.cleanup();
 *   }
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { LabelChange, RecordingApiServer } from '../support/api-server';
import { createHostRoot, HostRoot } from '../support/host-root';
import { alpineLikeRoot, ImageRoot } from '../support/image-root';
import { ContainerExit, ExecResult, Kubelet, Pod } from '../support/kubelet';
import { nodeContainerd, NodeContainerd } from '../support/node-containerd';
import { nodeCrio, NodeCrio } from '../support/node-crio';
import { importImage, PAUSE_IMAGE } from '../support/pause-image';

export const KUBELET_NODE_NAME = 'node-1';

/** How long an install may take in the pod (the agent waits for the runtime up to VERIFY_TIMEOUT, 120 s in the DaemonSet). */
export const INSTALL_TIMEOUT_MS = 150_000;

/** The agent's log line after its first install: it installed and re-checks, it retries, or it waits for SIGTERM. */
const INSTALLED = /\] installed; re-checking every \d+s/;
const NOT_READY = /\] not ready; retrying with backoff/;
const CANNOT_RUN = /\] not ready on this node; waiting for SIGTERM/;

/** The image userland of every pod (its cache key hashes node's binary: built or looked up once per test file). */
let alpineLike: ImageRoot | undefined;

/** Files the harness itself puts into the node (its node systemd's client), not the agent's. */
const HARNESS_FILES = ['/usr/local/bin/systemctl'];

/** Options of `KubeletNode.boot`. */
export interface KubeletNodeOptions {
  /** The node's container runtime. */
  readonly runtime: 'containerd' | 'crio';
  /** Writes the node's files (config, binaries) before its runtime starts. */
  readonly prepare?: (root: HostRoot) => void;
  /** containerd: the pause image archive to import once the daemon runs. */
  readonly pauseTar?: string;
}

/** A node with its runtime running, the recorder and the harness's kubelet, ready for the DaemonSet's pod. */
export class KubeletNode {
  /** Boots the node: root, files, runtime (pause image imported), recorder, kubelet. */
  static async boot(manifests: any[], options: KubeletNodeOptions): Promise<KubeletNode> {
    const root = createHostRoot({ nodeMounts: true });
    let node: KubeletNode | undefined;
    try {
      const runtime = options.runtime === 'crio' ? nodeCrio(root) : nodeContainerd(root);
      node = new KubeletNode(manifests, root, runtime, options.runtime);
      options.prepare?.(root);
      await runtime.start();
      if (options.runtime === 'containerd' && options.pauseTar) await importImage(runtime as NodeContainerd, options.pauseTar, PAUSE_IMAGE);
      await node.api.start();
    } catch (e) {
      if (node) await node.cleanup();
      else root.cleanup();
      throw e;
    }
    return node;
  }

  readonly api = new RecordingApiServer({ nodes: { [KUBELET_NODE_NAME]: { 'kubernetes.io/os': 'linux' } } });
  readonly kubelet: Kubelet;
  readonly containerd?: NodeContainerd;
  readonly crio?: NodeCrio;
  /** The DaemonSet the pods come from. */
  readonly daemonSet: any;
  private readonly hashes = new Map<string, { stamp: string; hash: string }>();

  private constructor(readonly manifests: any[], readonly root: HostRoot, private readonly runtime: NodeContainerd | NodeCrio, kind: 'containerd' | 'crio') {
    if (kind === 'crio') this.crio = runtime as NodeCrio;
    else this.containerd = runtime as NodeContainerd;
    const daemonSets = manifests.filter((m) => m?.kind === 'DaemonSet');
    if (daemonSets.length !== 1) throw new Error(`KubeletNode: ${daemonSets.length} DaemonSets in the manifests`);
    this.daemonSet = daemonSets[0];
    this.kubelet = new Kubelet({
      hostRoot: root,
      imageRoot: alpineLike ??= alpineLikeRoot(),
      apiServer: this.api,
      nodeName: KUBELET_NODE_NAME,
      systemctl: { command: runtime.systemctlCommand, env: runtime.systemctlEnv() },
    });
  }

  /** The runtime's CRI socket, reachable from the test. */
  get address(): string {
    return this.runtime.address;
  }

  /** The PID of the node's runtime daemon, if it runs. */
  runtimePid(): number | undefined {
    return this.runtime.pid();
  }

  /** Starts the DaemonSet's pod on the node (the agent's container). */
  runPod(): Promise<Pod> {
    return this.kubelet.runPod(this.manifests);
  }

  /**
   * Waits for the agent's first install to end: its log says it re-checks from now on
   * (`installed`), that it retries with backoff (`not ready`), or that this node cannot run the
   * runtimes and it waits for SIGTERM (`cannot run`). Fails when the agent exits first or takes
   * longer than `timeoutMs`.
   */
  async waitForInstall(pod: Pod, timeoutMs = INSTALL_TIMEOUT_MS): Promise<'installed' | 'not ready' | 'cannot run'> {
    const logs = await this.waitForLog(pod, new RegExp([INSTALLED, NOT_READY, CANNOT_RUN].map((r) => r.source).join('|')), 1, timeoutMs);
    if (INSTALLED.test(logs)) return 'installed';
    return NOT_READY.test(logs) ? 'not ready' : 'cannot run';
  }

  /** `waitForInstall`, failing with the agent's log unless the outcome is `expected`. */
  async expectInstallOutcome(pod: Pod, expected: 'installed' | 'not ready' | 'cannot run', timeoutMs = INSTALL_TIMEOUT_MS): Promise<void> {
    const outcome = await this.waitForInstall(pod, timeoutMs);
    if (outcome !== expected) throw new Error(`the agent's first install ended ${outcome}, not ${expected}:\n${pod.container('agent').logs()}`);
  }

  /** Waits until the agent's log matches `pattern` `count` times; returns the log. */
  async waitForLog(pod: Pod, pattern: RegExp, count = 1, timeoutMs = INSTALL_TIMEOUT_MS): Promise<string> {
    const agent = pod.container('agent');
    const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const logs = agent.logs();
      if ((logs.match(global) ?? []).length >= count) return logs;
      if (!agent.running()) throw new Error(`the agent exited before its log matched ${pattern} ${count} time(s):\n${logs}`);
      if (Date.now() > deadline) throw new Error(`the agent's log did not match ${pattern} ${count} time(s) within ${timeoutMs} ms:\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs the container's readinessProbe command inside it, as the kubelet does. */
  probe(pod: Pod): Promise<ExecResult> {
    const probe = this.daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent').readinessProbe;
    return pod.container('agent').exec(probe.exec.command, (probe.timeoutSeconds ?? 1) * 1000);
  }

  /** The node's labels set to `ready`, as the recorder holds them. */
  readyLabels(): string[] {
    return Object.entries(this.api.nodeLabels(KUBELET_NODE_NAME)).filter(([, v]) => v === 'ready').map(([k]) => k).sort();
  }

  /** Every change of `label` the recorder accepted, oldest first. */
  labelChanges(label: string): LabelChange[] {
    return this.api.labelChanges.filter((c) => c.node === KUBELET_NODE_NAME && c.label === label);
  }

  /** The `systemctl restart ...` calls pods made through the node's systemd. */
  restarts(): string[] {
    return this.kubelet.systemctlCalls().filter((c) => c.startsWith('systemctl restart '));
  }

  /** When the restarts pods asked for reached the node's systemd. */
  restartTimes(): Date[] {
    return this.kubelet.systemctlHistory().filter((c) => c.call.startsWith('systemctl restart ')).map((c) => c.at);
  }

  /** SIGTERM to the pod while its DaemonSet still exists (a pod restart or rollout). */
  async stopPod(pod: Pod): Promise<ContainerExit> {
    this.api.daemonSet = 'present';
    return (await pod.stop()).agent;
  }

  /** SIGTERM to the pod with its DaemonSet gone (the recorder answers 404): the agent uninstalls. */
  async uninstallBySigterm(pod: Pod): Promise<ContainerExit> {
    this.api.daemonSet = 'gone';
    return (await pod.stop()).agent;
  }

  /**
   * What the node's files hold (/etc, /opt, /usr/local, /var/lib), the runtime's and the pod
   * network's own data and the harness's systemctl aside: path -> kind, mode and sha256; with
   * `times`, each file's mtime too (a rewrite shows).
   */
  files(times = false): Map<string, string> {
    const skip = new Set(['/var/lib/containerd', '/var/lib/containers', '/var/lib/crio', '/var/lib/cni', ...HARNESS_FILES]);
    const out = new Map<string, string>();
    const walk = (rel: string) => {
      if (skip.has(rel)) return;
      const abs = this.root.resolve(rel);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
      } catch {
        return;
      }
      const mode = st.mode.toString(8).slice(-4);
      if (st.isDirectory()) {
        out.set(`${rel}/`, `dir ${mode}`);
        for (const e of fs.readdirSync(abs).sort()) walk(`${rel}/${e}`);
      } else if (st.isSymbolicLink()) {
        out.set(rel, `link ${fs.readlinkSync(abs)}`);
      } else if (st.isFile()) {
        const hash = this.hashOf(abs, st);
        out.set(rel, `${mode} ${hash}${times ? ` ${st.mtimeMs}` : ''}`);
      }
    };
    for (const d of ['/etc', '/opt', '/usr/local', '/var/lib']) walk(d);
    return out;
  }

  /**
   * The sha256 of a file, computed again only when its inode, size, mtime or ctime changed (any
   * write or rename changes the ctime): the node's binaries are hashed once, not per snapshot.
   */
  private hashOf(file: string, st: fs.Stats): string {
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = this.hashes.get(file);
    if (known?.stamp === stamp) return known.hash;
    const hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    this.hashes.set(file, { stamp, hash });
    return hash;
  }

  /** Stops every pod (SIGKILL), the kubelet, the runtime and the recorder; removes the root. */
  async cleanup(): Promise<void> {
    try {
      await this.kubelet.stop();
      await this.runtime.stop();
    } finally {
      this.root.cleanup();
      await this.api.stop();
    }
  }
}

/** Files (not directories) whose bytes differ between two `files()`, the agent's state aside. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((p) => !p.endsWith('/') && !p.startsWith('/var/lib/cdk8s-runtimeclass/') && before.get(p) !== after.get(p)).sort();
}
