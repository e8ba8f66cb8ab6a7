/**
 * Run the machine's real containerd (Debian's 1.6.x) in tests.
 *
 * - `configDump()` runs `containerd --config FILE config dump`, optionally inside a `chroot`
 *   (see `host-root.ts`): the merged configuration containerd would use, or its parse error.
 * - `startContainerd()` starts a private daemon as a child process on temp `--root`, `--state`
 *   and `--address`, in its own network namespace (so parallel daemons never fight over the CRI
 *   streaming port, which real-world configs pin to 10010), and waits until it answers.
 *   `daemon.pluginStatus('cri')` tells whether the CRI plugin accepted the configuration.
 * - `testCriConfig()` renders a complete version-2 config that can run sandboxes on this
 *   machine (runc default runtime, `restrict_oom_score_adj = true`, local pause image).
 * - `describeIfContainerd()` gates a test suite: on CI it always runs (and fails if containerd
 *   is missing); elsewhere it is skipped, with a message, when not root or containerd is missing.
 *
 * A daemon's `stop()` kills every task it started (and their shims), stops the daemon, unmounts
 * what it left mounted under its temp dir and deletes that dir. Daemons a test forgot are
 * killed at process exit.
 */
import { ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { inCi } from './ci';
import { removeTreeSafely, unmountAllUnder } from './mounts';
import { PAUSE_IMAGE } from './pause-image';

const execFileAsync = promisify(execFile);

/** The CRI plugin's id in containerd 1.x (config versions 1 and 2). */
export const CRI_PLUGIN_V1 = 'io.containerd.grpc.v1.cri';

/** The CRI image plugin of containerd 2.x (config version 3): its `snapshotter` is the CRI's. */
export const CRI_IMAGES_PLUGIN_V2 = 'io.containerd.cri.v1.images';

/** A node's `PATH` (a node image's, `/usr/local` first): commands run with `chroot <root>` get it. */
export const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// ---------------------------------------------------------------------------
// Availability and test gating

/** Why containerd tests cannot run here, or `undefined` if they can. */
export function containerdUnavailableReason(): string | undefined {
  const missing = ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2'].filter(b => !onPath(b));
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} (apt-get install -y containerd runc)`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'not running as root (containerd, mount and chroot need root)';
  }
  return undefined;
}

/**
 * `describe` for suites that need a real containerd (and root).
 *
 * With `CI` set the suite always runs, so a CI machine without containerd fails loudly
 * (call `assertContainerdAvailable()` in `beforeAll` to fail with the reason).
 * Without `CI` the suite is skipped with a console message when containerd or root is missing.
 */
export function describeIfContainerd(name: string, fn: () => void): void {
  const reason = containerdUnavailableReason();
  if (reason && !inCi()) {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": ${reason}. Set CI=1 to make this a failure.`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}


/** Throw with the reason if containerd tests cannot run here. */
export function assertContainerdAvailable(): void {
  const reason = containerdUnavailableReason();
  if (reason) throw new Error(`containerd integration tests cannot run: ${reason}`);
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some(dir => {
    try {
      fs.accessSync(path.join(dir, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// ---------------------------------------------------------------------------
// config dump

/** Result of running a command: `ok` is exit status 0. */
export interface CommandResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of `configDump`. */
export interface ConfigDumpOptions {
  /** Run `chroot <chrootDir> containerd ...`: `configPath` is then a path inside that root. */
  readonly chrootDir?: string;
  /** Timeout in ms. Default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Run `containerd --config <configPath> config dump`. `stdout` is the merged effective config
 * (imports applied); on a bad file `ok` is false and `stderr` holds containerd's error. In a
 * `chrootDir` the root's own containerd runs (found on `NODE_PATH`: one installed in the root's
 * `/usr/local/bin` wins over the machine's).
 */
export function configDump(configPath: string, opts: ConfigDumpOptions = {}): CommandResult {
  const args = ['--config', configPath, 'config', 'dump'];
  const [cmd, argv] = opts.chrootDir ? ['chroot', [opts.chrootDir, 'containerd', ...args]] : ['containerd', args];
  const env = opts.chrootDir ? { ...process.env, PATH: NODE_PATH } : process.env;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, timeout: opts.timeoutMs ?? 30_000 });
  return {
    ok: r.status === 0,
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
  };
}

/**
 * The merged config of `configPath` (imports applied, as `config dump` prints it) ready to start
 * a daemon on: the dump's top-level `imports` list (absolute paths, which would resolve against
 * the real `/` when run outside the chroot) is dropped. Throws with containerd's error if the
 * file does not load.
 *
 *   startContainerd({ config: mergedConfig('/etc/containerd/config.toml', { chrootDir: root.path }) })
 */
export function mergedConfig(configPath: string, opts: ConfigDumpOptions = {}): string {
  const dump = configDump(configPath, opts);
  if (!dump.ok) {
    throw new Error(`containerd config dump of ${configPath}${opts.chrootDir ? ` in ${opts.chrootDir}` : ''} failed: ${dump.stderr.trim()}`);
  }
  const lines = dump.stdout.split('\n');
  const firstTable = lines.findIndex(l => /^\s*\[/.test(l));
  return lines.filter((l, i) => !((firstTable < 0 || i < firstTable) && /^\s*imports\s*=/.test(l))).join('\n');
}

// ---------------------------------------------------------------------------
// A test config

/** Options of `testCriConfig`. */
export interface TestCriConfigOptions {
  /** `sandbox_image`. Default `PAUSE_IMAGE` (import it with `importImage`). */
  readonly sandboxImage?: string;
  /** `default_runtime_name`. Default `runc`. */
  readonly defaultRuntimeName?: string;
  /** CRI snapshotter. Default `defaultSnapshotter()` (overlayfs where it works, else native). */
  readonly snapshotter?: string;
  /** Whether to define the `runc` runtime table. Default true. */
  readonly includeRunc?: boolean;
}

/**
 * A complete version-2 containerd config for this machine: CRI plugin with runc
 * (`io.containerd.runc.v2`, cgroupfs) as default runtime, `restrict_oom_score_adj = true`
 * (this machine denies negative `oom_score_adj`), the local pause image as `sandbox_image`,
 * a random streaming port, and the pod network: CNI plugins from Debian's
 * `containernetworking-plugins` (`/usr/lib/cni`) with the config in `/etc/cni/net.d`, which every
 * host root holds (`TEST_CNI_CONFLIST`). Without that config the plugin still loads `ok` (it logs
 * `failed to load cni during init`) but reports NetworkReady false; host-network pods never touch CNI.
 *
 * `extraRuntimeTables` is TOML appended verbatim: full table headers, e.g.
 * `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.foo]`.
 */
export function testCriConfig(extraRuntimeTables = '', opts: TestCriConfigOptions = {}): string {
  const cri = `plugins."${CRI_PLUGIN_V1}"`;
  const lines = [
    'version = 2',
    '',
    `[${cri}]`,
    `  sandbox_image = ${JSON.stringify(opts.sandboxImage ?? PAUSE_IMAGE)}`,
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '',
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    '  conf_dir = "/etc/cni/net.d"',
    '',
    `[${cri}.containerd]`,
    `  snapshotter = ${JSON.stringify(opts.snapshotter ?? defaultSnapshotter())}`,
    `  default_runtime_name = ${JSON.stringify(opts.defaultRuntimeName ?? 'runc')}`,
    '',
  ];
  if (opts.includeRunc ?? true) {
    lines.push(
      `[${cri}.containerd.runtimes.runc]`,
      '  runtime_type = "io.containerd.runc.v2"',
      '',
      `[${cri}.containerd.runtimes.runc.options]`,
      '  SystemdCgroup = false',
      '',
    );
  }
  return `${lines.join('\n')}${extraRuntimeTables ? `\n${extraRuntimeTables.trim()}\n` : ''}`;
}

/**
 * Write an executable `sh` wrapper around runc that appends one line (its arguments) to
 * `markerFile` and then `exec runc "$@"`. Set it as a runtime's `options.BinaryName` to prove
 * that a handler was really used. Returns the wrapper's path.
 */
export function writeRuncWrapper(dir: string, markerFile: string, name = 'runc-wrapper'): string {
  const runc = whichSync('runc') ?? 'runc';
  fs.mkdirSync(dir, { recursive: true });
  const wrapper = path.join(dir, name);
  fs.writeFileSync(wrapper, [
    '#!/bin/sh',
    `echo "$*" >> '${markerFile.replace(/'/g, '\'\\\'\'')}'`,
    `exec '${runc}' "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  return wrapper;
}

function whichSync(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

let snapshotterCache: string | undefined;

/**
 * `overlayfs` if an overlay mount works in the temp dir's filesystem, else `native`.
 * Checked once per process with a real mount.
 */
export function defaultSnapshotter(): string {
  if (snapshotterCache) return snapshotterCache;
  let result = 'native';
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-probe-'));
    for (const d of ['lower', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'lower', 'f'), 'x');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o',
      `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`], { stdio: 'pipe' });
    try {
      if (fs.readFileSync(path.join(dir, 'merged', 'f'), 'utf8') === 'x') result = 'overlayfs';
    } finally {
      execFileSync('umount', [`${dir}/merged`], { stdio: 'pipe' });
    }
  } catch {
    result = 'native';
  } finally {
    if (dir) {
      try {
        removeTreeSafely(dir);
      } catch {
        // leave it
      }
    }
  }
  snapshotterCache = result;
  return result;
}

// ---------------------------------------------------------------------------
// A private daemon

/** A row of `ctr plugins ls`. */
export interface PluginRow {
  readonly type: string;
  readonly id: string;
  readonly platforms: string;
  readonly status: string;
}

/** Status of a plugin in `ctr plugins ls`. */
export type PluginStatus = 'ok' | 'error' | 'skip';

/** A running test daemon. */
export interface ContainerdDaemon {
  /** The gRPC (and CRI) unix socket: pass to `ctr --address` or `CriClient`. */
  readonly address: string;
  /** Temp dir holding config, root, state and socket (deleted by `stop()`). */
  readonly dir: string;
  /** The config file the daemon was started with. */
  readonly configPath: string;
  /** `--root` and `--state`. */
  readonly root: string;
  readonly state: string;
  /** PID of the containerd process. */
  readonly pid: number;
  /** The CRI plugin's snapshotter per `config dump` (`overlayfs` if unreadable): `importImage` unpacks into it. */
  readonly snapshotter: string;
  /** The daemon's log (stderr and stdout) so far. */
  log(): string;
  /** Whether the process is still running. */
  running(): boolean;
  /** Rows of `ctr plugins ls`. */
  plugins(): PluginRow[];
  /**
   * Status of one plugin, by its ID column (`cri`) or by `TYPE.ID` (`io.containerd.grpc.v1.cri`);
   * `undefined` if not listed. Throws if a bare ID names several plugins (e.g. `content`).
   */
  pluginStatus(id: string): PluginStatus | undefined;
  /** Run `ctr --address <address> ...args` synchronously. */
  ctr(...args: string[]): CommandResult;
  /** Kill its tasks and shims, stop the daemon (SIGTERM, then SIGKILL), unmount and delete its dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of `startContainerd`. */
export interface StartContainerdOptions {
  /** TOML text of the config (written to `<dir>/config.toml`). Give this or `configPath`. */
  readonly config?: string;
  /** An existing config file, used as is (its `imports` resolve against the real `/`). */
  readonly configPath?: string;
  /** How long to wait for the socket to answer. Default 30 s. */
  readonly timeoutMs?: number;
  /** Run the daemon in a new network namespace (`unshare --net`). Default true. */
  readonly isolateNetwork?: boolean;
  /** `--log-level`. Default: containerd's (`info`). */
  readonly logLevel?: string;
}

const liveDaemons = new Set<{ kill: () => void }>();
let daemonExitHook = false;

/**
 * Start a private containerd on `opts.config` and wait until `ctr version` answers on its
 * socket. Only `--config`, `--root`, `--state` and `--address` are set on the command line;
 * the config text is not rewritten. Rejects with the daemon log if it exits or times out.
 */
export async function startContainerd(opts: StartContainerdOptions): Promise<ContainerdDaemon> {
  if ((opts.config === undefined) === (opts.configPath === undefined)) {
    throw new Error('startContainerd: give exactly one of config or configPath');
  }
  // unix socket paths are limited to 107 bytes: keep the dir short.
  const base = os.tmpdir().length <= 40 ? os.tmpdir() : '/tmp';
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(base, 'ctrd-')));
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'state');
  const address = path.join(dir, 'containerd.sock');
  fs.mkdirSync(root);
  fs.mkdirSync(state);
  let configPath = opts.configPath ?? path.join(dir, 'config.toml');
  if (opts.config !== undefined) fs.writeFileSync(configPath, opts.config);
  configPath = path.resolve(configPath);

  const args = ['--config', configPath, '--root', root, '--state', state, '--address', address];
  if (opts.logLevel) args.push('--log-level', opts.logLevel);
  const isolate = opts.isolateNetwork ?? true;
  // `unshare` execs containerd in place: the child's PID is containerd's.
  const child: ChildProcess = isolate
    ? spawn('unshare', ['--net', '--', 'containerd', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('containerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });

  let logText = '';
  child.stdout?.on('data', (d: Buffer) => { logText += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { logText += d.toString(); });
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>(resolve => {
    child.on('exit', () => { exited = true; resolve(); });
    child.on('error', (e) => { spawnError = e; exited = true; resolve(); });
  });

  const killer = { kill: () => killSync(child.pid, address) };
  liveDaemons.add(killer);
  if (!daemonExitHook) {
    daemonExitHook = true;
    process.on('exit', () => {
      for (const d of liveDaemons) {
        try {
          d.kill();
        } catch {
          // best effort
        }
      }
    });
  }

  const ctrSync = (...a: string[]): CommandResult => {
    const r = spawnSync('ctr', ['--address', address, ...a], { encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };

  const plugins = (): PluginRow[] => {
    const r = ctrSync('plugins', 'ls');
    if (!r.ok) throw new Error(`ctr plugins ls failed: ${r.stderr}\n--- containerd log ---\n${logText}`);
    return parsePluginRows(r.stdout);
  };

  let stopping: Promise<void> | undefined;
  const daemon: ContainerdDaemon = {
    address,
    dir,
    configPath,
    root,
    state,
    pid: child.pid ?? -1,
    snapshotter: criSnapshotter(configPath),
    log: () => logText,
    running: () => !exited,
    plugins,
    pluginStatus: (id: string) => pluginStatusIn(plugins(), id),
    ctr: ctrSync,
    stop() {
      stopping ??= (async () => {
        try {
          if (!exited) await removeAllTasks(address);
          if (!exited) {
            child.kill('SIGTERM');
            await waitAtMost(exitPromise, 10_000);
          }
          if (!exited) {
            child.kill('SIGKILL');
            await waitAtMost(exitPromise, 5_000);
          }
          await killShims(address);
          cleanupRuncState(dir);
        } finally {
          liveDaemons.delete(killer);
          removeTreeSafely(dir);
        }
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await daemon.stop().catch(() => undefined);
      throw new Error(`containerd --address ${address} exited during startup${spawnError ? ` (${spawnError.message})` : ''}\n--- containerd log ---\n${logText}`);
    }
    if (fs.existsSync(address)) {
      try {
        await execFileAsync('ctr', ['--address', address, 'version'], { timeout: 5_000 });
        return daemon;
      } catch {
        // not ready yet
      }
    }
    if (Date.now() > deadline) {
      await daemon.stop().catch(() => undefined);
      throw new Error(`containerd did not answer on ${address} within ${opts.timeoutMs ?? 30_000} ms\n--- containerd log ---\n${logText}`);
    }
    await sleep(100);
  }
}

/** The rows of `ctr plugins ls` output. */
export function parsePluginRows(ctrOutput: string): PluginRow[] {
  return ctrOutput.split('\n').slice(1).map(l => l.trim().split(/\s+/)).filter(c => c.length >= 4)
    .map(([type, id, platforms, status]) => ({ type, id, platforms, status }));
}

/**
 * Status of one plugin among `rows`, by its ID column (`cri`) or by `TYPE.ID`; `undefined` if
 * not listed. Throws if a bare ID names several plugins (e.g. `content`).
 */
export function pluginStatusIn(rows: PluginRow[], id: string): PluginStatus | undefined {
  const matching = rows.filter(p => p.id === id || `${p.type}.${p.id}` === id);
  if (matching.length > 1) {
    throw new Error(`plugin id ${id} is ambiguous (${matching.map(r => r.type).join(', ')}): use TYPE.ID`);
  }
  const s = matching[0]?.status;
  return s === 'ok' || s === 'error' || s === 'skip' ? s : undefined;
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The CRI plugin's snapshotter according to `containerd config dump` of `configPath`
 * (defaults and imports applied; inside `opts.chrootDir` if given); `overlayfs` if it cannot be read.
 * containerd 1.x dumps it under `plugins."io.containerd.grpc.v1.cri".containerd`, 2.x under
 * `plugins.'io.containerd.cri.v1.images'`.
 */
export function criSnapshotter(configPath: string, opts: ConfigDumpOptions = {}): string {
  const dump = configDump(configPath, opts);
  if (!dump.ok) return 'overlayfs';
  const tables = [`plugins.${CRI_PLUGIN_V1}.containerd`, `plugins.${CRI_IMAGES_PLUGIN_V2}`];
  let inSection = false;
  for (const line of dump.stdout.split('\n')) {
    const header = /^\s*\[(.*)\]\s*$/.exec(line);
    if (header) {
      inSection = tables.includes(header[1].replace(/["']/g, ''));
      continue;
    }
    const m = inSection ? /^\s*snapshotter\s*=\s*["']([^"']*)["']/.exec(line) : null;
    if (m && m[1]) return m[1];
  }
  return 'overlayfs';
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Wait for `promise`, at most `ms` (without leaving a timer behind). */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise(resolve => { timer = setTimeout(resolve, ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kill and delete every task, and delete every container, in every namespace (best effort). */
export async function removeAllTasks(address: string): Promise<void> {
  const ctr = async (...a: string[]): Promise<string> => {
    try {
      return (await execFileAsync('ctr', ['--address', address, ...a], { timeout: 20_000 })).stdout;
    } catch {
      return '';
    }
  };
  const lines = (s: string) => s.split('\n').map(l => l.trim()).filter(Boolean);
  for (const ns of lines(await ctr('namespaces', 'ls', '-q'))) {
    for (const id of lines(await ctr('-n', ns, 'tasks', 'ls', '-q'))) {
      await ctr('-n', ns, 'tasks', 'delete', '--force', id);
    }
    const containers = lines(await ctr('-n', ns, 'containers', 'ls', '-q'));
    if (containers.length > 0) await ctr('-n', ns, 'containers', 'rm', ...containers);
  }
}

/** PIDs of shims started by the daemon on `address` (their command line names the socket). */
function shimPids(address: string): number[] {
  const pids: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = safeRead(`/proc/${entry}/cmdline`).split('\0');
    if (!/containerd-shim/.test(argv[0] ?? '')) continue;
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === address) pids.push(Number(entry));
  }
  return pids;
}

function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = safeRead(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) out.push(Number(entry));
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** SIGKILL leftover shims of this daemon and the container processes they parent. */
async function killShims(address: string): Promise<void> {
  const shims = shimPids(address);
  if (shims.length === 0) return;
  for (const shim of shims) {
    for (const c of childPids(shim)) signal(c, 'SIGKILL');
    signal(shim, 'SIGKILL');
  }
  for (let i = 0; i < 50 && shimPids(address).length > 0; i++) await sleep(100);
}

/** runc's default state root under containerd's shim (`/run/containerd/runc/<namespace>`). */
const RUNC_STATE_ROOT = '/run/containerd/runc';

/**
 * Delete runc state left by containers of the daemon living in `dir` (only after a crash or
 * SIGKILL: a clean stop deletes its tasks). runc's state root is shared by all daemons on the
 * machine, so only containers whose rootfs lies under `dir` are touched.
 */
function cleanupRuncState(dir: string): void {
  for (const ns of safeReaddir(RUNC_STATE_ROOT)) {
    const nsRoot = path.join(RUNC_STATE_ROOT, ns);
    for (const id of safeReaddir(nsRoot)) {
      if (!safeRead(path.join(nsRoot, id, 'state.json')).includes(`"${dir}/`)) continue;
      spawnSync('runc', ['--root', nsRoot, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
      fs.rmSync(path.join(nsRoot, id), { recursive: true, force: true });
    }
  }
}

/**
 * Stops a containerd that a test started some other way (the systemctl stand-in): kills its
 * tasks and shims, the daemon, then unmounts and deletes `dir` (its root and state).
 */
export async function stopDaemonAt(pid: number | undefined, address: string | undefined, dir: string): Promise<void> {
  if (pid !== undefined && fs.existsSync(`/proc/${pid}`)) {
    if (address !== undefined && fs.existsSync(address)) await removeAllTasks(address);
    signal(pid, 'SIGTERM');
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`) && !safeRead(`/proc/${pid}/stat`).includes(') Z '); i++) await sleep(50);
    signal(pid, 'SIGKILL');
  }
  if (address !== undefined) await killShims(address);
  cleanupRuncState(dir);
  unmountAllUnder(dir);
  removeTreeSafely(dir);
}

/** Synchronous last resort at process exit: kill the daemon and its shims, unmount, delete. */
function killSync(pid: number | undefined, address: string): void {
  if (pid) signal(pid, 'SIGKILL');
  for (const shim of shimPids(address)) {
    for (const c of childPids(shim)) signal(c, 'SIGKILL');
    signal(shim, 'SIGKILL');
  }
  const dir = path.dirname(address);
  try {
    cleanupRuncState(dir);
    unmountAllUnder(dir);
    removeTreeSafely(dir);
  } catch {
    // leave it
  }
}
