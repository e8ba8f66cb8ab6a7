import { Testing } from 'cdk8s';
import { manifestsOfKind, newChart, validationErrors } from './fixtures';
import { RuntimeClass } from '../../src/core';
import {
  AdmissionFailurePolicy,
  MutatingAdmissionPolicyVersion,
  NamespaceSelectorOperator,
  PolicyAction,
  RuntimeClassDefault,
  RuntimeClassPolicy,
  RuntimeClassRestriction,
} from '../../src/policy';

const kata = RuntimeClass.fromName('kata-qemu');
const gvisor = RuntimeClass.fromName('gvisor');
const tenants = { matchLabels: { 'tenancy.example.com/tenant': 'true' } };

describe('RuntimeClassPolicy rendering', () => {
  test('snapshot of a policy with its defaults, in a chart with a namespace', () => {
    const { chart } = newChart('platform');
    new RuntimeClassPolicy(chart, 'sandboxed', { namespaceSelector: tenants, allowed: [kata, gvisor] });
    expect(Testing.synth(chart)).toMatchSnapshot();
  });

  test('one policy and one binding per pod spec shape, cluster-scoped, with explicit names', () => {
    const { chart } = newChart('platform');
    const policy = new RuntimeClassPolicy(chart, 'sandboxed', { namespaceSelector: tenants, allowed: [kata] });
    const manifests = Testing.synth(chart);
    expect(manifests.map((m) => [m.apiVersion, m.kind, m.metadata.name])).toEqual([
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'runtimeclass-sandboxed-pods'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'runtimeclass-sandboxed-pods'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'runtimeclass-sandboxed-workloads'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'runtimeclass-sandboxed-workloads'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'runtimeclass-sandboxed-cronjobs'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'runtimeclass-sandboxed-cronjobs'],
    ]);
    expect(manifests.every((m) => m.metadata.namespace === undefined)).toBe(true);
    expect(manifests.map((m) => Object.keys(m.metadata))).toEqual(manifests.map(() => ['name']));
    expect(policy.name).toBe('runtimeclass-sandboxed');
    expect(policy.policies.map((p) => p.node.path)).toEqual(['test/sandboxed/Pods/Resource', 'test/sandboxed/Workloads/Resource', 'test/sandboxed/CronJobs/Resource']);
    expect(policy.bindings.map((p) => p.node.path)).toEqual(['test/sandboxed/Pods/Binding', 'test/sandboxed/Workloads/Binding', 'test/sandboxed/CronJobs/Binding']);
  });

  test('resource rules: Pods on CREATE; controllers and CronJobs on CREATE and UPDATE', () => {
    const { chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] });
    const [pods, workloads, cronJobs] = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicy');
    expect(pods.spec.matchConstraints).toEqual({
      matchPolicy: 'Equivalent',
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    });
    expect(workloads.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'] },
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['replicationcontrollers'] },
      { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs'] },
    ]);
    expect(cronJobs.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['cronjobs'] },
    ]);
  });

  test('the validation, its static message and reason', () => {
    const { chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', { name: 'sandbox', namespaceSelector: tenants, allowed: [kata, gvisor] });
    const [pods, workloads] = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicy');
    expect(pods.spec.failurePolicy).toBe('Fail');
    expect(pods.spec.validations).toHaveLength(1);
    expect(pods.spec.validations[0]).toMatchObject({
      expression: 'has(object.spec.runtimeClassName) && object.spec.runtimeClassName in ["kata-qemu", "gvisor"]',
      message: 'Pods in this namespace must set spec.runtimeClassName to one of: kata-qemu, gvisor',
      reason: 'Forbidden',
    });
    expect(workloads.spec.validations[0].message).toBe(
      'Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs in this namespace must set spec.template.spec.runtimeClassName to one of: kata-qemu, gvisor',
    );
    expect(pods.spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'not-a-mirror-pod']);
    expect(workloads.spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'pod-template-created-or-changed']);
  });

  test('bindings: namespace selector, actions, policy name', () => {
    const { chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', {
      name: 'sandbox',
      namespaceSelector: { matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'c', operator: NamespaceSelectorOperator.EXISTS }] },
      allowed: [kata],
      actions: [PolicyAction.WARN, PolicyAction.AUDIT],
    });
    const bindings = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicyBinding');
    expect(bindings[0].spec).toEqual({
      policyName: 'sandbox-pods',
      validationActions: ['Warn', 'Audit'],
      matchResources: { matchPolicy: 'Equivalent', namespaceSelector: { matchLabels: { a: '1', b: '2' }, matchExpressions: [{ key: 'c', operator: 'Exists' }] } },
    });
    expect(bindings.map((b) => b.spec.policyName)).toEqual(['sandbox-pods', 'sandbox-workloads', 'sandbox-cronjobs']);
  });

  test('actions default to DENY; failurePolicy IGNORE is rendered', () => {
    const { chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], failurePolicy: AdmissionFailurePolicy.IGNORE });
    const manifests = Testing.synth(chart);
    expect(manifestsOfKind(manifests, 'ValidatingAdmissionPolicyBinding').map((b) => b.spec.validationActions)).toEqual([['Deny'], ['Deny'], ['Deny']]);
    expect(manifestsOfKind(manifests, 'ValidatingAdmissionPolicy').map((p) => p.spec.failurePolicy)).toEqual(['Ignore', 'Ignore', 'Ignore']);
  });

  test('workloadTemplates: false renders the Pod pair only', () => {
    const { chart } = newChart();
    const policy = new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], workloadTemplates: false });
    expect(Testing.synth(chart).map((m) => m.metadata.name)).toEqual(['runtimeclass-p-pods', 'runtimeclass-p-pods']);
    expect(policy.policies).toHaveLength(1);
  });

  test('allow() after construction lands in every policy', () => {
    const { chart } = newChart();
    const policy = new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] });
    policy.allow(gvisor);
    expect(policy.allowed.map((c) => c.runtimeClassName)).toEqual(['kata-qemu', 'gvisor']);
    const expressions = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicy').map((p) => p.spec.validations[0].expression);
    expect(expressions.every((e) => e.endsWith('in ["kata-qemu", "gvisor"]'))).toBe(true);
  });

  test('a RuntimeClass construct and a runtime preset can be allowed, by their names', () => {
    const { chart } = newChart();
    const own = new RuntimeClass(chart, 'rc', { name: 'fast', handler: 'crun' });
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [own], workloadTemplates: false });
    const [policy] = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicy');
    expect(policy.spec.validations[0].expression).toBe('has(object.spec.runtimeClassName) && object.spec.runtimeClassName in ["fast"]');
  });

  test('the default name comes from the construct id', () => {
    const { chart } = newChart();
    expect(new RuntimeClassPolicy(chart, 'Tenant_Sandbox Policy', { namespaceSelector: tenants, allowed: [kata] }).name).toBe('runtimeclass-tenant-sandbox-policy');
  });

  test.each([
    ['a run of odd characters becomes one dash', 'Tenants :: Sandboxed', 'runtimeclass-tenants-sandboxed'],
    ['leading and trailing dashes are dropped', '--Tenants (all)--', 'runtimeclass-tenants-all'],
    ['an id with nothing usable gives the bare prefix', '(*)', 'runtimeclass'],
  ])('the default name from a construct id: %s', (_, id, name) => {
    const { app, chart } = newChart();
    const policy = new RuntimeClassPolicy(chart, id, { namespaceSelector: tenants, allowed: [kata] });
    expect(policy.name).toBe(name);
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('RuntimeClassPolicy validation', () => {
  function errorsOf(build: (chart: any) => void): string[] {
    const { app, chart } = newChart();
    build(chart);
    return validationErrors(app);
  }

  test('a valid policy has no errors', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] }))).toEqual([]);
  });

  test('empty allowed', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [] }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": allowed is empty, so every pod in the selected namespaces would be rejected: list the runtime classes these namespaces may use',
    ]);
  });

  test('duplicate and invalid allowed names', () => {
    const errors = errorsOf((chart) => {
      const bad = new RuntimeClass(chart, 'bad', { name: 'Kata_QEMU', handler: 'kata-qemu' });
      new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata, bad, gvisor, RuntimeClass.fromName('kata-qemu')] });
    }).filter((e) => e.startsWith('[test/p]'));
    expect(errors).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": allowed[1] "Kata_QEMU" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, so no pod could name it: fix the RuntimeClass\'s name',
      '[test/p] RuntimeClassPolicy "runtimeclass-p": allowed[3] repeats RuntimeClass "kata-qemu" (already allowed[0]): list each class once',
    ]);
  });

  test('empty, repeated, and DENY with WARN actions', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], actions: [] }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": actions is empty: the binding would do nothing; use [PolicyAction.DENY] to enforce, or [PolicyAction.WARN, PolicyAction.AUDIT] for a dry run',
    ]);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], actions: [PolicyAction.AUDIT, PolicyAction.DENY, PolicyAction.AUDIT] }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": actions lists Audit more than once: list each action once',
    ]);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], actions: [PolicyAction.DENY, PolicyAction.WARN] }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": actions has both DENY and WARN, which the API server rejects (a denied request already carries the message): keep DENY to enforce, or use WARN with AUDIT for a dry run',
    ]);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], actions: [PolicyAction.DENY, PolicyAction.AUDIT] }))).toEqual([]);
  });

  test('an empty or invalid namespace selector', () => {
    const hint = "{ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: NamespaceSelectorOperator.NOT_IN, values: ['kube-system'] }] }";
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: {}, allowed: [kata] }))).toEqual([
      `[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector is empty, so it selects every namespace, kube-system included, whose pods run with the default runtime: add a label or a requirement, e.g. ${hint}`,
    ]);
    // The hint is a selector one can paste as it is.
    const pasted = new Function('NamespaceSelectorOperator', `return ${hint};`)(NamespaceSelectorOperator);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: pasted, allowed: [kata] }))).toEqual([]);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', {
      namespaceSelector: { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.IN }] },
      allowed: [kata],
    }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.matchExpressions[0] (key "tier") has operator In but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST',
    ]);
  });

  test('an invalid name', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { name: 'Sandbox', namespaceSelector: tenants, allowed: [kata], workloadTemplates: false }))).toEqual([
      '[test/p] RuntimeClassPolicy "Sandbox": object name "Sandbox-pods" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit: choose another `name`',
    ]);
  });

  test('two admission constructs rendering the same names', () => {
    const errors = errorsOf((chart) => {
      new RuntimeClassPolicy(chart, 'a', { name: 'same', namespaceSelector: tenants, allowed: [kata], workloadTemplates: false });
      new RuntimeClassRestriction(chart, 'b', { name: 'same', namespaceSelector: tenants, runtimeClasses: [kata], workloadTemplates: false });
    });
    expect(errors).toEqual([
      '[test/a] RuntimeClassPolicy "same": ValidatingAdmissionPolicy "same-pods" is also rendered by test/b: names are cluster-wide; give one of them another `name`',
      '[test/a] RuntimeClassPolicy "same": ValidatingAdmissionPolicyBinding "same-pods" is also rendered by test/b: names are cluster-wide; give one of them another `name`',
      '[test/b] RuntimeClassRestriction "same": ValidatingAdmissionPolicy "same-pods" is also rendered by test/a: names are cluster-wide; give one of them another `name`',
      '[test/b] RuntimeClassRestriction "same": ValidatingAdmissionPolicyBinding "same-pods" is also rendered by test/a: names are cluster-wide; give one of them another `name`',
    ]);
  });

  test('objects of different kinds may share a name: a RuntimeClassDefault named like a RuntimeClassPolicy\'s objects', () => {
    expect(errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'd', { name: 'tenants-pods', runtimeClass: kata, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassPolicy(chart, 'p', { name: 'tenants', namespaceSelector: tenants, allowed: [kata], workloadTemplates: false });
    })).toEqual([]);
  });

  test('a RuntimeClassDefault on the same namespaces: required class on templates, and a default the policy does not allow', () => {
    const errors = errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] });
    });
    expect(errors).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": requireRuntimeClass rejects every Deployment, Job and other workload whose template leaves runtimeClassName to RuntimeClassDefault "runtimeclass-d" (test/d), which only sets it on their pods: set requireRuntimeClass: false (pods are still checked after the default is applied), or workloadTemplates: false',
      '[test/p] RuntimeClassPolicy "runtimeclass-p": RuntimeClassDefault "runtimeclass-d" (test/d) sets runtimeClassName "gvisor" in the same namespaces, which this policy does not allow, so every defaulted pod would be rejected: allow it, or default to an allowed class',
    ]);
  });

  test('a RuntimeClassDefault that fits the policy, or covers other namespaces, is fine', () => {
    expect(errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'd', { runtimeClass: kata, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata], requireRuntimeClass: false });
      new RuntimeClassPolicy(chart, 'pods-only', { namespaceSelector: tenants, allowed: [kata], workloadTemplates: false });
      new RuntimeClassPolicy(chart, 'others', { namespaceSelector: { matchLabels: { other: 'yes' } }, allowed: [gvisor] });
    })).toEqual([]);
  });

  test('app.synth() fails listing every problem', () => {
    const { app, chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: {}, allowed: [], actions: [] });
    expect(() => app.synth()).toThrow(/Validation failed with the following errors:\n {2}\[test\/p\] RuntimeClassPolicy "runtimeclass-p": allowed is empty[^\n]*\n {2}\[test\/p\] RuntimeClassPolicy "runtimeclass-p": actions is empty[^\n]*\n {2}\[test\/p\] RuntimeClassPolicy "runtimeclass-p": namespaceSelector is empty/);
  });
});
