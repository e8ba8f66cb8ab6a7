/**
 * A node's own CRI-O inside a fake host root: CRI-O 1.34 (`../shared/tools/crio/` beside the
 * repository: `crio`, `pinns`, and crun 1.21) run with the fake root as its `/`, as the node's
 * `crio.service`, started and restarted by `node-systemctl.sh` with `NODE_RUNTIME=crio` (the
 * `systemctl` stand-in a node agent gets as `HOST_SYSTEMCTL`).
 *
 *   const root = createHostRoot({ nodeMounts: true });
 *   const node = nodeCrio(root);                  // writes the node's files (see writeCrioNodeFiles)
 *   try {
 *     await node.start();
 *     const cri = new CriClient(node.address, { hostRoot: root });
 *     const id = await cri.runPodSandbox({ name: 'p', handler: 'crun' });
 *     const cid = await cri.createContainer(id, { name: 'c', image: CRIO_PAUSE_IMAGE, command: [...] });
 *     ...
 *   } finally {
 *     await node.stop();   // every pod, conmon and container of this CRI-O; the node's namespaces
 *     root.cleanup();
 *   }
 *
 * No registry is reachable from these machines, and CRI-O can only pull images (it has no import;
 * `pause_image` is a registry reference). So the busybox image of `pause-image.ts` is served by a
 * read-only registry (`oci-registry.js`) on 127.0.0.1:5000 inside the node's network namespace,
 * marked `insecure` in the root's `registries.conf`; CRI-O pulls it as `CRIO_PAUSE_IMAGE` on the
 * first sandbox and keeps it in its storage (`/var/lib/containers/storage` in the root).
 *
 * CRI-O runs in the node's own mount and network namespaces (pivot_root into the root), with
 * `_CRIO_ROOTLESS=1` (this machine refuses negative `oom_score_adj` to root: without it the infra
 * container fails). Pods on the node's network (the `CriClient` default) need no CNI; pods with
 * their own network (`network: 'POD'`) get the bridge + host-local conflist this module writes.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { inCi } from './ci';
import { CommandResult } from './containerd';
import { HostRoot } from './host-root';
import { removeTreeSafely } from './mounts';
import { installIntoRoot, killProcessesOfAndWait, NODE_SYSTEMCTL, processesOf, registerForExit, safeRead, unregisterForExit } from './node-containerd';
import { buildPauseImageTar, readTar } from './pause-image';

/** The folder with CRI-O 1.34 and crun 1.21, beside the repository (`CRIO_TOOLS` names another). */
export const CRIO_TOOLS = process.env.CRIO_TOOLS ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'crio');

/** The pause image CRI-O pulls from the node's registry (also usable as a container image). */
export const CRIO_PAUSE_IMAGE = 'localhost:5000/cdk8s-runtimeclass/pause:test';

/**
 * The pause image's entrypoint: as PID 1 of its PID namespace, `busybox sleep` ignores SIGTERM, and
 * CRI-O then waits about 19 s per StopPodSandbox before it kills the infra container.
 */
const PAUSE_ENTRYPOINT = ['/bin/busybox', 'sh', '-c', 'trap "exit 0" TERM INT; /bin/busybox sleep 2147483647 & wait'];

/** Where the node keeps crun 1.21: off CRI-O's PATH, so that its built-in `crun` handler is Debian's crun 1.8.1. */
export const NODE_CRUN_121 = '/opt/crun-1.21/bin/crun';

/** The CNI network of pods with their own network namespace. */
export const CRIO_POD_SUBNET = '10.89.0.0/16';

/**
 * The node's own `crio.conf`, as a node's package or image would have it: runc as the default
 * handler, cgroupfs, storage and socket at CRI-O's defaults, the pause image from the node's registry.
 */
export function crioNodeConfig(): string {
  return [
    '# The node\'s own CRI-O configuration (written by the test harness).',
    '[crio]',
    'root = "/var/lib/containers/storage"',
    'runroot = "/run/containers/storage"',
    'storage_driver = "overlay"',
    '',
    '[crio.api]',
    'listen = "/run/crio/crio.sock"',
    '',
    '[crio.runtime]',
    'default_runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'pinns_path = "/usr/local/bin/pinns"',
    '# No iptables or nft in the node: CRI-O refuses to start without this.',
    'disable_hostport_mapping = true',
    '',
    '[crio.runtime.runtimes.runc]',
    'runtime_path = "/usr/bin/runc"',
    'runtime_type = "oci"',
    'runtime_root = "/run/runc"',
    'monitor_path = "/usr/bin/conmon"',
    'monitor_cgroup = "pod"',
    '',
    '[crio.image]',
    `pause_image = "${CRIO_PAUSE_IMAGE}"`,
    'pause_command = ""',
    '',
    '[crio.network]',
    'network_dir = "/etc/cni/net.d/"',
    'plugin_dirs = ["/usr/lib/cni"]',
    '',
  ].join('\n');
}

/** Why CRI-O cannot run here, or `undefined`. */
export function crioUnavailableReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (CRI-O needs mount namespaces)';
  for (const file of ['crio', 'pinns', 'crun']) {
    if (!fs.existsSync(path.join(CRIO_TOOLS, file))) {
      return `${path.join(CRIO_TOOLS, file)} is missing (CRI-O 1.34 and crun 1.21 built for bookworm: see ../shared/tools/crio/README.md beside the repository, or set CRIO_TOOLS)`;
    }
  }
  for (const file of ['/usr/bin/conmon', '/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/sbin/runc']) {
    if (!fs.existsSync(file)) return `${file} is missing (apt-get install -y conmon containernetworking-plugins runc)`;
  }
  if (!fs.existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install -y busybox-static)';
  return undefined;
}

/**
 * Everything of a node's CRI-O in `root` except its config: `crio` and `pinns` in
 * `/usr/local/bin`, crun 1.21 at `NODE_CRUN_121`, `/etc/containers/policy.json` (accept
 * anything), a `registries.conf` marking the node's registry insecure, a CNI conflist (bridge
 * `cni0` + host-local `CRIO_POD_SUBNET`), `/var/tmp`; and `/etc/crio/crio.conf` =
 * `crioNodeConfig()` unless one is there already.
 */
export function writeCrioNodeFiles(root: HostRoot): void {
  installIntoRoot(root, path.join(CRIO_TOOLS, 'crio'), '/usr/local/bin/crio');
  installIntoRoot(root, path.join(CRIO_TOOLS, 'pinns'), '/usr/local/bin/pinns');
  installIntoRoot(root, path.join(CRIO_TOOLS, 'crun'), NODE_CRUN_121);
  root.write('/etc/containers/policy.json', `${JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })}\n`);
  root.write('/etc/containers/registries.conf', '[[registry]]\nlocation = "localhost:5000"\ninsecure = true\n');
  root.write('/etc/cni/net.d/10-crio-bridge.conflist', `${JSON.stringify({
    cniVersion: '1.0.0',
    name: 'crio',
    plugins: [{
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: CRIO_POD_SUBNET }]] },
    }],
  }, null, 2)}\n`);
  fs.mkdirSync(root.resolve('/var/tmp'), { recursive: true, mode: 0o1777 });
  if (!root.exists('/etc/crio/crio.conf')) root.write('/etc/crio/crio.conf', crioNodeConfig());
}

/** Options of `nodeCrio`. */
export interface NodeCrioOptions {
  /** How long a start waits for the socket, in ms. Default 60 s. */
  readonly timeoutMs?: number;
}

/** A node's CRI-O in a fake host root (one per root). */
export interface NodeCrio {
  readonly root: HostRoot;
  /** The CRI socket as reachable from outside the root. */
  readonly address: string;
  /** The stand-in's state directory, outside the root: namespaces, pid files, `crio.log`, the registry's. */
  readonly stateDir: string;
  /** `HOST_SYSTEMCTL` for a node agent under test. */
  readonly systemctlCommand: string;
  /** The environment `systemctlCommand` needs (`NODE_RUNTIME=crio`, ...), plus `extra`. */
  systemctlEnv(extra?: Record<string, string>): Record<string, string>;
  /** Start CRI-O (and the registry); resolves once its socket answers, rejects with the log's end otherwise. */
  start(): Promise<void>;
  /** Restart CRI-O (SIGTERM, then start); pods keep running, as with crio.service. */
  restart(): Promise<void>;
  /** Whether CRI-O runs. */
  isActive(): boolean;
  /** CRI-O's PID, if it runs. */
  pid(): number | undefined;
  /** CRI-O's log (every start appends to it). */
  log(): string;
  /** `GET /config` on CRI-O's socket: the merged TOML it runs with. */
  config(): string;
  /**
   * Stop CRI-O, kill every process of the node (conmon, containers, the registry), and release
   * the node's namespaces (with them every mount CRI-O made). The root stays. Idempotent.
   */
  stop(): Promise<void>;
}


/**
 * The node's CRI-O in `root` (made with `nodeMounts: true`). Writes `writeCrioNodeFiles(root)`
 * and the pause image's OCI layout (in the state dir, served by the registry).
 */
export function nodeCrio(root: HostRoot, opts: NodeCrioOptions = {}): NodeCrio {
  writeCrioNodeFiles(root);
  const stateDir = fs.realpathSync(fs.mkdtempSync('/tmp/nodecrio-'));
  const layout = path.join(stateDir, 'pause-layout');
  for (const [name, data] of readTar(fs.readFileSync(buildPauseImageTar(stateDir, { name: CRIO_PAUSE_IMAGE, entrypoint: PAUSE_ENTRYPOINT })))) {
    fs.mkdirSync(path.dirname(path.join(layout, name)), { recursive: true });
    fs.writeFileSync(path.join(layout, name), data);
  }
  const addressInRoot = '/run/crio/crio.sock';
  const realAddress = root.resolve(addressInRoot);
  let address = realAddress;
  if (Buffer.byteLength(realAddress) > 107) {
    address = path.join(stateDir, 'crio.sock');
    fs.symlinkSync(realAddress, address);
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const daemonEnv: Record<string, string> = {
    NODE_RUNTIME: 'crio',
    NODE_ROOT: root.path,
    NODE_STATE_DIR: stateDir,
    NODE_CRIO_SOCKET: addressInRoot,
    NODE_CRIO_REGISTRY_LAYOUT: layout,
    NODE_CONTAINERD_TIMEOUT: String(Math.ceil(timeoutMs / 1000)),
  };
  const systemctl = (...args: string[]): CommandResult => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...daemonEnv };
    for (const name of ['STANDIN_LOG', 'STANDIN_ACTIVE', 'STANDIN_ON_RESTART']) delete env[name];
    const r = spawnSync('sh', [NODE_SYSTEMCTL, ...args], { env, encoding: 'utf8', timeout: timeoutMs + 30_000 });
    return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
  };
  const mustSystemctl = (...args: string[]): void => {
    const r = systemctl(...args);
    if (!r.ok) throw new Error(`systemctl ${args.join(' ')} (CRI-O in ${root.path}) failed (${r.status}): ${r.stderr.trim()}`);
  };
  const pid = (): number | undefined => {
    const text = safeRead(path.join(stateDir, 'crio.pid')).trim();
    return systemctl('is-active', '--quiet', 'crio').ok && /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const registryPid = (): number | undefined => {
    const text = safeRead(path.join(stateDir, 'registry.pid')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const killRegistry = () => {
    const p = registryPid();
    if (p === undefined) return;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  };

  let stopped = false;
  const killAtExit = () => {
    try {
      for (const p of processesOf(stateDir)) process.kill(p, 'SIGKILL');
      killRegistry();
      removeTreeSafely(stateDir);
    } catch {
      // best effort at exit
    }
  };

  return {
    root,
    address,
    stateDir,
    systemctlCommand: `sh ${NODE_SYSTEMCTL}`,
    systemctlEnv: (extra = {}) => ({ ...daemonEnv, STANDIN_LOG: path.join(stateDir, 'systemctl.log'), ...extra }),
    async start() {
      if (stopped) throw new Error('nodeCrio: start() after stop(): make a new one');
      registerForExit(killAtExit);
      mustSystemctl('start', 'crio');
    },
    async restart() {
      registerForExit(killAtExit);
      mustSystemctl('restart', 'crio');
    },
    isActive: () => pid() !== undefined,
    pid,
    log: () => safeRead(path.join(stateDir, 'crio.log')),
    config: () => execFileSync(process.execPath, ['-e', `
      require('http').get({ socketPath: process.argv[1], path: '/config' }, (res) => res.pipe(process.stdout)).on('error', (e) => { console.error(e.message); process.exit(1); });`,
    realAddress], { encoding: 'utf8', timeout: 10_000 }),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        // SIGTERM: CRI-O then marks a clean shutdown; after a SIGKILL it wipes its storage on the
        // next start, and fails to if a container's root filesystem is still mounted.
        mustSystemctl('stop', 'crio');
        await killProcessesOfAndWait(stateDir);
        killRegistry();
      } finally {
        unregisterForExit(killAtExit);
      }
      removeTreeSafely(stateDir);
    },
  };
}


/** Throws with the reason when CRI-O cannot run here (for `beforeAll`); `inCi()` decides elsewhere whether that skips or fails. */
export function assertCrioAvailable(): void {
  const why = crioUnavailableReason();
  if (why) throw new Error(`prerequisite missing: ${why}${inCi() ? ' (CI is set, so this fails instead of skipping)' : ''}`);
}
