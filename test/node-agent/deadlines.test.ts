/**
 * The agent's API calls against a server that answers slowly, and where label changes happen
 * relative to the node lock. The API server is the local HTTPS recorder (`api-server.ts`); the
 * lock is looked at from outside, with flock(1) on the lock file, at the moment each PATCH arrives.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { corpus, testSpec, TestNode, stopRuntime } from './helpers';
import { LOCK_FILE } from '../../src/node-agent/lock';
import { RecordingApiServer } from '../support/api-server';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeIfContainerd('API calls: a total deadline each, and label changes only under the node lock', () => {
  let node: TestNode;
  let api: RecordingApiServer;
  let env: { [key: string]: string | undefined };
  beforeAll(() => assertContainerdAvailable());
  beforeEach(async () => {
    api = new RecordingApiServer();
    const port = await api.start();
    node = new TestNode();
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    env = { KUBECTL: undefined, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port), SERVICE_ACCOUNT_DIR: api.accountDir('token-1') };
  });
  afterEach(async () => {
    await node.cleanup();
    await api.stop();
  });

  const patches = () => api.calls.filter((c) => c.method === 'PATCH');

  test('API calls have only an idle timeout: a trickling response (a byte a second) fails at the deadline, and the lock is released for another setup', async () => {
    api.trickle = { method: 'PATCH', everyMs: 1000 };
    const other = node.writeConfigMap(testSpec({ setupName: 'other-setup', handlers: [] }), {}, path.join(node.dir, 'cm-other'));
    const first = node.spawn({ env: { ...env, API_TIMEOUT: '3' }, timeoutMs: 150_000 });
    // Its first label change (kata-qemu's removal: no /dev/kvm here), made under the lock.
    await until('the first PATCH', () => patches().length > 0);
    const patchedAt = Date.now();
    // Another setup (labels through KUBECTL, not the slow server) waits for the lock.
    const second = await node.spawn({ cmDir: other, env: { LOCK_TIMEOUT: '40' } }).done;
    const secondDone = Date.now();
    expect(second.stderr).not.toMatch(/has held \/run\/cdk8s-runtimeclass.lock/);
    expect(second.status).toBe(0);
    const result = await first.done;
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('could not remove label runtimeclass.cdk8s.io/kata-qemu from node node-1: PATCH /api/v1/nodes/node-1: no complete answer within 3s');
    // The failed run then removes both labels, each call again bounded: three deadlines in all,
    // not the minutes the trickle would take.
    expect(patches()).toHaveLength(3);
    expect(secondDone - patchedAt).toBeLessThan(3 * 3000 + 10_000);
  }, 120_000);

  test('Labels are removed outside the lock in one path (agent.ts): every label change, in every path, arrives while the agent holds the node lock', async () => {
    const lockFile = node.root.resolve(LOCK_FILE);
    const outside: string[] = [];
    api.onCall = (call) => {
      if (call.method !== 'PATCH') return;
      // flock -n succeeds only while no agent holds the lock.
      if (spawnSync('flock', ['-n', '-x', lockFile, 'true']).status === 0) outside.push(JSON.stringify(call.body));
    };
    const counts: { [path: string]: number } = {};
    const count = async (name: string, run: () => Promise<unknown>) => {
      const before = patches().length;
      await run();
      counts[name] = patches().length - before;
    };

    // An install: kata-qemu's label removed (not offered without /dev/kvm), runc-test's set.
    await count('install', async () => expect((await node.spawn({ env }).done).status).toBe(0));
    // A label PATCH refused (RBAC): the failed run removes every label of the setup.
    api.patchStatus = 403;
    await count('refused patch', async () => expect((await node.spawn({ env }).done).status).toBe(1));
    api.patchStatus = 200;
    // A run that fails before it takes the lock (its download fails): its labels go all the same.
    node.writeConfigMap(testSpec({
      artifacts: [{ arch: 'any', source: 'url', location: `file://${path.join(node.dir, 'missing')}`, sha512: '0'.repeat(128), destination: '/opt/missing/bin/missing' }],
    }));
    await count('failed download', async () => expect((await node.spawn({ env }).done).status).toBe(1));
    node.writeConfigMap(testSpec());
    // A running agent: installs, re-checks, loses the runtime (the re-check removes the label),
    // then SIGTERM with its DaemonSet gone (uninstall removes the labels first).
    const agent = node.spawn({ env: { ...env, ONESHOT: undefined, RECHECK_PERIOD: '1' }, timeoutMs: 90_000 });
    await count('running install', () => until('the ready file', () => fs.existsSync(path.join(node.stateDir, 'ready'))));
    await count('failed re-check', async () => {
      const before = patches().length;
      stopRuntime(node);
      await until('the re-check to remove the label', () => patches().length > before);
    });
    await count('uninstall by SIGTERM', async () => {
      api.daemonSet = 'gone';
      agent.child.kill('SIGTERM');
      const result = await agent.done;
      expect(result.stderr).toContain('DaemonSet runtimeclass-system/test-setup-node-setup no longer exists');
      expect(result.status).toBe(0);
    });
    await count('ACTION=uninstall', async () => expect((await node.spawn({ action: 'uninstall', env }).done).status).toBe(0));

    // Every path made label changes (else this proves nothing), and none came while the lock was free.
    for (const [name, n] of Object.entries(counts)) expect([name, n > 0]).toEqual([name, true]);
    expect(outside).toEqual([]);
  }, 150_000);
});
