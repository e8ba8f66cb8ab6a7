/**
 * Can this node's runsc run a gVisor class's configuration? Asked before the node is labelled
 * ready for the class: a node labelled ready whose runsc does not know the class's platform runs
 * none of its pods (`OCI runtime create failed: unknown platform: systrap`).
 *
 * Runs on nodes as plain Node code: imports Node's built-ins only.
 */
import { spawn } from 'child_process';

/** The first gVisor release whose runsc knows the systrap platform (its source went public on 2023-02-22). */
export const SYSTRAP_FIRST_RELEASE = '20230227.0';

/** The first gVisor release that runs systrap by default (before it, ptrace). */
export const SYSTRAP_DEFAULT_SINCE_RELEASE = '20230621.0';

/** Options of `runscProblem`. */
export interface RunscCheckOptions {
  /** How long the test sandbox may take, in ms. Default 30 s (about 0.3 s with ptrace on 2 cores). */
  readonly sandboxTimeoutMs?: number;
}

interface Outcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly spawnError?: string;
}

/**
 * Why the node's runsc cannot run pods with `flags` (the `[runsc_config]` of the class's
 * `runsc.toml`, e.g. `{ platform: 'systrap', network: 'host' }`), or `undefined` when it can.
 *
 * `command` is the argv prefix that runs the node's runsc outside any chroot: e.g. the host's
 * binary run from the agent's own root (`['/host/usr/local/bin/runsc']`, runsc is a static
 * binary), or `['nsenter', '--target', '1', '--mount', '--', '/usr/local/bin/runsc']` with the
 * host's PID namespace. Not `chroot /host runsc`: from a chroot runsc cannot create its sandbox's
 * user namespace (`fork/exec /proc/self/exe: operation not permitted`), which is reported as
 * such. Three steps, each only if the one before passed, about 0.4 s in all with ptrace:
 * 1. `runsc --version`: runsc runs, and its release (`release-20230227.0`, Debian's
 *    `0.0~20221219.0`); a release older than `SYSTRAP_FIRST_RELEASE` with platform systrap is
 *    refused here.
 * 2. `runsc <flags> --version`: runsc's own flag parser accepts every flag name and every typed
 *    value (`network`, `overlay2`, booleans...).
 * 3. `runsc <flags> --network=none do --force-overlay=false /bin/true` (needs root): a real
 *    sandbox on the platform with the other flags. Its network is `none` so that the check never
 *    touches the node's network (runsc `do` would set up a veth pair and iptables rules for
 *    `sandbox` or `host`); step 2 checked the network value. `do` adds a root overlay of its own
 *    unless told not to, which pods do not get and which fails with `file-access=shared`; `true`
 *    writes nothing. (runsc before release-20210408.0 has no `--force-overlay`: then without it.)
 *
 * The message names the runsc release, the platform or flag, and the fix.
 */
export async function runscProblem(
  command: string[], flags: { [flag: string]: string }, options: RunscCheckOptions = {},
): Promise<string | undefined> {
  if (command.length === 0) throw new Error('runscProblem: command must name the runsc binary');
  const shown = command.join(' ');
  for (const name of Object.keys(flags)) {
    if (name === '' || name.startsWith('-') || name.includes('=')) {
      return `runsc flag name "${name}" cannot be passed to runsc: write flag names without dashes or "="`;
    }
  }

  const version = await run(command, ['--version'], 10_000);
  if (version.status !== 0) {
    return `runsc does not run on this node (${shown} --version: ${failureText(version)}): install gVisor's runsc there, or fix the runtime's runscPath`;
  }
  const release = /runsc version (\S+)/.exec(version.stdout)?.[1] ?? 'of unknown version';
  const releaseDate = /(\d{8})(?:\.\d+)?$/.exec(release)?.[1];
  const platform = flags.platform;
  const platformName = platform === undefined ? 'its default platform' : `platform "${platform}"`;

  if (platform === 'systrap' && releaseDate !== undefined && releaseDate < SYSTRAP_FIRST_RELEASE.slice(0, 8)) {
    return systrapMissing(release);
  }

  const flagArgs = Object.keys(flags).sort().map((name) => `--${name}=${flags[name]}`);
  const parsed = await run(command, [...flagArgs, '--version'], 10_000);
  if (parsed.status !== 0) {
    const firstLine = parsed.stderr.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? failureText(parsed);
    const unknown = /flag provided but not defined: -+(\S+)/.exec(firstLine);
    if (unknown) {
      return `runsc ${release} on this node does not know the flag --${unknown[1]}: remove it from the runtime's runscFlags, or install a gVisor release that has it`;
    }
    return `runsc ${release} on this node rejects the runtime's flags (${firstLine}): fix the value in the runtime's options or runscFlags`;
  }

  const sandboxFlags = Object.keys(flags).filter((name) => name !== 'network').sort().map((name) => `--${name}=${flags[name]}`);
  const timeoutMs = options.sandboxTimeoutMs ?? 30_000;
  const doArgs = [...sandboxFlags, '--network=none', 'do', '--force-overlay=false', '/bin/true'];
  let sandbox = await run(command, doArgs, timeoutMs);
  if (/flag provided but not defined: -force-overlay/.test(sandbox.stderr)) {
    doArgs.splice(doArgs.indexOf('--force-overlay=false'), 1);
    sandbox = await run(command, doArgs, timeoutMs);
  }
  if (sandbox.status === 0) return undefined;
  if (/unknown platform/.test(sandbox.stderr) && platform === 'systrap') return systrapMissing(release);
  if (/unknown platform/.test(sandbox.stderr)) {
    return `runsc ${release} on this node does not know ${platformName}: use another GvisorPlatform (runsc flags lists the ones it knows)`;
  }
  if (/fork\/exec \/proc\/self\/exe: operation not permitted/.test(sandbox.stderr)) {
    return `runsc could not start a test sandbox (${lastLines(sandbox.stderr)}): runsc cannot create its sandbox's user namespace from a chroot; `
      + `run the node's runsc outside the chroot (${shown} is the command used)`;
  }
  if (sandbox.timedOut) {
    const fix = platform === 'kvm'
      ? `if /dev/kvm does not work on this node (runsc's KVM platform was seen to hang on such a node), use GvisorPlatform.SYSTRAP (PTRACE for runsc releases before ${SYSTRAP_FIRST_RELEASE})`
      : 'use another GvisorPlatform, or look at the node\'s load';
    return `runsc ${release} on this node did not finish a test sandbox with ${platformName} within ${Math.round(timeoutMs / 1000)} s: ${fix}`;
  }
  return `runsc ${release} on this node cannot run a test sandbox with ${platformName} and the runtime's flags `
    + `(${shown} ${doArgs.join(' ')}: ${lastLines(sandbox.stderr) || failureText(sandbox)})`
    + `: ${platform === 'kvm' ? 'the KVM platform needs a working /dev/kvm; use GvisorPlatform.SYSTRAP there' : 'fix the runtime\'s platform or runscFlags'}`;
}

function systrapMissing(release: string): string {
  return `runsc ${release} on this node does not know platform "systrap" (gVisor added it in release-${SYSTRAP_FIRST_RELEASE}): `
    + `use GvisorPlatform.PTRACE (or KVM on nodes with a working /dev/kvm), or install a gVisor release from ${isoDate(SYSTRAP_FIRST_RELEASE)} (release-${SYSTRAP_FIRST_RELEASE}) or later`;
}

function isoDate(release: string): string {
  return `${release.slice(0, 4)}-${release.slice(4, 6)}-${release.slice(6, 8)}`;
}

function failureText(outcome: Outcome): string {
  if (outcome.spawnError) return outcome.spawnError;
  if (outcome.timedOut) return 'timed out';
  return lastLines(outcome.stderr) || `exit status ${outcome.status}`;
}

/** The last few non-empty lines of runsc's stderr, without its usage text and log prefixes. */
function lastLines(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^[WIE]\d{4} /.test(l));
  return lines.slice(-3).join(' / ');
}

/**
 * Run `command + args`; on timeout SIGTERM (runsc then tears its sandbox down), SIGKILL 5 s later.
 */
function run(command: string[], args: string[], timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command[0], [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    }, timeoutMs);
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve(outcome);
    };
    child.on('error', (e) => finish({ status: null, stdout, stderr, timedOut, spawnError: e.message }));
    child.on('close', (status) => finish({ status, stdout, stderr, timedOut }));
  });
}
