/**
 * What the ready label rests on: a check pod sandbox of each handler, started by the node's own
 * containerd (real, restarted by the agent through the systemctl stand-in), on the node's pod
 * network (a real CNI bridge). Failures take the label away at once; a long-running agent
 * re-checks on its period and after every restart of the runtime, and its readiness probe
 * follows. The API server is played by the recording kubectl stand-in.
 */
import { ChildProcess, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { corpus, loadedHandlers, NODE_NAME, RUNC_TEST, RunResult, STAND_IN, testSpec, TestNode } from './helpers';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';
import { CriClient } from '../support/cri-client';
import { TEST_CNI_CONFLIST } from '../support/host-root';

const CONFIG = '/etc/containerd/config.toml';
const LABEL = 'runtimeclass.cdk8s.io/runc-test';
const READY = `kubectl label node ${NODE_NAME} ${LABEL}=ready --overwrite`;
const UNLABEL = `kubectl label node ${NODE_NAME} ${LABEL}-`;

let node: TestNode;
afterEach(async () => {
  await node?.cleanup();
});

function socketOf(n: TestNode): string {
  return n.root.resolve('/run/containerd/containerd.sock');
}

async function checkSandboxesOn(n: TestNode): Promise<any[]> {
  const cri = new CriClient(socketOf(n));
  try {
    return (await cri.listPodSandbox()).filter((s) => s.labels?.['runtimeclass.cdk8s.io/check'] === 'test-setup');
  } finally {
    cri.close();
  }
}

/** The readiness probe as the DaemonSet declares it: `node probe.js` with the container's STATE_DIR. */
function probe(n: TestNode): { ok: boolean; output: string } {
  const r = spawnSync(process.execPath, [path.join(n.cmDir, 'probe.js')], { env: { STATE_DIR: n.stateDir }, encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout.trim() };
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopAgent(child: ChildProcess, done: Promise<RunResult>): Promise<RunResult> {
  child.kill('SIGTERM');
  return done;
}

describeIfContainerd('readiness is a real check sandbox (real containerd 1.6, CNI bridge; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('the label follows a check sandbox that reached SANDBOX_READY on the pod network, and the sandbox is removed', async () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const r = node.install();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/runtime handler runc-test: a check sandbox reached SANDBOX_READY in \d+ ms/);
    expect(node.labelCalls()).toEqual([READY]);
    // The check sandbox ran through runc-test and got a pod IP from the node's CNI bridge.
    const log = fs.readFileSync(path.join(node.standInDir, 'runtime.log'), 'utf8');
    expect(log).toMatch(/RunPodSandbox for &PodSandboxMetadata\{Name:runtimeclass-check-runc-test,Uid:[0-9a-f-]+,Namespace:runtimeclass-system/);
    expect(log).toMatch(/runtimeclass-check-runc-test.*returns sandbox id/);
    expect(await checkSandboxesOn(node)).toEqual([]);
    expect(probe(node)).toEqual({ ok: true, output: 'ready: runc-test' });
  });

  test('a handler whose binary is gone after install: the re-run removes the label and says the runtime\'s own error', async () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    expect(node.install().status).toBe(0);
    node.clearCalls();
    // The node loses runc-test (a package removed, a node image upgraded): containerd still lists the handler.
    fs.rmSync(path.join(node.standInDir, 'local-bin', 'runc-test'));
    const again = node.install();
    expect(again.status).toBe(1);
    expect(loadedHandlers(node)).toContain('runc-test');
    expect(again.stderr).not.toContain('does not serve');
    expect(node.labelCalls()).toEqual([UNLABEL]);
    expect(node.restarts()).toEqual([]);
    const reason = node.readiness().reason!;
    expect(reason).toMatch(/^a pod sandbox with runtime handler runc-test failed to start: .*\/usr\/local\/bin\/runc-test.*(no such file|not found)/i);
    expect(reason).toMatch(/The node is not labelled ready for runc-test$/);
    expect(probe(node).ok).toBe(false);
    expect(await checkSandboxesOn(node)).toEqual([]);
  });

  test('a handler containerd serves whose binary was never installed: installed and served, never labelled (the label only removed), not ready with the runtime\'s own error; once the binary is there, the next run labels without a restart', async () => {
    node = new TestNode(testSpec({ handlers: [{ ...RUNC_TEST, options: { BinaryName: '/usr/local/bin/runc-gone' } }] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const r = node.install();
    expect(r.status).toBe(1);
    expect(node.restarts()).toEqual(['systemctl restart containerd']);
    // containerd loaded the handler and lists it: only the check sandbox can tell.
    expect(loadedHandlers(node)).toContain('runc-test');
    expect(r.stderr).not.toContain('does not serve');
    expect(node.labelCalls()).toEqual([UNLABEL]);
    const reason = node.readiness().reason!;
    expect(reason).toMatch(/^a pod sandbox with runtime handler runc-test failed to start: .*\/usr\/local\/bin\/runc-gone.*(no such file|not found)/i);
    expect(reason).toMatch(/The node is not labelled ready for runc-test$/);
    expect(probe(node)).toEqual({ ok: false, output: expect.stringContaining('runc-gone') });
    expect(await checkSandboxesOn(node)).toEqual([]);

    // The binary arrives in the node's /usr/local/bin: the next run restarts nothing and labels.
    fs.symlinkSync(fs.readlinkSync(path.join(node.standInDir, 'local-bin', 'runc-test')), path.join(node.standInDir, 'local-bin', 'runc-gone'));
    node.clearCalls();
    const again = node.install();
    expect({ status: again.status, stderr: again.status === 0 ? '' : again.stderr }).toEqual({ status: 0, stderr: '' });
    expect(node.restarts()).toEqual([]);
    expect(node.labelCalls()).toEqual([READY]);
    expect(probe(node)).toEqual({ ok: true, output: 'ready: runc-test' });
  });

  test('killed while its check sandbox runs: the next run removes the leftover before it checks again', async () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    const killed = node.install({ env: { AGENT_CRASH_AT: 'sandbox-remove:runc-test' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(node.labelCalls()).toEqual([]);
    const left = await checkSandboxesOn(node);
    expect(left).toHaveLength(1);
    expect(left[0].metadata.name).toBe('runtimeclass-check-runc-test');
    const again = node.install();
    expect(again.status).toBe(0);
    expect(again.stderr).toContain(`removing check sandbox ${left[0].id} left by an earlier run`);
    expect(await checkSandboxesOn(node)).toEqual([]);
    expect(node.labelCalls()).toEqual([READY]);
  });

  test('no pod network (no CNI config): the agent waits, says so, and does not label', () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    fs.rmSync(node.root.resolve(TEST_CNI_CONFLIST));
    const r = node.install({ env: { VERIFY_TIMEOUT: '3' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the container runtime reports its pod network not ready \(NetworkPluginNotReady: .*cni.*\): waiting for it before running the check sandboxes/);
    expect(node.readiness().reason).toMatch(/^the container runtime reports its pod network not ready .*; waited 3s\. A pod network plugin \(CNI\) must be installed/);
    expect(node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'))).toEqual([]);
  });

  test('long-running: a containerd reverted to the node\'s own config loses the label within seconds, the probe fails, and the retry restores both', async () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const { child, done } = node.spawn({ action: 'install', env: { ONESHOT: undefined, RECHECK_PERIOD: '2' }, timeoutMs: 120_000 });
    try {
      await until('the first label', () => node.labelCalls().includes(READY), 60_000);
      await until('the probe passes', () => probe(node).ok, 10_000);
      // Configuration management puts the node's own file back and restarts containerd.
      const installed = node.root.read(CONFIG);
      node.clearCalls();
      node.root.write(CONFIG, original);
      const restart = spawnSync('/bin/sh', [STAND_IN, 'systemctl', 'restart', 'containerd'], { env: { ...node.env(), STANDIN_LOG: path.join(node.dir, 'outside.log') } });
      expect(restart.status).toBe(0);
      await until('the label is removed', () => node.calls().includes(UNLABEL), 15_000);
      expect(probe(node).ok).toBe(false);
      expect(node.readiness().reason).toMatch(/^containerd does not serve runtime handler\(s\) runc-test/);
      // The retry finds the file changed, applies it again and restarts once; the label comes back.
      await until('the label is back', () => node.calls().lastIndexOf(READY) > node.calls().indexOf(UNLABEL), 60_000);
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
      expect(node.root.read(CONFIG)).toBe(installed);
      await until('the probe passes again', () => probe(node).ok, 10_000);
    } finally {
      const r = await stopAgent(child, done);
      expect(r.stderr).toContain('SIGTERM');
    }
  });

  test('long-running: a restart that does not serve the handler is rolled back once, the label stays off, and retries restart nothing', async () => {
    node = new TestNode(testSpec({ handlers: [testSpec().handlers[0]] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    // The node's containerd comes back on its old configuration, whatever the file says.
    const frozen = path.join(node.dir, 'frozen.toml');
    fs.writeFileSync(frozen, corpus('containerd-1.6-default.toml'));
    const env = { ONESHOT: undefined, RECHECK_PERIOD: '2', VERIFY_TIMEOUT: '2', STANDIN_CONFIG: '/frozen.toml' };
    node.root.write('/frozen.toml', corpus('containerd-1.6-default.toml'));
    const { child, done } = node.spawn({ action: 'install', env, timeoutMs: 120_000 });
    let result: RunResult | undefined;
    const notReady = path.join(node.stateDir, 'not-ready');
    const written = () => (fs.existsSync(notReady) ? fs.statSync(notReady).mtimeMs : 0);
    try {
      await until('a retry that refuses to apply the rolled-back change again', () => node.readiness().reason?.includes('not applied again') ?? false, 60_000);
      const first = written();
      await until('one more retry', () => written() > first, 30_000);
    } finally {
      result = await stopAgent(child, done);
    }
    // Apply and roll back: two restarts, then none, however many retries.
    expect(node.restarts()).toEqual(['systemctl restart containerd', 'systemctl restart containerd']);
    expect(node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'))).toEqual([]);
    expect(result.stderr).toContain('not applied again, since the same change was rolled back before: fix the node, then delete this node-setup pod to try again');
    expect(node.root.read(CONFIG)).toBe(corpus('containerd-1.6-default.toml'));
  });
});
