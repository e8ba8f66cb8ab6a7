/**
 * Every CEL expression the admission constructs emit, evaluated with a real CEL implementation
 * against sample Pods, Deployments, CronJobs and other objects, in and out of scope.
 */
import { Testing } from 'cdk8s';
import { evaluatedExpressions, expressionsIn, mutate, Request, validate, validateAll } from './cel-harness';
import { configMap, cronJob, deployment, job, newChart, pod, replicationController, workload } from './fixtures';
import { RuntimeClass } from '../../src/core';
import {
  MutatingAdmissionPolicyVersion,
  NamespaceSelector,
  NamespaceSelectorOperator,
  PolicyAction,
  RuntimeClassDefault,
  RuntimeClassPolicy,
  RuntimeClassRestriction,
} from '../../src/policy';

/** Every manifest synthesized in this file, to check that all their expressions were evaluated. */
const synthesized: any[] = [];

function synth(build: (chart: any) => void): any[] {
  const { chart } = newChart('platform');
  build(chart);
  const manifests = Testing.synth(chart);
  synthesized.push(...manifests);
  return manifests;
}

function pairs(manifests: any[], policyKind: string, bindingKind: string): { policies: any[]; bindings: any[] } {
  const policies = manifests.filter((m) => m.kind === policyKind);
  const bindings = policies.map((p) => manifests.find((m) => m.kind === bindingKind && m.spec.policyName === p.metadata.name));
  return { policies, bindings };
}

const kata = RuntimeClass.fromName('kata-qemu', { limits: { allowHostNetwork: false, allowHostPid: false, allowHostIpc: false } });
const gvisor = RuntimeClass.fromName('gvisor', { limits: { allowHostNetwork: false } });
const tenants: NamespaceSelector = { matchLabels: { 'tenancy.example.com/tenant': 'true' } };
const TENANT = { 'tenancy.example.com/tenant': 'true' };

const create = (object: any, namespace = 'shop', namespaceLabels: any = TENANT): Request => ({ operation: 'CREATE', object, namespace, namespaceLabels });
const update = (oldObject: any, object: any, namespace = 'shop'): Request => ({ operation: 'UPDATE', object, oldObject, namespace, namespaceLabels: TENANT });

describe('RuntimeClassPolicy: allowed classes', () => {
  const { policies, bindings } = pairs(synth((chart) => new RuntimeClassPolicy(chart, 'sandboxed', {
    name: 'sandboxed',
    namespaceSelector: tenants,
    allowed: [kata, gvisor],
  })), 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding');
  const admit = (request: Request) => validateAll(policies, bindings, request);

  test('a pod with an allowed class passes', () => {
    expect(admit(create(pod('web', { runtimeClassName: 'kata-qemu' })))).toEqual([{ result: 'passed' }]);
    expect(admit(create(pod('web', { runtimeClassName: 'gvisor' })))).toEqual([{ result: 'passed' }]);
  });

  test('a pod with another class is denied, and the message names the pod, the class, the namespace and the allowed classes', () => {
    expect(admit(create(pod('web', { runtimeClassName: 'runc' })))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['Pod shop/web uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "sandboxed-pods"): set spec.runtimeClassName to one of: kata-qemu, gvisor'],
    }]);
  });

  test('a pod without runtimeClassName is denied', () => {
    expect(admit(create(pod('web')))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['Pod shop/web sets no runtimeClassName, which namespace shop requires (ValidatingAdmissionPolicy "sandboxed-pods"): set spec.runtimeClassName to one of: kata-qemu, gvisor'],
    }]);
  });

  test('a pod whose name is still to be generated is named by its prefix', () => {
    const generated = pod('', { runtimeClassName: 'runc' }, { generateName: 'web-7d9f8-' });
    delete generated.metadata.name;
    const [decision] = admit(create(generated));
    expect(decision).toMatchObject({ result: 'failed', messages: [expect.stringMatching(/^Pod shop\/web-7d9f8-\* uses RuntimeClass "runc"/)] });
    const unnamed = pod('', { runtimeClassName: 'runc' });
    expect(admit(create(unnamed))[0]).toMatchObject({ messages: [expect.stringMatching(/^Pod shop\/\(unnamed\) uses/)] });
  });

  test('pods in namespaces without the label are out of scope', () => {
    expect(admit(create(pod('web', { runtimeClassName: 'runc' }), 'kube-system', {}))).toEqual([]);
    expect(admit(create(pod('web'), 'other', { 'tenancy.example.com/tenant': 'false' }))).toEqual([]);
  });

  test('mirror pods are skipped: the kubelet runs static pods whatever the API says', () => {
    const mirror = pod('etcd-node1', {}, { annotations: { 'kubernetes.io/config.mirror': 'abc123' } });
    expect(admit(create(mirror))).toEqual([{ result: 'skipped', falseConditions: ['not-a-mirror-pod'] }]);
    const annotated = pod('web', {}, { annotations: { 'example.com/owner': 'team-a' } });
    expect(admit(create(annotated))[0]).toMatchObject({ result: 'failed' });
  });

  test('a pod without a spec is skipped, not an evaluation error', () => {
    const noSpec = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'odd' } };
    expect(admit(create(noSpec))).toEqual([{ result: 'skipped', falseConditions: ['has-pod-spec'] }]);
  });

  test('a Deployment with another class is denied on the Deployment itself', () => {
    expect(admit(create(deployment('checkout', { runtimeClassName: 'runc' })))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['Deployment shop/checkout uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "sandboxed-workloads"): set spec.template.spec.runtimeClassName to one of: kata-qemu, gvisor'],
    }]);
    expect(admit(create(deployment('checkout')))[0]).toMatchObject({
      messages: ['Deployment shop/checkout sets no runtimeClassName, which namespace shop requires (ValidatingAdmissionPolicy "sandboxed-workloads"): set spec.template.spec.runtimeClassName to one of: kata-qemu, gvisor'],
    });
    expect(admit(create(deployment('checkout', { runtimeClassName: 'gvisor' })))).toEqual([{ result: 'passed' }]);
  });

  test.each([
    ['StatefulSet', workload('StatefulSet', 'db', { runtimeClassName: 'runc' })],
    ['DaemonSet', workload('DaemonSet', 'agent', { runtimeClassName: 'runc' })],
    ['ReplicaSet', workload('ReplicaSet', 'rs', { runtimeClassName: 'runc' })],
    ['ReplicationController', replicationController('rc', { runtimeClassName: 'runc' })],
    ['Job', job('migrate', { runtimeClassName: 'runc' })],
  ])('a %s with another class is denied', (kind, object) => {
    expect(admit(create(object))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: [`${kind} shop/${object.metadata.name} uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "sandboxed-workloads"): set spec.template.spec.runtimeClassName to one of: kata-qemu, gvisor`],
    }]);
  });

  test('a Deployment without a pod template is skipped', () => {
    const noTemplate = deployment('odd');
    delete noTemplate.spec.template;
    expect(admit(create(noTemplate))).toEqual([{ result: 'skipped', falseConditions: ['has-pod-spec'] }]);
    const noPodSpec = deployment('odd');
    delete noPodSpec.spec.template.spec;
    expect(admit(create(noPodSpec))).toEqual([{ result: 'skipped', falseConditions: ['has-pod-spec'] }]);
  });

  test('an UPDATE that leaves the pod template alone is not checked (scaling, relabelling, finalizers)', () => {
    const before = deployment('legacy', { runtimeClassName: 'runc' });
    const scaled = deployment('legacy', { runtimeClassName: 'runc' }, { replicas: 5 });
    expect(admit(update(before, scaled))).toEqual([{ result: 'skipped', falseConditions: ['pod-template-created-or-changed'] }]);
    const finalizing = { ...before, metadata: { ...before.metadata, finalizers: ['foregroundDeletion'] } };
    expect(admit(update(before, finalizing))).toEqual([{ result: 'skipped', falseConditions: ['pod-template-created-or-changed'] }]);
  });

  test('an UPDATE that changes the pod template is checked', () => {
    const before = deployment('legacy', { runtimeClassName: 'runc' });
    const bumped = deployment('legacy', { runtimeClassName: 'runc', containers: [{ name: 'app', image: 'nginx:1.28' }] });
    expect(admit(update(before, bumped))[0]).toMatchObject({ result: 'failed', messages: [expect.stringContaining('Deployment shop/legacy uses RuntimeClass "runc"')] });
    const fixed = deployment('legacy', { runtimeClassName: 'kata-qemu' });
    expect(admit(update(before, fixed))).toEqual([{ result: 'passed' }]);
  });

  test('an UPDATE whose old object had no template is checked', () => {
    const before = deployment('odd');
    delete before.spec.template;
    expect(admit(update(before, deployment('odd', { runtimeClassName: 'runc' })))[0]).toMatchObject({ result: 'failed' });
  });

  test('a CronJob is checked at its job template\'s pod spec', () => {
    expect(admit(create(cronJob('report', { runtimeClassName: 'runc' })))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['CronJob shop/report uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "sandboxed-cronjobs"): set spec.jobTemplate.spec.template.spec.runtimeClassName to one of: kata-qemu, gvisor'],
    }]);
    expect(admit(create(cronJob('report', { runtimeClassName: 'kata-qemu' })))).toEqual([{ result: 'passed' }]);
    expect(admit(create(cronJob('report')))[0]).toMatchObject({ messages: [expect.stringContaining('CronJob shop/report sets no runtimeClassName')] });
  });

  test('a CronJob with missing nested fields is skipped', () => {
    const noJobSpec = cronJob('odd');
    delete noJobSpec.spec.jobTemplate.spec;
    expect(admit(create(noJobSpec))).toEqual([{ result: 'skipped', falseConditions: ['has-pod-spec'] }]);
    const noJobTemplate = cronJob('odd');
    delete noJobTemplate.spec.jobTemplate;
    expect(admit(create(noJobTemplate))).toEqual([{ result: 'skipped', falseConditions: ['has-pod-spec'] }]);
  });

  test('a CronJob UPDATE of the schedule only is not checked; one of its pod template is', () => {
    const before = cronJob('report', { runtimeClassName: 'runc' });
    expect(admit(update(before, cronJob('report', { runtimeClassName: 'runc' }, { schedule: '0 * * * *' })))).toEqual([
      { result: 'skipped', falseConditions: ['pod-template-created-or-changed'] },
    ]);
    expect(admit(update(before, cronJob('report', { runtimeClassName: 'runc', serviceAccountName: 'reporter' })))[0]).toMatchObject({ result: 'failed' });
  });

  test('other kinds are out of scope', () => {
    expect(admit(create(configMap('settings')))).toEqual([]);
  });
});

describe('RuntimeClassPolicy: optional class, dry-run actions', () => {
  const { policies, bindings } = pairs(synth((chart) => new RuntimeClassPolicy(chart, 'dry-run', {
    namespaceSelector: { matchExpressions: [{ key: 'tenancy.example.com/tier', operator: NamespaceSelectorOperator.IN, values: ['gold', 'silver'] }] },
    allowed: [gvisor],
    requireRuntimeClass: false,
    actions: [PolicyAction.WARN, PolicyAction.AUDIT],
  })), 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding');
  const gold = { 'tenancy.example.com/tier': 'gold' };

  test('a pod without runtimeClassName passes', () => {
    expect(validateAll(policies, bindings, create(pod('web'), 'shop', gold))).toEqual([{ result: 'passed' }]);
  });

  test('a pod with another class fails with warn and audit, and the fix mentions leaving it unset', () => {
    expect(validateAll(policies, bindings, create(pod('web', { runtimeClassName: 'kata-qemu' }), 'shop', gold))).toEqual([{
      result: 'failed',
      actions: ['Warn', 'Audit'],
      messages: ['Pod shop/web uses RuntimeClass "kata-qemu", which is not allowed in namespace shop (ValidatingAdmissionPolicy "runtimeclass-dry-run-pods"): set spec.runtimeClassName to one of: gvisor, or leave it unset'],
    }]);
  });

  test('a Deployment without runtimeClassName passes, one with another class fails', () => {
    expect(validateAll(policies, bindings, create(deployment('web'), 'shop', gold))).toEqual([{ result: 'passed' }]);
    expect(validateAll(policies, bindings, create(deployment('web', { runtimeClassName: 'runc' }), 'shop', gold))[0]).toMatchObject({ result: 'failed', actions: ['Warn', 'Audit'] });
  });

  test('a CronJob without runtimeClassName passes, one with another class fails', () => {
    expect(validateAll(policies, bindings, create(cronJob('report'), 'shop', gold))).toEqual([{ result: 'passed' }]);
    expect(validateAll(policies, bindings, create(cronJob('report', { runtimeClassName: 'runc' }), 'shop', gold))).toEqual([{
      result: 'failed',
      actions: ['Warn', 'Audit'],
      messages: ['CronJob shop/report uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "runtimeclass-dry-run-cronjobs"): set spec.jobTemplate.spec.template.spec.runtimeClassName to one of: gvisor, or leave it unset'],
    }]);
  });

  test('the binding selects namespaces by expression: bronze tenants are out of scope', () => {
    expect(validateAll(policies, bindings, create(pod('web', { runtimeClassName: 'runc' }), 'shop', { 'tenancy.example.com/tier': 'bronze' }))).toEqual([]);
  });
});

describe('RuntimeClassRestriction: a class reserved for some namespaces', () => {
  const { policies, bindings } = pairs(synth((chart) => new RuntimeClassRestriction(chart, 'kata-regulated', {
    name: 'kata-regulated',
    runtimeClasses: [kata],
    namespaceSelector: { matchLabels: { 'compliance.example.com/regulated': 'true' } },
  })), 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding');
  const regulated = { 'compliance.example.com/regulated': 'true' };
  const admit = (request: Request) => validateAll(policies, bindings, request);

  test('a regulated namespace may use the class', () => {
    expect(admit(create(pod('ledger', { runtimeClassName: 'kata-qemu' }), 'bank', regulated))).toEqual([{ result: 'passed' }]);
    expect(admit(create(deployment('ledger', { runtimeClassName: 'kata-qemu' }), 'bank', regulated))).toEqual([{ result: 'passed' }]);
  });

  test('another namespace may not, and the message says which namespaces may', () => {
    expect(admit(create(pod('web', { runtimeClassName: 'kata-qemu' }), 'shop', {}))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['Pod shop/web uses RuntimeClass "kata-qemu", which only namespaces matching compliance.example.com/regulated=true may use, and namespace shop does not match (ValidatingAdmissionPolicy "kata-regulated-pods"): run it in such a namespace, or set spec.runtimeClassName to another class'],
    }]);
    expect(admit(create(deployment('web', { runtimeClassName: 'kata-qemu' }), 'shop', { 'compliance.example.com/regulated': 'false' }))).toEqual([{
      result: 'failed',
      actions: ['Deny'],
      messages: ['Deployment shop/web uses RuntimeClass "kata-qemu", which only namespaces matching compliance.example.com/regulated=true may use, and namespace shop does not match (ValidatingAdmissionPolicy "kata-regulated-workloads"): run it in such a namespace, or set spec.template.spec.runtimeClassName to another class'],
    }]);
    expect(admit(create(cronJob('report', { runtimeClassName: 'kata-qemu' }), 'shop', {}))[0]).toMatchObject({
      result: 'failed',
      messages: [expect.stringContaining('(ValidatingAdmissionPolicy "kata-regulated-cronjobs"): run it in such a namespace, or set spec.jobTemplate.spec.template.spec.runtimeClassName to another class')],
    });
  });

  test('pods of other classes, or of none, are skipped everywhere', () => {
    expect(admit(create(pod('web', { runtimeClassName: 'gvisor' }), 'shop', {}))).toEqual([{ result: 'skipped', falseConditions: ['uses-reserved-runtime-class'] }]);
    expect(admit(create(pod('web'), 'shop', {}))).toEqual([{ result: 'skipped', falseConditions: ['uses-reserved-runtime-class'] }]);
    expect(admit(create(deployment('web'), 'shop', {}))).toEqual([{ result: 'skipped', falseConditions: ['uses-reserved-runtime-class'] }]);
  });

  test('a namespace object without labels does not match', () => {
    const request: Request = { operation: 'CREATE', object: pod('web', { runtimeClassName: 'kata-qemu' }), namespace: 'bare', namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bare' } } };
    expect(admit(request)[0]).toMatchObject({ result: 'failed' });
  });

  test('an unchanged template of an existing workload is not re-checked', () => {
    const before = deployment('legacy', { runtimeClassName: 'kata-qemu' });
    const scaled = deployment('legacy', { runtimeClassName: 'kata-qemu' }, { replicas: 9 });
    expect(admit({ operation: 'UPDATE', object: scaled, oldObject: before, namespace: 'shop', namespaceLabels: {} })).toEqual([
      { result: 'skipped', falseConditions: ['pod-template-created-or-changed'] },
    ]);
  });

  test('mirror pods are skipped', () => {
    const mirror = pod('static', { runtimeClassName: 'kata-qemu' }, { annotations: { 'kubernetes.io/config.mirror': 'x' } });
    expect(admit(create(mirror, 'shop', {}))).toEqual([{ result: 'skipped', falseConditions: ['not-a-mirror-pod'] }]);
  });
});

describe('RuntimeClassRestriction: a selector with every operator', () => {
  const { policies, bindings } = pairs(synth((chart) => new RuntimeClassRestriction(chart, 'gvisor-tiers', {
    runtimeClasses: [gvisor, kata],
    namespaceSelector: {
      matchLabels: { team: 'payments' },
      matchExpressions: [
        { key: 'tier', operator: NamespaceSelectorOperator.IN, values: ['gold', 'silver'] },
        { key: 'env', operator: NamespaceSelectorOperator.NOT_IN, values: ['dev'] },
        { key: 'sandbox.example.com/approved', operator: NamespaceSelectorOperator.EXISTS },
        { key: 'legacy', operator: NamespaceSelectorOperator.DOES_NOT_EXIST },
      ],
    },
    workloadTemplates: false,
  })), 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding');
  const allowedNamespace = { 'team': 'payments', 'tier': 'gold', 'env': 'prod', 'sandbox.example.com/approved': '' };

  test.each([
    ['every requirement met', 'passed', allowedNamespace],
    ['env unset (NotIn holds)', 'passed', { 'team': 'payments', 'tier': 'silver', 'sandbox.example.com/approved': 'yes' }],
    ['wrong team', 'failed', { ...allowedNamespace, team: 'web' }],
    ['tier not in the list', 'failed', { ...allowedNamespace, tier: 'bronze' }],
    ['tier missing', 'failed', { 'team': 'payments', 'env': 'prod', 'sandbox.example.com/approved': '' }],
    ['env is dev', 'failed', { ...allowedNamespace, env: 'dev' }],
    ['approval label missing', 'failed', { team: 'payments', tier: 'gold' }],
    ['legacy label present', 'failed', { ...allowedNamespace, legacy: 'true' }],
  ])('%s: %s', (_, expected, labels) => {
    const [decision] = validateAll(policies, bindings, create(pod('web', { runtimeClassName: 'kata-qemu' }), 'ns1', labels));
    expect(decision.result).toBe(expected);
  });

  test('the message describes the selector as kubectl does', () => {
    const [decision] = validateAll(policies, bindings, create(pod('web', { runtimeClassName: 'gvisor' }), 'ns1', {}));
    expect(decision).toMatchObject({
      messages: ['Pod ns1/web uses RuntimeClass "gvisor", which only namespaces matching team=payments,tier in (gold,silver),env notin (dev),sandbox.example.com/approved,!legacy may use, and namespace ns1 does not match (ValidatingAdmissionPolicy "runtimeclass-gvisor-tiers-pods"): run it in such a namespace, or set spec.runtimeClassName to another class'],
    });
  });
});

describe('RuntimeClassDefault: sets runtimeClassName on pods that have none', () => {
  const { policies, bindings } = pairs(synth((chart) => new RuntimeClassDefault(chart, 'tenant-default', {
    runtimeClass: kata,
    namespaceSelector: tenants,
    apiVersion: MutatingAdmissionPolicyVersion.V1,
  })), 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding');
  const [policy] = policies;
  const [binding] = bindings;

  test('a pod without a class gets the default, and nothing else changes', () => {
    const original = pod('web', { serviceAccountName: 'web' }, { labels: { app: 'web' } });
    const outcome = mutate(policy, binding, create(original));
    expect(outcome).toEqual({ result: 'mutated', object: { ...original, spec: { ...original.spec, runtimeClassName: 'kata-qemu' } } });
  });

  test('a pod that names a class keeps it', () => {
    expect(mutate(policy, binding, create(pod('web', { runtimeClassName: 'gvisor' })))).toEqual({ result: 'skipped', falseConditions: ['no-runtime-class-name'] });
  });

  test.each([
    ['hostNetwork', 'no-host-network'],
    ['hostPID', 'no-host-pid'],
    ['hostIPC', 'no-host-ipc'],
  ])('a pod with %s: true is left alone (Kata cannot give it)', (field, condition) => {
    expect(mutate(policy, binding, create(pod('agent', { [field]: true })))).toEqual({ result: 'skipped', falseConditions: [condition] });
    expect(mutate(policy, binding, create(pod('agent', { [field]: false })))).toMatchObject({ result: 'mutated', object: { spec: { runtimeClassName: 'kata-qemu' } } });
  });

  test('pods in other namespaces, mirror pods and other kinds are not touched', () => {
    expect(mutate(policy, binding, create(pod('web'), 'kube-system', {}))).toEqual({ result: 'out-of-scope' });
    expect(mutate(policy, binding, create(pod('etcd', {}, { annotations: { 'kubernetes.io/config.mirror': 'x' } })))).toEqual({ result: 'skipped', falseConditions: ['not-a-mirror-pod'] });
    expect(mutate(policy, binding, create(deployment('web')))).toEqual({ result: 'out-of-scope' });
  });

  test('a pod without a spec is skipped', () => {
    expect(mutate(policy, binding, create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'odd' } }))).toEqual({ result: 'skipped', falseConditions: ['has-pod-spec'] });
  });
});

describe('RuntimeClassDefault with a class that limits only hostNetwork, and a policy on the same namespaces', () => {
  const manifests = synth((chart) => {
    new RuntimeClassDefault(chart, 'default', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1BETA1 });
    new RuntimeClassPolicy(chart, 'policy', { namespaceSelector: tenants, allowed: [gvisor], requireRuntimeClass: false });
  });
  const mutating = pairs(manifests, 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding');
  const validating = pairs(manifests, 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding');

  test('only hostNetwork excludes a pod from the default', () => {
    expect(mutating.policies[0].spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'not-a-mirror-pod', 'no-runtime-class-name', 'no-host-network']);
    expect(mutate(mutating.policies[0], mutating.bindings[0], create(pod('tools', { hostPID: true })))).toMatchObject({ result: 'mutated' });
  });

  test('a defaulted pod then passes the policy; a pod with another class still fails it', () => {
    const outcome = mutate(mutating.policies[0], mutating.bindings[0], create(pod('web')));
    expect(outcome.result).toBe('mutated');
    expect(validateAll(validating.policies, validating.bindings, create((outcome as any).object))).toEqual([{ result: 'passed' }]);
    expect(validateAll(validating.policies, validating.bindings, create(pod('web', { runtimeClassName: 'runc' })))[0]).toMatchObject({ result: 'failed' });
  });

  test('a Deployment or CronJob that leaves the class to the default passes the template check; another class fails it', () => {
    expect(validateAll(validating.policies, validating.bindings, create(deployment('web')))).toEqual([{ result: 'passed' }]);
    expect(validateAll(validating.policies, validating.bindings, create(cronJob('report')))).toEqual([{ result: 'passed' }]);
    expect(validateAll(validating.policies, validating.bindings, create(deployment('web', { runtimeClassName: 'runc' })))[0]).toMatchObject({
      messages: ['Deployment shop/web uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "runtimeclass-policy-workloads"): set spec.template.spec.runtimeClassName to one of: gvisor, or leave it unset'],
    });
    expect(validateAll(validating.policies, validating.bindings, create(cronJob('report', { runtimeClassName: 'runc' })))[0]).toMatchObject({
      messages: [expect.stringMatching(/^CronJob shop\/report uses RuntimeClass "runc".*"runtimeclass-policy-cronjobs"/)],
    });
  });
});

test('a messageExpression never yields a multi-line or empty message for the samples', () => {
  const [policy] = synthesized.filter((m) => m.kind === 'ValidatingAdmissionPolicy');
  const binding = synthesized.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.spec.policyName === policy.metadata.name);
  // validate() throws on an unusable message; a long class name must not break it.
  const decision = validate(policy, binding, create(pod('x'.repeat(200), { runtimeClassName: `${'a'.repeat(60)}.example.com` })));
  expect(decision.result).toBe('failed');
});

test('every CEL expression emitted above was evaluated', () => {
  const emitted = new Set(synthesized.flatMap(expressionsIn));
  expect(emitted.size).toBeGreaterThan(20);
  const unevaluated = [...emitted].filter((e) => !evaluatedExpressions.has(e));
  expect(unevaluated).toEqual([]);
});
