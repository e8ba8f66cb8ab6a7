/**
 * After install the agent waits; on SIGTERM it uninstalls only with evidence that the
 * DaemonSet no longer wants this node. The evidence comes from a recording kubectl stand-in that
 * returns canned answers (STANDIN_DS, STANDIN_NODE_SELECTED).
 */
import * as fs from 'fs';
import * as path from 'path';
import { corpus, TestNode } from './helpers';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

interface TermCase {
  readonly env: { [key: string]: string };
  readonly uninstalls: boolean;
}

const CASES: Array<[string, TermCase]> = [
  ['DaemonSet still present and selecting the node: no uninstall', { env: {}, uninstalls: false }],
  ['DaemonSet NotFound: uninstall', { env: { STANDIN_DS: 'notfound' }, uninstalls: true }],
  ['DaemonSet being deleted (deletionTimestamp): uninstall', { env: { STANDIN_DS: 'deleting' }, uninstalls: true }],
  ['API server unreachable: no uninstall', { env: { STANDIN_DS: 'error' }, uninstalls: false }],
  ['node no longer matches the nodeSelector: uninstall', { env: { STANDIN_NODE_SELECTED: 'no' }, uninstalls: true }],
  ['reading the node fails: no uninstall', { env: { STANDIN_NODE_SELECTED: 'error' }, uninstalls: false }],
];

describeIfContainerd('node agent on SIGTERM (recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test.each(CASES)('%s', async (_name, c) => {
    const node = new TestNode();
    let run: ReturnType<TestNode['spawn']> | undefined;
    try {
      const original = corpus('containerd-1.6-default.toml');
      node.root.write(CONFIG, original);
      run = node.spawn({ env: { ONESHOT: undefined, ...c.env }, timeoutMs: 30_000 });
      await waitFor('the ready file', () => fs.existsSync(path.join(node.stateDir, 'ready')));
      const installed = node.bytes(CONFIG)!.toString();
      expect(installed).toContain('# BEGIN cdk8s-runtimeclass test-setup');
      node.clearCalls();

      run.child.kill('SIGTERM');
      const result = await run.done;
      expect(result.status).toBe(0);
      const calls = node.calls();
      expect(calls[0]).toBe('kubectl get daemonset test-setup-node-setup -n runtimeclass-system -o jsonpath={.metadata.deletionTimestamp}');
      if (c.uninstalls) {
        expect(node.bytes(CONFIG)!.toString()).toBe(original);
        expect(calls).toContain('kubectl label node node-1 runtimeclass.cdk8s.io/runc-test-');
        expect(calls[calls.length - 2]).toBe('systemctl restart containerd');
        expect(result.stderr).toContain('[test-setup] uninstalled');
      } else {
        expect(node.bytes(CONFIG)!.toString()).toBe(installed);
        expect(calls.filter(l => l.startsWith('kubectl label') || l.startsWith('systemctl'))).toEqual([]);
        expect(result.stderr).toMatch(/keeping the runtimes installed|leaving the runtimes installed/);
      }
    } finally {
      if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await node.cleanup();
    }
  });

  test('SIGTERM while installing: the install completes first, then the decision is made', async () => {
    const node = new TestNode();
    let run: ReturnType<TestNode['spawn']> | undefined;
    try {
      node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
      // The restart takes a while: SIGTERM arrives in the middle of the install.
      run = node.spawn({ env: { ONESHOT: undefined, STANDIN_ON_RESTART: 'sleep 1' }, timeoutMs: 30_000 });
      await waitFor('the restart', () => node.restarts().length > 0);
      run.child.kill('SIGTERM');
      const result = await run.done;
      expect(result.status).toBe(0);
      expect(node.labelCalls()).toEqual([
        'kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu-',
        'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test=ready --overwrite',
      ]);
      expect(node.bytes(CONFIG)!.toString()).toContain('# BEGIN cdk8s-runtimeclass test-setup');
      expect(result.stderr).toContain('leaving the runtimes installed');
    } finally {
      if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await node.cleanup();
    }
  });
});
