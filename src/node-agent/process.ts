import { spawn } from 'child_process';
import { waitingOn } from './waits';

/** What a command printed and how it ended. */
export interface CommandResult {
  /** Exit status; null when it was killed or could not start. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it could not start or was stopped (ENOENT, timeout), if so. */
  readonly failure?: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Kill the command after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Standard input. */
  readonly input?: string;
  /** Extra file descriptors passed to the child as fd 3, 4, ... */
  readonly extraFds?: number[];
}

/**
 * A command line from the environment (HOST_SYSTEMCTL, HOST_CONTAINERD, KUBECTL) split into
 * words: the contract gives them as plain words separated by spaces, without quoting.
 */
export function splitCommand(line: string): string[] {
  return line.split(/\s+/).filter((word) => word !== '');
}

/** Runs `argv` to completion without a shell; never throws. */
export function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return waitingOn('programs', new Promise((resolve) => {
    const stdio: Array<'pipe' | 'ignore' | number> = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(options.extraFds ?? [])];
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio });
    } catch (e: any) {
      resolve({ status: null, stdout: '', stderr: '', failure: e.message });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failure: string | undefined;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      failure = `timed out after ${Math.round(options.timeoutMs! / 1000)}s`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => { failure = e.message; });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      // A command that could not start closes with a negative errno: report it as not run.
      const status = failure !== undefined || code === null || code < 0 ? null : code;
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), failure });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  }));
}

/** The last meaningful lines of a command's error output, on one line (for messages). */
export function errorSummary(result: CommandResult, lines = 3): string {
  const text = [result.stderr, result.failure ?? ''].join('\n');
  const meaningful = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.includes('level=warning'));
  return meaningful.slice(-lines).join(' ') || `exit status ${result.status}`;
}
