/**
 * The kubelet's part, played by a test harness: runs a DaemonSet's pod from synthesized manifests
 * (`Testing.synth(chart)`) on a fake node (`createHostRoot({ nodeMounts: true })`, usually with
 * its own containerd, `nodeContainerd`), the way the kubelet and a container runtime run it:
 *
 * - each container's root is an image userland from `image-root.ts` under a fresh overlay (the
 *   cached root is never written), remounted read-only when `readOnlyRootFilesystem`;
 * - every volume at its mountPath: ConfigMap keys as files in the kubelet's `..data` layout
 *   (mode `defaultMode`, default 0644; always read-only), projected volumes (service-account
 *   `token`, `ca.crt` of `kube-root-ca.crt`, downward API items), downward API volumes, hostPath
 *   (resolved in the fake host root: `/` is the root itself, bound recursively), emptyDir (one
 *   dir per pod, mode 0777; `medium: Memory` is a tmpfs); plus `/etc/hosts`, `/etc/hostname`,
 *   `/etc/resolv.conf`, `/dev/termination-log`, `/proc`, `/sys` (read-only unless privileged),
 *   `/sys/fs/cgroup` (the host's cgroup hierarchies when privileged, as runsc needs them; else
 *   none), `/dev` (the host's when privileged, else a tmpfs with the standard devices) and `/dev/shm`;
 * - env as the kubelet builds it: the image's `ENV`, `HOSTNAME`, the `kubernetes` Service's
 *   variables (`KUBERNETES_SERVICE_HOST`/`_PORT` and the `KUBERNETES_PORT*` links), then the
 *   container's `env` with `fieldRef`s (`spec.nodeName`, `metadata.namespace`, `metadata.name`,
 *   `metadata.uid`, `spec.serviceAccountName`, `metadata.labels['<key>']`: the template's labels and
 *   the DaemonSet controller's `pod-template-generation`) and `$(VAR)` references expanded;
 * - a PID and a mount namespace per container (`unshare --pid --fork --mount`), entered with
 *   `pivot_root` (not `chroot`: a chroot is escapable and leaves the host's `/` as the mount
 *   namespace's root, so `nsenter --mount` for exec probes would land outside the container);
 *   network, UTS and IPC namespaces per pod unless `hostNetwork` (/`hostIPC`), shared by its
 *   init containers and containers;
 * - `command` + `args` as written (no image entrypoint is modelled), init containers to
 *   completion in order, then the containers;
 * - exec readiness probes run inside the container (`nsenter` into its mount, PID, network,
 *   UTS and IPC namespaces, with its env) every `periodSeconds` after `initialDelaySeconds`,
 *   with `timeoutSeconds`, `successThreshold` and `failureThreshold`;
 * - `stop()`: SIGTERM to each container's PID 1, SIGKILL after `terminationGracePeriodSeconds`;
 *   the exit code (128 + signal when killed) and the logs.
 *
 * The API server is a `RecordingApiServer` (local HTTPS). A pod with its own network namespace
 * reaches it as a cluster does: `KUBERNETES_SERVICE_HOST` is `CLUSTER_IP` (10.96.0.1), port 443,
 * an address on the pod's loopback where a relay (a small Node process inside the pod's network
 * namespace) forwards each connection to the recorder's unix socket, the TLS session running end
 * to end; the agent checks the recorder's certificate against the projected `ca.crt`. A
 * `hostNetwork` pod gets 127.0.0.1 and the recorder's TCP port (a real node would reach the
 * ClusterIP through kube-proxy's rules in the host's namespace, which this machine must not get).
 *
 * The node's systemd: the agent runs `chroot /host systemctl ...`, which runs the host root's own
 * userland. `Kubelet` installs `/usr/local/bin/systemctl` in the root (a writable tmpfs with
 * `nodeMounts`), a sh client using only the host's sh and coreutils that hands `<verb> <unit>` to
 * the harness through a FIFO in the root's `/run`; the harness runs `node-systemctl.sh` (the
 * node containerd's stand-in, `NodeContainerd.systemctlCommand`) and hands back its output and
 * exit status. `chroot /host containerd` needs nothing: the root's `/usr` is this machine's.
 *
 * Not modelled: image pulls and entrypoints, capabilities and seccomp (every container runs as
 * root with all capabilities, as a privileged one does), cgroups and resource limits,
 * `runAsUser` other than 0, restarts of exited containers (`waitForExit` tells), liveness and
 * startup probes, lifecycle hooks, Secrets.
 *
 * Needs root, util-linux (`unshare`, `nsenter`, `mount`, `pivot_root`), iproute2 (`ip`), and a
 * kernel with overlayfs.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLUSTER_IP, RecordingApiServer } from './api-server';
import { HostRoot } from './host-root';
import { ImageRoot } from './image-root';
import { removeTreeSafely, unmountAllUnder } from './mounts';

/** Options of a Kubelet. */
export interface KubeletOptions {
  /** The node's fake `/` (with `nodeMounts: true` when the node's systemd is wanted). */
  readonly hostRoot: HostRoot;
  /** The userland of every container image, or one per image name. */
  readonly imageRoot: ImageRoot | ((image: string) => ImageRoot);
  /** The API server stand-in, started (`await api.start()`). */
  readonly apiServer: RecordingApiServer;
  /** The node's name (`spec.nodeName`). Default `node-1`. */
  readonly nodeName?: string;
  /**
   * The node's `systemctl`, run by the harness for `chroot /host systemctl ...` inside pods:
   * `{ command: node.systemctlCommand, env: node.systemctlEnv() }` of a `NodeContainerd`.
   * Default: none (`systemctl` in the root is then whatever the host's `/usr` has).
   */
  readonly systemctl?: { readonly command: string; readonly env: Record<string, string> };
}

/** Options of `Kubelet.runPod`. */
export interface RunPodOptions {
  /** The DaemonSet to run (by `metadata.name`). Default: the only DaemonSet in the manifests. */
  readonly daemonSet?: string;
  /** Extra env for every container, applied last (e.g. `{ ONESHOT: '1' }`, `AGENT_TRACE`). */
  readonly env?: Record<string, string>;
  /** How long to wait for init containers, in ms. Default 120 s each. */
  readonly initTimeoutMs?: number;
}

/** One `systemctl` call a pod made through the node's systemd. */
export interface SystemctlCall {
  /** When the harness received it. */
  readonly at: Date;
  /** `systemctl <args>`. */
  readonly call: string;
}

/** One exec probe's outcome. */
export interface ProbeResult {
  readonly at: Date;
  /** Exit status (null: timed out or could not run). */
  readonly exitCode: number | null;
  readonly output: string;
  readonly success: boolean;
}

/** What a command run inside a container printed, and its exit status (null: timed out or could not run). */
export interface ExecResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How a container ended. */
export interface ContainerExit {
  /** The exit status, or 128 + the signal's number when killed (as the kubelet reports it). */
  readonly exitCode: number;
  /** The signal that killed it, if one did. */
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they came. */
  readonly logs: string;
}

/** A container the harness runs. */
export interface RunningContainer {
  readonly name: string;
  /** Its PID 1, as this machine sees it. */
  readonly pid: number;
  /** The environment it was started with. */
  readonly env: Readonly<Record<string, string>>;
  /** stdout and stderr so far. */
  logs(): string;
  /** Whether it still runs. */
  running(): boolean;
  /** Readiness per its readinessProbe (false until the probe has passed; true without a probe). */
  ready(): boolean;
  /** Every probe run so far, oldest first. */
  probes(): ProbeResult[];
  /** Resolves with its exit (rejects after `timeoutMs`). */
  waitForExit(timeoutMs?: number): Promise<ContainerExit>;
  /** Runs a command inside it (as the probe does); never throws. */
  exec(command: string[], timeoutMs?: number): Promise<ExecResult>;
}

/** A pod the harness runs. */
export interface Pod {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  /** The service-account token projected into it (what the API server sees as `Bearer ...`). */
  readonly token: string;
  /** The pod's directory on this machine (volumes, container overlays, logs). */
  readonly dir: string;
  /** Init containers' exits, in order. */
  readonly initContainers: ReadonlyArray<{ readonly name: string; readonly exit: ContainerExit }>;
  /** A running container by name (default: the first). */
  container(name?: string): RunningContainer;
  /** Waits until the container's readiness probe has passed (rejects with its last result after `timeoutMs`). */
  waitForReady(container?: string, timeoutMs?: number): Promise<void>;
  /**
   * Deletes the pod: SIGTERM to each container's PID 1, SIGKILL after the grace period
   * (`terminationGracePeriodSeconds`, or `gracePeriodSeconds`); then releases its namespaces,
   * mounts and directory. Resolves with each container's exit.
   */
  stop(gracePeriodSeconds?: number): Promise<Record<string, ContainerExit>>;
}

const FIFO_DIR = '/run/kubelet-harness-systemd';
const API_PORT_IN_CLUSTER = 443;

/**
 * `systemctl` inside the host root: forwards to the harness (test only). Request: one line
 * `<reply fifo> <args>` on the request FIFO (atomic: shorter than PIPE_BUF). Reply: the exit
 * status on the reply FIFO once `<reply>.out` and `<reply>.err` are written.
 */
const SYSTEMCTL_CLIENT = `#!/bin/sh
# systemctl of a test node: hands the call to the kubelet harness, which runs the node's
# containerd stand-in (test/support/kubelet.ts). Uses only sh and coreutils of the host.
dir=${FIFO_DIR}
reply=$(mktemp -u "$dir/reply.XXXXXXXX") || exit 1
mkfifo -m 600 "$reply" || exit 1
exec 3<>"$reply"
printf '%s %s\\n' "$reply" "$*" > "$dir/requests"
read -r status <&3
exec 3<&-
cat "$reply.out"
cat "$reply.err" >&2
rm -f "$reply" "$reply.out" "$reply.err"
exit "$status"
`;

/**
 * The setup a container's PID 1 does before it execs the container's command: run by this
 * machine's sh in the container's fresh mount namespace (all mounts private), then pivot_root.
 * Mount lines: `kind|source|target|flags`, targets already resolved inside the image root.
 */
const CONTAINER_INIT = `set -eu
rootfs=$1; lower=$2; upper=$3; work=$4; spec=$5; readonly=$6; workdir=$7
shift 7
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$rootfs"
while IFS='|' read -r kind source target flags; do
  dest=$rootfs$target
  if [ "$kind" = file ]; then
    [ -e "$dest" ] || { mkdir -p "$(dirname "$dest")"; : > "$dest"; }
  else
    mkdir -p "$dest"
  fi
  case $kind in
    file|bind) mount --bind "$source" "$dest" ;;
    rbind) mount --rbind "$source" "$dest"; mount --make-rprivate "$dest" ;;
    proc) mount -t proc proc "$dest" ;;
    sysfs) mount -t sysfs sysfs "$dest" ;;
    tmpfs) mount -t tmpfs -o "$source" tmpfs "$dest" ;;
  esac
  case ",$flags," in *,ro,*) mount -o remount,bind,ro "$dest" ;; esac
done < "$spec"
[ "$readonly" = yes ] && mount -o remount,bind,ro "$rootfs"
cd "$rootfs"
pivot_root . .
umount -l .
cd "$workdir"
exec "$@"
`;

/** Forwards TCP connections on host:port to a unix socket (run inside a pod's network namespace). */
const RELAY = `const net = require('net');
const [host, port, socket] = process.argv.slice(1);
const server = net.createServer((c) => {
  const u = net.connect(socket);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
});
server.listen(Number(port), host, () => process.stdout.write('listening\\n'));
`;

/** The kubelet of one fake node. */
export class Kubelet {
  readonly nodeName: string;
  private readonly pods = new Set<PodRun>();
  private systemd?: SystemdBridge;

  constructor(private readonly options: KubeletOptions) {
    this.nodeName = options.nodeName ?? 'node-1';
    if (options.systemctl) this.systemd = new SystemdBridge(options.hostRoot, options.systemctl);
  }

  /**
   * Lines of `systemctl` calls made through the node's systemd (`restart containerd`, ...): the pods'
   * and the node's own daemons' (CRI-O runs `systemctl show` when it starts).
   */
  systemctlCalls(): string[] {
    return this.systemctlHistory().map((c) => c.call);
  }

  /** The same calls with the time each reached the node's systemd (to order them against label changes). */
  systemctlHistory(): SystemctlCall[] {
    return this.systemd?.calls.slice() ?? [];
  }

  /**
   * Runs the DaemonSet's pod on this node: its init containers to completion, then its
   * containers, each started (not waited for: see `Pod`).
   */
  async runPod(manifests: any[], options: RunPodOptions = {}): Promise<Pod> {
    await this.systemd?.start();
    const daemonSets = manifests.filter((m) => m?.kind === 'DaemonSet' && (options.daemonSet === undefined || m.metadata?.name === options.daemonSet));
    if (daemonSets.length !== 1) {
      throw new Error(`Kubelet.runPod: ${daemonSets.length} DaemonSets${options.daemonSet ? ` named ${options.daemonSet}` : ''} in the manifests`);
    }
    const pod = new PodRun(this.options, this.nodeName, manifests, daemonSets[0], options);
    this.pods.add(pod);
    try {
      await pod.start();
    } catch (e) {
      await pod.stop(0).catch(() => undefined);
      this.pods.delete(pod);
      throw e;
    }
    return pod;
  }

  /** Stops every pod still running (SIGKILL at once) and the node's systemd bridge. */
  async stop(): Promise<void> {
    for (const pod of [...this.pods]) await pod.stop(0).catch(() => undefined);
    this.pods.clear();
    await this.systemd?.stop();
  }
}

/**
 * `systemctl` verbs that only read (systemd answers them while a start or restart job runs: CRI-O
 * runs `systemctl show` while it starts, which a queue behind the restart that started it would
 * never answer).
 */
const QUERY_VERBS = new Set(['show', 'status', 'is-active', 'is-enabled', 'is-failed', 'cat', 'list-units']);

/**
 * Serves `systemctl` calls made inside the host root, by running the node's stand-in outside:
 * jobs (`start`, `restart`, ...) one at a time, in order; queries at once.
 */
class SystemdBridge {
  readonly calls: SystemctlCall[] = [];
  private reader?: ChildProcess;
  private queue: Promise<void> = Promise.resolve();
  private readonly queries = new Set<Promise<void>>();

  constructor(private readonly root: HostRoot, private readonly systemctl: { command: string; env: Record<string, string> }) {}

  async start(): Promise<void> {
    if (this.reader) return;
    try {
      this.root.write('/usr/local/bin/systemctl', SYSTEMCTL_CLIENT, 0o755);
    } catch (e: any) {
      throw new Error(`Kubelet: cannot install systemctl in the host root's /usr/local/bin (make the root with createHostRoot({ nodeMounts: true })): ${e.message}`);
    }
    const dir = this.root.resolve(FIFO_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const requests = path.join(dir, 'requests');
    if (!fs.existsSync(requests)) spawnSync('mkfifo', ['-m', '622', requests]);
    // Opened read-write: the reader never sees end-of-file between clients.
    this.reader = spawn('sh', ['-c', 'exec cat <> "$1"', 'sh', requests], { stdio: ['ignore', 'pipe', 'ignore'] });
    let pending = '';
    this.reader.stdout!.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (QUERY_VERBS.has(line.split(' ').filter(Boolean)[1])) {
          const query = this.serve(line).finally(() => this.queries.delete(query));
          this.queries.add(query);
        } else {
          this.queue = this.queue.then(() => this.serve(line));
        }
      }
    });
  }

  private async serve(line: string): Promise<void> {
    const [reply, ...args] = line.split(' ').filter(Boolean);
    if (!reply?.startsWith(`${FIFO_DIR}/reply.`)) return;
    this.calls.push({ at: new Date(), call: `systemctl ${args.join(' ')}` });
    const [command, ...commandArgs] = this.systemctl.command.split(/\s+/).filter(Boolean);
    const env = { ...process.env, ...this.systemctl.env } as Record<string, string>;
    const result = await runAsync([command, ...commandArgs, ...args], { env, timeoutMs: 120_000 });
    const at = this.root.resolve(reply);
    fs.writeFileSync(`${at}.out`, result.stdout);
    fs.writeFileSync(`${at}.err`, result.stderr);
    try {
      // Non-blocking: the client holds its reply FIFO open for reading before it asks.
      // eslint-disable-next-line no-bitwise
      const fd = fs.openSync(at, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(fd, `${result.exitCode ?? 1}\n`);
      fs.closeSync(fd);
    } catch {
      // the client is gone
    }
  }

  async stop(): Promise<void> {
    this.reader?.kill('SIGKILL');
    this.reader = undefined;
    await this.queue;
    await Promise.all([...this.queries]);
  }
}

/** The pod's volumes, made on this machine. */
interface PodVolume {
  /** The directory or file to mount. */
  readonly source: string;
  readonly kind: 'bind' | 'rbind';
  /** Always read-only (ConfigMap, projected, downward API). */
  readonly readOnly: boolean;
}

class PodRun implements Pod {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly token: string;
  readonly dir: string;
  readonly initContainers: Array<{ name: string; exit: ContainerExit }> = [];
  /** The pod template's spec. */
  readonly spec: any;
  /** The pod's labels. */
  readonly labels: Record<string, string>;
  private readonly containers = new Map<string, ContainerRun>();
  private readonly volumes = new Map<string, PodVolume>();
  private readonly nsDir: string;
  private relay?: ChildProcess;
  private stopped = false;

  constructor(
    private readonly options: KubeletOptions,
    private readonly nodeName: string,
    private readonly manifests: any[],
    daemonSet: any,
    private readonly runOptions: RunPodOptions,
  ) {
    this.spec = daemonSet.spec.template.spec;
    // As the DaemonSet controller labels its pods: the template's labels and the template generation (1 for a new DaemonSet).
    this.labels = {
      ...daemonSet.spec.template.metadata?.labels,
      'pod-template-generation': daemonSet.metadata.annotations?.['deprecated.daemonset.template.generation'] ?? '1',
    };
    this.namespace = daemonSet.metadata.namespace ?? 'default';
    this.name = `${daemonSet.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    this.uid = uuid();
    this.token = `harness-token-${this.uid}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-pod-'));
    fs.chmodSync(this.dir, 0o755);
    this.nsDir = path.join(this.dir, 'ns');
  }

  get hostNetwork(): boolean {
    return this.spec.hostNetwork === true;
  }

  async start(): Promise<void> {
    this.makeNamespaces();
    this.makeVolumes();
    this.makeEtcFiles();
    await this.startRelay();
    for (const c of this.spec.initContainers ?? []) {
      const run = new ContainerRun(this, c, this.containerEnv(c));
      await run.start();
      const exit = await run.waitForExit(this.runOptions.initTimeoutMs ?? 120_000);
      this.initContainers.push({ name: c.name, exit });
      if (exit.exitCode !== 0) throw new Error(`init container ${c.name} exited ${exit.exitCode}:\n${exit.logs}`);
    }
    for (const c of this.spec.containers) {
      const run = new ContainerRun(this, c, this.containerEnv(c));
      this.containers.set(c.name, run);
      await run.start();
    }
  }

  container(name?: string): RunningContainer {
    const found = name === undefined ? [...this.containers.values()][0] : this.containers.get(name);
    if (!found) throw new Error(`pod ${this.name} has no container ${name}`);
    return found;
  }

  async waitForReady(container?: string, timeoutMs = 180_000): Promise<void> {
    const c = this.container(container) as ContainerRun;
    const deadline = Date.now() + timeoutMs;
    while (!c.ready()) {
      if (!c.running() || Date.now() > deadline) {
        const last = c.probes().slice(-1)[0];
        throw new Error(`container ${c.name} of pod ${this.name} ${c.running() ? `not ready after ${timeoutMs} ms` : 'exited before it was ready'}; last probe: ${last ? `exit ${last.exitCode}: ${last.output.trim()}` : 'none'}\n--- logs ---\n${c.logs()}`);
      }
      await sleep(100);
    }
  }

  async stop(gracePeriodSeconds?: number): Promise<Record<string, ContainerExit>> {
    const grace = gracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds ?? 30;
    const exits: Record<string, ContainerExit> = {};
    await Promise.all([...this.containers.values()].map(async (c) => { exits[c.name] = await c.terminate(grace); }));
    if (!this.stopped) {
      this.stopped = true;
      this.relay?.kill('SIGKILL');
      if (this.relay) await new Promise((r) => (this.relay!.exitCode !== null || this.relay!.signalCode !== null ? r(undefined) : this.relay!.once('exit', r)));
      unmountAllUnder(this.dir);
      removeTreeSafely(this.dir);
    }
    return exits;
  }

  /** Pod-level network, UTS and IPC namespaces, kept as nsfs bind mounts in `ns/`. */
  private makeNamespaces(): void {
    fs.mkdirSync(this.nsDir);
    // nsfs files can only be bind-mounted onto a private mount.
    mustRun('mount', ['--bind', this.nsDir, this.nsDir]);
    mustRun('mount', ['--make-private', this.nsDir]);
    for (const ns of ['uts', 'ipc', ...(this.hostNetwork ? [] : ['net'])]) fs.writeFileSync(path.join(this.nsDir, ns), '');
    if (this.spec.hostIPC !== true) mustRun('unshare', [`--ipc=${path.join(this.nsDir, 'ipc')}`, 'true']);
    if (!this.hostNetwork) {
      mustRun('unshare', [`--uts=${path.join(this.nsDir, 'uts')}`, 'hostname', this.name]);
      const net = path.join(this.nsDir, 'net');
      mustRun('unshare', [`--net=${net}`, 'ip', 'link', 'set', 'lo', 'up']);
      mustRun('nsenter', [`--net=${net}`, 'ip', 'addr', 'add', `${CLUSTER_IP}/32`, 'dev', 'lo']);
    }
  }

  /** The namespaces every container of the pod joins, as nsenter options. */
  podNamespaceOptions(): string[] {
    const opts: string[] = [];
    if (this.spec.hostIPC !== true) opts.push(`--ipc=${path.join(this.nsDir, 'ipc')}`);
    if (!this.hostNetwork) opts.push(`--uts=${path.join(this.nsDir, 'uts')}`, `--net=${path.join(this.nsDir, 'net')}`);
    return opts;
  }

  private async startRelay(): Promise<void> {
    if (this.hostNetwork) return;
    const argv = [`--net=${path.join(this.nsDir, 'net')}`, '--', process.execPath, '-e', RELAY, CLUSTER_IP, String(API_PORT_IN_CLUSTER), this.options.apiServer.unixSocket];
    const relay = spawn('nsenter', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.relay = relay;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      relay.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      relay.stdout!.once('data', () => resolve());
      relay.once('exit', (code) => reject(new Error(`the API server relay in pod ${this.name} exited ${code}: ${err}`)));
    });
  }

  private makeVolumes(): void {
    for (const v of this.spec.volumes ?? []) {
      const dir = path.join(this.dir, 'volumes', v.name);
      if (v.hostPath) {
        const source = this.options.hostRoot.resolve(v.hostPath.path);
        const type = v.hostPath.type ?? '';
        if (type === 'DirectoryOrCreate') fs.mkdirSync(source, { recursive: true, mode: 0o755 });
        if (type === 'FileOrCreate' && !fs.existsSync(source)) fs.writeFileSync(source, '', { mode: 0o644 });
        if (type === 'Directory' && !fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
          throw new Error(`hostPath ${v.hostPath.path} of volume ${v.name} is not a directory on the node`);
        }
        if (type === 'File' && !fs.statSync(source, { throwIfNoEntry: false })?.isFile()) throw new Error(`hostPath ${v.hostPath.path} of volume ${v.name} is not a file on the node`);
        this.volumes.set(v.name, { source, kind: 'rbind', readOnly: false });
      } else if (v.emptyDir) {
        fs.mkdirSync(dir, { recursive: true });
        if (v.emptyDir.medium === 'Memory') {
          const size = v.emptyDir.sizeLimit ? `,size=${bytesOf(v.emptyDir.sizeLimit)}` : '';
          mustRun('mount', ['-t', 'tmpfs', '-o', `mode=0777${size}`, 'tmpfs', dir]);
        }
        fs.chmodSync(dir, 0o777);
        this.volumes.set(v.name, { source: dir, kind: 'bind', readOnly: false });
      } else if (v.configMap) {
        const files = this.configMapItems(v.configMap.name, v.configMap.items, v.configMap.optional);
        writeAtomicVolume(dir, files, v.configMap.defaultMode ?? 0o644);
        this.volumes.set(v.name, { source: dir, kind: 'bind', readOnly: true });
      } else if (v.projected) {
        const files: Record<string, { content: string; mode?: number }> = {};
        for (const source of v.projected.sources ?? []) {
          if (source.serviceAccountToken) {
            files[source.serviceAccountToken.path] = { content: this.token };
          } else if (source.configMap) {
            Object.assign(files, this.configMapItems(source.configMap.name, source.configMap.items, source.configMap.optional));
          } else if (source.downwardAPI) {
            Object.assign(files, this.downwardItems(source.downwardAPI.items ?? []));
          } else {
            throw new Error(`Kubelet: projected source ${Object.keys(source).join(',')} of volume ${v.name} is not modelled`);
          }
        }
        writeAtomicVolume(dir, files, v.projected.defaultMode ?? 0o644);
        this.volumes.set(v.name, { source: dir, kind: 'bind', readOnly: true });
      } else if (v.downwardAPI) {
        writeAtomicVolume(dir, this.downwardItems(v.downwardAPI.items ?? []), v.downwardAPI.defaultMode ?? 0o644);
        this.volumes.set(v.name, { source: dir, kind: 'bind', readOnly: true });
      } else {
        throw new Error(`Kubelet: volume ${v.name} (${Object.keys(v).filter((k) => k !== 'name').join(',')}) is not modelled`);
      }
    }
  }

  private configMapItems(name: string, items: any[] | undefined, optional?: boolean): Record<string, { content: string; mode?: number }> {
    let data: Record<string, string> | undefined;
    if (name === 'kube-root-ca.crt') data = { 'ca.crt': this.options.apiServer.caCertificate };
    else data = this.manifests.find((m) => m?.kind === 'ConfigMap' && m.metadata?.name === name && (m.metadata?.namespace ?? 'default') === this.namespace)?.data;
    if (!data) {
      if (optional) return {};
      throw new Error(`Kubelet: ConfigMap ${this.namespace}/${name} is not in the manifests (the pod would stay ContainerCreating)`);
    }
    const files: Record<string, { content: string; mode?: number }> = {};
    if (items) {
      for (const item of items) files[item.path] = { content: data[item.key], mode: item.mode };
    } else {
      for (const [key, content] of Object.entries(data)) files[key] = { content };
    }
    return files;
  }

  private downwardItems(items: any[]): Record<string, { content: string; mode?: number }> {
    const files: Record<string, { content: string; mode?: number }> = {};
    for (const item of items) files[item.path] = { content: this.fieldValue(item.fieldRef?.fieldPath, `downward API item ${item.path}`), mode: item.mode };
    return files;
  }

  fieldValue(fieldPath: string | undefined, what: string): string {
    switch (fieldPath) {
      case 'spec.nodeName': return this.nodeName;
      case 'metadata.namespace': return this.namespace;
      case 'metadata.name': return this.name;
      case 'metadata.uid': return this.uid;
      case 'spec.serviceAccountName': return this.spec.serviceAccountName ?? 'default';
      default: {
        const label = /^metadata\.labels\['([^']+)'\]$/.exec(fieldPath ?? '');
        if (label) return this.labels[label[1]] ?? '';
        throw new Error(`Kubelet: ${what}: fieldRef ${fieldPath} is not modelled`);
      }
    }
  }

  /** /etc/hosts (the kubelet's), /etc/hostname and /etc/resolv.conf (the runtime's), per pod. */
  private makeEtcFiles(): void {
    const etc = path.join(this.dir, 'etc');
    fs.mkdirSync(etc);
    const hostname = this.hostNetwork ? os.hostname() : this.name;
    fs.writeFileSync(path.join(etc, 'hosts'), `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.hostNetwork ? '' : `10.244.0.2\t${this.name}\n`}`);
    fs.writeFileSync(path.join(etc, 'hostname'), `${hostname}\n`);
    fs.writeFileSync(path.join(etc, 'resolv.conf'), '');
  }

  /** Mount lines for a container (before sorting): volumes, then the runtime's own. */
  mountsFor(container: any, containerDir: string): Array<{ kind: string; source: string; target: string; flags: string }> {
    const mounts: Array<{ kind: string; source: string; target: string; flags: string }> = [];
    const privileged = container.securityContext?.privileged === true;
    mounts.push({ kind: 'proc', source: '', target: '/proc', flags: '' });
    mounts.push({ kind: 'sysfs', source: '', target: '/sys', flags: privileged ? '' : 'ro' });
    // A privileged container's cgroup mount is writable; with cgroups not modelled, it is the host's tree.
    if (privileged) mounts.push({ kind: 'rbind', source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', flags: '' });
    if (privileged) {
      mounts.push({ kind: 'rbind', source: '/dev', target: '/dev', flags: '' });
    } else {
      mounts.push({ kind: 'tmpfs', source: 'mode=755,size=65536k', target: '/dev', flags: '' });
      for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) mounts.push({ kind: 'file', source: `/dev/${d}`, target: `/dev/${d}`, flags: '' });
    }
    mounts.push({ kind: 'tmpfs', source: 'mode=1777,size=65536k', target: '/dev/shm', flags: '' });
    const terminationLog = path.join(containerDir, 'termination-log');
    fs.writeFileSync(terminationLog, '');
    mounts.push({ kind: 'file', source: terminationLog, target: container.terminationMessagePath ?? '/dev/termination-log', flags: '' });
    for (const f of ['hosts', 'hostname', 'resolv.conf']) mounts.push({ kind: 'file', source: path.join(this.dir, 'etc', f), target: `/etc/${f}`, flags: '' });
    for (const m of container.volumeMounts ?? []) {
      const volume = this.volumes.get(m.name);
      if (!volume) throw new Error(`Kubelet: container ${container.name} mounts volume ${m.name}, which the pod does not have`);
      let source = volume.source;
      if (m.subPath) source = path.join(source, m.subPath);
      const kind = fs.statSync(source).isDirectory() ? volume.kind : 'file';
      mounts.push({ kind, source, target: m.mountPath, flags: volume.readOnly || m.readOnly ? 'ro' : '' });
    }
    return mounts;
  }

  /** The container's env as the kubelet and the runtime build it. */
  private containerEnv(container: any): Record<string, string> {
    const image = this.imageRootOf(container);
    const api = this.hostNetwork
      ? { host: '127.0.0.1', port: String(this.options.apiServer.port) }
      : { host: CLUSTER_IP, port: String(API_PORT_IN_CLUSTER) };
    const env: Record<string, string> = {
      ...image.env,
      HOSTNAME: this.hostNetwork ? os.hostname() : this.name,
      KUBERNETES_SERVICE_HOST: api.host,
      KUBERNETES_SERVICE_PORT: api.port,
      KUBERNETES_SERVICE_PORT_HTTPS: api.port,
      KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
      [`KUBERNETES_PORT_${api.port}_TCP`]: `tcp://${api.host}:${api.port}`,
      [`KUBERNETES_PORT_${api.port}_TCP_PROTO`]: 'tcp',
      [`KUBERNETES_PORT_${api.port}_TCP_PORT`]: api.port,
      [`KUBERNETES_PORT_${api.port}_TCP_ADDR`]: api.host,
    };
    for (const v of container.env ?? []) {
      if (v.value !== undefined) {env[v.name] = expand(v.value, env);} else if (v.valueFrom?.fieldRef) {env[v.name] = this.fieldValue(v.valueFrom.fieldRef.fieldPath, `env ${v.name}`);} else if (v.valueFrom?.configMapKeyRef) {
        const data = this.manifests.find((m) => m?.kind === 'ConfigMap' && m.metadata?.name === v.valueFrom.configMapKeyRef.name)?.data ?? {};
        env[v.name] = data[v.valueFrom.configMapKeyRef.key] ?? '';
      } else {throw new Error(`Kubelet: env ${v.name} (${JSON.stringify(v.valueFrom)}) is not modelled`);}
    }
    return { ...env, ...this.runOptions.env };
  }

  imageRootOf(container: any): ImageRoot {
    const r = this.options.imageRoot;
    return typeof r === 'function' ? r(container.image) : r;
  }
}

class ContainerRun implements RunningContainer {
  readonly name: string;
  pid = 0;
  private child?: ChildProcess;
  private output = '';
  private exit?: ContainerExit;
  private exited: Promise<ContainerExit>;
  private resolveExit!: (e: ContainerExit) => void;
  private readonly probeResults: ProbeResult[] = [];
  private readyState: boolean;
  private probeTimer?: NodeJS.Timeout;
  private readonly dir: string;
  private stopping = false;

  constructor(private readonly pod: PodRun, private readonly spec: any, readonly env: Record<string, string>) {
    this.name = spec.name;
    this.dir = path.join(pod.dir, 'containers', spec.name);
    this.readyState = !spec.readinessProbe;
    this.exited = new Promise((resolve) => { this.resolveExit = resolve; });
  }

  async start(): Promise<void> {
    const image = this.pod.imageRootOf(this.spec);
    if (this.spec.securityContext?.runAsUser !== undefined && this.spec.securityContext.runAsUser !== 0) {
      throw new Error(`Kubelet: container ${this.name}: runAsUser ${this.spec.securityContext.runAsUser} is not modelled`);
    }
    const command = [...(this.spec.command ?? []), ...(this.spec.args ?? [])].map((w: string) => expand(w, this.env));
    if (!this.spec.command) throw new Error(`Kubelet: container ${this.name} has no command (image entrypoints are not modelled)`);
    for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
    const mounts = this.pod.mountsFor(this.spec, this.dir)
      .map((m) => ({ ...m, target: resolveInRoot(image.path, m.target) }))
      .sort((a, b) => depth(a.target) - depth(b.target));
    for (const m of mounts) {
      if ([m.kind, m.source, m.target, m.flags].some((f) => f.includes('|') || f.includes('\n'))) throw new Error(`Kubelet: cannot mount ${m.source} at ${m.target}`);
    }
    const spec = path.join(this.dir, 'mounts');
    fs.writeFileSync(spec, mounts.map((m) => `${m.kind}|${m.source}|${m.target}|${m.flags}\n`).join(''));
    const readOnly = this.spec.securityContext?.readOnlyRootFilesystem === true ? 'yes' : 'no';
    const hostPID = this.pod_hostPID();
    const init = [
      'unshare', ...(hostPID ? [] : ['--pid', '--fork', '--kill-child']), '--mount', '--propagation', 'private', '--',
      '/bin/sh', '-c', CONTAINER_INIT, 'container-init',
      path.join(this.dir, 'rootfs'), image.path, path.join(this.dir, 'upper'), path.join(this.dir, 'work'), spec, readOnly, this.spec.workingDir ?? '/',
      ...command,
    ];
    const nsOptions = this.pod.podNamespaceOptions();
    const argv = nsOptions.length > 0 ? ['nsenter', ...nsOptions, '--', ...init] : init;
    const child = spawn(argv[0], argv.slice(1), { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const log = fs.openSync(path.join(this.dir, 'log'), 'a');
    const collect = (d: Buffer) => {
      this.output += d.toString('utf8');
      fs.writeSync(log, d);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('close', (code, signal) => {
      fs.closeSync(log);
      this.stopProbes();
      this.readyState = false;
      const exitCode = code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0);
      this.exit = { exitCode, signal: code === null ? signal : (code > 128 ? signalName(code - 128) : null), logs: this.output };
      this.resolveExit(this.exit);
    });
    // PID 1 of the container: unshare's child (or, with hostPID, the process itself).
    this.pid = hostPID ? child.pid! : await childOf(child.pid!, () => this.exit !== undefined);
    this.startProbes();
  }

  private pod_hostPID(): boolean {
    return this.pod.spec.hostPID === true;
  }

  logs(): string {
    return this.output;
  }

  running(): boolean {
    return this.child !== undefined && this.exit === undefined;
  }

  ready(): boolean {
    return this.readyState;
  }

  probes(): ProbeResult[] {
    return this.probeResults.slice();
  }

  async waitForExit(timeoutMs = 120_000): Promise<ContainerExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`container ${this.name} still runs after ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM to PID 1, SIGKILL after `graceSeconds`. */
  async terminate(graceSeconds: number): Promise<ContainerExit> {
    if (this.exit) return this.exit;
    this.stopping = true;
    this.stopProbes();
    if (graceSeconds > 0) {
      sendSignal(this.pid, 'SIGTERM');
      const timer = setTimeout(() => sendSignal(this.pid, 'SIGKILL'), graceSeconds * 1000);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    sendSignal(this.pid, 'SIGKILL');
    return this.exited;
  }

  async exec(command: string[], timeoutMs = 10_000): Promise<ExecResult> {
    if (!this.running()) return { exitCode: null, stdout: '', stderr: 'container is not running' };
    const flags = ['--mount', '--uts', '--ipc', '--net', ...(this.pod_hostPID() ? [] : ['--pid'])];
    return runAsync(['nsenter', `--target=${this.pid}`, ...flags, '--', ...command], { env: this.env, timeoutMs });
  }

  private startProbes(): void {
    const probe = this.spec.readinessProbe;
    if (!probe) return;
    if (!probe.exec) throw new Error(`Kubelet: container ${this.name}: only exec readiness probes are modelled`);
    const period = (probe.periodSeconds ?? 10) * 1000;
    let successes = 0;
    let failures = 0;
    const run = async () => {
      if (!this.running() || this.stopping) return;
      const r = await this.exec(probe.exec.command, (probe.timeoutSeconds ?? 1) * 1000);
      if (!this.running() || this.stopping) return;
      const success = r.exitCode === 0;
      this.probeResults.push({ at: new Date(), exitCode: r.exitCode, output: r.stdout + r.stderr, success });
      if (success) {
        successes++;
        failures = 0;
        if (successes >= (probe.successThreshold ?? 1)) this.readyState = true;
      } else {
        failures++;
        successes = 0;
        if (failures >= (probe.failureThreshold ?? 3)) this.readyState = false;
      }
      this.probeTimer = setTimeout(run, period);
    };
    this.probeTimer = setTimeout(run, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private stopProbes(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }
}

/** Writes a ConfigMap-like volume as the kubelet's atomic writer does: `..<timestamp>/`, `..data` -> it, `key` -> `..data/key`. */
function writeAtomicVolume(dir: string, files: Record<string, { content: string; mode?: number }>, defaultMode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}`;
  const data = path.join(dir, stamp);
  fs.mkdirSync(data);
  for (const [key, file] of Object.entries(files)) {
    const target = path.join(data, key);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content ?? '');
    fs.chmodSync(target, file.mode ?? defaultMode);
  }
  fs.symlinkSync(stamp, path.join(dir, '..data'));
  for (const key of new Set(Object.keys(files).map((k) => k.split('/')[0]))) fs.symlinkSync(path.join('..data', key), path.join(dir, key));
}

/**
 * `p` inside the image root `root`, with every symlink of the image resolved inside the root
 * (as runc resolves mount targets): `/var/run/secrets` in a root with `/var/run -> /run` is `/run/secrets`.
 */
export function resolveInRoot(root: string, p: string): string {
  const done: string[] = [];
  const todo = p.split('/').filter(Boolean);
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = path.join(root, ...done, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(here);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`too many symlinks resolving ${p} in ${root}`);
      const link = fs.readlinkSync(here);
      if (link.startsWith('/')) done.length = 0;
      todo.unshift(...link.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return `/${done.join('/')}`;
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/** `$(VAR)` references as the kubelet expands them (`$$` escapes; unknown ones stay as written). */
function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name) => {
    if (all === '$$') return '$';
    return env[name] ?? all;
  });
}

/** Kubernetes quantities as bytes (`1Mi`, `2Gi`, `500M`, `1024`). */
function bytesOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTE]i?|k)?$/.exec(quantity);
  if (!m) throw new Error(`Kubelet: cannot read quantity ${quantity}`);
  const units: Record<string, number> = { '': 1, 'k': 1e3, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'E': 1e18, 'Ki': 1024, 'Mi': 1024 ** 2, 'Gi': 1024 ** 3, 'Ti': 1024 ** 4, 'Ei': 1024 ** 6 };
  return Math.ceil(Number(m[1]) * units[m[2] ?? '']);
}

function uuid(): string {
  const b = randomBytes(16).toString('hex');
  return `${b.slice(0, 8)}-${b.slice(8, 12)}-4${b.slice(13, 16)}-a${b.slice(17, 20)}-${b.slice(20, 32)}`;
}

function signalName(n: number): NodeJS.Signals | null {
  return (Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals) ?? null;
}

function sendSignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function mustRun(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
}

/** The first child of `pid` (polls /proc). */
async function childOf(pid: number, gaveUp: () => boolean): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (children.length > 0) return Number(children[0]);
    } catch {
      // not yet, or gone
    }
    if (gaveUp()) return 0;
    await sleep(10);
  }
  throw new Error(`no container process under ${pid}`);
}

/** Runs a command asynchronously (the recorder answers from this process meanwhile); never throws. */
function runAsync(argv: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (e) => { stderr += e.message; });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ exitCode: code, stdout, stderr });
    });
  });
}
