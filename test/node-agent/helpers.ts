/**
 * Runs the node agent the way the DaemonSet does (`node <ConfigMap dir>/agent.js`, the files
 * being what the NodeSetup's ConfigMap holds), against a fake host root (`createHostRoot()`:
 * the real containerd runs under `chroot`), with a recording stand-in for KUBECTL and
 * HOST_SYSTEMCTL (`stand-in.sh`: its `systemctl restart` really restarts a containerd on the
 * node's configuration, so the agent's CRI check talks to a real daemon) and `ONESHOT=1`, so
 * that the agent exits once installed instead of waiting for SIGTERM.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HandlerConfig } from '../../src/containerd/handler-config';
import { assembleCrioFragment, assembleFragment, FragmentName, InstallerSpec } from '../../src/node-agent/setup-spec';
import { renderNodeAgentFiles } from '../../src/node-setup/node-agent-files';
import { stopDaemonAt } from '../support/containerd';
import { createHostRoot, HostRoot } from '../support/host-root';
import { nodeContainerd, NodeContainerd } from '../support/node-containerd';
import { nodeCrio, NodeCrio } from '../support/node-crio';
import { BUSYBOX_PATH, buildPauseImageTar, PAUSE_IMAGE } from '../support/pause-image';

export const STAND_IN = path.join(__dirname, 'stand-in.sh');
export const FAKE_CONTAINERD2 = path.join(__dirname, 'fake-containerd2.sh');
export const FAKE_HANDLERS = path.join(__dirname, 'fake-handlers.py');
export const CORPUS = path.join(__dirname, 'corpus');

/** A runc-based handler with its own name: takes the node's SystemdCgroup. */
export const RUNC_TEST: HandlerConfig = {
  handler: 'runc-test',
  runtimeType: 'io.containerd.runc.v2',
  options: { BinaryName: '/usr/local/bin/runc-test' },
  systemdCgroupFromNode: true,
};

/** A Kata-like VM handler (the shim need not exist for the CRI plugin to load). */
export const KATA_QEMU: HandlerConfig = {
  handler: 'kata-qemu',
  runtimeType: 'io.containerd.kata-qemu.v2',
  privilegedWithoutHostDevices: true,
  podAnnotations: ['io.katacontainers.*'],
  crio: { runtimePath: '/opt/kata/bin/containerd-shim-kata-v2', runtimeType: 'vm', privilegedWithoutHostDevices: true },
};

export const NODE_NAME = 'node-1';
export const POD_NAMESPACE = 'runtimeclass-system';

let pauseTar: string | undefined;

/**
 * The stand-in's pause image (its containerd imports it on first start), built once per test
 * process. Without busybox (no containerd tests here) the stand-in's node has none.
 */
function standInPauseImage(): { [key: string]: string } {
  if (!fs.existsSync(BUSYBOX_PATH)) return {};
  if (pauseTar === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stand-in-pause-'));
    pauseTar = buildPauseImageTar(dir);
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return { STANDIN_PAUSE_TAR: pauseTar, STANDIN_PAUSE_IMAGE: PAUSE_IMAGE };
}

/**
 * An installer spec for tests: the two handlers above (kata-qemu runs virtual machines, so a
 * node without /dev/kvm, as these machines are, installs it but does not offer it), ready
 * labels, plain containerd.
 */
export function testSpec(overrides: Partial<InstallerSpec> = {}): InstallerSpec {
  const handlers = overrides.handlers ?? [RUNC_TEST, KATA_QEMU];
  const readyLabels: { [h: string]: string } = {};
  for (const h of handlers) readyLabels[h.handler] = `runtimeclass.cdk8s.io/${h.handler}`;
  return {
    setupName: 'test-setup',
    handlers,
    readyLabels,
    distribution: 'auto',
    kvmHandlers: handlers.some((h) => h.handler === KATA_QEMU.handler) ? [KATA_QEMU.handler] : [],
    artifacts: [],
    hostFiles: {},
    daemonSetName: 'test-setup-node-setup',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    ...overrides,
  };
}

/**
 * The fragments the agent assembles from a ConfigMap's per-handler tables for all of the spec's
 * handlers, under the keys of whole fragments (`containerd-v2.toml`, `containerd-v2.systemd.toml`,
 * `crio.conf`): what a test reads or breaks on purpose.
 */
export function fullFragments(files: { [key: string]: string }, spec: InstallerSpec): { [key: string]: string } {
  const names = spec.handlers.map((h) => h.handler);
  const read = (key: string) => files[key];
  const result: { [key: string]: string } = {};
  if (names.length === 0) return result;
  const fragments: FragmentName[] = ['containerd-v1', 'containerd-v2', 'containerd-v3', 'containerd-v3-tables'];
  for (const name of fragments) {
    result[`${name}.toml`] = assembleFragment(name, names, false, read);
    if (spec.handlers.some((h) => h.systemdCgroupFromNode)) result[`${name}.systemd.toml`] = assembleFragment(name, names, true, read);
  }
  const crio = assembleCrioFragment(names, read);
  if (crio !== '') result['crio.conf'] = crio;
  return result;
}

/** Options of one installer run. */
export interface RunOptions {
  /** `install` (default) or `uninstall`. */
  readonly action?: 'install' | 'uninstall';
  /** Extra or overriding environment (`undefined` removes a variable). */
  readonly env?: { [key: string]: string | undefined };
  /** Timeout in ms. Default 60 s. */
  readonly timeoutMs?: number;
  /** Another ConfigMap dir (a second node setup on the same node). Default: the node's own. */
  readonly cmDir?: string;
}

/** Result of one installer run. */
export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a TestNode. */
export interface TestNodeOptions {
  /**
   * Give the node its own containerd inside the root (`nodeContainerd`, with node mounts): the
   * agent's HOST_SYSTEMCTL is `node-systemctl.sh`, which restarts that daemon (its calls are
   * recorded in `calls.log` too). Start it with `node.containerd!.start()`; `cleanup()` stops it.
   * Default: stand-in.sh's containerd outside the root.
   */
  readonly ownContainerd?: boolean;
  /**
   * Give the node its own CRI-O inside the root (`nodeCrio`, with node mounts): the agent's
   * HOST_SYSTEMCTL is `node-systemctl.sh` with `NODE_RUNTIME=crio`. Start it with
   * `node.crio!.start()`; `cleanup()` stops it.
   */
  readonly ownCrio?: boolean;
}

/** A fake node: host root, ConfigMap dir, pod-local state dir and the stand-in's log. */
export class TestNode {
  readonly root: HostRoot;
  /** Temp dir outside the root: `cm/` (the ConfigMap), `state/` (STATE_DIR), `calls.log`, `artifacts/`, `standin/`. */
  readonly dir: string;
  readonly cmDir: string;
  readonly stateDir: string;
  readonly artifactsDir: string;
  readonly logPath: string;
  /** The stand-in's state: the container runtime it runs (pid, log, root). */
  readonly standInDir: string;
  /** The node's own containerd, with `ownContainerd`. */
  readonly containerd?: NodeContainerd;
  /** The node's own CRI-O, with `ownCrio`. */
  readonly crio?: NodeCrio;

  constructor(spec: InstallerSpec = testSpec(), files: { [key: string]: string | undefined } = {}, options: TestNodeOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'installer-test-'));
    this.cmDir = path.join(this.dir, 'cm');
    this.stateDir = path.join(this.dir, 'state');
    this.artifactsDir = path.join(this.dir, 'artifacts');
    this.logPath = path.join(this.dir, 'calls.log');
    this.standInDir = path.join(this.dir, 'standin');
    fs.mkdirSync(this.artifactsDir);
    fs.mkdirSync(this.standInDir);
    this.writeConfigMap(spec, files);
    this.root = createHostRoot({ nodeMounts: options.ownContainerd || options.ownCrio });
    if (options.ownContainerd) this.containerd = nodeContainerd(this.root);
    if (options.ownCrio) this.crio = nodeCrio(this.root);
  }

  /**
   * (Re)write a ConfigMap dir (default: the node's own) from `spec`, with `files` overriding keys
   * (`undefined` deletes one). Returns the dir.
   */
  writeConfigMap(spec: InstallerSpec, files: { [key: string]: string | undefined } = {}, dir = this.cmDir): string {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const data: { [key: string]: string | undefined } = { ...renderNodeAgentFiles(spec), ...files };
    for (const [key, content] of Object.entries(data)) {
      if (content !== undefined) fs.writeFileSync(path.join(dir, key), content, { mode: 0o444 });
    }
    return dir;
  }

  /** The environment of a run: the contract's variables pointing at this node. */
  env(opts: RunOptions = {}): { [key: string]: string } {
    const env: { [key: string]: string | undefined } = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOST_ROOT: this.root.path,
      ACTION: opts.action ?? 'install',
      HOST_SYSTEMCTL: `/bin/sh ${STAND_IN} systemctl`,
      HOST_CONTAINERD: `chroot ${this.root.path} containerd`,
      KUBECTL: `/bin/sh ${STAND_IN} kubectl`,
      NODE_NAME,
      POD_NAMESPACE,
      STATE_DIR: this.stateDir,
      ARTIFACTS_DIR: this.artifactsDir,
      ONESHOT: '1',
      VERIFY_TIMEOUT: '10',
      STANDIN_LOG: this.logPath,
      STANDIN_DIR: this.standInDir,
      STANDIN_ROOT: this.root.path,
      ...standInPauseImage(),
      ...this.ownSystemctl(),
      ...opts.env,
    };
    const out: { [key: string]: string } = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
    return out;
  }

  /** HOST_SYSTEMCTL and its env for the node's own containerd or CRI-O, if it has one. */
  private ownSystemctl(): { [key: string]: string } {
    const own = this.containerd ?? this.crio;
    if (!own) return {};
    return { HOST_SYSTEMCTL: own.systemctlCommand, ...own.systemctlEnv({ STANDIN_LOG: this.logPath }) };
  }

  private argv(opts: RunOptions): [string, string[]] {
    return [process.execPath, [path.join(opts.cmDir ?? this.cmDir, 'agent.js')]];
  }

  /** Run the installer to completion. */
  run(opts: RunOptions = {}): RunResult {
    const [cmd, args] = this.argv(opts);
    const r = spawnSync(cmd, args, { env: this.env(opts), encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
    return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  install(opts: Omit<RunOptions, 'action'> = {}): RunResult {
    return this.run({ ...opts, action: 'install' });
  }

  uninstall(opts: Omit<RunOptions, 'action'> = {}): RunResult {
    return this.run({ ...opts, action: 'uninstall' });
  }

  /** Start the installer without waiting (for concurrency and SIGTERM tests). */
  spawn(opts: RunOptions = {}): { child: ChildProcess; done: Promise<RunResult> } {
    const [cmd, args] = this.argv(opts);
    const child = spawn(cmd, args, { env: this.env(opts), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const done = new Promise<RunResult>((resolve) => {
      let settled = false;
      const finish = (status: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(killer);
        resolve({ status, signal, stdout, stderr });
      };
      // A test must never hang on a stuck installer: kill it (the result then shows SIGKILL).
      const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('close', finish);
      // An orphaned grandchild could keep the pipes open: do not wait for them for long.
      child.on('exit', (status, signal) => setTimeout(() => finish(status, signal), 1_000));
    });
    return { child, done };
  }

  /** Lines the stand-in recorded (`kubectl label node ...`, `systemctl restart containerd`...). */
  calls(): string[] {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8').split('\n').filter(Boolean) : [];
  }

  clearCalls(): void {
    fs.rmSync(this.logPath, { force: true });
  }

  /** Recorded `systemctl restart` calls. */
  restarts(): string[] {
    return this.calls().filter((c) => c.startsWith('systemctl restart '));
  }

  /** Recorded `kubectl label` calls. */
  labelCalls(): string[] {
    return this.calls().filter((c) => c.startsWith('kubectl label '));
  }

  /** `$STATE_DIR/ready` and `$STATE_DIR/not-ready`. */
  readiness(): { ready: boolean; reason?: string } {
    const ready = fs.existsSync(path.join(this.stateDir, 'ready'));
    const nr = path.join(this.stateDir, 'not-ready');
    return { ready, reason: fs.existsSync(nr) ? fs.readFileSync(nr, 'utf8').trim() : undefined };
  }

  /** The first line of `$STATE_DIR/ready` (what the readiness probe prints), or undefined without one. */
  readyText(): string | undefined {
    const file = path.join(this.stateDir, 'ready');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n')[0] : undefined;
  }

  /** Bytes of a host file, or undefined if absent. */
  bytes(hostPath: string): Buffer | undefined {
    const p = this.root.resolve(hostPath);
    return fs.existsSync(p) ? fs.readFileSync(p) : undefined;
  }

  /**
   * Every regular file under the root's writable dirs (etc, opt, var, run, usr/local excluded): path -> bytes.
   * With `ownContainerd`, the daemon's own data (`/var/lib/containerd`) is left out; so is the pod
   * network's (`/var/lib/cni`: addresses of check sandboxes).
   */
  snapshot(): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (rel: string) => {
      if ((this.containerd && rel === '/var/lib/containerd') || rel === '/var/lib/cni') return;
      const abs = this.root.resolve(rel);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
      } catch {
        return;
      }
      if (st.isDirectory()) {
        out.set(`${rel}/`, `dir ${st.mode.toString(8).slice(-4)}`);
        for (const e of fs.readdirSync(abs).sort()) walk(`${rel}/${e}`);
      } else if (st.isSymbolicLink()) {
        out.set(rel, `link ${fs.readlinkSync(abs)}`);
      } else if (st.isFile()) {
        out.set(rel, `${st.mode.toString(8).slice(-4)} ${fs.readFileSync(abs).toString('base64')}`);
      }
    };
    for (const d of ['/etc', '/opt', '/var/lib', '/var/snap', '/snap']) walk(d);
    // The lock file lives in /run; only its existence is expected to change.
    return out;
  }

  /** The PID of the container runtime the stand-in runs, if it runs. */
  runtimePid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.standInDir, 'runtime.pid'), 'utf8'));
      return fs.existsSync(`/proc/${pid}`) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the stand-in's runtime, unmounts and deletes the host root and the temp dir. */
  async cleanup(): Promise<void> {
    await this.containerd?.stop();
    await this.crio?.stop();
    const socket = path.join(this.standInDir, 'runtime.socket');
    await stopDaemonAt(this.runtimePid(), fs.existsSync(socket) ? fs.readFileSync(socket, 'utf8') : undefined, this.standInDir);
    this.root.cleanup();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let minimalBinDir: string | undefined;

/**
 * A directory holding only `node` and `chroot`: used as PATH, it proves the agent needs
 * nothing else from its image (flock(1) is then the host's, run through chroot).
 */
export function minimalPath(): string {
  if (minimalBinDir) return minimalBinDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bin-'));
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  const chroot = ['/usr/sbin/chroot', '/usr/bin/chroot', '/sbin/chroot'].find((p) => fs.existsSync(p));
  if (!chroot) throw new Error('chroot not found');
  fs.symlinkSync(chroot, path.join(dir, 'chroot'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  minimalBinDir = dir;
  return dir;
}

/** A corpus file's text. */
export function corpus(name: string): string {
  return fs.readFileSync(path.join(CORPUS, name), 'utf8');
}

/** Handler names that have a table header under `plugin`'s `containerd.runtimes` in TOML `text`. */
export function runtimeHeaders(text: string, plugin: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const l = line.replace(/[\s"']/g, '');
    const prefix = `[plugins.${plugin}.containerd.runtimes.`;
    if (l.startsWith(prefix)) {
      const rest = l.slice(prefix.length).replace(/\].*$/, '');
      if (rest && !rest.includes('.')) out.add(rest);
    }
  }
  return [...out].sort();
}

/**
 * The runtime handlers the stand-in's running containerd loaded at its last (re)start (from the
 * merged config it was started on), or undefined when no runtime runs.
 */
export function loadedHandlers(node: TestNode, plugin = 'io.containerd.grpc.v1.cri'): string[] | undefined {
  const merged = path.join(node.standInDir, 'merged.toml');
  if (node.runtimePid() === undefined || !fs.existsSync(merged)) return undefined;
  return runtimeHeaders(fs.readFileSync(merged, 'utf8'), plugin);
}

/**
 * The check sandboxes of `setup` that the stand-in's containerd still holds (their ids), or
 * undefined when it does not run. CRI keeps each sandbox as a containerd container that carries
 * the pod's labels.
 */
export function checkSandboxesLeft(node: TestNode, setup = 'test-setup'): string[] | undefined {
  if (node.runtimePid() === undefined) return undefined;
  const socket = node.root.resolve('/run/containerd/containerd.sock');
  const r = spawnSync('ctr', ['--address', socket, '-n', 'k8s.io', 'containers', 'ls', '-q', `labels."runtimeclass.cdk8s.io/check"==${setup}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ctr containers ls failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** The agent's state file of `setup` on the node, parsed, or undefined. */
export function agentState(node: TestNode, setup = 'test-setup'): any {
  const file = `/var/lib/cdk8s-runtimeclass/${setup}/state.json`;
  return node.root.exists(file) ? JSON.parse(node.root.read(file)) : undefined;
}

/** Our temporary files anywhere under the node's writable directories (none may survive a re-run). */
export function leftoverTemps(node: TestNode): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.name.includes('.cdk8s-tmp-') || e.name.endsWith('.new')) found.push(p.slice(node.root.path.length));
      if (e.isDirectory()) walk(p);
    }
  };
  for (const d of ['etc', 'opt', 'var/lib']) walk(node.root.resolve(d));
  return found;
}

/** Stops the stand-in's runtime (as if the node had just booted it down), keeping everything else. */
export function stopRuntime(node: TestNode): void {
  const pid = node.runtimePid();
  if (pid !== undefined) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); i++) {
      spawnSync('sleep', ['0.02']);
    }
  }
  fs.rmSync(path.join(node.standInDir, 'runtime.pid'), { force: true });
}

/** The steps (AGENT_TRACE) of one run, in order, and its result. */
export function traced(node: TestNode, opts: RunOptions): { steps: string[]; result: RunResult } {
  const file = path.join(node.dir, `trace-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const result = node.run({ ...opts, env: { ...opts.env, AGENT_TRACE: file } });
  const steps = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(file, { force: true });
  return { steps, result };
}

/**
 * What a run that verified nothing leaves on the node's labels: the ready label of each of
 * `handlers` removed (before the run reported), and no ready label set.
 */
export function expectOnlyRemoved(node: TestNode, handlers: string[]): void {
  expect(node.labelCalls()).toEqual(handlers.map((h) => `kubectl label node ${NODE_NAME} runtimeclass.cdk8s.io/${h}-`));
}
