/**
 * The node-setup pod's readiness probe, run as the kubelet runs it (`node probe.js` from the
 * ConfigMap, the container's STATE_DIR): it passes only while the agent's last verification
 * stands, and prints why not otherwise.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { testSpec } from './helpers';
import { renderNodeAgentFiles } from '../../src/node-setup/node-agent-files';

let dir: string;
let stateDir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-test-'));
  stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir);
  for (const [key, text] of Object.entries(renderNodeAgentFiles(testSpec()))) fs.writeFileSync(path.join(dir, key), text);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function probe(): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [path.join(dir, 'probe.js')], { env: { STATE_DIR: stateDir }, encoding: 'utf8' });
  return { status: r.status, output: r.stdout.trim() };
}

test('a verification that still stands: ready', () => {
  fs.writeFileSync(path.join(stateDir, 'ready'), `ready: runc-test\nvalid until: ${new Date(Date.now() + 60_000).toISOString()}\n`);
  expect(probe()).toEqual({ status: 0, output: 'ready: runc-test' });
});

test('a verification that expired (the agent stopped re-checking): not ready, with when', () => {
  const then = new Date(Date.now() - 1_000).toISOString();
  fs.writeFileSync(path.join(stateDir, 'ready'), `ready: runc-test\nvalid until: ${then}\n`);
  expect(probe()).toEqual({ status: 1, output: `not ready: the last verification expired at ${then} (the agent has not re-checked since)` });
});

test('no ready file: not ready, with the agent\'s reason', () => {
  fs.writeFileSync(path.join(stateDir, 'not-ready'), 'a pod sandbox with runtime handler runc-test failed to start: boom\n');
  expect(probe()).toEqual({ status: 1, output: 'not ready: a pod sandbox with runtime handler runc-test failed to start: boom' });
});

test('nothing written yet: not ready', () => {
  expect(probe()).toEqual({ status: 1, output: 'not ready: no verification yet' });
});

test('a one-shot run (no period): ready while the file exists', () => {
  fs.writeFileSync(path.join(stateDir, 'ready'), 'ready: runc-test\n');
  expect(probe().status).toBe(0);
});
