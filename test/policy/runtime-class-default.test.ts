import { Testing } from 'cdk8s';
import { newChart, validationErrors } from './fixtures';
import { RuntimeClass } from '../../src/core';
import { AdmissionFailurePolicy, MutatingAdmissionPolicyVersion, NamespaceSelectorOperator, RuntimeClassDefault } from '../../src/policy';
import { KataRuntime } from '../../src/runtimes';

const gvisor = RuntimeClass.fromName('gvisor', { limits: { allowHostNetwork: false } });
const tenants = { matchLabels: { 'tenancy.example.com/tenant': 'true' } };

describe('RuntimeClassDefault rendering', () => {
  test.each([
    [MutatingAdmissionPolicyVersion.V1BETA1, 'admissionregistration.k8s.io/v1beta1'],
    [MutatingAdmissionPolicyVersion.V1, 'admissionregistration.k8s.io/v1'],
  ])('%s: a MutatingAdmissionPolicy and its binding, cluster-scoped', (version, apiVersion) => {
    const { chart } = newChart('platform');
    const defaulting = new RuntimeClassDefault(chart, 'tenant-default', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: version });
    expect(Testing.synth(chart)).toEqual([
      {
        apiVersion,
        kind: 'MutatingAdmissionPolicy',
        metadata: { name: 'runtimeclass-tenant-default' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            matchPolicy: 'Equivalent',
            resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
          },
          matchConditions: [
            { name: 'has-pod-spec', expression: 'has(object.spec)' },
            { name: 'not-a-mirror-pod', expression: '!has(object.metadata.annotations) || !("kubernetes.io/config.mirror" in object.metadata.annotations)' },
            { name: 'no-runtime-class-name', expression: '!has(object.spec.runtimeClassName)' },
            { name: 'no-host-network', expression: '!has(object.spec.hostNetwork) || !object.spec.hostNetwork' },
          ],
          reinvocationPolicy: 'Never',
          mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{spec: Object.spec{runtimeClassName: "gvisor"}}' } }],
        },
      },
      {
        apiVersion,
        kind: 'MutatingAdmissionPolicyBinding',
        metadata: { name: 'runtimeclass-tenant-default' },
        spec: {
          policyName: 'runtimeclass-tenant-default',
          matchResources: { matchPolicy: 'Equivalent', namespaceSelector: { matchLabels: { 'tenancy.example.com/tenant': 'true' } } },
        },
      },
    ]);
    expect(defaulting.policy.node.path).toBe('test/tenant-default/Resource');
    expect(defaulting.binding.node.path).toBe('test/tenant-default/Binding');
  });

  test('a Kata runtime\'s limits exclude hostNetwork, hostPID and hostIPC pods; a class without limits excludes none', () => {
    const { chart } = newChart();
    const kata = new KataRuntime(chart, 'kata', { nodeSetup: false });
    new RuntimeClassDefault(chart, 'kata-default', { runtimeClass: kata, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    new RuntimeClassDefault(chart, 'crun-default', {
      runtimeClass: RuntimeClass.fromName('crun'),
      namespaceSelector: { matchLabels: { fast: 'yes' } },
      apiVersion: MutatingAdmissionPolicyVersion.V1,
      failurePolicy: AdmissionFailurePolicy.IGNORE,
    });
    const [kataPolicy, crunPolicy] = Testing.synth(chart).filter((m) => m.kind === 'MutatingAdmissionPolicy');
    expect(kataPolicy.spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'not-a-mirror-pod', 'no-runtime-class-name', 'no-host-network', 'no-host-pid', 'no-host-ipc']);
    expect(kataPolicy.spec.mutations[0].applyConfiguration.expression).toBe('Object{spec: Object.spec{runtimeClassName: "kata-qemu"}}');
    expect(crunPolicy.spec.matchConditions.map((c: any) => c.name)).toEqual(['has-pod-spec', 'not-a-mirror-pod', 'no-runtime-class-name']);
    expect(crunPolicy.spec.failurePolicy).toBe('Ignore');
  });
});

describe('RuntimeClassDefault validation', () => {
  function errorsOf(build: (chart: any) => void): string[] {
    const { app, chart } = newChart();
    build(chart);
    return validationErrors(app);
  }

  test('a valid default has no errors', () => {
    expect(errorsOf((chart) => new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 }))).toEqual([]);
  });

  test('an empty selector would default kube-system too', () => {
    expect(errorsOf((chart) => new RuntimeClassDefault(chart, 'd', { runtimeClass: gvisor, namespaceSelector: {}, apiVersion: MutatingAdmissionPolicyVersion.V1 }))).toEqual([
      '[test/d] RuntimeClassDefault "runtimeclass-d": namespaceSelector is empty, so every pod of the cluster without a runtimeClassName, kube-system\'s included, would run with "gvisor": select the namespaces by their labels',
    ]);
  });

  test('an invalid class name, policy name and selector', () => {
    const errors = errorsOf((chart) => {
      const bad = new RuntimeClass(chart, 'bad', { name: 'G_Visor', handler: 'runsc' });
      new RuntimeClassDefault(chart, 'd', {
        name: 'Default',
        runtimeClass: bad,
        namespaceSelector: { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.NOT_IN, values: [] }] },
        apiVersion: MutatingAdmissionPolicyVersion.V1BETA1,
      });
    }).filter((e) => e.startsWith('[test/d]'));
    expect(errors).toEqual([
      '[test/d] RuntimeClassDefault "Default": object name "Default" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit: choose another `name`',
      '[test/d] RuntimeClassDefault "Default": runtimeClass "G_Visor" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit: fix the RuntimeClass\'s name',
      '[test/d] RuntimeClassDefault "Default": namespaceSelector.matchExpressions[0] (key "tier") has operator NotIn but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST',
    ]);
  });

  test('two defaults with different classes for the same namespaces', () => {
    expect(errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'a', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassDefault(chart, 'b', { runtimeClass: RuntimeClass.fromName('kata-qemu'), namespaceSelector: { matchLabels: { ...tenants.matchLabels } }, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    })).toEqual([
      '[test/a] RuntimeClassDefault "runtimeclass-a": RuntimeClassDefault "runtimeclass-b" (test/b) sets "kata-qemu" in the same namespaces: whichever runs first wins; keep one default per namespace',
      '[test/b] RuntimeClassDefault "runtimeclass-b": RuntimeClassDefault "runtimeclass-a" (test/a) sets "gvisor" in the same namespaces: whichever runs first wins; keep one default per namespace',
    ]);
  });

  test('two defaults with the same class for the same namespaces agree: no error', () => {
    expect(errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'a', { runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassDefault(chart, 'b', { runtimeClass: RuntimeClass.fromName('gvisor'), namespaceSelector: { matchLabels: { ...tenants.matchLabels } }, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    })).toEqual([]);
  });

  test('the same name twice', () => {
    expect(errorsOf((chart) => {
      new RuntimeClassDefault(chart, 'a', { name: 'default', runtimeClass: gvisor, namespaceSelector: tenants, apiVersion: MutatingAdmissionPolicyVersion.V1 });
      new RuntimeClassDefault(chart, 'b', { name: 'default', runtimeClass: gvisor, namespaceSelector: { matchLabels: { x: 'y' } }, apiVersion: MutatingAdmissionPolicyVersion.V1 });
    })).toEqual([
      '[test/a] RuntimeClassDefault "default": MutatingAdmissionPolicy "default" is also rendered by test/b: names are cluster-wide; give one of them another `name`',
      '[test/a] RuntimeClassDefault "default": MutatingAdmissionPolicyBinding "default" is also rendered by test/b: names are cluster-wide; give one of them another `name`',
      '[test/b] RuntimeClassDefault "default": MutatingAdmissionPolicy "default" is also rendered by test/a: names are cluster-wide; give one of them another `name`',
      '[test/b] RuntimeClassDefault "default": MutatingAdmissionPolicyBinding "default" is also rendered by test/a: names are cluster-wide; give one of them another `name`',
    ]);
  });
});
