// The policy constructs take the namespace selectors cdk8s-plus users already have.
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { evaluate, validate } from './cel-harness';
import { deployment, manifestsOfKind, newChart, pod, validationErrors } from './fixtures';
import { RuntimeClass } from '../../src/core';
import {
  MutatingAdmissionPolicyVersion,
  NamespaceSelectorOperator,
  RuntimeClassDefault,
  RuntimeClassPolicy,
  RuntimeClassRestriction,
} from '../../src/policy';

const kata = RuntimeClass.fromName('kata-qemu');
const gvisor = RuntimeClass.fromName('gvisor');

/** The namespace selector every binding of a policy renders. */
function bindingSelectors(manifests: any[], kind = 'ValidatingAdmissionPolicyBinding'): any[] {
  return manifestsOfKind(manifests, kind).map((b) => b.spec.matchResources.namespaceSelector);
}

describe('cdk8s-plus selectors render as label selectors', () => {
  test('Namespaces.select with labels and expressions', () => {
    const { app, chart } = newChart();
    const tenants = kplus.Namespaces.select(chart, 'tenants', {
      labels: { 'tenancy.example.com/tenant': 'true' },
      expressions: [kplus.LabelExpression.notIn('tier', ['system']), kplus.LabelExpression.exists('team')],
    });
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] });
    const manifests = Testing.synth(chart);
    // Namespaces.select adds no object of its own.
    expect(manifests.map((m) => m.kind)).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    expect(bindingSelectors(manifests)).toEqual(Array(3).fill({
      matchLabels: { 'tenancy.example.com/tenant': 'true' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['system'] }, { key: 'team', operator: 'Exists' }],
    }));
    expect(validationErrors(app)).toEqual([]);
  });

  test('Namespaces.select by names selects them by the kubernetes.io/metadata.name label', () => {
    const { chart } = newChart();
    const shops = kplus.Namespaces.select(chart, 'shops', { names: ['shop', 'shop-staging'] });
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: shops, allowed: [kata], workloadTemplates: false });
    const manifests = Testing.synth(chart);
    expect(bindingSelectors(manifests)).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['shop', 'shop-staging'] }] }]);
    // The API server puts that label on every namespace: the binding selects exactly these two.
    const [policy] = manifestsOfKind(manifests, 'ValidatingAdmissionPolicy');
    const [binding] = manifestsOfKind(manifests, 'ValidatingAdmissionPolicyBinding');
    expect(validate(policy, binding, { operation: 'CREATE', object: pod('web'), namespace: 'shop' }).result).toBe('failed');
    expect(validate(policy, binding, { operation: 'CREATE', object: pod('web'), namespace: 'shop-staging' }).result).toBe('failed');
    expect(validate(policy, binding, { operation: 'CREATE', object: pod('web'), namespace: 'blog' }).result).toBe('out-of-scope');
  });

  test('a cdk8s-plus Namespace selects itself by name', () => {
    const { chart } = newChart();
    const shop = new kplus.Namespace(chart, 'shop', { metadata: { name: 'shop' } });
    new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: shop, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    const manifests = Testing.synth(chart);
    expect(bindingSelectors(manifests, 'MutatingAdmissionPolicyBinding')).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['shop'] }] },
    ]);
  });

  test('a LabelSelector', () => {
    const { app, chart } = newChart();
    const regulated = kplus.LabelSelector.of({ labels: { 'compliance.example.com/regulated': 'true' }, expressions: [kplus.LabelExpression.in('region', ['eu', 'us'])] });
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: regulated, allowed: [kata] });
    expect(bindingSelectors(Testing.synth(chart))).toEqual(Array(3).fill({
      matchLabels: { 'compliance.example.com/regulated': 'true' },
      matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }],
    }));
    expect(validationErrors(app)).toEqual([]);
  });

  test('a restriction tests a cdk8s-plus selector in CEL and describes it in its message', () => {
    const { app, chart } = newChart();
    const regulated = kplus.Namespaces.select(chart, 'regulated', {
      labels: { 'compliance.example.com/regulated': 'true' },
      expressions: [kplus.LabelExpression.doesNotExist('sandbox')],
    });
    new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [kata], namespaceSelector: regulated, workloadTemplates: false });
    expect(validationErrors(app)).toEqual([]);
    const [policy] = manifestsOfKind(Testing.synth(chart), 'ValidatingAdmissionPolicy');
    expect(policy.spec.validations[0].message).toBe('the runtime class in spec.runtimeClassName is reserved for namespaces matching compliance.example.com/regulated=true,!sandbox');
    const namespaceObject = (labels: { [key: string]: string }) => ({ namespaceObject: { metadata: { name: 'ns', labels } } });
    expect(evaluate(policy.spec.validations[0].expression, namespaceObject({ 'compliance.example.com/regulated': 'true' }))).toBe(true);
    expect(evaluate(policy.spec.validations[0].expression, namespaceObject({ 'compliance.example.com/regulated': 'true', 'sandbox': 'x' }))).toBe(false);
    expect(evaluate(policy.spec.validations[0].expression, namespaceObject({}))).toBe(false);
  });
});

describe('cdk8s-plus selectors in the checks', () => {
  test('a policy and a default on the same cdk8s-plus namespaces are compared', () => {
    const { app, chart } = newChart();
    const tenants = kplus.Namespaces.select(chart, 'tenants', { labels: { tenant: 'true' } });
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: tenants, allowed: [kata] });
    new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    expect(validationErrors(app)).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": requireRuntimeClass rejects every Deployment, Job and other workload whose template leaves runtimeClassName to RuntimeClassDefault "runtimeclass-d" (test/d), which only sets it on their pods: set requireRuntimeClass: false (pods are still checked after the default is applied), or workloadTemplates: false',
      '[test/p] RuntimeClassPolicy "runtimeclass-p": RuntimeClassDefault "runtimeclass-d" (test/d) sets runtimeClassName "gvisor" in the same namespaces, which this policy does not allow, so every defaulted pod would be rejected: allow it, or default to an allowed class',
    ]);
  });

  test('a cdk8s-plus selector and the same struct selector count as the same namespaces', () => {
    const { app, chart } = newChart();
    new RuntimeClassPolicy(chart, 'p', { namespaceSelector: kplus.LabelSelector.of({ labels: { tenant: 'true' } }), allowed: [kata], requireRuntimeClass: false });
    new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: { matchLabels: { tenant: 'true' } }, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    expect(validationErrors(app)).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": RuntimeClassDefault "runtimeclass-d" (test/d) sets runtimeClassName "gvisor" in the same namespaces, which this policy does not allow, so every defaulted pod would be rejected: allow it, or default to an allowed class',
    ]);
  });

  test('a default on a cdk8s-plus selector sets the class on pods of those namespaces only', () => {
    const { chart } = newChart();
    new RuntimeClassDefault(chart, 'd', {
      runtimeClass: gvisor,
      namespaceSelector: kplus.Namespaces.select(chart, 'tenants', { labels: { tenant: 'true' } }),
      apiVersion: MutatingAdmissionPolicyVersion.V1,
    });
    const binding = manifestsOfKind(Testing.synth(chart), 'MutatingAdmissionPolicyBinding')[0];
    expect(binding.spec.matchResources.namespaceSelector).toEqual({ matchLabels: { tenant: 'true' } });
  });
});

describe('cdk8s-plus selectors: errors name what the user wrote', () => {
  function errorsOf(build: (chart: any) => void): string[] {
    const { app, chart } = newChart();
    build(chart);
    return validationErrors(app);
  }

  test('Namespaces.all() selects every namespace: the same error as an empty selector', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', { namespaceSelector: kplus.Namespaces.all(chart, 'all'), allowed: [kata] }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector is empty, so it selects every namespace, kube-system included, whose pods run with the default runtime: add a label or a requirement, e.g. { matchExpressions: [{ key: \'kubernetes.io/metadata.name\', operator: NamespaceSelectorOperator.NOT_IN, values: [\'kube-system\'] }] }',
    ]);
    expect(errorsOf((chart) => new RuntimeClassRestriction(chart, 'r', { namespaceSelector: kplus.LabelSelector.of({}), runtimeClasses: [kata] }))).toEqual([
      '[test/r] RuntimeClassRestriction "runtimeclass-r": namespaceSelector is empty, so every namespace may use the classes and the restriction does nothing: select the namespaces that may use them by their labels',
    ]);
  });

  test('labels and expressions are reported under their cdk8s-plus names', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', {
      namespaceSelector: kplus.Namespaces.select(chart, 'bad', {
        labels: { 'bad key!': 'x', 'ok': 'bad value!' },
        expressions: [kplus.LabelExpression.in('tier', [])],
      }),
      allowed: [kata],
    }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.labels key "bad key!" must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.labels["ok"] value "bad value!" must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.expressions[0] (key "tier") has operator In but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST',
    ]);
  });

  test('names that are no namespace names, and an empty list of names', () => {
    expect(errorsOf((chart) => new RuntimeClassDefault(chart, 'd', {
      runtimeClass: gvisor,
      namespaceSelector: kplus.Namespaces.select(chart, 'bad', { names: ['Shop', 'blog'] }),
      apiVersion: MutatingAdmissionPolicyVersion.V1,
    }))).toEqual([
      '[test/d] RuntimeClassDefault "runtimeclass-d": namespaceSelector.names[0] "Shop" is not a namespace name: it must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots',
    ]);
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', {
      namespaceSelector: kplus.Namespaces.select(chart, 'none', { names: [] }),
      allowed: [kata],
    }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.names is empty, so it selects no namespace: give at least one name, or select by labels alone',
    ]);
  });

  test('an operator label selectors do not have (from JavaScript) is reported', () => {
    expect(errorsOf((chart) => new RuntimeClassPolicy(chart, 'p', {
      namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'Gt' as NamespaceSelectorOperator, values: ['1'] }] },
      allowed: [kata],
    }))).toEqual([
      '[test/p] RuntimeClassPolicy "runtimeclass-p": namespaceSelector.matchExpressions[0] (key "tier") has operator "Gt", which label selectors do not have: use NamespaceSelectorOperator.IN, NOT_IN, EXISTS or DOES_NOT_EXIST',
    ]);
  });
});

test('a Deployment in a namespace selected by name is checked too', () => {
  const { chart } = newChart();
  new RuntimeClassPolicy(chart, 'p', { namespaceSelector: kplus.Namespaces.select(chart, 'shop', { names: ['shop'] }), allowed: [kata] });
  const manifests = Testing.synth(chart);
  const [, workloads] = manifestsOfKind(manifests, 'ValidatingAdmissionPolicy');
  const [, workloadBinding] = manifestsOfKind(manifests, 'ValidatingAdmissionPolicyBinding');
  const decision = validate(workloads, workloadBinding, { operation: 'CREATE', object: deployment('web', { runtimeClassName: 'runc' }), namespace: 'shop' });
  expect(decision).toEqual({
    result: 'failed',
    actions: ['Deny'],
    messages: ['Deployment shop/web uses RuntimeClass "runc", which is not allowed in namespace shop (ValidatingAdmissionPolicy "runtimeclass-p-workloads"): set spec.template.spec.runtimeClassName to one of: kata-qemu'],
  });
});
