import * as fs from 'fs';

/**
 * Named steps of the agent's transaction. Every write, rename, restart and label goes through
 * `step(name)` first, so that a test can list the steps (AGENT_TRACE: a file that receives one
 * name per line) and kill the agent with SIGKILL just before any one of them
 * (AGENT_CRASH_AT: a step name, optionally `#n` for its n-th occurrence, or `@k` for the k-th
 * step of the run). Both variables are for tests; in a DaemonSet they are unset.
 */
let counter = 0;
const seen = new Map<string, number>();

export function step(name: string): void {
  counter++;
  const occurrence = (seen.get(name) ?? 0) + 1;
  seen.set(name, occurrence);
  const trace = process.env.AGENT_TRACE;
  if (trace) fs.appendFileSync(trace, `${name}\n`);
  const crashAt = process.env.AGENT_CRASH_AT;
  if (crashAt && (crashAt === name || crashAt === `${name}#${occurrence}` || crashAt === `@${counter}`)) {
    process.kill(process.pid, 'SIGKILL');
  }
}
