/**
 * The node-setup pod's readiness probe (`node probe.js`, run by the kubelet in the agent's
 * container): ready while the agent's last verification of the node stands, that is while
 * STATE_DIR/ready exists and its "valid until" time has not passed. The agent rewrites it after
 * every re-check and removes it on any failure, so a stuck or failing agent turns the pod
 * not ready within two periods. Prints the not-ready reason for `kubectl describe pod`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { READY_UNTIL } from './log';

function probe(stateDir: string, now: number): { ok: boolean; message: string } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, 'ready'), 'utf8');
  } catch {
    let reason = 'no verification yet';
    try {
      reason = fs.readFileSync(path.join(stateDir, 'not-ready'), 'utf8').trim();
    } catch {
      // no reason written yet
    }
    return { ok: false, message: `not ready: ${reason}` };
  }
  const line = text.split('\n').find((l) => l.startsWith(READY_UNTIL));
  if (line !== undefined) {
    const until = Date.parse(line.slice(READY_UNTIL.length));
    if (!(until > now)) return { ok: false, message: `not ready: the last verification expired at ${line.slice(READY_UNTIL.length)} (the agent has not re-checked since)` };
  }
  return { ok: true, message: text.split('\n')[0] };
}

const result = probe(process.env.STATE_DIR || '/run/runtimeclass-setup', Date.now());
process.stdout.write(`${result.message}\n`);
process.exit(result.ok ? 0 : 1);
