/**
 * The node agent talking to the Kubernetes API itself (no KUBECTL): with the pod's projected
 * service-account token and CA, over HTTPS. The API server cannot run here: a local HTTPS
 * recorder stands in for it, answering the few calls the agent makes and recording them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { corpus, TestNode } from './helpers';
import { RecordingApiServer } from '../support/api-server';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';

describeIfContainerd('node agent and the API server, with the pod\'s token (local HTTPS recorder standing in for the API server)', () => {
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

  test('labels the node with merge patches signed by the token, checking the server against the CA', async () => {
    const run = await node.spawn({ env }).done;
    expect(run.status).toBe(0);
    // kata-qemu is not offered without /dev/kvm: its label is removed (null), runc-test's set.
    expect(api.calls).toEqual([['kata-qemu', null], ['runc-test', 'ready']].map(([h, value]) => ({
      method: 'PATCH',
      path: '/api/v1/nodes/node-1',
      authorization: 'Bearer token-1',
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [`runtimeclass.cdk8s.io/${h}`]: value } } },
    })));
    expect(api.nodeLabels('node-1')).toEqual({ 'kubernetes.io/os': 'linux', 'runtimeclass.cdk8s.io/runc-test': 'ready' });
  });

  test('reads the token again for every call (projected tokens rotate); uninstall removes the labels with null', async () => {
    expect((await node.spawn({ env }).done).status).toBe(0);
    fs.writeFileSync(path.join(env.SERVICE_ACCOUNT_DIR!, 'token'), 'token-2\n');
    api.calls.length = 0;
    expect((await node.spawn({ action: 'uninstall', env }).done).status).toBe(0);
    expect(api.calls.map((c) => [c.method, c.authorization, c.body])).toEqual(['runc-test', 'kata-qemu'].map((h) => [
      'PATCH', 'Bearer token-2', { metadata: { labels: { [`runtimeclass.cdk8s.io/${h}`]: null } } },
    ]));
    expect(node.bytes(CONFIG)!.toString()).toBe(corpus('containerd-1.6-default.toml'));
  });

  test('on SIGTERM reads its own DaemonSet: gone (404), so it uninstalls', async () => {
    const run = node.spawn({ env: { ...env, ONESHOT: undefined } });
    for (let i = 0; i < 400 && !fs.existsSync(path.join(node.stateDir, 'ready')); i++) await new Promise((r) => setTimeout(r, 50));
    api.daemonSet = 'gone';
    api.calls.length = 0;
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('DaemonSet runtimeclass-system/test-setup-node-setup no longer exists');
    expect(api.calls[0]).toEqual({ method: 'GET', path: '/apis/apps/v1/namespaces/runtimeclass-system/daemonsets/test-setup-node-setup', authorization: 'Bearer token-1', contentType: undefined, body: undefined });
    expect(api.calls.filter((c) => c.method === 'PATCH')).toHaveLength(2);
    expect(node.bytes(CONFIG)!.toString()).toBe(corpus('containerd-1.6-default.toml'));
  });

  test('a refused patch (RBAC) keeps the node unlabelled, with the API server\'s message as the reason', async () => {
    api.patchStatus = 403;
    expect((await node.spawn({ env }).done).status).toBe(1);
    // The first patch is the removal of kata-qemu's label (not offered without /dev/kvm).
    expect(node.readiness().reason).toBe('could not remove label runtimeclass.cdk8s.io/kata-qemu from node node-1: PATCH /api/v1/nodes/node-1: HTTP 403: '
      + 'nodes "node-1" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "nodes" (check the node setup\'s RBAC: nodes get/patch)');
  });

  test('without a token: the reason says where it looked', async () => {
    const run = await node.spawn({ env: { ...env, SERVICE_ACCOUNT_DIR: path.join(api.dir, 'missing') } }).done;
    expect(run.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^could not remove label runtimeclass.cdk8s.io\/kata-qemu from node node-1: cannot read the service-account token in .*\/missing: ENOENT/);
  });
});
