import { randomUUID } from 'crypto';
import {
  criStatus, listPodSandboxes, podSandboxStatus, removePodSandbox, runPodSandbox, stopPodSandbox,
} from './cri';
import { Log } from './log';
import { step } from './steps';

/**
 * The proof behind a ready label: the node's own runtime runs a pod sandbox with the handler,
 * set up as the class's pods are (the pod network, a PID namespace per container), and it
 * reaches SANDBOX_READY. A handler that the runtime merely lists can still fail every pod (a
 * crun too old for the OCI spec the runtime writes, a runsc whose network stack this kernel
 * refuses, a shim that was removed): only a sandbox that really started shows that it does not.
 *
 * Check sandboxes are named `runtimeclass-check-<handler>` in the agent's namespace and carry
 * the labels of {@link checkLabels}; each is stopped and removed whatever the outcome, and those
 * of a killed run are removed by the next run ({@link removeLeftoverChecks}).
 */

/** Label on every check sandbox: the node setup that made it. */
export const CHECK_LABEL = 'runtimeclass.cdk8s.io/check';
/** Label on every check sandbox: the handler it checks. */
export const CHECK_HANDLER_LABEL = 'runtimeclass.cdk8s.io/handler';

/** The labels of `setupName`'s check sandboxes. */
export function checkLabels(setupName: string, handler?: string): { [key: string]: string } {
  return handler === undefined ? { [CHECK_LABEL]: setupName } : { [CHECK_LABEL]: setupName, [CHECK_HANDLER_LABEL]: handler };
}

/** How the check runs. */
export interface SandboxCheckOptions {
  /** The CRI socket (a real path, inside HOST_ROOT). */
  readonly socket: string;
  readonly setupName: string;
  /** Namespace recorded in the sandbox's metadata (the agent's own). */
  readonly namespace: string;
  /** How long one CRI call may take, in ms (a VM-based sandbox boots inside RunPodSandbox). */
  readonly callTimeoutMs: number;
  /** How long to wait for the runtime's pod network to be ready, in ms. */
  readonly networkTimeoutMs: number;
  readonly log: Log;
}

/**
 * The cgroup parent of a check sandbox, as the kubelet names its best-effort pods' parent for
 * each cgroup driver. The node's driver is learnt from the runtime: a systemd runtime refuses a
 * cgroupfs path (`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups`).
 */
const CGROUP_PARENT = { cgroupfs: '/kubepods/besteffort', systemd: 'kubepods-besteffort.slice' };
const SYSTEMD_PATH_REFUSED = /expected cgroupsPath to be of format "?slice:prefix:name"?/;
let cgroupDriver: keyof typeof CGROUP_PARENT = 'cgroupfs';

/** Failures seen on real nodes, and what fixes them (the runtime's own words stay in the reason). */
const FIXES: ReadonlyArray<{ seen: RegExp; fix: string }> = [
  {
    // crun before 1.15 knows OCI runtime spec 1.0.x only; containerd 2.1 and CRI-O 1.34 write 1.2.x.
    seen: /unknown version specified/,
    fix: 'the OCI runtime is older than the OCI runtime spec this container runtime writes (crun before 1.15 knows only 1.0.x): install a newer one on the node (crun 1.15 or later)',
  },
  {
    // runsc decides "root network namespace" from /proc/sys/net/core/rmem_default, which newer kernels have in every namespace.
    seen: /cannot run with network enabled in root network namespace/,
    fix: 'gVisor\'s own network stack does not run on this node\'s kernel: give the GvisorRuntime hostNetworking: true (runsc --network=host), or install a gVisor release that supports this kernel',
  },
];

/** The outcome of one handler's check: ready, or the runtime's own words. */
export type SandboxVerdict = { readonly ready: true; readonly ms: number } | { readonly ready: false; readonly reason: string };

/**
 * Runs one check sandbox with `handler`, then stops and removes it. Waits (up to
 * `networkTimeoutMs`) while the runtime reports its network not ready, saying so, instead of
 * taking a missing CNI configuration for a broken handler.
 */
export async function checkSandbox(handler: string, options: SandboxCheckOptions): Promise<SandboxVerdict> {
  const network = await waitForNetwork(options);
  if (network !== undefined) return { ready: false, reason: network };
  const started = Date.now();
  const verdict = await runCheck(handler, options, started);
  if (verdict.ready || cgroupDriver === 'systemd' || !SYSTEMD_PATH_REFUSED.test(verdict.reason)) return verdict;
  cgroupDriver = 'systemd';
  options.log.info('the runtime uses the systemd cgroup driver: check sandboxes get a systemd slice as their cgroup parent');
  return runCheck(handler, options, started);
}

async function runCheck(handler: string, options: SandboxCheckOptions, started: number): Promise<SandboxVerdict> {
  let id: string | undefined;
  step(`sandbox:${handler}`);
  try {
    id = await runPodSandbox(options.socket, {
      name: `runtimeclass-check-${handler}`.slice(0, 63).replace(/[-.]+$/, ''),
      uid: randomUUID(),
      namespace: options.namespace,
      labels: checkLabels(options.setupName, handler),
      handler,
      // Every class's pods use the pod network by default; none of the presets limits its pods to the node's.
      nodeNetwork: false,
      cgroupParent: CGROUP_PARENT[cgroupDriver],
    }, options.callTimeoutMs);
    const status = await podSandboxStatus(options.socket, id, options.callTimeoutMs);
    if (!status.ready) return { ready: false, reason: `a pod sandbox with runtime handler ${handler} did not reach SANDBOX_READY` };
    return { ready: true, ms: Date.now() - started };
  } catch (e: any) {
    const hint = FIXES.find((f) => f.seen.test(e.message))?.fix;
    return { ready: false, reason: `a pod sandbox with runtime handler ${handler} failed to start: ${e.message}${hint ? `. Fix: ${hint}` : ''}` };
  } finally {
    if (id !== undefined) {
      step(`sandbox-remove:${handler}`);
      await removeSandbox(id, options);
    }
  }
}

/** Removes check sandboxes that a killed run of `setupName` left behind. */
export async function removeLeftoverChecks(options: SandboxCheckOptions): Promise<number> {
  let leftovers;
  try {
    leftovers = await listPodSandboxes(options.socket, checkLabels(options.setupName), options.callTimeoutMs);
  } catch (e: any) {
    options.log.info(`cannot list pod sandboxes to remove leftover checks (${e.message})`);
    return 0;
  }
  for (const sandbox of leftovers) {
    options.log.info(`removing check sandbox ${sandbox.id} left by an earlier run`);
    await removeSandbox(sandbox.id, options);
  }
  return leftovers.length;
}

async function removeSandbox(id: string, options: SandboxCheckOptions): Promise<void> {
  try {
    await stopPodSandbox(options.socket, id, options.callTimeoutMs);
    await removePodSandbox(options.socket, id, options.callTimeoutMs);
  } catch (e: any) {
    // The next run lists it by its labels and tries again.
    options.log.warn(`could not remove check sandbox ${id}: ${e.message}`);
  }
}

/** Undefined once the runtime's NetworkReady condition holds (or it reports none); else why it does not, after waiting. */
async function waitForNetwork(options: SandboxCheckOptions): Promise<string | undefined> {
  const deadline = Date.now() + options.networkTimeoutMs;
  let said = false;
  for (;;) {
    let why: string;
    try {
      const network = (await criStatus(options.socket, options.callTimeoutMs)).conditions.NetworkReady;
      if (network === undefined || network.status) return undefined;
      why = `the container runtime reports its pod network not ready (${[network.reason, network.message].filter(Boolean).join(': ') || 'no reason given'})`;
    } catch (e: any) {
      why = `no CRI answer on ${options.socket}: ${e.message}`;
    }
    if (Date.now() >= deadline) return `${why}; waited ${Math.round(options.networkTimeoutMs / 1000)}s. A pod network plugin (CNI) must be installed and configured on the node before pods can run; the check is repeated`;
    if (!said) options.log.info(`${why}: waiting for it before running the check sandboxes`);
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
