/**
 * The crash matrix of the node agent, shared by the crash-*.test.ts files (one per corpus config,
 * so that jest runs them side by side): the agent is killed with SIGKILL just before each named
 * step of its transaction (AGENT_CRASH_AT=@k; the steps come from an uninterrupted, traced run),
 * and at seeded random instants; then it is run again, and the invariants of DESIGN.md are
 * checked on the real bytes, the recorded labels and what the real containerd loaded.
 */
import * as fs from 'fs';
import {
  agentState, checkSandboxesLeft, corpus, KATA_QEMU, leftoverTemps, loadedHandlers, RunResult, RUNC_TEST, stopRuntime, testSpec, TestNode, traced,
} from './helpers';
import { InstallerSpec } from '../../src/node-agent/setup-spec';

export const CONFIG = '/etc/containerd/config.toml';
/** A matrix runs the agent twice per step, each run with a restart and a check sandbox: minutes on 2 busy cores. */
export const MATRIX_TIMEOUT_MS = 600_000;
// kata-qemu runs virtual machines: without /dev/kvm it is neither installed nor labelled; only runc-test is.
const HANDLERS = [RUNC_TEST.handler];
const READY = [`runtimeclass.cdk8s.io/${RUNC_TEST.handler}=ready`];
const REMOVED = [KATA_QEMU.handler, RUNC_TEST.handler].map((h) => `runtimeclass.cdk8s.io/${h}-`);
const STATE_DIR = '/var/lib/cdk8s-runtimeclass/test-setup';
const TOMBSTONE = '/var/lib/cdk8s-runtimeclass/.test-setup.tombstone';

/** A scenario: the node's config before, and what the setup installs. */
export interface Scenario {
  /** Corpus file at /etc/containerd/config.toml, or undefined for a node without one. */
  readonly config?: string;
  readonly spec?: InstallerSpec;
  /** Prepares the node (artifacts in ARTIFACTS_DIR, a symlinked config...). */
  readonly prepare?: (node: TestNode) => void;
}

/** The node as the scenario starts: no state, the original config, nothing else of ours, no runtime running. */
export function reset(node: TestNode, scenario: Scenario): void {
  stopRuntime(node);
  // Everything under the writable directories goes, but for what a fresh node has (its pod network's config).
  for (const top of ['/etc', '/opt', '/var/lib']) {
    for (const name of fs.readdirSync(node.root.resolve(top))) {
      if (!['/etc/cni', '/opt/cni'].includes(`${top}/${name}`)) fs.rmSync(node.root.resolve(`${top}/${name}`), { recursive: true, force: true });
    }
  }
  if (scenario.config) node.root.write(CONFIG, corpus(scenario.config));
  scenario.prepare?.(node);
  node.clearCalls();
}

/** I1: the config is the old bytes (or absent, if it was) or the complete new bytes. */
function isOldOrNew(bytes: Buffer | undefined, old: Buffer | undefined, installed: Buffer): boolean {
  if (bytes === undefined) return old === undefined;
  return bytes.equals(installed) || (old !== undefined && bytes.equals(old));
}

/** Kills `action` just before step `k` (1-based) of `steps`, checking that it was that step. */
function killAt(node: TestNode, action: 'install' | 'uninstall', steps: string[], k: number, context: object): void {
  const killed = traced(node, { action, env: { AGENT_CRASH_AT: `@${k}` } });
  expect({ ...context, signal: killed.result.signal, lastStep: killed.steps[killed.steps.length - 1] })
    .toEqual({ ...context, signal: 'SIGKILL', lastStep: steps[k - 1] });
}

function readyCalls(node: TestNode): string[] {
  return node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'));
}

/**
 * The agent's state as an uninterrupted run leaves it: what the uninstall will give back (each
 * path's record and its original's blob), the phase, restart pending, the labels. Order-free.
 */
function comparableState(node: TestNode): any {
  const state = agentState(node);
  if (state === undefined) return undefined;
  const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  return {
    ...state,
    records: [...state.records].sort(byPath),
    labels: [...state.labels].sort(),
    handlersBefore: state.handlersBefore && [...state.handlersBefore].sort(),
  };
}

/** After a run that completed the install: the invariants of a labelled node. */
function expectInstalled(
  node: TestNode, run: RunResult, installed: Map<string, string>, context: object, referenceState?: any, handlers: string[] = HANDLERS,
): void {
  expect({ ...context, status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ ...context, status: 0, stderr: '' });
  // Converged to the uninterrupted result, byte for byte.
  expect({ ...context, files: node.snapshot() }).toEqual({ ...context, files: withoutState(installed, node) });
  // I2: the running containerd loaded what is on disk, and no restart is left pending.
  expect({ ...context, loaded: handlers.every((h) => loadedHandlers(node)?.includes(h)), pending: agentState(node)?.restartPending })
    .toEqual({ ...context, loaded: true, pending: false });
  expect({ ...context, ready: READY.every((l) => readyCalls(node).some((c) => c.includes(l))) }).toEqual({ ...context, ready: true });
  expect({ ...context, temps: leftoverTemps(node), tombstone: node.root.exists(TOMBSTONE) }).toEqual({ ...context, temps: [], tombstone: false });
  // A check sandbox of a killed run is removed by the next.
  expect({ ...context, checkSandboxes: checkSandboxesLeft(node) }).toEqual({ ...context, checkSandboxes: [] });
  // The undo records, restart pending and phase are those of the uninterrupted run of the same code.
  if (referenceState !== undefined) expect({ ...context, state: comparableState(node) }).toEqual({ ...context, state: referenceState });
}

/** The snapshot with the agent's state replaced by what the node holds now (its blobs are checked elsewhere). */
function withoutState(files: Map<string, string>, node: TestNode): Map<string, string> {
  const out = new Map([...files].filter(([k]) => !k.startsWith('/var/lib/cdk8s-runtimeclass')));
  for (const [k, v] of node.snapshot()) if (k.startsWith('/var/lib/cdk8s-runtimeclass')) out.set(k, v);
  return out;
}

/** After a completed uninstall: the original node, nothing of ours left, containerd without our handlers. */
function expectUninstalled(node: TestNode, run: RunResult, original: Map<string, string>, context: object): void {
  expect({ ...context, status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ ...context, status: 0, stderr: '' });
  expect({ ...context, files: node.snapshot() }).toEqual({ ...context, files: original });
  expect({ ...context, state: node.root.exists(STATE_DIR), tombstone: node.root.exists(TOMBSTONE), temps: leftoverTemps(node) })
    .toEqual({ ...context, state: false, tombstone: false, temps: [] });
  const loaded = loadedHandlers(node);
  expect({ ...context, servesOurs: loaded === undefined ? 'not running' : HANDLERS.some((h) => loaded.includes(h)) })
    .toEqual({ ...context, servesOurs: loaded === undefined ? 'not running' : false });
}

/** Runs the install crash matrix of one scenario. Returns the number of steps killed at. */
export async function installMatrix(scenario: Scenario): Promise<number> {
  const node = new TestNode(scenario.spec ?? testSpec());
  try {
    reset(node, scenario);
    const original = node.root.exists(CONFIG) ? node.bytes(CONFIG)! : undefined;
    const originalFiles = node.snapshot();
    const reference = traced(node, { action: 'install' });
    expect({ status: reference.result.status, stderr: reference.result.status === 0 ? '' : reference.result.stderr }).toEqual({ status: 0, stderr: '' });
    const installedConfig = node.bytes(CONFIG)!;
    const installed = node.snapshot();
    const referenceState = comparableState(node);
    const steps = reference.steps;
    expect(steps).toEqual(expect.arrayContaining(['locked', 'state', `rename:${CONFIG}`, 'restart:containerd', 'verified', `label:${READY[0].replace('=ready', '')}`]));
    steps.forEach((step, i) => {
      const context = { step: `@${i + 1} ${step}` };
      reset(node, scenario);
      killAt(node, 'install', steps, i + 1, context);
      // I1: the old bytes or the complete new bytes, never anything else.
      expect({ ...context, whole: isOldOrNew(node.bytes(CONFIG), original, installedConfig) }).toEqual({ ...context, whole: true });
      // I3, I6: a node is labelled ready only after the running runtime was verified and a check sandbox started.
      if (readyCalls(node).length > 0) {
        const before = steps.slice(0, i);
        expect({ ...context, verifiedFirst: before.includes('verified') && before.includes(`sandbox-remove:${RUNC_TEST.handler}`) })
          .toEqual({ ...context, verifiedFirst: true });
      }
      // I4: the state is whole (it parses) or absent.
      if (node.root.exists(STATE_DIR)) expect(() => agentState(node)).not.toThrow();
      expectInstalled(node, node.install(), installed, context, referenceState);
      // What the killed run recorded (or failed to) is what the uninstall gives back: every byte of the original node.
      expectUninstalled(node, node.uninstall(), originalFiles, { ...context, then: 'uninstalled' });
    });
    return steps.length;
  } finally {
    await node.cleanup();
  }
}

/** Runs the uninstall crash matrix of one scenario. Returns the number of steps killed at. */
export async function uninstallMatrix(scenario: Scenario): Promise<number> {
  const node = new TestNode(scenario.spec ?? testSpec());
  try {
    reset(node, scenario);
    const original = node.snapshot();
    const first = node.install();
    expect({ status: first.status, stderr: first.status === 0 ? '' : first.stderr }).toEqual({ status: 0, stderr: '' });
    const installedConfig = node.bytes(CONFIG)!;
    const originalConfig = scenario.config ? Buffer.from(corpus(scenario.config)) : undefined;
    const reference = traced(node, { action: 'uninstall' });
    expectUninstalled(node, reference.result, original, { step: 'uninterrupted' });
    const steps = reference.steps;
    // I3: the labels go first, before any file changes.
    const firstChange = steps.findIndex((s) => /^(write|remove|rename|rmdir):/.test(s));
    expect(steps.slice(0, firstChange).filter((s) => s.startsWith('unlabel:'))).toHaveLength(REMOVED.length);
    expect(steps).toEqual(expect.arrayContaining(['tombstone', 'tombstone-delete', 'restart:containerd', 'verified']));
    steps.forEach((step, i) => {
      const context = { step: `@${i + 1} ${step}` };
      reset(node, scenario);
      expect({ ...context, install: node.install().status }).toEqual({ ...context, install: 0 });
      node.clearCalls();
      killAt(node, 'uninstall', steps, i + 1, context);
      const bytes = node.bytes(CONFIG);
      expect({ ...context, whole: isOldOrNew(bytes, originalConfig, installedConfig) }).toEqual({ ...context, whole: true });
      if (bytes === undefined || !bytes.equals(installedConfig)) {
        const removedFirst = REMOVED.every((l) => node.labelCalls().some((c) => c.endsWith(l)));
        expect({ ...context, removedFirst }).toEqual({ ...context, removedFirst: true });
      }
      if (node.root.exists(STATE_DIR)) expect(() => agentState(node)).not.toThrow();
      expectUninstalled(node, node.uninstall(), original, context);
    });
    return steps.length;
  } finally {
    await node.cleanup();
  }
}

/** Where the node's containerd finds its own configuration when it comes back without our handler (outside the snapshot's dirs). */
const FROZEN = '/frozen-containerd.toml';

/** How the node's containerd comes back without our handler at the re-run's restarts. */
export enum WithoutHandler {
  /** The unit starts containerd with another config path: a copy of the node's own configuration. */
  OTHER_CONFIG_PATH = 'other config path',
  /** Configuration management puts the node's own file back between the agent's write and the restart. */
  FILE_REVERTED = 'file reverted before the restart',
}

/**
 * The install crash matrix where the runtime comes back without our handler: the agent is killed
 * before each step, then re-run on a node whose containerd, when restarted, starts on the node's
 * own configuration (see WithoutHandler). A re-run that restarts it must not label the
 * node, must remove the labels, report not ready with the runtime's own answer, roll its change
 * back and keep its state whole; a re-run that needs no restart (the killed run's verified
 * restart stands) behaves as a normal one. Then, on a normal node again, a re-run converges to
 * the uninterrupted result and uninstall gives back every byte. Returns the number of steps and
 * how many of them had a re-run that restarted into the runtime without our handler.
 */
export async function withoutHandlerMatrix(scenario: Scenario, how: WithoutHandler): Promise<{ steps: number; withoutHandler: number }> {
  const spec = scenario.spec ?? testSpec();
  const node = new TestNode(spec);
  // Without /dev/kvm here, the VM handlers are not installed: the runtime is asked for the others.
  const specHandlers = spec.handlers.map((h) => h.handler).filter((h) => !spec.kvmHandlers.includes(h));
  const offered = READY.map((l) => l.replace('=ready', ''));
  try {
    reset(node, scenario);
    const original = node.root.exists(CONFIG) ? node.bytes(CONFIG)! : undefined;
    node.root.write(FROZEN, original ?? Buffer.alloc(0));
    const originalFiles = node.snapshot();
    const reference = traced(node, { action: 'install' });
    expect({ status: reference.result.status, stderr: reference.result.status === 0 ? '' : reference.result.stderr }).toEqual({ status: 0, stderr: '' });
    const installed = node.snapshot();
    const referenceState = comparableState(node);
    const steps = reference.steps;
    let withoutHandler = 0;
    steps.forEach((step, i) => {
      const context = { how, step: `@${i + 1} ${step}` };
      reset(node, scenario);
      killAt(node, 'install', steps, i + 1, context);
      node.clearCalls();
      const comesBackWithout = how === WithoutHandler.OTHER_CONFIG_PATH
        ? { STANDIN_CONFIG: FROZEN }
        : { STANDIN_ON_RESTART: `cp '${node.root.resolve(FROZEN)}' '${node.root.resolve(CONFIG)}'` };
      const rerun = node.install({ env: { ...comesBackWithout, VERIFY_TIMEOUT: '3' } });
      if (node.restarts().length === 0) {
        expectInstalled(node, rerun, installed, { ...context, rerun: 'no restart needed' }, referenceState);
      } else {
        withoutHandler++;
        const ctx = { ...context, rerun: 'restarted without our handler' };
        // The runtime came back on the node's own configuration: it serves none of ours.
        expect({ ...ctx, loaded: HANDLERS.filter((h) => loadedHandlers(node)?.includes(h)) }).toEqual({ ...ctx, loaded: [] });
        expect({ ...ctx, status: rerun.status, readyCalls: readyCalls(node), removed: offered.every((l) => node.labelCalls().some((c) => c.endsWith(`${l}-`))) })
          .toEqual({ ...ctx, status: 1, readyCalls: [], removed: true });
        const readiness = node.readiness();
        expect({ ...ctx, ready: readiness.ready, reason: readiness.reason }).toEqual({
          ...ctx,
          ready: false,
          reason: expect.stringMatching(new RegExp(`^containerd came back but does not serve runtime handler\\(s\\) ${specHandlers.join(' ')} within 3s \\(it serves runc, per .*\\); the previous configuration was restored`)),
        });
        // Its change rolled back, whole; its state whole and without a pending restart (the runtime runs what the disk says).
        expect({ ...ctx, config: node.bytes(CONFIG)?.toString('base64'), temps: leftoverTemps(node), tombstone: node.root.exists(TOMBSTONE) })
          .toEqual({ ...ctx, config: original?.toString('base64'), temps: [], tombstone: false });
        expect(() => agentState(node)).not.toThrow();
        expect({ ...ctx, pending: agentState(node)?.restartPending ?? false }).toEqual({ ...ctx, pending: false });
        expect({ ...ctx, checkSandboxes: checkSandboxesLeft(node) }).toEqual({ ...ctx, checkSandboxes: [] });
      }
      // The node's runtime loads its config file again: the next run converges, labels, and uninstall gives every byte back.
      node.clearCalls();
      expectInstalled(node, node.install(), installed, { ...context, then: 'normal re-run' }, referenceState);
      expectUninstalled(node, node.uninstall(), originalFiles, { ...context, then: 'uninstalled' });
    });
    return { steps: steps.length, withoutHandler };
  } finally {
    await node.cleanup();
  }
}

/** An upgrade: the node runs setup `from`, then the DaemonSet rolls to `to` (same setup name), or the node changes under it. */
export interface Upgrade {
  readonly from: InstallerSpec;
  readonly to: InstallerSpec;
  /**
   * The node as `from` is installed (`before`) and as `to` runs (`after`): a node that gains or
   * loses a device or label converges like an upgrade that adds or removes a handler.
   */
  readonly nodeChange?: { readonly before: (node: TestNode) => void; readonly after: (node: TestNode) => void };
  /** The handlers the node stops running (default: those of `from` that `to` does not have). */
  readonly removes?: string[];
}

/**
 * The upgrade crash matrix: the node has `from` installed; the agent of `to` is killed before each
 * step of its run, then run again. Each time it converges to what an uninterrupted upgrade leaves
 * (files and state), the runtime loads `to`'s handlers and not the removed ones, and uninstalling
 * `to` gives back the node as it was before `from`. An uninterrupted upgrade restarts exactly once.
 * Returns the number of steps killed at.
 */
export async function upgradeMatrix(scenario: Scenario, upgrade: Upgrade): Promise<number> {
  const node = new TestNode(upgrade.from);
  const removed = upgrade.removes ?? upgrade.from.handlers.map((h) => h.handler).filter((h) => !upgrade.to.handlers.some((t) => t.handler === h));
  const toHandlers = upgrade.to.handlers.map((h) => h.handler).filter((h) => !removed.includes(h));
  const installFrom = (context: object) => {
    node.writeConfigMap(upgrade.from);
    upgrade.nodeChange?.before(node);
    const first = node.install();
    expect({ ...context, from: first.status, stderr: first.status === 0 ? '' : first.stderr }).toEqual({ ...context, from: 0, stderr: '' });
    upgrade.nodeChange?.after(node);
    node.writeConfigMap(upgrade.to);
    node.clearCalls();
  };
  try {
    reset(node, scenario);
    const originalFiles = node.snapshot();
    installFrom({ step: 'reference' });
    const reference = traced(node, { action: 'install' });
    expect({ status: reference.result.status, stderr: reference.result.status === 0 ? '' : reference.result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(node.restarts()).toHaveLength(1);
    const upgraded = node.snapshot();
    const referenceState = comparableState(node);
    expect(upgraded).not.toEqual(originalFiles);
    const steps = reference.steps;
    expect(steps).toEqual(expect.arrayContaining(['locked', 'state', 'restart:containerd', 'verified']));
    steps.forEach((step, i) => {
      const context = { step: `@${i + 1} ${step}` };
      reset(node, scenario);
      installFrom(context);
      killAt(node, 'install', steps, i + 1, context);
      if (node.root.exists(STATE_DIR)) expect(() => agentState(node)).not.toThrow();
      expectInstalled(node, node.install(), upgraded, context, referenceState, toHandlers);
      const loaded = loadedHandlers(node) ?? [];
      expect({ ...context, removedStillServed: removed.filter((h) => loaded.includes(h)) }).toEqual({ ...context, removedStillServed: [] });
      expectUninstalled(node, node.uninstall(), originalFiles, { ...context, then: 'uninstalled' });
    });
    return steps.length;
  } finally {
    await node.cleanup();
  }
}

/** A small seeded generator (a linear congruential one), so that a failing instant can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed % 2 ** 32;
  return () => {
    // Numerical Recipes' constants; the product stays below 2^53, so the arithmetic is exact.
    state = (state * 1664525 + 1013904223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

/**
 * Kills install and uninstall runs at `count` seeded random instants each (within the time an
 * uninterrupted run takes), then re-runs them and checks that they converge.
 */
export async function randomKills(scenario: Scenario, seed: number, count: number): Promise<void> {
  const random = seeded(seed);
  const node = new TestNode(scenario.spec ?? testSpec());
  try {
    reset(node, scenario);
    const original = node.snapshot();
    let started = Date.now();
    expect(node.install().status).toBe(0);
    const installMs = Date.now() - started;
    const installed = node.snapshot();
    started = Date.now();
    expect(node.uninstall().status).toBe(0);
    const uninstallMs = Date.now() - started;
    for (let i = 0; i < count; i++) {
      const installAt = Math.floor(random() * installMs);
      reset(node, scenario);
      await killAfter(node, 'install', installAt);
      expectInstalled(node, node.install(), installed, { seed, run: i, action: 'install', killedAfterMs: installAt });
      const uninstallAt = Math.floor(random() * uninstallMs);
      await killAfter(node, 'uninstall', uninstallAt);
      expectUninstalled(node, node.uninstall(), original, { seed, run: i, action: 'uninstall', killedAfterMs: uninstallAt });
    }
  } finally {
    await node.cleanup();
  }
}

async function killAfter(node: TestNode, action: 'install' | 'uninstall', ms: number): Promise<void> {
  const run = node.spawn({ action });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  await run.done;
  clearTimeout(timer);
}

/** Blocks this process for `ms` without spinning (the agent under test runs in its own process meanwhile). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `action` and watches the node every millisecond: as soon as `when()` returns a description
 * of the instant (e.g. "412 of 3000 files left"), the agent gets SIGKILL. Returns that description,
 * or undefined when the run ended first.
 */
export async function killWhen(node: TestNode, action: 'install' | 'uninstall', when: () => string | undefined, timeoutMs = 120_000): Promise<string | undefined> {
  const run = node.spawn({ action, timeoutMs });
  const deadline = Date.now() + timeoutMs;
  let instant: string | undefined;
  // The child's exit event needs the event loop: this polls synchronously, so it looks at /proc instead.
  while (Date.now() < deadline && fs.existsSync(`/proc/${run.child.pid}`) && !isZombie(run.child.pid!)) {
    instant = when();
    if (instant !== undefined) {
      run.child.kill('SIGKILL');
      break;
    }
    pause(1);
  }
  const result = await run.done;
  if (instant !== undefined) expect({ instant, signal: result.signal }).toEqual({ instant, signal: 'SIGKILL' });
  return instant;
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** After a kill: the node converges with a re-run of `rerun`, checked as the matrix checks it. */
export function expectConverges(
  node: TestNode, rerun: 'install' | 'uninstall', expected: { installed: Map<string, string>; original: Map<string, string> }, context: object,
): void {
  if (rerun === 'install') expectInstalled(node, node.install(), expected.installed, context);
  else expectUninstalled(node, node.uninstall(), expected.original, context);
}
