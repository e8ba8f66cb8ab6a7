/**
 * The cdk8s-runtimeclass node agent: run by the node-setup DaemonSet on every selected node,
 * it installs runtimes, adds their handlers to the container runtime's configuration, and
 * labels the node ready for them; on uninstall it gives everything back.
 *
 * The transaction, and why a SIGKILL at any instant is safe:
 * 1. Every step runs under the node lock, a flock(2) that the kernel drops when the agent dies.
 * 2. Before a host file changes, its original bytes and "restart pending" are made durable in
 *    one atomically replaced state file; the new bytes are recomputed from the node on every run.
 * 3. Each file is replaced atomically (temp file, fsync, rename, fsync the directory).
 * 4. The runtime is restarted while a restart is pending or it does not serve what the disk
 *    says; "pending" is cleared only once the running runtime answers over CRI as expected.
 * 5. The ready label is set last, only for handlers whose check pod sandbox reached
 *    SANDBOX_READY on the node's runtime, and removed first (before any failed run reports);
 *    the state goes by tombstone (rename, delete).
 *
 * After the install it keeps running: every RECHECK_PERIOD seconds, and as soon as the runtime's
 * CRI socket changes (a restart), it verifies each handler again without changing anything; a
 * failure removes that handler's label and turns to retries with backoff. The readiness probe
 * (probe.js) holds the pod ready only while the last verification is recent.
 *
 * It reaches the host and the cluster only through its environment (DESIGN.md, "The node
 * agent contract"): HOST_ROOT, ACTION, HOST_SYSTEMCTL, HOST_CONTAINERD, KUBECTL, NODE_NAME,
 * POD_NAMESPACE, STATE_DIR, ARTIFACTS_DIR, ONESHOT, CONTAINERD_CONFIG, RESTART_UNIT,
 * CRI_SOCKET, VERIFY_TIMEOUT, LOCK_TIMEOUT, RECHECK_PERIOD, SANDBOX_TIMEOUT, API_TIMEOUT,
 * POD_TEMPLATE_GENERATION (and
 * SERVICE_ACCOUNT_DIR for the API server's token). It imports only Node's built-ins and its own folder: the NodeSetup ships this folder
 * in its ConfigMap with `spec.json` and the rendered configuration fragments.
 *
 * Exit status (ONESHOT=1: one install, then exit; otherwise it exits only after SIGTERM): 0 done;
 * 1 refused or failed (the reason is logged and in STATE_DIR/not-ready); 2 this node cannot run
 * these runtimes (no /dev/kvm, no artifact for its CPU).
 */
// First: when Node had started, before the agent's own modules load.
// eslint-disable-next-line import/order
import { NODE_STARTED_CPU, NODE_STARTED_MS } from './node-start';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Kube, kubeFromEnvironment } from './kube';
import { Lifecycle, Settings } from './lifecycle';
import { Log, NothingToRun, Readiness, Refusal } from './log';
import { splitCommand } from './process';
import { InstallerSpec, parseSpec, SPEC_FILE } from './setup-spec';
import { waitedMs } from './waits';

function settingsFrom(env: NodeJS.ProcessEnv): Settings {
  const hostRoot = (env.HOST_ROOT || '/host').replace(/\/+$/, '') || '/';
  const seconds = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 0) throw new Refusal(`${name} must be a whole number of seconds, got '${env[name]}'`);
    return value;
  };
  return {
    hostRoot,
    configDir: __dirname,
    stateDir: env.STATE_DIR || '/run/runtimeclass-setup',
    artifactsDir: env.ARTIFACTS_DIR || '/artifacts',
    workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-runtimeclass-')),
    systemctl: splitCommand(env.HOST_SYSTEMCTL || `chroot ${hostRoot} systemctl`),
    containerd: env.HOST_CONTAINERD ? splitCommand(env.HOST_CONTAINERD) : undefined,
    containerdConfig: env.CONTAINERD_CONFIG || '/etc/containerd/config.toml',
    criSocket: env.CRI_SOCKET || undefined,
    restartUnit: env.RESTART_UNIT || undefined,
    nodeName: env.NODE_NAME || undefined,
    podNamespace: env.POD_NAMESPACE || undefined,
    verifyTimeoutSeconds: seconds('VERIFY_TIMEOUT', 120),
    lockTimeoutSeconds: seconds('LOCK_TIMEOUT', 600),
    sandboxTimeoutSeconds: seconds('SANDBOX_TIMEOUT', 120),
    specGeneration: generationFrom(env.POD_TEMPLATE_GENERATION),
  };
}

/** The pod's `pod-template-generation` label (from the downward API); empty or unset: unknown. */
function generationFrom(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const generation = Number(value);
  if (!Number.isSafeInteger(generation) || generation < 0) throw new Refusal(`POD_TEMPLATE_GENERATION must be a whole number (the pod's pod-template-generation label), got '${value}'`);
  return generation;
}

/** Whether the DaemonSet no longer wants this node: uninstall only on evidence, never on doubt. */
async function daemonSetLetGo(spec: InstallerSpec, settings: Settings, kube: Kube, log: Log): Promise<boolean> {
  if (!spec.daemonSetName || !settings.podNamespace) {
    log.info('DAEMONSET_NAME or POD_NAMESPACE unknown: cannot tell whether the DaemonSet still wants this node');
    return false;
  }
  const where = `${settings.podNamespace}/${spec.daemonSetName}`;
  try {
    const found = await kube.daemonSet(settings.podNamespace, spec.daemonSetName);
    if (!found.exists) {
      log.info(`DaemonSet ${where} no longer exists`);
      return true;
    }
    if (found.deleting) {
      log.info(`DaemonSet ${where} is being deleted (${found.deleting})`);
      return true;
    }
  } catch (e: any) {
    log.info(`cannot read DaemonSet ${where} (${e.message}): keeping the runtimes installed`);
    return false;
  }
  const selector = spec.nodeSelector ?? {};
  if (Object.keys(selector).length === 0 || !settings.nodeName) return false;
  try {
    const labels = await kube.nodeLabels(settings.nodeName);
    const missing = Object.keys(selector).sort().find((k) => labels[k] !== selector[k]);
    if (missing === undefined) return false;
    log.info(`node ${settings.nodeName} no longer matches the DaemonSet's node selector ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')} (no label ${missing}=${selector[missing]})`);
    return true;
  } catch (e: any) {
    log.info(`cannot read node ${settings.nodeName} (${e.message}): keeping the runtimes installed`);
    return false;
  }
}

/**
 * SIGTERM (and SIGINT): noted at any time, acted on only between changes: a signal that
 * arrives during an install waits until the install is complete.
 */
class Termination {
  private received = false;
  private wake: (() => void) | undefined;

  public constructor() {
    const note = () => {
      this.received = true;
      this.wake?.();
    };
    process.on('SIGTERM', note);
    process.on('SIGINT', note);
  }

  /** True once a signal has arrived. */
  public get terminated(): boolean {
    return this.received;
  }

  /**
   * Waits until `ms` have passed, `wakeEarly` answers true (asked every `pollMs`), or a signal
   * arrives. Resolves to true when it was the signal.
   */
  public async sleep(ms: number, pollMs: number, wakeEarly: () => boolean): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.received && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.wake = undefined; resolve(); }, Math.min(pollMs, Math.max(0, deadline - Date.now())));
        this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
      });
      if (!this.received && wakeEarly()) return false;
    }
    return this.received;
  }

  /** Resolves once a signal has arrived (at once if one came while the agent was busy). */
  public wait(): Promise<void> {
    if (this.received) return Promise.resolve();
    const keepAlive = setInterval(() => undefined, 2 ** 30);
    return new Promise((resolve) => {
      this.wake = () => {
        clearInterval(keepAlive);
        resolve();
      };
    });
  }
}

/**
 * Runs `work`; a refusal or failure is logged and becomes the not-ready reason (exit 1). A node
 * with nothing to run keeps the pod ready, with the reason, and is never labelled.
 */
async function guarded(log: Log, readiness: Readiness, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (e: any) {
    const message = e instanceof Refusal ? e.message : `unexpected error: ${e?.stack ?? e}`;
    log.info(`${e instanceof Refusal && (e.exitCode === 2 || e instanceof NothingToRun) ? 'NOT READY' : 'ERROR'}: ${message}`);
    if (e instanceof NothingToRun) readiness.ready(`${NOTHING_TO_RUN}${message}`);
    else readiness.notReady(message);
    return e instanceof Refusal ? e.exitCode : 1;
  }
}

/** How the pod's readiness reads on a node with nothing to run. */
const NOTHING_TO_RUN = 'nothing to run on this node, never labelled: ';

async function main(): Promise<number> {
  const termination = new Termination();
  const specPath = path.join(__dirname, SPEC_FILE);
  const spec = parseSpec(fs.readFileSync(specPath, 'utf8'), specPath);
  const env = process.env;
  const log = new Log(spec.setupName);
  const readiness = new Readiness(env.STATE_DIR || '/run/runtimeclass-setup');
  let settings: Settings;
  let recheckSeconds: number;
  let kube: Kube;
  try {
    settings = settingsFrom(env);
    kube = kubeFromEnvironment(env);
    recheckSeconds = Number(env.RECHECK_PERIOD ?? 60);
    if (!Number.isInteger(recheckSeconds) || recheckSeconds < 1) throw new Refusal(`RECHECK_PERIOD must be a whole number of seconds, at least 1, got '${env.RECHECK_PERIOD}'`);
  } catch (e: any) {
    return guarded(log, readiness, () => Promise.reject(e));
  }
  const lifecycle = new Lifecycle(spec, settings, kube, log, readiness);
  const action = env.ACTION || 'install';
  if (action === 'uninstall') return guarded(log, readiness, async () => { await lifecycle.uninstall({ anySpec: true }); return 0; });
  if (action !== 'install') return guarded(log, readiness, () => Promise.reject(new Refusal(`ACTION must be install or uninstall, got '${action}'`)));

  // The probe holds the pod ready only while a verification newer than two periods stands.
  const validFor = 2 * recheckSeconds + settings.sandboxTimeoutSeconds;
  const verified = (labelled: string[]) => {
    readiness.ready(labelled.join(' '), env.ONESHOT === '1' ? undefined : Date.now() + validFor * 1000);
    return 0;
  };
  readiness.notReady('installing');
  let status = await guarded(log, readiness, async () => verified(await lifecycle.install()));
  if (env.ONESHOT === '1') {
    log.info(timeSplit());
    return status;
  }
  if (status === 2) {
    // The node cannot run these runtimes (no /dev/kvm, no artifact for its CPU): never labelled.
    log.info(readiness.isReady() ? 'nothing to run on this node; waiting for SIGTERM' : 'not ready on this node; waiting for SIGTERM');
    await termination.wait();
  } else {
    log.info(status === 0
      ? `installed; re-checking every ${recheckSeconds}s and whenever the container runtime restarts`
      : 'not ready; retrying with backoff');
    let backoff = RETRY_FIRST_SECONDS;
    let identity = lifecycle.runtimeIdentity();
    for (;;) {
      const wait = status === 0 ? recheckSeconds : backoff;
      // A restarted runtime makes a new CRI socket: check at once, whatever the period.
      const restarted = () => status === 0 && lifecycle.runtimeIdentity() !== identity;
      if (await termination.sleep(wait * 1000, RUNTIME_POLL_MS, restarted)) break;
      if (status === 0) {
        if (restarted()) log.info('the container runtime restarted: re-checking now');
        status = await guarded(log, readiness, async () => verified(await lifecycle.recheck()));
        if (status !== 0) backoff = RETRY_FIRST_SECONDS;
      } else {
        status = await guarded(log, readiness, async () => verified(await lifecycle.install()));
        backoff = Math.min(backoff * 2, recheckSeconds * 5, RETRY_MAX_SECONDS);
        if (status === 0) log.info('ready again');
      }
      identity = lifecycle.runtimeIdentity();
      if (status === 2) {
        await termination.wait();
        break;
      }
    }
  }
  log.info('SIGTERM');
  return guarded(log, readiness, async () => {
    if (await daemonSetLetGo(spec, settings, kube, log)) await lifecycle.uninstall();
    else log.info('the DaemonSet still wants this node (pod restart or rollout): leaving the runtimes installed');
    return 0;
  });
}

/**
 * Where a one-shot run's time went, from the process's start: Node's own start (before the
 * agent's first module), waiting on host programs and on the runtime's CRI; the agent's own
 * part is what is left, given with the CPU time (user + system, all threads) the process used
 * after Node's start: the same work measured in a way a busy machine does not inflate.
 */
function timeSplit(): string {
  const total = performance.now();
  const programs = waitedMs('programs');
  const runtime = waitedMs('runtime');
  const own = Math.max(0, total - NODE_STARTED_MS - programs - runtime);
  const cpu = process.cpuUsage(NODE_STARTED_CPU);
  return `took ${total.toFixed(0)} ms: ${NODE_STARTED_MS.toFixed(0)} ms Node's start, ${programs.toFixed(0)} ms waiting on host programs, `
    + `${runtime.toFixed(0)} ms on the runtime's CRI, ${own.toFixed(0)} ms the agent's own (${((cpu.user + cpu.system) / 1000).toFixed(0)} ms of CPU after Node's start)`;
}

/** The first retry after a failed run, in seconds; each later one waits twice as long. */
const RETRY_FIRST_SECONDS = 10;
/** The longest wait between retries, in seconds. */
const RETRY_MAX_SECONDS = 600;
/** How often the runtime's CRI socket is looked at between checks, in ms (a stat). */
const RUNTIME_POLL_MS = 2000;

main().then(
  (status) => process.exit(status),
  (e) => {
    process.stderr.write(`cdk8s-runtimeclass node agent: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
