/**
 * The node lock with BusyBox's flock(1), the one `node:22-alpine` has (no `-w`): it is the only
 * `flock` on the agent's PATH here (beside `node` and the host's `chroot`, which the agent needs
 * to run the host's containerd). The lock is taken, a second agent waits while the first holds it
 * and proceeds after, and LOCK_TIMEOUT gives the "held" refusal.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { corpus, RunResult, TestNode } from './helpers';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { BUSYBOX, busyboxUnavailableReason } from '../support/image-root';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const HELD = /another cdk8s-runtimeclass node setup has held \/run\/cdk8s-runtimeclass.lock for more than 1s; it may be stuck/;

let binDir: string;

/** PATH: node, the host's chroot, and flock -> BusyBox. */
function busyboxPath(): string {
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'busybox-flock-bin-'));
  fs.symlinkSync(process.execPath, path.join(binDir, 'node'));
  fs.symlinkSync(['/usr/sbin/chroot', '/usr/bin/chroot'].find((p) => fs.existsSync(p))!, path.join(binDir, 'chroot'));
  fs.symlinkSync(BUSYBOX, path.join(binDir, 'flock'));
  return binDir;
}

function traceOf(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeIfContainerd('node lock with BusyBox flock(1) only (no -w)', () => {
  describeIfAvailable('BusyBox', busyboxUnavailableReason, () => {
    let node: TestNode;
    let env: { [key: string]: string };
    beforeAll(() => {
      assertContainerdAvailable();
      assertAvailable(busyboxUnavailableReason);
    });
    beforeEach(() => {
      node = new TestNode();
      node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
      env = { PATH: busyboxPath(), HOST_CONTAINERD: `chroot ${node.root.path} /usr/bin/containerd` };
      // The flock the agent finds is BusyBox's, which refuses -w.
      const w = spawnSync('flock', ['-x', '-w', '1', '0'], { env, encoding: 'utf8' });
      expect([w.status, w.stderr]).toEqual([1, expect.stringContaining("flock: invalid option -- 'w'")]);
    });
    afterEach(async () => {
      await node.cleanup();
      fs.rmSync(binDir, { recursive: true, force: true });
    });

    test('the lock is taken and the install completes', () => {
      const trace = path.join(node.dir, 'trace');
      const r = node.install({ env: { ...env, AGENT_TRACE: trace } });
      expect(r.stderr).toContain('waiting for the node lock (/run/cdk8s-runtimeclass.lock)');
      expect(r.status).toBe(0);
      expect(traceOf(trace)[0]).toBe('locked');
      // A one-shot run ends by saying where its time went; the parts add up to the whole.
      const m = /took (\d+) ms: (\d+) ms Node's start, (\d+) ms waiting on host programs, (\d+) ms on the runtime's CRI, (\d+) ms the agent's own \((\d+) ms of CPU after Node's start\)/.exec(r.stderr);
      expect(m).not.toBeNull();
      const [total, nodeStart, programs, runtime, own, cpu] = m!.slice(1).map(Number);
      expect(nodeStart).toBeGreaterThan(0);
      expect(programs).toBeGreaterThan(0);
      expect(runtime).toBeGreaterThan(0);
      expect(cpu).toBeGreaterThan(0);
      expect(Math.abs(nodeStart + programs + runtime + own - total)).toBeLessThanOrEqual(4);
    });

    test('a second agent waits while the first holds the lock, and proceeds once it is released', async () => {
      const firstTrace = path.join(node.dir, 'trace-1');
      const secondTrace = path.join(node.dir, 'trace-2');
      // The first holds the lock through a restart that takes 3 s.
      const first = node.spawn({ env: { ...env, AGENT_TRACE: firstTrace, STANDIN_ON_RESTART: 'sleep 3' } });
      await until('the first agent to lock', () => traceOf(firstTrace).includes('locked'));
      const second = node.spawn({ env: { ...env, AGENT_TRACE: secondTrace, LOCK_TIMEOUT: '60' } });
      let secondResult: RunResult | undefined;
      void second.done.then((r) => { secondResult = r; });
      await new Promise((r) => setTimeout(r, 1_500));
      expect(traceOf(secondTrace)).toEqual([]);
      expect(secondResult).toBeUndefined();
      const firstResult = await first.done;
      expect(firstResult.status).toBe(0);
      const firstDone = Date.now();
      const result = await second.done;
      expect(result.status).toBe(0);
      expect(traceOf(secondTrace)[0]).toBe('locked');
      // Polling backs off to at most a second.
      expect(Date.now() - firstDone).toBeLessThan(10_000);
    });

    test('while a second agent waits for the lock, it has already asked the host\'s containerd its version (not after)', async () => {
      const firstTrace = path.join(node.dir, 'trace-1');
      const calls = path.join(node.dir, 'containerd-calls');
      const wrapper = path.join(node.dir, 'containerd-wrapper.sh');
      fs.writeFileSync(wrapper, `echo "$*" >> ${calls}\nexec "$@"\n`);
      const first = node.spawn({ env: { ...env, AGENT_TRACE: firstTrace, STANDIN_ON_RESTART: 'sleep 3' } });
      await until('the first agent to lock', () => traceOf(firstTrace).includes('locked'));
      fs.rmSync(calls, { force: true });
      const second = node.spawn({ env: { ...env, LOCK_TIMEOUT: '60', HOST_CONTAINERD: `/bin/sh ${wrapper} ${env.HOST_CONTAINERD}` } });
      await until('the second agent to ask containerd its version', () => traceOf(calls).some((c) => c.endsWith('--version')), 2_500);
      // Still waiting: nothing else of containerd's has run for it yet.
      expect(traceOf(calls)).toEqual([`chroot ${node.root.path} /usr/bin/containerd --version`]);
      expect((await first.done).status).toBe(0);
      const result = await second.done;
      expect(result.status).toBe(0);
      // It used that answer: one --version in the whole run.
      expect(traceOf(calls).filter((c) => c.endsWith('--version'))).toHaveLength(1);
    });

    test('LOCK_TIMEOUT expires while another holds it: refused as held, not as "cannot run flock"', async () => {
      const firstTrace = path.join(node.dir, 'trace-1');
      const first = node.spawn({ env: { ...env, AGENT_TRACE: firstTrace, STANDIN_ON_RESTART: 'sleep 4' } });
      await until('the first agent to lock', () => traceOf(firstTrace).includes('locked'));
      const started = Date.now();
      const second = await node.spawn({ env: { ...env, LOCK_TIMEOUT: '1' } }).done;
      expect(second.status).toBe(1);
      expect(Date.now() - started).toBeLessThan(3_500);
      expect(second.stdout + second.stderr).toMatch(HELD);
      expect((await first.done).status).toBe(0);
    });

    test('a flock(1) that cannot take locks (Debian\'s busybox-static has no flock applet) is reported as such at once, not as held', () => {
      if (!fs.existsSync('/bin/busybox')) return;
      fs.rmSync(path.join(binDir, 'flock'));
      fs.symlinkSync('/bin/busybox', path.join(binDir, 'flock'));
      const started = Date.now();
      const r = node.install({ env: { ...env, LOCK_TIMEOUT: '20' } });
      expect(r.status).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(node.readiness().reason).toBe('cannot take the node lock /run/cdk8s-runtimeclass.lock: flock(1) is needed in the agent\'s image or on the host (flock: applet not found)');
    });
  });
});
