// Node agent timings on one fake node, with Debian's real containerd validating every change and
// restarted by the systemctl stand-in (numbers, not pass/fail). Needs root and containerd, like the
// node-agent tests.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { corpus, TestNode } from '../test/node-agent/helpers';

const RUNS = 5;
const CONFIG = '/etc/containerd/config.toml';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(run: () => { status: number | null; stderr: string }, what: string, stderr: string[] = []): number {
  const start = process.hrtime.bigint();
  const r = run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`agent ${what} failed (${r.status}): ${r.stderr}`);
  stderr.push(r.stderr);
  return ms;
}

/** The check sandbox times an agent logged (ms each). */
function checkTimes(stderr: string): number[] {
  return [...stderr.matchAll(/a check sandbox reached SANDBOX_READY in (\d+) ms/g)].map((m) => Number(m[1]));
}

/** The split a one-shot run logs as it ends: Node's start, host programs, the runtime's CRI, the agent's own, its CPU (ms). */
function split(stderr: string): { nodeStart: number; programs: number; runtime: number; own: number; cpu: number } {
  const m = /took \d+ ms: (\d+) ms Node's start, (\d+) ms waiting on host programs, (\d+) ms on the runtime's CRI, (\d+) ms the agent's own \((\d+) ms of CPU after Node's start\)/.exec(stderr);
  if (!m) throw new Error(`no time split in the agent's log: ${stderr}`);
  const [nodeStart, programs, runtime, own, cpu] = m.slice(1).map(Number);
  return { nodeStart, programs, runtime, own, cpu };
}

/** CPU time (user + system, ms) a process has used, from /proc. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Every file and directory under the node's root and the agent's state, with what identifies a write. */
function fingerprint(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      const st = fs.lstatSync(file);
      out.set(file, `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
      if (st.isDirectory() && !st.isSymbolicLink()) walk(file);
    }
  };
  for (const d of ['etc', 'opt', 'var/lib', 'run']) walk(path.join(root, d));
  return out;
}

/** The stand-in's restart durations so far (ms each). */
function restartTimes(node: TestNode): number[] {
  const file = path.join(node.standInDir, 'restart-ms');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

export interface NodeAgentTimings {
  /** Wall time of an install that adds two handlers to a kubeadm-style containerd 1.6 config. */
  readonly installMs: number;
  /** Of which the containerd restart (the stand-in stopping and starting Debian's containerd). */
  readonly restartMs: number;
  /** A re-run that finds everything in place. */
  readonly noopMs: number;
  /** Paths the no-op re-run created, changed or removed (0 expected), and the restarts it made. */
  readonly noopChangedPaths: number;
  readonly noopRestarts: number;
  readonly uninstallMs: number;
  /** `node -e ''`: the part of every run that is Node starting. */
  readonly nodeStartMs: number;
  /** Of the install: waiting on the host's programs (containerd --version and config dump, systemctl, flock, the kubectl stand-in). */
  readonly installProgramsMs: number;
  /** Of the install: waiting on containerd's CRI (the check sandbox's run, status, stop, remove; the handler and leftover listings). */
  readonly installRuntimeMs: number;
  /** Of the install: Node's own start, before the agent's first module (the agent logs it). */
  readonly installNodeStartMs: number;
  /** Of the install: the rest, the agent's own (loading its modules, planning, writing with fsync). */
  readonly installOwnMs: number;
  /** The install process's CPU time (user + system, all threads) after Node's start. */
  readonly installCpuMs: number;
  /** The same split of the no-op re-run. */
  readonly noopNodeStartMs: number;
  readonly noopProgramsMs: number;
  readonly noopRuntimeMs: number;
  readonly noopOwnMs: number;
  readonly noopCpuMs: number;
  /** Of the install, the check sandbox (runc-test through containerd, on the pod network). */
  readonly checkMs: number;
  /** A long-running agent's re-check: the agent's CPU time per period, and the check sandbox's wall time. */
  readonly recheckCpuMs: number;
  readonly recheckSandboxMs: number;
  readonly rechecks: number;
}

/** Medians over `RUNS` install / no-op / uninstall cycles on one node. */
export async function benchmarkNodeAgent(): Promise<NodeAgentTimings> {
  const node = new TestNode();
  try {
    const original = corpus('kubeadm-systemd-cgroup.toml');
    const install: number[] = [];
    const restart: number[] = [];
    const noop: number[] = [];
    const uninstall: number[] = [];
    const check: number[] = [];
    const installSplit: Array<ReturnType<typeof split>> = [];
    const noopSplit: Array<ReturnType<typeof split>> = [];
    let noopChangedPaths = 0;
    let noopRestarts = 0;
    for (let i = 0; i < RUNS; i++) {
      node.root.write(CONFIG, original);
      const before = restartTimes(node).length;
      const logs: string[] = [];
      install.push(timed(() => node.install(), 'install', logs));
      check.push(...checkTimes(logs.join('')));
      installSplit.push(split(logs.join('')));
      restart.push(restartTimes(node).slice(before).reduce((a, b) => a + b, 0));
      const prints = fingerprint(node.root.path);
      const restarts = restartTimes(node).length;
      const noopLogs: string[] = [];
      noop.push(timed(() => node.install(), 'no-op re-run', noopLogs));
      noopSplit.push(split(noopLogs.join('')));
      const after = fingerprint(node.root.path);
      noopChangedPaths += [...new Set([...prints.keys(), ...after.keys()])].filter((k) => prints.get(k) !== after.get(k)).length;
      noopRestarts += restartTimes(node).length - restarts;
      uninstall.push(timed(() => node.uninstall(), 'uninstall'));
      if (node.root.read(CONFIG) !== original) throw new Error('uninstall did not restore the config');
    }
    const recheck = await measureRecheck(node, original);
    const nodeStart: number[] = [];
    for (let i = 0; i < RUNS; i++) nodeStart.push(timed(() => { execFileSync(process.execPath, ['-e', '']); return { status: 0, stderr: '' }; }, 'node start'));
    return {
      installMs: median(install),
      restartMs: median(restart),
      noopMs: median(noop),
      noopChangedPaths,
      noopRestarts,
      uninstallMs: median(uninstall),
      nodeStartMs: median(nodeStart),
      checkMs: median(check),
      installProgramsMs: median(installSplit.map((x) => x.programs)),
      installRuntimeMs: median(installSplit.map((x) => x.runtime)),
      installNodeStartMs: median(installSplit.map((x) => x.nodeStart)),
      installOwnMs: median(installSplit.map((x) => x.own)),
      installCpuMs: median(installSplit.map((x) => x.cpu)),
      noopNodeStartMs: median(noopSplit.map((x) => x.nodeStart)),
      noopProgramsMs: median(noopSplit.map((x) => x.programs)),
      noopRuntimeMs: median(noopSplit.map((x) => x.runtime)),
      noopOwnMs: median(noopSplit.map((x) => x.own)),
      noopCpuMs: median(noopSplit.map((x) => x.cpu)),
      ...recheck,
    };
  } finally {
    await node.cleanup();
  }
}

/**
 * A long-running agent re-checking every second for a while: its CPU time per re-check (the
 * runtime's own work for the sandbox is not in it) and the check sandboxes' wall time.
 */
async function measureRecheck(node: TestNode, original: string): Promise<{ recheckCpuMs: number; recheckSandboxMs: number; rechecks: number }> {
  node.root.write(CONFIG, original);
  const { child, done } = node.spawn({ action: 'install', env: { ONESHOT: undefined, RECHECK_PERIOD: '1' }, timeoutMs: 120_000 });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const wait = async (condition: () => boolean) => {
    for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 100));
  };
  await wait(() => checkTimes(stderr).length >= 2);
  const firstCpu = cpuMs(child.pid!);
  const firstCount = checkTimes(stderr).length;
  await new Promise((r) => setTimeout(r, 15_000));
  const cpu = cpuMs(child.pid!) - firstCpu;
  const sandboxes = checkTimes(stderr).slice(firstCount);
  child.kill('SIGTERM');
  await done;
  if (node.uninstall().status !== 0) throw new Error('uninstall after the re-check run failed');
  return { recheckCpuMs: cpu / Math.max(1, sandboxes.length), recheckSandboxMs: median(sandboxes), rechecks: sandboxes.length };
}

/** The lines `npx projen benchmark` prints. */
export function describeNodeAgentTimings(r: NodeAgentTimings): string[] {
  return [
    `node agent on one node (kubeadm-style containerd 1.6 config, real containerd), median of ${RUNS}:`,
    `  install       ${r.installMs.toFixed(0)} ms (of which the containerd restart ${r.restartMs.toFixed(0)} ms, the check sandbox ${r.checkMs.toFixed(0)} ms; the agent ${(r.installMs - r.restartMs - r.checkMs).toFixed(0)} ms)`,
    `                as the agent splits it: ${r.installNodeStartMs.toFixed(0)} ms Node's start, ${r.installProgramsMs.toFixed(0)} ms waiting on host programs (the restart among them),`,
    `                ${r.installRuntimeMs.toFixed(0)} ms on containerd's CRI, ${r.installOwnMs.toFixed(0)} ms its own; ${r.installCpuMs.toFixed(0)} ms of CPU after Node's start`,
    `  no-op re-run  ${r.noopMs.toFixed(0)} ms, ${r.noopChangedPaths} paths written, ${r.noopRestarts} restarts (over ${RUNS} re-runs)`,
    `                as the agent splits it: ${r.noopNodeStartMs.toFixed(0)} ms Node's start, ${r.noopProgramsMs.toFixed(0)} ms waiting on host programs,`,
    `                ${r.noopRuntimeMs.toFixed(0)} ms on containerd's CRI, ${r.noopOwnMs.toFixed(0)} ms its own; ${r.noopCpuMs.toFixed(0)} ms of CPU after Node's start`,
    `  uninstall     ${r.uninstallMs.toFixed(0)} ms`,
    `  Node start    ${r.nodeStartMs.toFixed(0)} ms (in every run above)`,
    `  re-check      ${r.recheckCpuMs.toFixed(0)} ms of the agent's CPU and a ${r.recheckSandboxMs.toFixed(0)} ms check sandbox per period (${r.rechecks} re-checks, one per second)`,
  ];
}

if (require.main === module) {
  benchmarkNodeAgent().then((r) => {
    // eslint-disable-next-line no-console
    for (const line of describeNodeAgentTimings(r)) console.log(line);
  }).catch((e) => {
    // eslint-disable-next-line no-console
    console.error(e);
    process.exitCode = 1;
  });
}
