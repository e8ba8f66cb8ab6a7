import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart, Include, JsonPatch, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { KataRuntime, RuncRuntime, RuntimeClass } from '../../src';
import { DeploymentMigration } from '../../src/migration/deployment-migration';
import { MigrationSplit } from '../../src/migration/migration-split';

const CONTAINERS: kplus.ContainerProps[] = [{ name: 'web', image: 'ghcr.io/example/checkout:2.3.0', portNumber: 8080 }];

/** How the Deployment that runs today was written. */
type Source = 'kplus' | 'ApiObject' | 'Include';

/** A step of the rollout: no migration yet, a migration step, or after it (the Deployment pinned to Kata, no migration). */
type Step = 'before' | MigrationSplit | 'after';

/** The Include'd form: a Deployment with the class written into it, and its Service, in one file. */
const INCLUDED_YAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
  labels: { team: payments }
spec:
  replicas: 8
  selector:
    matchLabels: { app.kubernetes.io/name: checkout, app.kubernetes.io/instance: checkout-prod }
  template:
    metadata:
      labels: { app.kubernetes.io/name: checkout, app.kubernetes.io/instance: checkout-prod, tier: web }
      annotations: { prometheus.io/scrape: "true" }
    spec:
      runtimeClassName: runc
      containers:
        - name: web
          image: ghcr.io/example/checkout:2.3.0
          ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: checkout, namespace: shop }
spec:
  selector: { app.kubernetes.io/name: checkout }
  ports: [{ port: 80, targetPort: 8080 }]
`;
const includeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'migration-'));
const includedFile = path.join(includeDir, 'checkout.yaml');
fs.writeFileSync(includedFile, INCLUDED_YAML);
/** The file once the migration is over: its class edited to the new one. */
const includedFileAfter = path.join(includeDir, 'checkout-after.yaml');
fs.writeFileSync(includedFileAfter, INCLUDED_YAML.replace('runtimeClassName: runc', 'runtimeClassName: kata-qemu'));

/** The Deployment `checkout` (8 replicas) and its Service, as `source` writes them. */
function runningDeployment(chart: Chart, source: Source, after = false): IConstruct {
  switch (source) {
    case 'kplus': {
      // cdk8s-plus selects by its address label; the Service selects by app=checkout.
      const deployment = new kplus.Deployment(chart, 'checkout', {
        metadata: { name: 'checkout' },
        replicas: 8,
        containers: CONTAINERS,
        podMetadata: { labels: { app: 'checkout' } },
      });
      new kplus.Service(chart, 'service', {
        metadata: { name: 'checkout' },
        selector: kplus.Pods.select(chart, 'checkout-pods', { labels: { app: 'checkout' } }),
        ports: [{ port: 80, targetPort: 8080 }],
      });
      return deployment;
    }
    case 'ApiObject': {
      const labels = { 'app': 'checkout', 'pod-template': 'checkout-v1' };
      const deployment = new ApiObject(chart, 'checkout', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'checkout' },
        spec: {
          replicas: 8,
          selector: { matchLabels: { 'pod-template': 'checkout-v1' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['checkout'] }] },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'ghcr.io/example/checkout:2.3.0' }] } },
        },
      });
      new ApiObject(chart, 'service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'checkout' }, spec: { selector: { app: 'checkout' }, ports: [{ port: 80 }] } });
      return deployment;
    }
    case 'Include':
      return new Include(chart, 'checkout', { url: after ? includedFileAfter : includedFile });
  }
}

/** One step of the rollout, synthesized in an app of its own, as `cdk8s synth` would write it (validations run). */
function synthStep(step: Step, source: Source = 'kplus'): { manifests: any[]; migration?: DeploymentMigration } {
  const app = Testing.app();
  const chart = new Chart(app, 'shop', { namespace: 'shop' });
  const kata = new KataRuntime(chart, 'kata');
  const deployment = runningDeployment(chart, source, step === 'after');
  let migration: DeploymentMigration | undefined;
  if (step === 'after') kata.pin(deployment);
  else if (step !== 'before') migration = new DeploymentMigration(chart, 'to-kata', { deployment, to: kata, split: step });
  app.synth(); // runs every validation, as cdk8s synth does
  return { manifests: Testing.synth(chart), migration };
}

/** Every difference between two synths: objects added or removed, and each changed leaf (by JSON pointer). */
function diff(before: any[], after: any[]): string[] {
  const key = (m: any) => `${m.kind} ${m.metadata?.namespace ?? ''}/${m.metadata?.name}`;
  const a = new Map(before.map((m) => [key(m), m]));
  const b = new Map(after.map((m) => [key(m), m]));
  const changes: string[] = [];
  for (const k of a.keys()) if (!b.has(k)) changes.push(`- ${k}`);
  for (const [k, m] of b) {
    if (!a.has(k)) changes.push(`+ ${k}`);
    else changes.push(...leafChanges(a.get(k), m, '').map((c) => `~ ${k} ${c}`));
  }
  return changes;
}

function leafChanges(a: any, b: any, pointer: string): string[] {
  const isObject = (v: any) => typeof v === 'object' && v !== null;
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => leafChanges(a[k], b[k], `${pointer}/${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${pointer}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}

/** Every validation message of the app (the synth collects the same). */
function problems(scope: IConstruct): string[] {
  return scope.node.root.node.findAll().flatMap((c) => c.node.validate());
}

function selectorMatches(selector: any, labels: any): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e: any) => (e.operator === 'In' ? e.values.includes(labels[e.key]) : true));
  return byLabels && byExpressions;
}

const STEPS: Array<[string, Step]> = [
  ['before', 'before'],
  ['10%', MigrationSplit.percent(10)],
  ['25%', MigrationSplit.percent(25)],
  ['50%', MigrationSplit.percent(50)],
  ['100%', MigrationSplit.percent(100)],
  ['complete', MigrationSplit.complete()],
  ['after', 'after'],
];

describe('the canary is a redeploy: each step changes only replicas, the canary and, at the end, the class', () => {
  test.each<[Source]>([['kplus'], ['ApiObject'], ['Include']])('starting from a %s Deployment', (source) => {
    const synths = STEPS.map(([, step]) => synthStep(step, source).manifests);
    const classBefore = source === 'Include' ? '"runc"' : undefined;
    const transitions = STEPS.slice(1).map(([name], i) => [`${STEPS[i][0]} -> ${name}`, diff(synths[i], synths[i + 1])]);
    expect(transitions).toEqual([
      ['before -> 10%', ['~ Deployment shop/checkout /spec/replicas: 8 -> 7', '+ Deployment shop/checkout-canary']],
      ['10% -> 25%', ['~ Deployment shop/checkout /spec/replicas: 7 -> 6', '~ Deployment shop/checkout-canary /spec/replicas: 1 -> 2']],
      ['25% -> 50%', ['~ Deployment shop/checkout /spec/replicas: 6 -> 4', '~ Deployment shop/checkout-canary /spec/replicas: 2 -> 4']],
      ['50% -> 100%', ['~ Deployment shop/checkout /spec/replicas: 4 -> 0', '~ Deployment shop/checkout-canary /spec/replicas: 4 -> 8']],
      ['100% -> complete', [
        '- Deployment shop/checkout-canary',
        '~ Deployment shop/checkout /spec/replicas: 0 -> 8',
        `~ Deployment shop/checkout /spec/template/spec/runtimeClassName: ${classBefore} -> "kata-qemu"`,
      ]],
      // The last step is the end state: the migration can then give way to kata.pin(deployment).
      ['complete -> after', []],
    ]);
  });

  test('going back: from any split, removing the migration restores the Deployment as it ran; from complete, a split rolls it back', () => {
    const before = synthStep('before').manifests;
    expect(diff(synthStep(MigrationSplit.percent(50)).manifests, before)).toEqual([
      '- Deployment shop/checkout-canary',
      '~ Deployment shop/checkout /spec/replicas: 4 -> 8',
    ]);
    expect(diff(synthStep(MigrationSplit.complete()).manifests, synthStep(MigrationSplit.percent(0)).manifests)).toEqual([
      '~ Deployment shop/checkout /spec/template/spec/runtimeClassName: "kata-qemu" -> undefined',
      '+ Deployment shop/checkout-canary',
    ]);
  });
});

describe.each<[Source]>([['kplus'], ['ApiObject'], ['Include']])('the canary of a %s Deployment', (source) => {
  let stable: any;
  let canary: any;
  let service: any;
  let migration: DeploymentMigration | undefined;
  beforeAll(() => {
    const synth = synthStep(MigrationSplit.percent(25), source);
    migration = synth.migration;
    stable = synth.manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'checkout');
    canary = synth.manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'checkout-canary');
    service = synth.manifests.find((m) => m.kind === 'Service');
  });

  test('the Service that serves the Deployment\'s pods serves the canary\'s', () => {
    expect(selectorMatches({ matchLabels: service.spec.selector }, stable.spec.template.metadata.labels)).toBe(true);
    expect(selectorMatches({ matchLabels: service.spec.selector }, canary.spec.template.metadata.labels)).toBe(true);
  });

  test('neither Deployment\'s selector matches the other\'s pods', () => {
    expect(selectorMatches(stable.spec.selector, canary.spec.template.metadata.labels)).toBe(false);
    expect(selectorMatches(canary.spec.selector, stable.spec.template.metadata.labels)).toBe(false);
    expect(selectorMatches(canary.spec.selector, canary.spec.template.metadata.labels)).toBe(true);
    expect(canary.spec.selector).toEqual({ matchLabels: { 'runtimeclass.cdk8s.io/migration': 'checkout', 'runtimeclass.cdk8s.io/track': 'canary' } });
  });

  test('the pod template is the Deployment\'s but for the labels and the class', () => {
    const strip = (d: any) => ({
      ...d.spec.template,
      metadata: { ...d.spec.template.metadata, labels: undefined },
      spec: { ...d.spec.template.spec, runtimeClassName: undefined },
    });
    expect(strip(canary)).toEqual(strip(stable));
    expect(canary.spec.template.spec.runtimeClassName).toBe('kata-qemu');
    expect(canary.metadata.namespace).toBe(stable.metadata.namespace);
    expect([stable.spec.replicas, canary.spec.replicas, migration!.replicas]).toEqual([6, 2, 8]);
  });
});

test('the canary\'s pod labels: the Deployment\'s, less the selector keys no Service selects by, plus its track', () => {
  const kplusCanary = synthStep(MigrationSplit.percent(25), 'kplus').manifests.find((m) => m.metadata.name === 'checkout-canary');
  expect(kplusCanary.spec.template.metadata.labels).toEqual({
    'app': 'checkout',
    'runtimeclass.cdk8s.io/migration': 'checkout',
    'runtimeclass.cdk8s.io/track': 'canary',
  });
  const included = synthStep(MigrationSplit.percent(25), 'Include').manifests.find((m) => m.metadata.name === 'checkout-canary');
  expect(included.metadata).toEqual({ name: 'checkout-canary', namespace: 'shop', labels: { team: 'payments' } });
  expect(included.spec.template.metadata).toEqual({
    labels: { 'app.kubernetes.io/name': 'checkout', 'tier': 'web', 'runtimeclass.cdk8s.io/migration': 'checkout', 'runtimeclass.cdk8s.io/track': 'canary' },
    annotations: { 'prometheus.io/scrape': 'true' },
  });
});

test('snapshot of a step', () => {
  const isNodeSetup = (m: any) => m.metadata?.labels?.['app.kubernetes.io/name'] === 'runtimeclass-node-setup' || m.kind === 'Namespace';
  expect(synthStep(MigrationSplit.percent(25), 'Include').manifests.filter((m) => !isNodeSetup(m))).toMatchSnapshot();
});

describe('a selector that cannot exclude the canary is an error with the way out', () => {
  /** A Deployment whose selector is exactly what its Service selects by. */
  function overlapping(build: (chart: Chart, deployment: kplus.Deployment) => void): string[] {
    const chart = new Chart(Testing.app(), 'shop', { namespace: 'shop' });
    const deployment = new kplus.Deployment(chart, 'checkout', { metadata: { name: 'checkout' }, replicas: 4, containers: CONTAINERS });
    build(chart, deployment);
    new DeploymentMigration(chart, 'to-kata', { deployment, to: new KataRuntime(chart, 'kata'), split: MigrationSplit.percent(25) });
    return problems(chart).filter((p) => p.startsWith('DeploymentMigration'));
  }

  test('the Service of exposeViaService() selects by the Deployment\'s own selector', () => {
    expect(overlapping((_, d) => d.exposeViaService())).toEqual([
      'DeploymentMigration "shop/to-kata": Deployment "checkout" selects its pods by {cdk8s.io/metadata.addr=shop-checkout-c8986c75}, '
      + 'and Service "shop-checkout-service-c83a1e64" selects them by that label too: a canary pod those select would also match the Deployment\'s selector, '
      + 'and the two Deployments would fight over it (selectors are immutable). Make them select by a pod label outside the Deployment\'s selector: '
      + 'add one to the pod template (for example app.kubernetes.io/name; applying it is a rolling update on today\'s runtime), point the Service\'s selector at it, '
      + 'apply both, then start the migration',
    ]);
  });

  test('a NetworkPolicy that lets the Deployment\'s pods in by the selector\'s labels counts too', () => {
    const messages = overlapping((chart, d) => {
      new ApiObject(chart, 'db-policy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'db' },
        spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: d.matchLabels } }] }] },
      });
    });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('and NetworkPolicy "db" selects them by that label too');
  });

  test('no Service or policy selects by the selector: the canary leaves the selector\'s label out, and there is no error', () => {
    expect(overlapping(() => undefined)).toEqual([]);
  });
});

describe('mistakes', () => {
  function migrate(deployment: IConstruct, split = MigrationSplit.percent(25), to?: RuntimeClass | KataRuntime): string[] {
    const chart = Chart.of(deployment);
    new DeploymentMigration(chart, 'to-kata', { deployment, to: to ?? new KataRuntime(chart, 'kata'), split });
    return problems(chart).filter((p) => p.startsWith('DeploymentMigration'));
  }
  const chart = () => new Chart(Testing.app(), 'shop', { namespace: 'shop' });
  const kplusDeployment = (scope: Construct, props: Partial<kplus.DeploymentProps> = {}) => new kplus.Deployment(scope, 'checkout', {
    metadata: { name: 'checkout' }, replicas: 4, containers: CONTAINERS, ...props,
  });

  test('a Deployment without replicas', () => {
    const c = chart();
    const deployment = new ApiObject(c, 'checkout', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'checkout' },
      spec: { selector: { matchLabels: { app: 'checkout' } }, template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'web', image: 'x' }] } } },
    });
    expect(migrate(deployment)).toEqual([
      'DeploymentMigration "shop/to-kata": Deployment "checkout" has spec.replicas undefined: a migration moves a fixed number of replicas between two Deployments; '
      + 'give the Deployment a whole number of replicas, 1 or more (an autoscaled Deployment: remove the autoscaler while migrating)',
    ]);
  });

  test('an autoscaled Deployment', () => {
    const c = chart();
    const deployment = kplusDeployment(c, { replicas: undefined });
    new kplus.HorizontalPodAutoscaler(c, 'hpa', { target: deployment, maxReplicas: 10 });
    expect(migrate(deployment)[0]).toMatch(/Deployment "checkout" is scaled by an autoscaler.*remove the autoscaler while migrating/);
  });

  test('a Deployment that already runs on the new class', () => {
    const c = chart();
    const kata = new KataRuntime(c, 'kata');
    const deployment = kplusDeployment(c);
    kata.pin(deployment);
    expect(migrate(deployment, MigrationSplit.percent(25), kata)).toEqual([
      'DeploymentMigration "shop/to-kata": Deployment "checkout" already runs on RuntimeClass "kata-qemu" (its runtimeClassName), the class the migration moves it to: '
      + 'set `to` to another runtime, or remove the migration',
    ]);
  });

  test('the last step while a pin() outside the migration still holds the Deployment on the old class', () => {
    const c = chart();
    const deployment = kplusDeployment(c);
    RuntimeClass.fromName('runc').pin(deployment);
    expect(migrate(deployment, MigrationSplit.complete())).toEqual([
      'DeploymentMigration "shop/to-kata": the last step (MigrationSplit.complete()) pins Deployment "checkout" to RuntimeClass "kata-qemu", '
      + 'and it is also pinned to "runc" by a pin() outside the migration: remove that pin in this step',
    ]);
  });

  test('a user pin on the old class is fine until the last step', () => {
    const c = chart();
    const deployment = kplusDeployment(c);
    RuntimeClass.fromName('runc').pin(deployment);
    expect(migrate(deployment)).toEqual([]);
    expect(Testing.synth(c).find((m) => m.metadata.name === 'checkout').spec.template.spec.runtimeClassName).toBe('runc');
  });

  test('the pin checks of the new runtime apply to the canary', () => {
    const c = chart();
    const deployment = kplusDeployment(c, { hostNetwork: true });
    expect(migrate(deployment)).toEqual([]);
    expect(problems(c).filter((p) => p.includes('hostNetwork'))).toEqual([
      expect.stringMatching(/^Deployment "checkout-canary" \(pinned to RuntimeClass "kata-qemu"\) sets hostNetwork: true/),
    ]);
  });

  test('a canary name that another Deployment has', () => {
    const c = chart();
    const deployment = kplusDeployment(c);
    kplusDeployment(new Construct(c, 'other'), { metadata: { name: 'checkout-canary' } });
    expect(migrate(deployment)).toEqual([
      'DeploymentMigration "shop/to-kata": the canary\'s name "checkout-canary" is the name of Deployment shop/other/checkout/Resource: give `canaryName` another name',
    ]);
  });

  test('a migration in a chart of another namespace', () => {
    const app = Testing.app();
    const deployment = kplusDeployment(new Chart(app, 'shop', { namespace: 'shop' }));
    const other = new Chart(app, 'platform', { namespace: 'platform' });
    new DeploymentMigration(other, 'to-kata', { deployment, to: new KataRuntime(other, 'kata'), split: MigrationSplit.percent(25) });
    // The canary takes the Deployment's namespace, whatever the chart it is in.
    expect(problems(other).filter((p) => p.startsWith('DeploymentMigration'))).toEqual([]);
    expect(Testing.synth(other).find((m) => m.metadata.name === 'checkout-canary').metadata.namespace).toBe('shop');
  });

  test('a Deployment without a namespace and a migration in a chart with one', () => {
    const app = Testing.app();
    const deployment = kplusDeployment(new Chart(app, 'shop'));
    const other = new Chart(app, 'platform', { namespace: 'platform' });
    new DeploymentMigration(other, 'to-kata', { deployment, to: new KataRuntime(other, 'kata'), split: MigrationSplit.percent(25) });
    expect(problems(other).filter((p) => p.startsWith('DeploymentMigration'))).toEqual([
      'DeploymentMigration "platform/to-kata": the canary would be in namespace "platform" (the migration\'s chart\'s) and Deployment "checkout" is in no namespace: '
      + 'a Service serves pods of its own namespace only; create the migration in the Deployment\'s chart, or give the Deployment its namespace',
    ]);
  });

  test('a construct that holds no Deployment, or several', () => {
    const c = chart();
    const kata = new KataRuntime(c, 'kata');
    const job = new kplus.Job(c, 'job', { containers: CONTAINERS });
    expect(() => new DeploymentMigration(c, 'm1', { deployment: job, to: kata, split: MigrationSplit.percent(10) })).toThrow(
      'DeploymentMigration "shop/m1": deployment shop/job is no Deployment (it holds Job): give a kplus.Deployment, a KubeDeployment or ApiObject of kind Deployment, or an Include that holds one Deployment');
    const two = new Construct(c, 'two');
    kplusDeployment(new Construct(two, 'a'), { metadata: { name: 'a' } });
    kplusDeployment(new Construct(two, 'b'), { metadata: { name: 'b' } });
    expect(() => new DeploymentMigration(c, 'm2', { deployment: two, to: kata, split: MigrationSplit.percent(10) })).toThrow(
      'DeploymentMigration "shop/m2": deployment shop/two holds 2 Deployments ("a", "b"): give one of them, e.g. include.apiObjects.find((o) => o.kind === \'Deployment\' && o.name === \'a\')');
  });

  test.each([['deployment'], ['to'], ['split']])('%s left out by a JavaScript caller', (field) => {
    const c = chart();
    const props: any = { deployment: kplusDeployment(c), to: new KataRuntime(c, 'kata'), split: MigrationSplit.percent(10), [field]: undefined };
    expect(() => new DeploymentMigration(c, 'm', props)).toThrow(new RegExp(`^DeploymentMigration "shop/m": \`${field}\` is required \\(got undefined\\): give `));
  });

  test('a split or a runtime of the wrong type from a JavaScript caller', () => {
    const c = chart();
    const deployment = kplusDeployment(c);
    const kata = new KataRuntime(c, 'kata');
    expect(() => new DeploymentMigration(c, 'm1', { deployment, to: kata, split: 25 as any })).toThrow(
      'DeploymentMigration "shop/m1": split 25 is no MigrationSplit: give the step, e.g. MigrationSplit.percent(10), or MigrationSplit.complete() for the last one');
    expect(() => new DeploymentMigration(c, 'm2', { deployment, to: 'kata-qemu' as any, split: MigrationSplit.percent(10) })).toThrow(
      'DeploymentMigration "shop/m2": to is no runtime (it has no runtimeClassName and pin()): give the runtime to move to (a runtime such as KataRuntime, or RuntimeClass.fromName(...))');
  });

  test('a split out of range', () => {
    const c = chart();
    expect(migrate(kplusDeployment(c), MigrationSplit.percent(120))).toEqual([
      'DeploymentMigration "shop/to-kata": split MigrationSplit.percent(120) must be a whole percentage from 0 to 100',
    ]);
  });
});

test('complete() on an Include\'d Deployment replaces the class written in the file', () => {
  const { manifests } = synthStep(MigrationSplit.complete(), 'Include');
  const deployment = manifests.find((m) => m.kind === 'Deployment');
  expect([deployment.spec.replicas, deployment.spec.template.spec.runtimeClassName]).toEqual([8, 'kata-qemu']);
  expect(manifests.filter((m) => m.kind === 'Deployment')).toHaveLength(1);
});

test('the app synthesizes to YAML at every step', () => {
  for (const [, step] of STEPS) {
    if (step === 'before' || step === 'after') continue;
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'migration-out-')) });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new DeploymentMigration(chart, 'to-kata', { deployment: runningDeployment(chart, 'kplus'), to: new KataRuntime(chart, 'kata'), split: step });
    expect(() => app.synthYaml()).not.toThrow();
  }
});

test('a selector made only of NotIn and DoesNotExist cannot exclude any canary', () => {
  const chart = new Chart(Testing.app(), 'shop', { namespace: 'shop' });
  const deployment = new ApiObject(chart, 'checkout', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout' },
    spec: {
      replicas: 2,
      selector: { matchExpressions: [{ key: 'debug', operator: 'DoesNotExist' }] },
      template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'web', image: 'x' }] } },
    },
  });
  new DeploymentMigration(chart, 'to-kata', { deployment, to: new KataRuntime(chart, 'kata'), split: MigrationSplit.percent(50) });
  expect(problems(chart).filter((p) => p.startsWith('DeploymentMigration'))).toEqual([
    'DeploymentMigration "shop/to-kata": Deployment "checkout" selects its pods by {debug DoesNotExist}, which no label a canary pod leaves out can escape '
    + '(only matchLabels, In and Exists can), so the Deployment would adopt the canary\'s pods (selectors are immutable). '
    + 'A migration needs a Deployment whose selector has such a key: replace the Deployment with one whose selector has matchLabels, then start the migration',
  ]);
});

describe('the README\'s "Moving a workload to another runtime" block and its table of steps', () => {
  /** The README block, verbatim but for the step, in the README's preamble (runc, kata). */
  function readmeBlock(split: MigrationSplit | undefined, pinnedToRunc = true): { manifests: any[]; migration?: DeploymentMigration } {
    const app = Testing.app();
    const chart = new Chart(app, 'docs');
    const runc = new RuncRuntime(chart, 'runc');
    const kata = new KataRuntime(chart, 'kata');
    const checkout = new kplus.Deployment(chart, 'checkout', {
      metadata: { name: 'checkout' },
      replicas: 4,
      podMetadata: { labels: { app: 'checkout' } },
      containers: [{ image: 'ghcr.io/example/checkout:2.3', portNumber: 8080 }],
    });
    if (pinnedToRunc) runc.pin(checkout);
    new kplus.Service(chart, 'checkout-service', {
      metadata: { name: 'checkout' },
      selector: kplus.Pods.select(chart, 'checkout-pods', { labels: { app: 'checkout' } }),
      ports: [{ port: 80, targetPort: 8080 }],
    });
    const migration = split && new DeploymentMigration(chart, 'checkout-to-kata', { deployment: checkout, to: kata, split });
    if (!split && !pinnedToRunc) kata.pin(checkout);
    app.synth();
    return { manifests: Testing.synth(chart), migration };
  }
  const tracks = (manifests: any[]) => manifests.filter((m) => m.kind === 'Deployment' && m.metadata.name.startsWith('checkout'))
    .map((d) => [d.metadata.name, d.spec.replicas, d.spec.template.spec.runtimeClassName]);

  test('the block: 3 pods stay on runc, 1 canary pod on Kata, one Service for both', () => {
    const { manifests, migration } = readmeBlock(MigrationSplit.percent(25));
    expect([migration!.stableReplicas, migration!.canaryReplicas]).toEqual([3, 1]);
    expect(tracks(manifests)).toEqual([['checkout', 3, 'runc'], ['checkout-canary', 1, 'kata-qemu']]);
    const service = manifests.find((m) => m.kind === 'Service');
    for (const d of manifests.filter((m) => m.kind === 'Deployment' && m.metadata.name.startsWith('checkout'))) {
      expect(d.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
  });

  test('the table', () => {
    expect(tracks(readmeBlock(undefined).manifests)).toEqual([['checkout', 4, 'runc']]);
    expect(tracks(readmeBlock(MigrationSplit.percent(50)).manifests)).toEqual([['checkout', 2, 'runc'], ['checkout-canary', 2, 'kata-qemu']]);
    expect(tracks(readmeBlock(MigrationSplit.percent(100)).manifests)).toEqual([['checkout', 0, 'runc'], ['checkout-canary', 4, 'kata-qemu']]);
    const last = readmeBlock(MigrationSplit.complete(), false).manifests;
    expect(tracks(last)).toEqual([['checkout', 4, 'kata-qemu']]);
    expect(diff(last, readmeBlock(undefined, false).manifests)).toEqual([]);
  });
});

test('a spread over the Deployment\'s own pods becomes a spread over the canary\'s own pods; one over a shared label stays', () => {
  const chart = new Chart(Testing.app(), 'shop', { namespace: 'shop' });
  const deployment = new kplus.Deployment(chart, 'checkout', {
    metadata: { name: 'checkout' },
    replicas: 4,
    containers: CONTAINERS,
    podMetadata: { labels: { app: 'checkout' } },
  });
  deployment.scheduling.spread({ topology: kplus.Topology.HOSTNAME }); // anti-affinity on cdk8s.io/metadata.addr
  ApiObject.of(deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'checkout' } } },
  ]));
  new DeploymentMigration(chart, 'to-kata', { deployment, to: new KataRuntime(chart, 'kata'), split: MigrationSplit.percent(50) });
  const manifests = Testing.synth(chart);
  const [stable, canary] = ['checkout', 'checkout-canary'].map((n) => manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === n));
  const antiAffinity = (d: any) => d.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector;
  expect(antiAffinity(stable)).toEqual({ matchLabels: { 'cdk8s.io/metadata.addr': 'shop-checkout-c8986c75' } });
  expect(antiAffinity(canary)).toEqual({ matchLabels: { 'runtimeclass.cdk8s.io/migration': 'checkout', 'runtimeclass.cdk8s.io/track': 'canary' } });
  // app=checkout selects both tracks: the zone spread keeps counting every checkout pod.
  expect(canary.spec.template.spec.topologySpreadConstraints).toEqual(stable.spec.template.spec.topologySpreadConstraints);
});
