/**
 * A node's own containerd inside a fake host root: `containerd --config
 * /etc/containerd/config.toml` run with the fake root as its `/`, and `--root`, `--state` and
 * `--address` inside it too, so that every absolute path in the config (a gVisor handler's
 * `ConfigPath`, a `BinaryName`, the shim's `runsc.toml` `binary_name`) and every shim on the
 * daemon's `PATH` resolves in the fake node, as on a real one.
 *
 *   const root = createHostRoot({ nodeMounts: true });          // /proc, /sys, /dev, /usr/local
 *   root.write('/etc/containerd/config.toml', testCriConfig(MY_TABLES));
 *   const node = nodeContainerd(root);
 *   try {
 *     await node.start();
 *     const cri = new CriClient(node.address, { logDirectoryIn: root });
 *     ...
 *   } finally {
 *     await node.stop();   // kills tasks, shims and container processes of this daemon
 *     root.cleanup();
 *   }
 *
 * The daemon is started and stopped by `node-systemctl.sh`, the `systemctl` stand-in a node
 * agent under test gets as `HOST_SYSTEMCTL` (`node.systemctlCommand`, `node.systemctlEnv()`):
 * a restart by the agent and one by the test act on the same daemon.
 *
 * The node has its own mount namespace, whose root is the fake root (entered with `pivot_root`:
 * from a `chroot`, runsc cannot create its sandbox's user namespace), and its own network
 * namespace (configs that pin the CRI streaming port would otherwise collide with other daemons
 * on the machine). Both last from the first start until `stop()`, across restarts. Mounts made by
 * containerd and its shims (task root filesystems, shm) live in the node's mount namespace only
 * and go with it; files, sockets and cgroups are shared with the test.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  CommandResult, criSnapshotter, parsePluginRows, PluginRow, PluginStatus, pluginStatusIn, removeAllTasks,
} from './containerd';
import { HostRoot } from './host-root';
import { removeTreeSafely } from './mounts';

/** The stand-in's path; run it with `sh`. */
export const NODE_SYSTEMCTL = path.join(__dirname, 'node-systemctl.sh');

/** Longest unix socket path the kernel accepts (`sun_path` is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/** Options of `nodeContainerd`. */
export interface NodeContainerdOptions {
  /** `--config`, a path inside the root. Default `/etc/containerd/config.toml`. */
  readonly configPath?: string;
  /** `--root`, inside the root. Default `/var/lib/containerd`. */
  readonly dataRoot?: string;
  /** `--state`, inside the root. Default `/run/containerd`. */
  readonly dataState?: string;
  /** `--address`, inside the root. Default `/run/containerd/containerd.sock`. */
  readonly address?: string;
  /** How long a start waits for the socket, in ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** `--log-level`. Default: containerd's (`info`). */
  readonly logLevel?: string;
}

/** A node's containerd in a fake host root (one per root). */
export interface NodeContainerd {
  /** The fake host root. */
  readonly root: HostRoot;
  /** The socket as reachable from outside the root (for `ctr --address`, `CriClient`): at most 107 bytes. */
  readonly address: string;
  /** The socket's path inside the root (`--address`). */
  readonly addressInRoot: string;
  /** The config file inside the root (`--config`). */
  readonly configPath: string;
  /** The stand-in's state directory, outside the root: the node's namespaces, pid file, daemon log, `systemctl.log`. */
  readonly stateDir: string;
  /** `HOST_SYSTEMCTL` for a node agent under test: `sh <abs path>/node-systemctl.sh`. */
  readonly systemctlCommand: string;
  /** The CRI plugin's snapshotter per `config dump` in the root (what `importImage` unpacks into). */
  readonly snapshotter: string;
  /**
   * The environment `systemctlCommand` needs (`NODE_ROOT`, `NODE_STATE_DIR`, `NODE_CONTAINERD_*`,
   * and `STANDIN_LOG` = `<stateDir>/systemctl.log`), plus `extra` (e.g. `STANDIN_ON_RESTART`).
   */
  systemctlEnv(extra?: Record<string, string>): Record<string, string>;
  /** Lines the stand-in recorded for calls made with `systemctlEnv()` (`systemctl restart containerd`, ...). */
  systemctlCalls(): string[];
  /** Start the daemon (no-op if it runs); resolves once `ctr version` answers, rejects with the log's end otherwise. */
  start(): Promise<void>;
  /** Stop the daemon (SIGTERM, then SIGKILL) and restart it; rejects like `start`. Shims and containers keep running. */
  restart(): Promise<void>;
  /**
   * Kill and delete every task (via ctr while the daemon answers), stop the daemon, kill what
   * is left of its shims and container processes, delete their runc state, and release the
   * node's namespaces (and with them every mount made in the node). The root itself stays (see
   * `HostRoot.cleanup`). Idempotent.
   */
  stop(): Promise<void>;
  /** Whether the daemon runs (the stand-in's `is-active`). */
  isActive(): boolean;
  /** The daemon's PID, if it runs. */
  pid(): number | undefined;
  /** The daemon's log (every start appends to it, after a `=== node-systemctl: starting ...` line). */
  log(): string;
  /** Rows of `ctr plugins ls`. */
  plugins(): PluginRow[];
  /** Status of one plugin, by ID (`cri`) or `TYPE.ID`; `undefined` if not listed. */
  pluginStatus(id: string): PluginStatus | undefined;
  /** Run `ctr --address <address> ...args`. */
  ctr(...args: string[]): CommandResult;
}

const liveNodes = new Set<() => void>();
let exitHookInstalled = false;

/** A node containerd for `root` (not started: call `start()`). */
export function nodeContainerd(root: HostRoot, opts: NodeContainerdOptions = {}): NodeContainerd {
  const configPath = opts.configPath ?? '/etc/containerd/config.toml';
  const dataRoot = opts.dataRoot ?? '/var/lib/containerd';
  const dataState = opts.dataState ?? '/run/containerd';
  const addressInRoot = opts.address ?? '/run/containerd/containerd.sock';
  for (const [name, p] of [['configPath', configPath], ['dataRoot', dataRoot], ['dataState', dataState], ['address', addressInRoot]]) {
    if (!p.startsWith('/')) throw new Error(`nodeContainerd: ${name} "${p}" must be an absolute path inside the root`);
  }
  // Short, so that a symlink to a socket deep in a long root path still fits in sun_path.
  const stateDir = fs.realpathSync(fs.mkdtempSync('/tmp/nodectrd-'));
  const realAddress = root.resolve(addressInRoot);
  let address = realAddress;
  if (Buffer.byteLength(realAddress) > MAX_SOCKET_PATH) {
    address = path.join(stateDir, 'containerd.sock');
    fs.symlinkSync(realAddress, address);
  }
  const daemonEnv: Record<string, string> = {
    NODE_ROOT: root.path,
    NODE_STATE_DIR: stateDir,
    NODE_CONTAINERD_CONFIG: configPath,
    NODE_CONTAINERD_ROOT: dataRoot,
    NODE_CONTAINERD_STATE: dataState,
    NODE_CONTAINERD_ADDRESS: addressInRoot,
    NODE_CONTAINERD_TIMEOUT: String(Math.ceil((opts.timeoutMs ?? 30_000) / 1000)),
    ...(opts.logLevel ? { NODE_CONTAINERD_LOG_LEVEL: opts.logLevel } : {}),
  };
  const systemctlLog = path.join(stateDir, 'systemctl.log');

  /** Run the stand-in for the test itself: not recorded, no canned answers, no restart hook. */
  const systemctl = (...args: string[]): CommandResult => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...daemonEnv };
    for (const name of ['STANDIN_LOG', 'STANDIN_ACTIVE', 'STANDIN_ON_RESTART']) delete env[name];
    const r = spawnSync('sh', [NODE_SYSTEMCTL, ...args], { env, encoding: 'utf8', timeout: (opts.timeoutMs ?? 30_000) + 30_000 });
    return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
  };
  const mustSystemctl = (...args: string[]): void => {
    const r = systemctl(...args);
    if (!r.ok) throw new Error(`systemctl ${args.join(' ')} in ${root.path} failed (${r.status}): ${r.stderr.trim()}`);
  };
  const ctr = (...args: string[]): CommandResult => {
    const r = spawnSync('ctr', ['--address', address, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const pid = (): number | undefined => {
    const text = safeRead(path.join(stateDir, 'containerd.pid')).trim();
    return systemctl('is-active', '--quiet', 'containerd').ok && /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const log = () => safeRead(path.join(stateDir, 'containerd.log'));

  let stopped = false;
  const killAtExit = () => {
    try {
      const p = pid();
      if (p) process.kill(p, 'SIGKILL');
      killProcessesOf(stateDir);
      cleanupRuncState(root.path);
      removeTreeSafely(stateDir);
    } catch {
      // best effort at exit
    }
  };

  const node: NodeContainerd = {
    root,
    address,
    addressInRoot,
    configPath,
    stateDir,
    systemctlCommand: `sh ${NODE_SYSTEMCTL}`,
    systemctlEnv: (extra = {}) => ({ ...daemonEnv, STANDIN_LOG: systemctlLog, ...extra }),
    systemctlCalls: () => safeRead(systemctlLog).split('\n').filter(Boolean),
    async start() {
      if (stopped) throw new Error('nodeContainerd: start() after stop(): make a new one');
      registerForExit(killAtExit);
      mustSystemctl('start', 'containerd');
    },
    async restart() {
      registerForExit(killAtExit);
      mustSystemctl('restart', 'containerd');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (pid() !== undefined) await removeAllTasks(address);
        mustSystemctl('stop', 'containerd');
        await killProcessesOfAndWait(stateDir);
        cleanupRuncState(root.path);
      } finally {
        liveNodes.delete(killAtExit);
      }
      removeTreeSafely(stateDir);
    },
    isActive: () => pid() !== undefined,
    pid,
    log,
    get snapshotter() {
      return criSnapshotter(configPath, { chrootDir: root.path });
    },
    plugins() {
      const r = ctr('plugins', 'ls');
      if (!r.ok) throw new Error(`ctr plugins ls failed: ${r.stderr}\n--- containerd log ---\n${log()}`);
      return parsePluginRows(r.stdout);
    },
    pluginStatus: (id: string) => pluginStatusIn(node.plugins(), id),
    ctr,
  };
  return node;
}

/** No longer run `kill` at exit (its node was stopped). */
export function unregisterForExit(kill: () => void): void {
  liveNodes.delete(kill);
}

/** Runs `kill` when the test process exits (a node left running by a failed test). */
export function registerForExit(kill: () => void): void {
  liveNodes.add(kill);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const k of [...liveNodes]) k();
  });
}

/** A file's text, or '' when it cannot be read. */
export function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function numericEntries(dir: string): number[] {
  try {
    return fs.readdirSync(dir).filter(e => /^\d+$/.test(e)).map(Number);
  } catch {
    return [];
  }
}

/** Parent PID of every live process. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const pid of numericEntries('/proc')) {
    const stat = safeRead(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] && fields[0] !== 'Z') parents.set(pid, Number(fields[1]));
  }
  return parents;
}

/**
 * Live processes of the node whose namespaces `stateDir` holds (`node.stateDir`): those in its
 * mount namespace (the daemon and its shims) and all their descendants (containers, a gVisor
 * sandbox and its gofer, each in a mount namespace of its own).
 */
export function processesOf(stateDir: string): number[] {
  let nodeNamespace: string;
  try {
    nodeNamespace = `mnt:[${fs.statSync(path.join(stateDir, 'mnt')).ino}]`;
  } catch {
    return [];
  }
  const parents = parentsByPid();
  const found = new Set<number>();
  for (const pid of parents.keys()) {
    if (safeReadlink(`/proc/${pid}/ns/mnt`) === nodeNamespace) found.add(pid);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

function safeReadlink(link: string): string | undefined {
  try {
    return fs.readlinkSync(link);
  } catch {
    return undefined;
  }
}

function killProcessesOf(stateDir: string): void {
  for (const pid of processesOf(stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Kill every process of the node whose namespaces `stateDir` holds, until none is left (5 s at most). */
export async function killProcessesOfAndWait(stateDir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (processesOf(stateDir).length === 0) return;
    killProcessesOf(stateDir);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  const left = processesOf(stateDir);
  if (left.length > 0) throw new Error(`processes of the node in ${stateDir} survived SIGKILL: ${left.join(', ')}`);
}

/** runc's state root under containerd's runc shim, fixed whatever `--state` is. */
const RUNC_STATE_ROOT = '/run/containerd/runc';

/** Delete runc state left after a crash (it also removes the containers' cgroups). */
function cleanupRuncState(rootPath: string): void {
  const runcRoot = RUNC_STATE_ROOT;
  const hostRuncRoot = path.join(rootPath, runcRoot);
  let namespaces: string[] = [];
  try {
    namespaces = fs.readdirSync(hostRuncRoot);
  } catch {
    return;
  }
  for (const ns of namespaces) {
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(path.join(hostRuncRoot, ns));
    } catch {
      continue;
    }
    for (const id of ids) {
      spawnSync('chroot', [rootPath, 'runc', '--root', path.posix.join(runcRoot, ns), 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
  }
}

/** Copy `source` into the root at `destination` (mode 0755): e.g. a shim into `/usr/local/bin`. */
export function installIntoRoot(root: HostRoot, source: string, destination: string): string {
  const target = root.resolve(destination);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  execFileSync('cp', ['--', source, target]);
  fs.chmodSync(target, 0o755);
  return target;
}
