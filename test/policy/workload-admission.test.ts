// A pinned workload against the admission policies of its own app: what the API server would deny
// at apply fails the synth; what the synth cannot know (a namespace the app does not define) is
// a note, printed and recorded, never a silent pass.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart, Cron, Include, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { RuntimeClass } from '../../src/core';
import { NOTE_METADATA_TYPE, notesOf } from '../../src/core/app-checks';
import { NamespaceSelectorOperator, PolicyAction, RuntimeClassPolicy, RuntimeClassRestriction } from '../../src/policy';
import { selects } from '../../src/policy/workload-rules';
import { CrunRuntime, GvisorRuntime, KataRuntime } from '../../src/runtimes';
import { validationErrors } from '../core/support';

const TENANTS = { matchLabels: { 'tenancy.example.com/tier': 'tenant' } };
const REGULATED = { matchLabels: { 'compliance.example.com/regulated': 'true' } };

/** A platform chart with the runtimes, and the app they live in. */
function platform(): { app: App; chart: Chart; gvisor: GvisorRuntime; crun: CrunRuntime; kata: KataRuntime } {
  const app = Testing.app();
  const chart = new Chart(app, 'platform');
  return {
    app,
    chart,
    gvisor: new GvisorRuntime(chart, 'Gvisor', { nodeSetup: false }),
    crun: new CrunRuntime(chart, 'Crun', { nodeSetup: false }),
    kata: new KataRuntime(chart, 'Kata', { nodeSetup: false }),
  };
}

function namespace(scope: Construct, name: string, labels: { [key: string]: string } = {}): kplus.Namespace {
  return new kplus.Namespace(scope, `Namespace-${name}`, { metadata: { name, labels } });
}

function job(scope: Construct, id: string): kplus.Job {
  return new kplus.Job(scope, id, { containers: [{ image: 'busybox:1.36', command: ['true'] }] });
}

function deployment(scope: Construct, id: string): kplus.Deployment {
  return new kplus.Deployment(scope, id, { containers: [{ image: 'nginx:1.27', portNumber: 8080 }] });
}

/** Node warnings emitted while `run` runs (and kept off stderr). */
function warningsDuring(run: () => void): string[] {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    run();
    return spy.mock.calls.map((call) => String(call[0]));
  } finally {
    spy.mockRestore();
  }
}

describe('RuntimeClassPolicy of the same app', () => {
  test('A crun Job pinned in a tenant namespace whose own RuntimeClassPolicy allows only gVisor fails the synth', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    const tenant = new Chart(app, 'tenant-a', { namespace: 'tenant-a' });
    crun.pin(job(tenant, 'Migrate'));

    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[tenant-a\/Migrate\/Resource\] Job "tenant-a-migrate-[0-9a-f]+" \(pinned to RuntimeClass "crun"\) is in namespace "tenant-a"/);
    expect(errors[0]).toContain('(labels: tenancy.example.com/tier=tenant), where RuntimeClassPolicy "runtimeclass-tenants" (platform/Tenants) allows only RuntimeClass "runsc" '
      + '(its namespaceSelector tenancy.example.com/tier=tenant matches)');
    expect(errors[0]).toContain('the API server denies the Job when it is applied (ValidatingAdmissionPolicy "runtimeclass-tenants-workloads")');
    expect(errors[0]).toContain('pin it to "runsc", run it in a namespace the policy does not select, or allow "crun" in the policy');
  });

  test('the same Job pinned to an allowed class, or in a namespace the policy does not select, synthesizes', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    namespace(chart, 'internal', { 'tenancy.example.com/tier': 'internal' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    gvisor.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    crun.pin(job(new Chart(app, 'internal', { namespace: 'internal' }), 'Migrate'));
    expect(warningsDuring(() => expect(validationErrors(app)).toEqual([]))).toEqual([]);
  });

  test('a class allowed after the pin (policy.allow) is read when the app is synthesized', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    const policy = new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    policy.allow(crun);
    expect(validationErrors(app)).toEqual([]);
  });

  test('labels added to the Namespace after it is created, and selectors by expression, are what is checked', () => {
    const { app, chart, gvisor, crun } = platform();
    const ns = namespace(chart, 'tenant-a');
    ns.metadata.addLabel('tenancy.example.com/tier', 'tenant');
    new RuntimeClassPolicy(chart, 'Tenants', {
      namespaceSelector: { matchExpressions: [{ key: 'tenancy.example.com/tier', operator: NamespaceSelectorOperator.IN, values: ['tenant', 'trial'] }] },
      allowed: [gvisor],
    });
    crun.pin(deployment(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Api'));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('is in namespace "tenant-a" (labels: tenancy.example.com/tier=tenant), where RuntimeClassPolicy');
    expect(errors[0]).toContain('the API server denies the Deployment when it is applied');
  });

  test('the app\'s Namespaces are read once per synth, however many pinned workloads are checked against them', () => {
    /** How often one synth renders the tenant Namespace, with `jobs` Jobs pinned in it. */
    function namespaceRendersWith(jobs: number): number {
      const { app, chart, gvisor, crun } = platform();
      const ns = namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
      new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor, crun] });
      const tenant = new Chart(app, 'tenant-a', { namespace: 'tenant-a' });
      for (let i = 0; i < jobs; i++) crun.pin(job(tenant, `Migrate${i}`));
      const renders = jest.spyOn(ApiObject.of(ns), 'toJson');
      expect(validationErrors(app)).toEqual([]);
      return renders.mock.calls.length;
    }
    expect(namespaceRendersWith(5)).toBe(namespaceRendersWith(1));
  });

  test('outside a synth, each node.validate() of a pinned workload reads the Namespaces as they are then', () => {
    const { app, chart, gvisor, crun } = platform();
    const ns = namespace(chart, 'tenant-a');
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    const migrate = job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate');
    crun.pin(migrate);
    const resource = ApiObject.of(migrate);
    expect(resource.node.validate()).toEqual([]);
    ns.metadata.addLabel('tenancy.example.com/tier', 'tenant');
    expect(resource.node.validate()).toEqual([expect.stringContaining('is in namespace "tenant-a" (labels: tenancy.example.com/tier=tenant), where RuntimeClassPolicy')]);
  });

  test('a Namespace given as a raw ApiObject or an Include counts as defined', () => {
    const { app, chart, gvisor, crun } = platform();
    new ApiObject(chart, 'Raw', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-a', labels: { 'tenancy.example.com/tier': 'tenant' } } });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    expect(validationErrors(app)).toHaveLength(1);

    const other = platform();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-'));
    const file = path.join(dir, 'namespaces.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-a\n  labels:\n    tenancy.example.com/tier: tenant\n');
    new Include(other.chart, 'Namespaces', { url: file });
    new RuntimeClassPolicy(other.chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [other.gvisor] });
    other.crun.pin(job(new Chart(other.app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    try {
      expect(validationErrors(other.app)).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with workloadTemplates: false the message says the pods are rejected at creation, by the Pods policy', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor], workloadTemplates: false });
    crun.pin(deployment(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Api'));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('the API server rejects each of its pods when they are created (ValidatingAdmissionPolicy "runtimeclass-tenants-pods"), so none ever runs');
  });

  test('a Pod is denied itself when it is applied, by the Pods policy', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    crun.pin(new kplus.Pod(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Debug', { containers: [{ image: 'busybox:1.36' }] }));
    expect(validationErrors(app)).toEqual([expect.stringContaining('the API server denies the Pod when it is applied (ValidatingAdmissionPolicy "runtimeclass-tenants-pods");')]);
  });

  test('with several allowed classes, the message lists them all and the fix offers one of them', () => {
    const { app, chart, gvisor, crun, kata } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor, kata] });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('allows only RuntimeClass "runsc", "kata-qemu" (its namespaceSelector');
    expect(errors[0]).toContain('; pin it to one of "runsc", "kata-qemu", run it in a namespace the policy does not select, or allow "crun" in the policy');
  });

  test.each([
    ['selects every namespace', { namespaceSelector: {} }],
    ['allows no class', { allowed: [] }],
    ['has no actions', { actions: [] }],
  ])('a policy that %s reports it itself; the workloads it would reject get no message of their own', (_, props) => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor], ...props });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    let errors: string[] = [];
    const warnings = warningsDuring(() => { errors = validationErrors(app); });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[platform\/Tenants\] RuntimeClassPolicy "runtimeclass-tenants": /);
    expect(warnings).toEqual([]);
  });

  test('a CronJob is named with the CronJobs policy', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    crun.pin(new kplus.CronJob(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Nightly', {
      schedule: Cron.daily(),
      containers: [{ image: 'busybox:1.36' }],
    }));
    expect(validationErrors(app)).toEqual([expect.stringContaining('the API server denies the CronJob when it is applied (ValidatingAdmissionPolicy "runtimeclass-tenants-cronjobs")')]);
  });

  test('a dry-run policy (WARN, AUDIT) is a note, not an error', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor], actions: [PolicyAction.WARN, PolicyAction.AUDIT] });
    const migrate = job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate');
    crun.pin(migrate);
    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([expect.stringContaining('the API server admits it with a warning (ValidatingAdmissionPolicy "runtimeclass-tenants-workloads" has actions [Warn, Audit]), and denies it once the policy is switched to DENY')]);
    expect(notesOf(ApiObject.of(migrate))).toEqual([warnings[0].replace(/^\[[^\]]+\] /, '')]);
  });

  test('an audit-only policy is a note pointing at the audit log', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor], actions: [PolicyAction.AUDIT] });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([expect.stringContaining(
      'the audit log records a failure of ValidatingAdmissionPolicy "runtimeclass-tenants-workloads" (actions [Audit]), and the API server denies it once the policy is switched to DENY; pin it to "runsc"',
    )]);
  });

  test('the policy and the workload may sit in any charts of the app; a chart synthesized alone is checked too', () => {
    const { app, chart, gvisor, crun } = platform();
    namespace(chart, 'tenant-a', { 'tenancy.example.com/tier': 'tenant' });
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    const tenant = new Chart(app, 'tenant-a', { namespace: 'tenant-a' });
    crun.pin(job(tenant, 'Migrate'));
    expect(() => Testing.synth(tenant)).toThrow(/allows only RuntimeClass "runsc"/);
  });
});

describe('RuntimeClassRestriction of the same app', () => {
  test('The same for RuntimeClassRestriction: a Deployment pinned to a reserved class outside the namespaces it is reserved for fails the synth', () => {
    const { app, chart, kata } = platform();
    namespace(chart, 'web', { team: 'web' });
    new RuntimeClassRestriction(chart, 'Regulated', { namespaceSelector: REGULATED, runtimeClasses: [kata] });
    kata.pin(deployment(new Chart(app, 'web', { namespace: 'web' }), 'Api'));

    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[web\/Api\/Resource\] Deployment "web-api-[0-9a-f]+" \(pinned to RuntimeClass "kata-qemu"\) is in namespace "web"/);
    expect(errors[0]).toContain('(labels: no compliance.example.com/regulated), but RuntimeClassRestriction "runtimeclass-regulated" (platform/Regulated) reserves RuntimeClass "kata-qemu" for namespaces matching compliance.example.com/regulated=true');
    expect(errors[0]).toContain('the API server denies the Deployment when it is applied (ValidatingAdmissionPolicy "runtimeclass-regulated-workloads"); run it in a namespace that matches, label namespace "web" to match, or pin it to a class that is not reserved');
  });

  test('the reserved class in a namespace that matches, and other classes anywhere, synthesize', () => {
    const { app, chart, kata, crun } = platform();
    namespace(chart, 'payments', { 'compliance.example.com/regulated': 'true' });
    namespace(chart, 'web');
    new RuntimeClassRestriction(chart, 'Regulated', { namespaceSelector: REGULATED, runtimeClasses: [kata] });
    kata.pin(deployment(new Chart(app, 'payments', { namespace: 'payments' }), 'Api'));
    crun.pin(deployment(new Chart(app, 'web', { namespace: 'web' }), 'Api'));
    crun.pin(deployment(new Chart(app, 'elsewhere', { namespace: 'elsewhere' }), 'Api'));
    expect(warningsDuring(() => expect(validationErrors(app)).toEqual([]))).toEqual([]);
  });

  test('the message lists the labels the selector reads, sorted by key, present or not', () => {
    const { app, chart, kata } = platform();
    namespace(chart, 'web', { 'team': 'web', 'compliance.example.com/audited': 'true' });
    new RuntimeClassRestriction(chart, 'Regulated', {
      namespaceSelector: { ...REGULATED, matchExpressions: [{ key: 'compliance.example.com/audited', operator: NamespaceSelectorOperator.EXISTS }] },
      runtimeClasses: [kata],
    });
    kata.pin(deployment(new Chart(app, 'web', { namespace: 'web' }), 'Api'));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('is in namespace "web" (labels: compliance.example.com/audited=true, no compliance.example.com/regulated), but RuntimeClassRestriction');
  });

  test('a restriction without actions reports it itself; the workloads outside its namespaces get no message of their own', () => {
    const { app, chart, kata } = platform();
    namespace(chart, 'web', { team: 'web' });
    new RuntimeClassRestriction(chart, 'Regulated', { namespaceSelector: REGULATED, runtimeClasses: [kata], actions: [] });
    kata.pin(deployment(new Chart(app, 'web', { namespace: 'web' }), 'Api'));
    let errors: string[] = [];
    const warnings = warningsDuring(() => { errors = validationErrors(app); });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[platform\/Regulated\] RuntimeClassRestriction "runtimeclass-regulated": /);
    expect(warnings).toEqual([]);
  });
});

describe('a namespace the app does not define', () => {
  test('is reported as unchecked (a warning and construct metadata), not passed silently, and the synth goes on', () => {
    const { app, chart, gvisor, crun } = platform();
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    const migrate = job(new Chart(app, 'tenant-b', { namespace: 'tenant-b' }), 'Migrate');
    crun.pin(migrate);

    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^\[tenant-b\/Migrate\/Resource\] Job "tenant-b-migrate-[0-9a-f]+" \(pinned to RuntimeClass "crun"\) is in namespace "tenant-b", which this app does not define, so it was not checked against RuntimeClassPolicy "runtimeclass-tenants" \(platform\/Tenants\)/);
    expect(warnings[0]).toContain('define namespace "tenant-b" in the app (a kplus.Namespace, or an ApiObject of kind Namespace) with its labels so that the synth checks it');
    expect(ApiObject.of(migrate).node.metadata.filter((m) => m.type === NOTE_METADATA_TYPE)).toHaveLength(1);
  });

  test('a workload with no namespace at all is unchecked too', () => {
    const { app, chart, kata } = platform();
    new RuntimeClassRestriction(chart, 'Regulated', { namespaceSelector: REGULATED, runtimeClasses: [kata] });
    kata.pin(deployment(new Chart(app, 'apps'), 'Api'));
    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([expect.stringContaining('has no metadata.namespace (it goes to kubectl\'s current namespace), so it was not checked against RuntimeClassRestriction "runtimeclass-regulated"')]);
    expect(warnings[0]).toContain(': set its namespace (the chart\'s `namespace`, or metadata.namespace) and define that Namespace in the app so that the synth checks it;');
    expect(warnings[0]).toContain('if the policy applies there, run it in a namespace that matches, or pin it to a class that is not reserved');
  });

  test('a policy that selects namespaces by name decides without the Namespace object (the API server labels every namespace with its name)', () => {
    const { app, chart, gvisor, crun } = platform();
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: kplus.Namespaces.select(chart, 'Selected', { names: ['tenant-a'] }), allowed: [gvisor] });
    crun.pin(job(new Chart(app, 'tenant-a', { namespace: 'tenant-a' }), 'Migrate'));
    crun.pin(job(new Chart(app, 'tenant-b', { namespace: 'tenant-b' }), 'Migrate'));
    let errors: string[] = [];
    const warnings = warningsDuring(() => { errors = validationErrors(app); });
    expect(warnings).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^\[tenant-a\/Migrate\/Resource\] .* is in namespace "tenant-a" \(not defined in this app; its kubernetes.io\/metadata.name label decides\), where RuntimeClassPolicy/)]);
  });

  test('a note is printed once however often the app is synthesized', () => {
    const { app, chart, gvisor } = platform();
    const reference = RuntimeClass.fromName('kata-qemu');
    new RuntimeClassPolicy(chart, 'Tenants', { namespaceSelector: TENANTS, allowed: [gvisor] });
    const migrate = job(new Chart(app, 'tenant-b', { namespace: 'tenant-b' }), 'Migrate');
    reference.pin(migrate);
    const warnings = warningsDuring(() => {
      expect(validationErrors(app)).toEqual([]);
      expect(validationErrors(app)).toEqual([]);
    });
    expect(warnings).toHaveLength(1);
    expect(notesOf(ApiObject.of(migrate))).toHaveLength(1);
  });
});

describe('selects: a namespace selector against what the app knows of a namespace', () => {
  const defined = { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', 'tier': 'tenant' } };
  const undefinedInApp = { name: 'shop' };
  const NAME = 'kubernetes.io/metadata.name';
  test.each([
    ['matchLabels, label present', { matchLabels: { tier: 'tenant' } }, defined, true],
    ['matchLabels, other value', { matchLabels: { tier: 'trial' } }, defined, false],
    ['NotIn, label absent', { matchExpressions: [{ key: 'env', operator: NamespaceSelectorOperator.NOT_IN, values: ['prod'] }] }, defined, true],
    ['DoesNotExist, label present', { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.DOES_NOT_EXIST }] }, defined, false],
    ['Exists, label absent', { matchExpressions: [{ key: 'env', operator: NamespaceSelectorOperator.EXISTS }] }, defined, false],
    ['Exists, label present', { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.EXISTS }] }, defined, true],
    ['DoesNotExist, label absent', { matchExpressions: [{ key: 'env', operator: NamespaceSelectorOperator.DOES_NOT_EXIST }] }, defined, true],
    ['In, label present with another value', { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.IN, values: ['trial'] }] }, defined, false],
    ['In, label absent', { matchExpressions: [{ key: 'env', operator: NamespaceSelectorOperator.IN, values: ['prod'] }] }, defined, false],
    ['NotIn, label present with another value', { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.NOT_IN, values: ['trial'] }] }, defined, true],
    ['NotIn, label present with a listed value', { matchExpressions: [{ key: 'tier', operator: NamespaceSelectorOperator.NOT_IN, values: ['tenant'] }] }, defined, false],
    ['an operator label selectors do not have decides nothing', { matchExpressions: [{ key: 'tier', operator: 'Equals', values: ['tenant'] }] }, defined, undefined],
    ['a label of a namespace the app does not define', { matchLabels: { tier: 'tenant' } }, undefinedInApp, undefined],
    ['its name label', { matchExpressions: [{ key: NAME, operator: NamespaceSelectorOperator.IN, values: ['shop'] }] }, undefinedInApp, true],
    ['its name label rules it out, whatever the unknown labels', { matchLabels: { tier: 'tenant' }, matchExpressions: [{ key: NAME, operator: NamespaceSelectorOperator.NOT_IN, values: ['shop'] }] }, undefinedInApp, false],
    ['no namespace at all', { matchExpressions: [{ key: NAME, operator: NamespaceSelectorOperator.IN, values: ['shop'] }] }, {}, undefined],
  ])('%s', (_, selector, known, expected) => {
    expect(selects(selector as any, known)).toBe(expected);
  });
});
