/**
 * The node setup's admission policy, evaluated with a real CEL implementation against admission
 * requests as the API server builds them for a node update (a patch is an UPDATE there): the
 * agent's token may change only its own node, and only labels under runtimeclass.cdk8s.io/.
 */
import { Chart, Testing } from 'cdk8s';
import { CrunRuntime, NodeSetup } from '../../src';
import { ApiServer } from '../../src/node-agent/kube';
import { validationErrors } from '../core/support';
import { evaluatedExpressions, expressionsIn, Request, validate } from '../policy/cel-harness';
import { RecordingApiServer } from '../support/api-server';

const AGENT = 'system:serviceaccount:runtimeclass-system:crun-node-setup';
const NODE_NAME_CLAIM = 'authentication.kubernetes.io/node-name';

/** The setup's manifests, in a chart with a namespace (the policy is cluster-scoped all the same). */
function synth(props: { nodeScopedRights?: boolean } = {}): { manifests: any[]; setup: NodeSetup; errors: string[] } {
  const app = Testing.app();
  const chart = new Chart(app, 'cluster', { namespace: 'apps' });
  const setup = new NodeSetup(chart, 'setup', { name: 'crun-node-setup', ...props });
  new CrunRuntime(chart, 'crun', { nodeSetup: setup });
  return { manifests: Testing.synth(chart), setup, errors: validationErrors(app) };
}

// Synthesized again before each test, inside it, so that a coverage tool (Stryker) sees which tests run the policy's code.
let manifests: any[];
let setup: NodeSetup;
let errors: string[];
let policy: any;
let binding: any;
beforeEach(() => {
  ({ manifests, setup, errors } = synth());
  policy = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicy');
  binding = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding');
});

/** A node as the API server stores it, with labels the kubelet and the cloud set. */
function node(name: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'node.kubernetes.io/instance-type': 'm5.large' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { podCIDR: '10.244.1.0/24', providerID: `aws:///eu-west-1a/${name}` },
    status: { nodeInfo: { containerRuntimeVersion: 'containerd://1.6.20' } },
  };
}

/** RFC 7386 JSON merge patch, as the API server applies the agent's `application/merge-patch+json`. */
function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** The admission request for `patch` on `nodeName`, sent with a token from a pod on `fromNode`. */
function patchOf(nodeName: string, patch: any, options: { fromNode?: string | null; username?: string; before?: any } = {}): Request {
  const oldObject = options.before ?? node(nodeName);
  const fromNode = options.fromNode === undefined ? 'node-a' : options.fromNode;
  const extra: { [key: string]: string[] } = {
    'authentication.kubernetes.io/pod-name': ['crun-node-setup-x7k2p'],
    'authentication.kubernetes.io/pod-uid': ['4c1b6a2e-0000-4000-8000-000000000001'],
  };
  if (fromNode !== null) extra[NODE_NAME_CLAIM] = [fromNode];
  return {
    operation: 'UPDATE',
    object: mergePatch(oldObject, patch),
    oldObject,
    namespace: '',
    userInfo: { username: options.username ?? AGENT, groups: ['system:serviceaccounts', 'system:serviceaccounts:runtimeclass-system', 'system:authenticated'], extra },
  };
}

const ready = { metadata: { labels: { 'runtimeclass.cdk8s.io/crun': 'ready' } } };

describe('Any node\'s root can patch every node: the agent\'s token may change only its own node\'s runtimeclass.cdk8s.io/ labels', () => {
  test('the setup emits the policy and its binding, cluster-scoped, failing closed, matching the agent\'s service account only', () => {
    expect(errors).toEqual([]);
    expect(setup.nodeScopePolicy.map((o) => [o.kind, o.name])).toEqual([
      ['ValidatingAdmissionPolicy', 'crun-node-setup-own-node'],
      ['ValidatingAdmissionPolicyBinding', 'crun-node-setup-own-node'],
    ]);
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.metadata).not.toHaveProperty('namespace');
    expect(binding.metadata).not.toHaveProperty('namespace');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes'] }]);
    expect(policy.spec.matchConditions).toEqual([{ name: 'from-the-node-agent', expression: `request.userInfo.username == "${AGENT}"` }]);
    expect(binding.spec).toEqual({ policyName: 'crun-node-setup-own-node', validationActions: ['Deny'] });
  });

  test('own node, own label: setting and removing the ready label is allowed', () => {
    expect(validate(policy, binding, patchOf('node-a', ready))).toEqual({ result: 'passed' });
    const labelled = mergePatch(node('node-a'), ready);
    expect(validate(policy, binding, patchOf('node-a', { metadata: { labels: { 'runtimeclass.cdk8s.io/crun': null } } }, { before: labelled }))).toEqual({ result: 'passed' });
    // A node without any label yet.
    const bare = node('node-a');
    delete bare.metadata.labels;
    expect(validate(policy, binding, patchOf('node-a', ready, { before: bare }))).toEqual({ result: 'passed' });
  });

  test('the agent\'s own PATCHes (its API client, through a local HTTPS recorder) pass: set, then remove, the ready label', async () => {
    const api = new RecordingApiServer({ nodes: { 'node-a': node('node-a').metadata.labels } });
    const port = await api.start();
    try {
      const client = new ApiServer('127.0.0.1', String(port), api.accountDir('token-1'));
      await client.setLabel('node-a', 'runtimeclass.cdk8s.io/crun', 'ready');
      await client.setLabel('node-a', 'runtimeclass.cdk8s.io/crun', undefined);
    } finally {
      await api.stop();
    }
    const patches = api.calls.filter((c) => c.method === 'PATCH');
    expect(patches.map((c) => [c.path, c.contentType])).toEqual(Array(2).fill(['/api/v1/nodes/node-a', 'application/merge-patch+json']));
    let current = node('node-a');
    for (const call of patches) {
      expect(validate(policy, binding, patchOf('node-a', call.body, { before: current }))).toEqual({ result: 'passed' });
      current = mergePatch(current, call.body);
    }
    expect(current.metadata.labels).toEqual(node('node-a').metadata.labels);
  });

  test('another node is denied, and the message names both nodes and the policy', () => {
    expect(validate(policy, binding, patchOf('node-b', ready))).toEqual({
      result: 'failed',
      actions: ['Deny'],
      messages: ['service account runtimeclass-system/crun-node-setup may change only the node its pod runs on; this request changes node node-b from a pod on node node-a (ValidatingAdmissionPolicy "crun-node-setup-own-node")'],
    });
  });

  test('a token without the node claim (a cluster older than 1.30, or a token not bound to a pod) is denied, and the message says what to do', () => {
    const decision = validate(policy, binding, patchOf('node-a', ready, { fromNode: null }));
    expect(decision).toMatchObject({ result: 'failed', actions: ['Deny'] });
    expect((decision as any).messages).toEqual([expect.stringContaining('with a token that carries no node-name claim (authentication.kubernetes.io/node-name: Kubernetes 1.30 or later, feature ServiceAccountTokenPodNodeInfo); on an older cluster set the NodeSetup\'s nodeScopedRights to false')]);
  });

  test.each([
    ['adding another label', { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }],
    ['changing another label', { metadata: { labels: { 'kubernetes.io/hostname': 'node-b' } } }],
    ['removing another label', { metadata: { labels: { 'node.kubernetes.io/instance-type': null } } }],
    ['a label whose key only looks like ours', { metadata: { labels: { 'runtimeclass.cdk8s.io.evil/crun': 'ready' } } }],
  ])('%s on its own node is denied', (_what, patch) => {
    expect(validate(policy, binding, patchOf('node-a', patch))).toEqual({
      result: 'failed',
      actions: ['Deny'],
      messages: ['service account runtimeclass-system/crun-node-setup may change only labels under runtimeclass.cdk8s.io/ on node node-a (ValidatingAdmissionPolicy "crun-node-setup-own-node")'],
    });
  });

  test.each([
    ['a taint', { spec: { taints: [{ key: 'evict', effect: 'NoExecute' }] } }],
    ['unschedulable (cordon)', { spec: { unschedulable: true } }],
  ])('%s on its own node, even with our label, is denied', (_what, patch) => {
    expect(validate(policy, binding, patchOf('node-a', mergePatch(ready, patch)))).toEqual({
      result: 'failed',
      actions: ['Deny'],
      messages: ['service account runtimeclass-system/crun-node-setup may not change the spec (taints, unschedulable) of node node-a (ValidatingAdmissionPolicy "crun-node-setup-own-node")'],
    });
  });

  test.each([
    ['an annotation', { metadata: { annotations: { 'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'true' } } }],
    ['removing an annotation', { metadata: { annotations: { 'node.alpha.kubernetes.io/ttl': null } } }],
    ['a finalizer', { metadata: { finalizers: ['example.com/hold'] } }],
    ['an owner reference (the garbage collector would delete the node)', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', uid: '00000000-0000-4000-8000-000000000000' }] } }],
  ])('%s on its own node is denied', (_what, patch) => {
    expect(validate(policy, binding, patchOf('node-a', patch))).toEqual({
      result: 'failed',
      actions: ['Deny'],
      messages: ['service account runtimeclass-system/crun-node-setup may not change the annotations, finalizers or owner references of node node-a (ValidatingAdmissionPolicy "crun-node-setup-own-node")'],
    });
  });

  test('several changes at once: every broken rule is reported', () => {
    const decision = validate(policy, binding, patchOf('node-b', { spec: { unschedulable: true }, metadata: { labels: { a: 'b' } } }));
    expect(decision).toMatchObject({ result: 'failed' });
    expect((decision as any).messages).toHaveLength(3);
  });

  test.each([
    ['the node\'s kubelet', 'system:node:node-a'],
    ['another service account', 'system:serviceaccount:kube-system:node-controller'],
    ['a cluster admin', 'kubernetes-admin'],
    ['the same account name in another namespace', 'system:serviceaccount:other:crun-node-setup'],
  ])('a request from %s is not matched', (_who, username) => {
    expect(validate(policy, binding, patchOf('node-b', { spec: { unschedulable: true } }, { username }))).toEqual({ result: 'skipped', falseConditions: ['from-the-node-agent'] });
  });

  test('every CEL expression of the policy was evaluated', () => {
    expect(expressionsIn(policy)).toHaveLength(9);
    const unevaluated = expressionsIn(policy).filter((e) => !evaluatedExpressions.has(e));
    expect(unevaluated).toEqual([]);
  });
});

describe('nodeScopedRights: false (clusters older than Kubernetes 1.30)', () => {
  test('emits no policy', () => {
    const off = synth({ nodeScopedRights: false });
    expect(off.errors).toEqual([]);
    expect(off.manifests.filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
    expect(off.setup.nodeScopePolicy).toEqual([]);
  });
});
