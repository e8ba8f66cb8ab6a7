import { Testing } from 'cdk8s';
import { manifestsOfKind, newChart, validationErrors } from './fixtures';
import { RuntimeClass } from '../../src/core';
import { NamespaceSelectorOperator, PolicyAction, RuntimeClassRestriction } from '../../src/policy';

const kata = RuntimeClass.fromName('kata-qemu');
const regulated = { matchLabels: { 'compliance.example.com/regulated': 'true' } };

describe('RuntimeClassRestriction rendering', () => {
  test('snapshot', () => {
    const { chart } = newChart('platform');
    new RuntimeClassRestriction(chart, 'kata-regulated', { runtimeClasses: [kata], namespaceSelector: regulated });
    expect(Testing.synth(chart)).toMatchSnapshot();
  });

  test('bindings match every namespace; the policies test the namespace in CEL', () => {
    const { chart } = newChart('platform');
    const restriction = new RuntimeClassRestriction(chart, 'r', { name: 'kata-regulated', runtimeClasses: [kata], namespaceSelector: regulated, actions: [PolicyAction.WARN] });
    const manifests = Testing.synth(chart);
    expect(manifests.every((m) => m.metadata.namespace === undefined)).toBe(true);
    expect(manifestsOfKind(manifests, 'ValidatingAdmissionPolicyBinding').map((b) => b.spec)).toEqual([
      { policyName: 'kata-regulated-pods', validationActions: ['Warn'] },
      { policyName: 'kata-regulated-workloads', validationActions: ['Warn'] },
      { policyName: 'kata-regulated-cronjobs', validationActions: ['Warn'] },
    ]);
    const [pods, workloads, cronJobs] = manifestsOfKind(manifests, 'ValidatingAdmissionPolicy');
    expect(pods.spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'not-a-mirror-pod', 'uses-reserved-runtime-class']);
    expect(pods.spec.matchConditions[2].expression).toBe('has(object.spec.runtimeClassName) && object.spec.runtimeClassName in ["kata-qemu"]');
    expect(workloads.spec.matchConditions[2].expression).toBe('has(object.spec.template.spec.runtimeClassName) && object.spec.template.spec.runtimeClassName in ["kata-qemu"]');
    expect(cronJobs.spec.matchConditions[2].expression).toBe(
      'has(object.spec.jobTemplate.spec.template.spec.runtimeClassName) && object.spec.jobTemplate.spec.template.spec.runtimeClassName in ["kata-qemu"]',
    );
    expect(pods.spec.validations[0]).toMatchObject({
      expression: 'namespaceObject != null && (has(namespaceObject.metadata.labels) && "compliance.example.com/regulated" in namespaceObject.metadata.labels && namespaceObject.metadata.labels["compliance.example.com/regulated"] == "true")',
      message: 'the runtime class in spec.runtimeClassName is reserved for namespaces matching compliance.example.com/regulated=true',
      reason: 'Forbidden',
    });
    expect(restriction.runtimeClasses.map((c) => c.runtimeClassName)).toEqual(['kata-qemu']);
  });

  test('policies and bindings: one of each per pod spec shape, a binding at the index of its policy', () => {
    const { chart } = newChart();
    const restriction = new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [kata], namespaceSelector: regulated });
    const names = ['runtimeclass-r-pods', 'runtimeclass-r-workloads', 'runtimeclass-r-cronjobs'];
    expect(restriction.policies.map((p) => [p.kind, p.name])).toEqual(names.map((n) => ['ValidatingAdmissionPolicy', n]));
    expect(restriction.bindings.map((b) => [b.kind, b.name])).toEqual(names.map((n) => ['ValidatingAdmissionPolicyBinding', n]));
  });

  test('several classes, Pods only', () => {
    const { chart } = newChart();
    new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [kata, RuntimeClass.fromName('kata-fc')], namespaceSelector: regulated, workloadTemplates: false });
    const manifests = Testing.synth(chart);
    expect(manifests.map((m) => m.metadata.name)).toEqual(['runtimeclass-r-pods', 'runtimeclass-r-pods']);
    expect(manifests[0].spec.matchConditions[2].expression).toBe('has(object.spec.runtimeClassName) && object.spec.runtimeClassName in ["kata-qemu", "kata-fc"]');
  });
});

describe('RuntimeClassRestriction validation', () => {
  function errorsOf(build: (chart: any) => void): string[] {
    const { app, chart } = newChart();
    build(chart);
    return validationErrors(app);
  }

  test('a valid restriction has no errors', () => {
    expect(errorsOf((chart) => new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [kata], namespaceSelector: regulated }))).toEqual([]);
  });

  test('no classes, a repeated class, an empty selector, bad actions', () => {
    expect(errorsOf((chart) => new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [], namespaceSelector: {}, actions: [PolicyAction.WARN, PolicyAction.DENY] }))).toEqual([
      '[test/r] RuntimeClassRestriction "runtimeclass-r": runtimeClasses is empty, so the restriction reserves nothing: list the classes to reserve',
      '[test/r] RuntimeClassRestriction "runtimeclass-r": actions has both DENY and WARN, which the API server rejects (a denied request already carries the message): keep DENY to enforce, or use WARN with AUDIT for a dry run',
      '[test/r] RuntimeClassRestriction "runtimeclass-r": namespaceSelector is empty, so every namespace may use the classes and the restriction does nothing: select the namespaces that may use them by their labels',
    ]);
    expect(errorsOf((chart) => new RuntimeClassRestriction(chart, 'r', { runtimeClasses: [kata, kata], namespaceSelector: regulated }))).toEqual([
      '[test/r] RuntimeClassRestriction "runtimeclass-r": runtimeClasses[1] repeats RuntimeClass "kata-qemu" (already runtimeClasses[0]): list each class once',
    ]);
  });

  test('an invalid class name and selector', () => {
    const errors = errorsOf((chart) => {
      const bad = new RuntimeClass(chart, 'bad', { name: 'Kata', handler: 'kata' });
      new RuntimeClassRestriction(chart, 'r', {
        runtimeClasses: [bad],
        namespaceSelector: { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.EXISTS, values: ['gold'] }] },
      });
    }).filter((e) => e.startsWith('[test/r]'));
    expect(errors).toEqual([
      '[test/r] RuntimeClassRestriction "runtimeclass-r": runtimeClasses[0] "Kata" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit: fix the RuntimeClass\'s name',
      '[test/r] RuntimeClassRestriction "runtimeclass-r": namespaceSelector.matchExpressions[0] (key "tier") has operator Exists with values [gold]: Exists takes no values; remove them or use IN / NOT_IN',
    ]);
  });
});
