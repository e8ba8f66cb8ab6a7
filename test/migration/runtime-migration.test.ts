import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GvisorRuntime, KataRuntime, RuncRuntime, RuntimeClass } from '../../src';
import { MigrationSplit } from '../../src/migration/migration-split';
import { RuntimeMigration, RuntimeMigrationProps } from '../../src/migration/runtime-migration';

const CONTAINERS: kplus.ContainerProps[] = [{ name: 'web', image: 'nginx:1.27', portNumber: 8080 }];

function setup(props: Partial<RuntimeMigrationProps> = {}): { chart: Chart; migration: RuntimeMigration } {
  const chart = new Chart(Testing.app(), 'shop', { namespace: 'shop' });
  const runc = new RuncRuntime(chart, 'runc');
  const kata = new KataRuntime(chart, 'kata');
  const migration = new RuntimeMigration(chart, 'web', {
    from: runc,
    to: kata,
    replicas: 4,
    split: MigrationSplit.percent(25),
    containers: CONTAINERS,
    podMetadata: { labels: { app: 'web' } },
    ...props,
  });
  return { chart, migration };
}

function deployments(chart: Chart): any[] {
  return Testing.synth(chart).filter((m) => m.kind === 'Deployment');
}

/** Every validation message in the chart. */
function problems(chart: Chart): string[] {
  return chart.node.findAll().flatMap((c) => c.node.validate());
}

describe('the two Deployments', () => {
  const { chart, migration } = setup();
  const [stable, canary] = deployments(chart);

  test('names, replicas, runtime classes', () => {
    expect([stable.metadata.name, stable.spec.replicas, stable.spec.template.spec.runtimeClassName]).toEqual(['shop-web-stable-c86d5980', 3, 'runc']);
    expect([canary.metadata.name, canary.spec.replicas, canary.spec.template.spec.runtimeClassName]).toEqual(['shop-web-canary-c8cdff24', 1, 'kata-qemu']);
    expect([migration.replicas, migration.stableReplicas, migration.canaryReplicas]).toEqual([4, 3, 1]);
  });

  test('each selects its own track; both carry the migration label and the user\'s labels', () => {
    expect(stable.spec.selector).toEqual({ matchLabels: { 'runtimeclass.cdk8s.io/migration': 'shop-web-c80b2a96', 'runtimeclass.cdk8s.io/track': 'stable' } });
    expect(canary.spec.selector).toEqual({ matchLabels: { 'runtimeclass.cdk8s.io/migration': 'shop-web-c80b2a96', 'runtimeclass.cdk8s.io/track': 'canary' } });
    expect(stable.spec.template.metadata.labels).toEqual({
      'app': 'web',
      'cdk8s.io/metadata.addr': 'shop-web-Stable-c82b2824',
      'runtimeclass.cdk8s.io/migration': 'shop-web-c80b2a96',
      'runtimeclass.cdk8s.io/track': 'stable',
    });
    expect(canary.spec.template.metadata.labels).toEqual({
      'app': 'web',
      'cdk8s.io/metadata.addr': 'shop-web-Canary-c8107794',
      'runtimeclass.cdk8s.io/migration': 'shop-web-c80b2a96',
      'runtimeclass.cdk8s.io/track': 'canary',
    });
  });

  test('neither Deployment selects the other\'s pods', () => {
    const matches = (selector: any, labels: any) => Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
    expect(matches(stable.spec.selector, canary.spec.template.metadata.labels)).toBe(false);
    expect(matches(canary.spec.selector, stable.spec.template.metadata.labels)).toBe(false);
  });

  test('the pod templates are the same but for the track, the address label and the runtime class', () => {
    const strip = (d: any) => {
      const template = JSON.parse(JSON.stringify(d.spec.template));
      delete template.metadata.labels['runtimeclass.cdk8s.io/track'];
      delete template.metadata.labels['cdk8s.io/metadata.addr'];
      delete template.spec.runtimeClassName;
      return template;
    };
    expect(strip(stable)).toEqual(strip(canary));
    expect(strip(stable).spec.containers[0].image).toBe('nginx:1.27');
  });

  test('snapshot', () => {
    // The node setup has tests and snapshots of its own (its config hash follows the installer script).
    const isNodeSetup = (m: any) => m.metadata?.labels?.['app.kubernetes.io/name'] === 'runtimeclass-node-setup' || m.kind === 'Namespace';
    expect(Testing.synth(chart).filter((m) => !isNodeSetup(m))).toMatchSnapshot();
  });
});

describe('a Service serves both', () => {
  test('exposeViaService selects the migration label and the container ports', () => {
    const { chart, migration } = setup();
    migration.exposeViaService({ name: 'web' });
    const service = Testing.synth(chart).find((m) => m.kind === 'Service');
    expect(service).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { externalIPs: [], ports: [{ port: 8080, targetPort: 8080 }], selector: { 'runtimeclass.cdk8s.io/migration': 'shop-web-c80b2a96' }, type: 'ClusterIP' },
    });
  });

  test('a kplus Service takes the migration as its selector; an existing Service on the user\'s labels keeps matching both', () => {
    const { chart, migration } = setup();
    new kplus.Service(chart, 'svc', { selector: migration, ports: [{ port: 80, targetPort: 8080 }] });
    const synthesized = Testing.synth(chart);
    const service = synthesized.find((m) => m.kind === 'Service');
    expect(service.spec.selector).toEqual(migration.selectorLabels);
    for (const d of synthesized.filter((m) => m.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject({ ...migration.selectorLabels, app: 'web' });
    }
  });

  test('no port to expose is an error that says what to give', () => {
    const { migration } = setup({ containers: [{ image: 'worker:1' }] });
    expect(() => migration.exposeViaService()).toThrow('RuntimeMigration "shop-web-c80b2a96".exposeViaService(): its containers expose no port: give `ports`, or set portNumber on a container');
  });
});

describe('the split', () => {
  test.each([
    [MigrationSplit.percent(0), 3, 0],
    [MigrationSplit.percent(1), 3, 1],
    [MigrationSplit.percent(25), 3, 1],
    [MigrationSplit.percent(33), 3, 1],
    [MigrationSplit.percent(34), 3, 2],
    [MigrationSplit.percent(50), 3, 2],
    [MigrationSplit.percent(99), 3, 3],
    [MigrationSplit.percent(100), 3, 3],
    [MigrationSplit.percent(70), 10, 7],
    [MigrationSplit.percent(10), 10, 1],
    [MigrationSplit.percent(15), 20, 3],
    [MigrationSplit.canaryReplicas(0), 5, 0],
    [MigrationSplit.canaryReplicas(2), 5, 2],
    [MigrationSplit.canaryReplicas(5), 5, 5],
    [MigrationSplit.complete(), 5, 5],
  ])('%s of %d replicas puts %d on the new runtime (rounded up)', (split, total, canary) => {
    expect(split.canaryReplicasOf(total)).toBe(canary);
    const { migration } = setup({ split, replicas: total });
    expect([migration.canaryReplicas, migration.stableReplicas]).toEqual([canary, total - canary]);
  });

  test('moving the split changes the replicas and nothing else', () => {
    const before = deployments(setup({ split: MigrationSplit.percent(25) }).chart);
    const after = deployments(setup({ split: MigrationSplit.percent(50) }).chart);
    expect(before.map((d) => d.spec.replicas)).toEqual([3, 1]);
    expect(after.map((d) => d.spec.replicas)).toEqual([2, 2]);
    const withoutReplicas = (ds: any[]) => ds.map((d) => ({ ...d, spec: { ...d.spec, replicas: undefined } }));
    expect(withoutReplicas(after)).toEqual(withoutReplicas(before));
  });

  test('toString for messages', () => {
    expect(MigrationSplit.percent(25).toString()).toBe('25%');
    expect(MigrationSplit.canaryReplicas(1).toString()).toBe('1 canary replica');
    expect(MigrationSplit.canaryReplicas(2).toString()).toBe('2 canary replicas');
    expect(MigrationSplit.complete().toString()).toBe('complete');
  });
});

test('metadata.name names both Deployments and the migration label', () => {
  const { chart, migration } = setup({ metadata: { name: 'web', labels: { team: 'shop' } } });
  const [stable, canary] = deployments(chart);
  expect([stable.metadata, canary.metadata]).toEqual([
    { name: 'web-stable', namespace: 'shop', labels: { team: 'shop' } },
    { name: 'web-canary', namespace: 'shop', labels: { team: 'shop' } },
  ]);
  expect(migration.selectorLabels).toEqual({ 'runtimeclass.cdk8s.io/migration': 'web' });
  expect(problems(chart)).toEqual([]);
});

test('all pin checks of the new runtime apply to the canary', () => {
  const { chart } = setup({ hostNetwork: true });
  expect(problems(chart)).toEqual([
    'Deployment "shop-web-canary-c8cdff24" (pinned to RuntimeClass "kata-qemu") sets hostNetwork: true, which RuntimeClass "kata-qemu" cannot give '
    + '(Kata Containers with QEMU runs each pod in its own VM, which cannot join the node\'s namespaces): remove hostNetwork or run this workload with another runtime',
  ]);
});

describe('validation', () => {
  const messages = (props: Partial<RuntimeMigrationProps>) => problems(setup(props).chart).filter((m) => m.startsWith('RuntimeMigration'));

  test.each([
    [{ split: MigrationSplit.percent(101) }, 'split MigrationSplit.percent(101) must be a whole percentage from 0 to 100'],
    [{ split: MigrationSplit.percent(-5) }, 'split MigrationSplit.percent(-5) must be a whole percentage from 0 to 100'],
    [{ split: MigrationSplit.percent(12.5) }, 'split MigrationSplit.percent(12.5) must be a whole percentage from 0 to 100'],
    [{ split: MigrationSplit.canaryReplicas(-1) }, 'split MigrationSplit.canaryReplicas(-1) must be a whole number, 0 or more'],
    [{ split: MigrationSplit.canaryReplicas(5) }, 'split MigrationSplit.canaryReplicas(5) asks for more canary replicas than the 4 replicas of the migration: lower it or raise replicas'],
    [{ replicas: 0 }, 'replicas 0 must be a whole number, 1 or more (it is the total of the stable and canary Deployments)'],
    [{ replicas: 2.5 }, 'replicas 2.5 must be a whole number, 1 or more (it is the total of the stable and canary Deployments)'],
    [{ select: true }, 'select: true is set, but RuntimeMigration sets the selectors of both Deployments itself: remove `select`'],
    [{ podMetadata: { labels: { 'runtimeclass.cdk8s.io/track': 'x' } } }, 'podMetadata.labels["runtimeclass.cdk8s.io/track"] is set, but RuntimeMigration sets that label itself: remove it'],
  ])('%j', (props, message) => {
    expect(messages(props)).toEqual([`RuntimeMigration "shop-web-c80b2a96": ${message}`]);
  });

  test('from and to the same class', () => {
    const chart = new Chart(Testing.app(), 'shop');
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    new RuntimeMigration(chart, 'web', { from: RuntimeClass.fromName('runsc'), to: gvisor, split: MigrationSplit.percent(50), containers: CONTAINERS });
    expect(problems(chart).filter((m) => m.startsWith('RuntimeMigration'))).toEqual([
      'RuntimeMigration "shop-web-c80b2a96": from and to are both RuntimeClass "runsc": a migration moves pods to another class; set `to` to the new runtime',
    ]);
  });

  test('a metadata.name that is no label value', () => {
    const name = 'w'.repeat(64);
    expect(messages({ metadata: { name } })).toEqual([
      `RuntimeMigration "${name}": metadata.name "${name}" names the migration in the runtimeclass.cdk8s.io/migration label, so it must be at most 63 characters (it has 64)`,
    ]);
  });

  test('pod templates that drift apart', () => {
    const { chart, migration } = setup();
    migration.canary.addContainer({ name: 'debug', image: 'busybox:1.36' });
    expect(problems(chart).filter((m) => m.startsWith('RuntimeMigration'))).toEqual([
      'RuntimeMigration "shop-web-c80b2a96": the pod templates of the stable and canary Deployments differ at spec.template.spec.containers[1]: both must run the same pod; '
      + 'change the pod through the RuntimeMigration\'s props, or make the same change to `stable` and `canary`',
    ]);
  });

  test('a valid migration has no problem, and the synth runs', () => {
    const { chart } = setup();
    expect(problems(chart)).toEqual([]);
    expect(() => Testing.synth(chart)).not.toThrow();
    expect(ApiObject.of(setup().migration.stable).kind).toBe('Deployment');
  });
});
