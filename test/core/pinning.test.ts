import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Cron, Include, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct, IConstruct } from 'constructs';
import { manifestOfKind, pointersOf, validationErrors, withoutPointer } from './support';
import { IRuntimeClass, PodOverhead, RuntimeClass, RuntimeClassProps, TaintEffect, TolerationOperator } from '../../src/core';
import { pinProblems, pinsOf } from '../../src/core/pinning';
import { readPointer } from '../../src/core/pod-spec';

const WORKLOAD_KINDS = 'Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate';
const NOT_A_QUANTITY = 'is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)';

const TEMPLATE = '/spec/template/spec';
const CRON_TEMPLATE = '/spec/jobTemplate/spec/template/spec';
const POD = '/spec';

/** A class with overhead and scheduling, so a test sees that neither leaks into pinned templates. */
const GVISOR: RuntimeClassProps = {
  name: 'gvisor',
  handler: 'runsc',
  overhead: PodOverhead.of({ cpu: '100m', memory: '64Mi' }),
  scheduling: {
    nodeSelector: { 'sandbox.example.com/gvisor': 'ready' },
    tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE }],
  },
};

const KATA_REASON = 'Kata runs each pod in a VM with its own kernel';

const LABELS = { app: 'w' };
const CONTAINERS = [{ name: 'app', image: 'nginx' }];

let yamlDir: string;
let includeFile: string;

beforeAll(() => {
  yamlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pinning-include-'));
  includeFile = path.join(yamlDir, 'app.yaml');
  fs.writeFileSync(includeFile, [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: { name: web }',
    'spec:',
    '  selector: { matchLabels: { app: web } }',
    '  template:',
    '    metadata: { labels: { app: web } }',
    '    spec:',
    '      containers: [{ name: web, image: nginx }]',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata: { name: web }',
    'spec: { selector: { app: web }, ports: [{ port: 80 }] }',
    '---',
    'apiVersion: batch/v1',
    'kind: CronJob',
    'metadata: { name: report }',
    'spec:',
    '  schedule: "0 * * * *"',
    '  jobTemplate:',
    '    spec:',
    '      template:',
    '        spec:',
    '          restartPolicy: Never',
    '          containers: [{ name: report, image: busybox }]',
    '',
  ].join('\n'));
});

afterAll(() => {
  fs.rmSync(yamlDir, { recursive: true, force: true });
});

type Factory = (chart: Chart) => IConstruct;

const FLAVOURS: Array<[string, Factory, Array<[string, string]>]> = [
  ['cdk8s-plus Deployment', (c) => new kplus.Deployment(c, 'w', { containers: [{ image: 'nginx' }] }), [['Deployment', TEMPLATE]]],
  ['cdk8s-plus StatefulSet (with its headless Service)', (c) => new kplus.StatefulSet(c, 'w', { containers: [{ image: 'nginx', portNumber: 80 }] }), [['StatefulSet', TEMPLATE]]],
  ['cdk8s-plus DaemonSet', (c) => new kplus.DaemonSet(c, 'w', { containers: [{ image: 'nginx' }] }), [['DaemonSet', TEMPLATE]]],
  ['cdk8s-plus Job', (c) => new kplus.Job(c, 'w', { containers: [{ image: 'nginx' }] }), [['Job', TEMPLATE]]],
  ['cdk8s-plus CronJob', (c) => new kplus.CronJob(c, 'w', { containers: [{ image: 'nginx' }], schedule: Cron.daily() }), [['CronJob', CRON_TEMPLATE]]],
  ['cdk8s-plus Pod', (c) => new kplus.Pod(c, 'w', { containers: [{ image: 'nginx' }] }), [['Pod', POD]]],
  ['KubeDeployment', (c) => new k8s.KubeDeployment(c, 'w', {
    spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  }), [['Deployment', TEMPLATE]]],
  ['KubeStatefulSet', (c) => new k8s.KubeStatefulSet(c, 'w', {
    spec: { serviceName: 'w', selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  }), [['StatefulSet', TEMPLATE]]],
  ['KubeDaemonSet', (c) => new k8s.KubeDaemonSet(c, 'w', {
    spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  }), [['DaemonSet', TEMPLATE]]],
  ['KubeReplicaSet', (c) => new k8s.KubeReplicaSet(c, 'w', {
    spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  }), [['ReplicaSet', TEMPLATE]]],
  ['KubeJob', (c) => new k8s.KubeJob(c, 'w', {
    spec: { template: { spec: { restartPolicy: 'Never', containers: CONTAINERS } } },
  }), [['Job', TEMPLATE]]],
  ['KubeCronJob', (c) => new k8s.KubeCronJob(c, 'w', {
    spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: CONTAINERS } } } } },
  }), [['CronJob', CRON_TEMPLATE]]],
  ['KubePod', (c) => new k8s.KubePod(c, 'w', { spec: { containers: CONTAINERS } }), [['Pod', POD]]],
  ['plain ApiObject', (c) => new ApiObject(c, 'w', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'w' },
    spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  }), [['Deployment', TEMPLATE]]],
  ['Include of a Deployment, a Service and a CronJob', (c) => new Include(c, 'w', { url: includeFile }), [['Deployment', TEMPLATE], ['CronJob', CRON_TEMPLATE]]],
];

/** Synthesizes the flavour in a chart with the class, pinned or not; fails on validation errors. */
function synthFlavour(factory: Factory, pin: ((rc: IRuntimeClass, workload: IConstruct) => void) | undefined, reference: boolean): any[] {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const runtimeClass: IRuntimeClass = reference
    ? RuntimeClass.fromName('gvisor', { overhead: GVISOR.overhead, scheduling: GVISOR.scheduling })
    : new RuntimeClass(chart, 'rc', GVISOR);
  const workload = factory(chart);
  pin?.(runtimeClass, workload);
  expect(validationErrors(app)).toEqual([]);
  return Testing.synth(chart);
}

describe.each<[string, boolean]>([
  ['a RuntimeClass construct', false],
  ['a RuntimeClass.fromName reference', true],
])('pinning to %s', (_title, reference) => {
  test.each(FLAVOURS)('%s: runtimeClassName at the exact path, nothing else changed', (_flavour, factory, pinned) => {
    const withPin = synthFlavour(factory, (rc, w) => rc.pin(w), reference);
    const withoutPin = synthFlavour(factory, undefined, reference);
    expect(withPin.map((m) => m.kind)).toEqual(withoutPin.map((m) => m.kind));

    for (const [kind, podSpec] of pinned) {
      const manifest = manifestOfKind(withPin, kind);
      expect(pointersOf(manifest, 'runtimeClassName')).toEqual([`${podSpec}/runtimeClassName`]);
      expect(readPointer(manifest, `${podSpec}/runtimeClassName`)).toBe('gvisor');
      // RuntimeClass admission adds overhead, node selector and tolerations: pin() must not.
      expect(readPointer(manifest, `${podSpec}/overhead`)).toBeUndefined();
      expect(pointersOf(manifest, 'nodeSelector')).toEqual([]);
      expect(pointersOf(manifest, 'tolerations')).toEqual([]);
    }
    // Every manifest is as without pin(), but for the one runtimeClassName of each workload.
    withPin.forEach((manifest, index) => {
      const entry = pinned.find(([kind]) => kind === manifest.kind);
      const expected = entry ? withoutPointer(manifest, `${entry[1]}/runtimeClassName`) : manifest;
      expect(withoutPin[index]).toEqual(expected);
    });
  });
});

test('the Include flavour leaves its Service untouched', () => {
  const manifests = synthFlavour((c) => new Include(c, 'w', { url: includeFile }), (rc, w) => rc.pin(w), false);
  expect(manifestOfKind(manifests, 'Service')).toEqual({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
});

test('a cdk8s-plus workload pinned before it has containers gets runtimeClassName once they are added', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const deployment = new kplus.Deployment(chart, 'web');
  RuntimeClass.fromName('gvisor').pin(deployment);
  deployment.addContainer({ image: 'nginx' });
  expect(validationErrors(app)).toEqual([]);
  expect(pointersOf(manifestOfKind(Testing.synth(chart), 'Deployment'), 'runtimeClassName')).toEqual([`${TEMPLATE}/runtimeClassName`]);
});

test('pinning a chart pins every workload in it and nothing else', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
  new kplus.Service(chart, 'svc', { ports: [{ port: 80 }] });
  new k8s.KubeCronJob(chart, 'report', {
    spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: CONTAINERS } } } } },
  });
  RuntimeClass.fromName('gvisor').pin(chart);
  expect(validationErrors(app)).toEqual([]);
  const manifests = Testing.synth(chart);
  expect(manifests.map((m) => [m.kind, pointersOf(m, 'runtimeClassName')])).toEqual([
    ['Deployment', [`${TEMPLATE}/runtimeClassName`]],
    ['Service', []],
    ['CronJob', [`${CRON_TEMPLATE}/runtimeClassName`]],
  ]);
});

test('pinsOf lists the classes in pin order', () => {
  const chart = Testing.chart();
  const pod = new k8s.KubePod(chart, 'pod', { spec: { containers: CONTAINERS } });
  const gvisor = RuntimeClass.fromName('gvisor');
  const kata = RuntimeClass.fromName('kata');
  // toStrictEqual: toEqual would take [undefined] for [].
  expect(pinsOf(pod)).toStrictEqual([]);
  expect(pinProblems(pod)).toStrictEqual([]);
  gvisor.pin(pod);
  kata.pin(pod);
  expect(pinsOf(pod)).toEqual([gvisor, kata]);
});

// DESIGN.md: a construct stands for its `Resource` (or `Default`) child. Other workloads it
// holds (a migration Job next to a Deployment) are not the workload pin() was given.
test.each(['Resource', 'Default'])('a construct with a %s child pins that child only, not the other workloads inside it', (id) => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const web = new Construct(chart, 'web');
  new k8s.KubeDeployment(web, id, {
    spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS } } },
  });
  new k8s.KubeJob(web, 'migrate', { spec: { template: { spec: { restartPolicy: 'Never', containers: CONTAINERS } } } });
  RuntimeClass.fromName('gvisor').pin(web);
  expect(validationErrors(app)).toEqual([]);
  expect(Testing.synth(chart).map((m) => [m.kind, pointersOf(m, 'runtimeClassName')])).toEqual([
    ['Deployment', [`${TEMPLATE}/runtimeClassName`]],
    ['Job', []],
  ]);
});

describe('what cannot be pinned', () => {
  // From JavaScript: each gets the message pin(undefined) gets, not a TypeError from inside pin().
  test.each<[string, unknown, string]>([
    ['null', null, 'object null'],
    ['a string', 'web', '"web"'],
    ['an object without a construct node', { kind: 'Deployment' }, 'an object {"kind":"Deployment"}'],
  ])('%s, from JavaScript', (_title, value, described) => {
    expect(() => RuntimeClass.fromName('gvisor').pin(value as any)).toThrow(
      `RuntimeClass "gvisor": pin() was given ${described}, not a construct: give it the workload to pin `
      + '(a cdk8s-plus Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod, a Kube* object, or an Include)',
    );
  });

  test('a Service', () => {
    const chart = Testing.chart();
    const service = new kplus.Service(chart, 'svc', { ports: [{ port: 80 }] });
    expect(() => RuntimeClass.fromName('gvisor').pin(service)).toThrow(
      `test/svc/Resource: cannot pin a Service to RuntimeClass "gvisor": only ${WORKLOAD_KINDS} carry a pod spec`,
    );
  });

  test('a ConfigMap ApiObject', () => {
    const chart = Testing.chart();
    const configMap = new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap' });
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata' });
    expect(() => rc.pin(configMap)).toThrow(`test/cm: cannot pin a ConfigMap to RuntimeClass "kata": only ${WORKLOAD_KINDS} carry a pod spec`);
  });

  test('an empty construct', () => {
    const chart = Testing.chart();
    const empty = new Construct(chart, 'empty');
    expect(() => RuntimeClass.fromName('gvisor').pin(empty)).toThrow(
      `test/empty: cannot pin to RuntimeClass "gvisor": it holds no workload object (${WORKLOAD_KINDS})`,
    );
  });

  test('an Include with no workload', () => {
    const chart = Testing.chart();
    const file = path.join(yamlDir, 'service.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { ports: [{ port: 80 }] }\n');
    const include = new Include(chart, 'inc', { url: file });
    expect(() => RuntimeClass.fromName('gvisor').pin(include)).toThrow(
      `test/inc: cannot pin to RuntimeClass "gvisor": it holds no workload object (${WORKLOAD_KINDS})`,
    );
  });

  // Kinds are looked up as own properties only: "constructor" must not pass for a workload
  // (it once reached readPointer and failed with a TypeError naming no construct).
  test('an object whose kind is an Object.prototype property name', () => {
    const chart = Testing.chart();
    const odd = new ApiObject(chart, 'odd', { apiVersion: 'example.com/v1', kind: 'constructor' });
    expect(() => RuntimeClass.fromName('gvisor').pin(odd)).toThrow(
      `test/odd: cannot pin a constructor to RuntimeClass "gvisor": only ${WORKLOAD_KINDS} carry a pod spec`,
    );
  });
});

describe('synth-time checks on pinned workloads', () => {
  /** An app with one chart `test`. */
  function setup() {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    return { app, chart };
  }

  /** A raw Deployment `test/web` with the given pod spec fields. */
  function rawDeployment(chart: Chart, podSpec: Partial<k8s.PodSpec> = {}, containers: k8s.Container[] = CONTAINERS): k8s.KubeDeployment {
    return new k8s.KubeDeployment(chart, 'web', {
      spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers, ...podSpec } } },
    });
  }

  /** A container requesting memory (and optionally cpu). */
  function requesting(memory: string, cpu?: string): k8s.Container {
    const requests: { [name: string]: k8s.Quantity } = { memory: k8s.Quantity.fromString(memory) };
    if (cpu) requests.cpu = k8s.Quantity.fromString(cpu);
    return { name: 'app', image: 'nginx', resources: { requests } };
  }

  const where = (object: ApiObject, name: string) => `[${object.node.path}] ${object.kind} "${object.name}" (pinned to RuntimeClass "${name}")`;

  describe('pinned more than once', () => {
    test('twice to the same class', () => {
      const { app, chart } = setup();
      const rc = new RuntimeClass(chart, 'rc', GVISOR);
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      rc.pin(deployment);
      rc.pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} is pinned 2 times (to "gvisor", "gvisor"): a pod runs with one RuntimeClass; call pin() once`,
      ]);
    });

    test('to two different classes', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart);
      RuntimeClass.fromName('gvisor').pin(deployment);
      new RuntimeClass(chart, 'kata', { handler: 'kata-qemu' }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} is pinned 2 times (to "gvisor", "kata-qemu"): a pod runs with one RuntimeClass; call pin() once`,
      ]);
      expect(readPointer(deployment.toJson(), `${TEMPLATE}/runtimeClassName`)).toBe('gvisor');
    });

    test('through the workload and again through its chart', () => {
      const { app, chart } = setup();
      const pod = new kplus.Pod(chart, 'pod', { containers: [{ image: 'nginx' }] });
      const gvisor = RuntimeClass.fromName('gvisor');
      gvisor.pin(pod);
      gvisor.pin(chart);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(pod), 'gvisor')} is pinned 2 times (to "gvisor", "gvisor"): a pod runs with one RuntimeClass; call pin() once`,
      ]);
    });
  });

  describe('runtimeClassName set outside pin()', () => {
    // A runtimeClassName patched in and then removed (or moved elsewhere) by a later patch is
    // not in the template any more when pin() is called: nothing was set before the pin.
    test.each<[string, JsonPatch]>([
      ['removed', JsonPatch.remove(`${TEMPLATE}/runtimeClassName`)],
      ['moved to an annotation', JsonPatch.move(`${TEMPLATE}/runtimeClassName`, '/spec/template/metadata/annotations/previous-class')],
    ])('a cdk8s-plus workload whose runtimeClassName patch was %s by a later patch before pin(): fine', (_title, undo) => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      deployment.podMetadata.addAnnotation('team', 'web');
      ApiObject.of(deployment).addJsonPatch(JsonPatch.add(`${TEMPLATE}/runtimeClassName`, 'runc'), undo);
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([]);
    });

    test.each<[string, (from: string, to: string) => JsonPatch]>([
      ['copied', JsonPatch.copy],
      ['moved', JsonPatch.move],
    ])('a cdk8s-plus workload whose runtimeClassName was %s in from an annotation by a JSON patch before pin()', (_how, patch) => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      deployment.podMetadata.addAnnotation('previous-class', 'runc');
      ApiObject.of(deployment).addJsonPatch(patch('/spec/template/metadata/annotations/previous-class', `${TEMPLATE}/runtimeClassName`));
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    test('a runtimeClassName patch followed by patches that only test it or copy it elsewhere is still set before pin()', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      deployment.podMetadata.addAnnotation('team', 'web');
      ApiObject.of(deployment).addJsonPatch(
        JsonPatch.add(`${TEMPLATE}/runtimeClassName`, 'runc'),
        JsonPatch.test(`${TEMPLATE}/runtimeClassName`, 'runc'),
        JsonPatch.copy(`${TEMPLATE}/runtimeClassName`, '/spec/template/metadata/annotations/previous-class'),
      );
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    test('the template already names another class', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { runtimeClassName: 'runc' });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    test('the template already names the same class: fine', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { runtimeClassName: 'gvisor' });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([]);
      expect(pointersOf(deployment.toJson(), 'runtimeClassName')).toEqual([`${TEMPLATE}/runtimeClassName`]);
    });

    // A runtimeClassName set on a cdk8s-plus workload by a JSON patch before pin() must not be
    // silently replaced by pin()'s own patch: the template named another class before the pin.
    test('a cdk8s-plus workload whose template was patched to another class before pin()', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      ApiObject.of(deployment).addJsonPatch(JsonPatch.add(`${TEMPLATE}/runtimeClassName`, 'runc'));
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    // A user's own construct that keeps its raw KubeDeployment as child `Resource` (the
    // DESIGN.md convention) is read like any raw object: its `runtimeClassName: 'runc'` is found.
    test('a wrapper construct whose Resource child already names another class', () => {
      const { app, chart } = setup();
      class Wrapper extends Construct {
        public readonly resource: k8s.KubeDeployment;
        public constructor(scope: Construct, id: string) {
          super(scope, id);
          this.resource = new k8s.KubeDeployment(this, 'Resource', {
            spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: { containers: CONTAINERS, runtimeClassName: 'runc' } } },
          });
        }
      }
      const wrapper = new Wrapper(chart, 'web');
      new RuntimeClass(chart, 'rc', GVISOR).pin(wrapper);
      expect(validationErrors(app)).toEqual([
        `${where(wrapper.resource, 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    // pin() reads a cdk8s-plus workload's earlier patches in order: the last value written wins.
    test('a cdk8s-plus workload whose runtimeClassName was added then replaced by JSON patches before pin(): the last one is named', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      ApiObject.of(deployment).addJsonPatch(
        JsonPatch.add(`${TEMPLATE}/runtimeClassName`, 'runc'),
        JsonPatch.replace(`${TEMPLATE}/runtimeClassName`, 'crun'),
      );
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} already set runtimeClassName "crun" before it was pinned: remove that runtimeClassName or pin to "crun" instead`,
      ]);
    });

    test('a cdk8s-plus workload whose whole pod template was patched, with a runtimeClassName in it, before pin()', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      const template = ApiObject.of(deployment).toJson().spec.template;
      ApiObject.of(deployment).addJsonPatch(JsonPatch.replace('/spec/template', { ...template, spec: { ...template.spec, runtimeClassName: 'runc' } }));
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} already set runtimeClassName "runc" before it was pinned: remove that runtimeClassName or pin to "runc" instead`,
      ]);
    });

    test('a JSON patch that removes it after pin()', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart);
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      deployment.addJsonPatch(JsonPatch.remove(`${TEMPLATE}/runtimeClassName`));
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} has no runtimeClassName in its final manifest (changed after pin(), e.g. by a JSON patch): remove that change`,
      ]);
    });

    test('a JSON patch added after pin() changes it', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      ApiObject.of(deployment).addJsonPatch(JsonPatch.replace(`${TEMPLATE}/runtimeClassName`, 'runc'));
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} has runtimeClassName "runc" in its final manifest (changed after pin(), e.g. by a JSON patch): remove that change`,
      ]);
    });
  });

  describe('spec.overhead in the template', () => {
    test('set in the pod spec', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { overhead: { cpu: k8s.Quantity.fromString('250m') } });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} sets spec.overhead {"cpu":"250m"} in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it`,
      ]);
    });

    test('added by a JSON patch after pin()', () => {
      const { app, chart } = setup();
      // A plain ApiObject: Kube* classes re-map their output through typed converters after
      // patches, which turns a patched `{ memory: '64Mi' }` overhead into `{}`.
      const cronJob = new ApiObject(chart, 'report', {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: CONTAINERS } } } } },
      });
      RuntimeClass.fromName('gvisor').pin(cronJob);
      cronJob.addJsonPatch(JsonPatch.add(`${CRON_TEMPLATE}/overhead`, { memory: '64Mi' }));
      expect(validationErrors(app)).toEqual([
        `${where(cronJob, 'gvisor')} sets spec.overhead {"memory":"64Mi"} in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it`,
      ]);
    });
  });

  describe('nodeSelector', () => {
    test('a key with another value than the class: the admission plugin\'s message', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { nodeSelector: { 'sandbox.example.com/gvisor': 'pending', 'zone': 'a' } });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      const errors = validationErrors(app);
      expect(errors).toEqual([
        `${where(deployment, 'gvisor')} conflict: runtimeClass.scheduling.nodeSelector[sandbox.example.com/gvisor] = ready; pod.nodeSelector[sandbox.example.com/gvisor] = pending: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value`,
      ]);
      expect(errors[0]).toContain('conflict: runtimeClass.scheduling.nodeSelector[sandbox.example.com/gvisor] = ready; pod.nodeSelector[sandbox.example.com/gvisor] = pending');
    });

    test('the same key with the same value, or other keys: fine', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { nodeSelector: { 'sandbox.example.com/gvisor': 'ready', 'zone': 'a' } });
      new RuntimeClass(chart, 'rc', GVISOR).pin(deployment);
      expect(validationErrors(app)).toEqual([]);
      // The pod's own selector is kept as written; the class's is not merged in.
      expect(readPointer(deployment.toJson(), `${TEMPLATE}/nodeSelector`)).toEqual({ 'sandbox.example.com/gvisor': 'ready', 'zone': 'a' });
    });

    test('a label the class gets after pin() is checked too', () => {
      const { app, chart } = setup();
      const rc = new RuntimeClass(chart, 'rc', { handler: 'kata' });
      const deployment = rawDeployment(chart, { nodeSelector: { pool: 'general' } });
      rc.pin(deployment);
      rc.addNodeSelector('pool', 'sandbox');
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata')} conflict: runtimeClass.scheduling.nodeSelector[pool] = sandbox; pod.nodeSelector[pool] = general: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value`,
      ]);
    });

    test('a reference\'s scheduling is checked', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { nodeSelector: { 'sandbox.gke.io/runtime': 'other' } });
      RuntimeClass.fromName('gvisor', { scheduling: { nodeSelector: { 'sandbox.gke.io/runtime': 'gvisor' } } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} conflict: runtimeClass.scheduling.nodeSelector[sandbox.gke.io/runtime] = gvisor; pod.nodeSelector[sandbox.gke.io/runtime] = other: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value`,
      ]);
    });
  });

  // cdk8s-plus writes scheduling.attract() as required node affinity: a pod whose every term
  // rejects the labels the class selects stays Pending. Terms are ORed, expressions ANDed.
  describe('required node affinity against the class\'s nodeSelector', () => {
    const SANDBOX = RuntimeClass.fromName('gvisor', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    const unsatisfiable = (deployment: ApiObject, keys: string) => `${where(deployment, 'gvisor')} requires node affinity (${keys}) that no node `
      + 'selected by the class (pool=sandbox) can satisfy: its pods would stay Pending; change the affinity or the class';

    /** A raw Deployment requiring node affinity with these terms, pinned to SANDBOX. */
    function pinnedWithTerms(chart: Chart, nodeSelectorTerms: k8s.NodeSelectorTerm[]): k8s.KubeDeployment {
      const required = { nodeSelectorTerms };
      const deployment = rawDeployment(chart, { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: required } } });
      SANDBOX.pin(deployment);
      return deployment;
    }

    test.each<[string, k8s.NodeSelectorRequirement, string | undefined]>([
      ['In without the class\'s value', { key: 'pool', operator: 'In', values: ['general', 'batch'] }, 'pool In [general, batch]'],
      ['In with the class\'s value', { key: 'pool', operator: 'In', values: ['general', 'sandbox'] }, undefined],
      ['NotIn with the class\'s value', { key: 'pool', operator: 'NotIn', values: ['sandbox'] }, 'pool NotIn [sandbox]'],
      ['NotIn without the class\'s value', { key: 'pool', operator: 'NotIn', values: ['general'] }, undefined],
      ['DoesNotExist on a class key', { key: 'pool', operator: 'DoesNotExist' }, 'pool DoesNotExist'],
      ['Exists on a class key', { key: 'pool', operator: 'Exists' }, undefined],
      ['In on a key the class does not select', { key: 'zone', operator: 'In', values: ['a'] }, undefined],
      ['DoesNotExist on a key the class does not select', { key: 'gpu', operator: 'DoesNotExist' }, undefined],
    ])('%s', (_title, expression, rejected) => {
      const { app, chart } = setup();
      const deployment = pinnedWithTerms(chart, [{ matchExpressions: [expression] }]);
      expect(validationErrors(app)).toEqual(rejected === undefined ? [] : [unsatisfiable(deployment, rejected)]);
    });

    test('the message names only the expressions that reject the class, not those on other keys', () => {
      const { app, chart } = setup();
      const deployment = pinnedWithTerms(chart, [{
        matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'pool', operator: 'In', values: ['general'] }],
      }]);
      expect(validationErrors(app)).toEqual([unsatisfiable(deployment, 'pool In [general]')]);
    });

    test('every term rejecting: each reason once, joined by "; "', () => {
      const { app, chart } = setup();
      const deployment = pinnedWithTerms(chart, [
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] },
        { matchExpressions: [{ key: 'pool', operator: 'NotIn', values: ['sandbox'] }] },
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] },
      ]);
      expect(validationErrors(app)).toEqual([unsatisfiable(deployment, 'pool In [general]; pool NotIn [sandbox]')]);
    });

    test('a term with node fields only does not reject the class', () => {
      const { app, chart } = setup();
      pinnedWithTerms(chart, [
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] },
      ]);
      expect(validationErrors(app)).toEqual([]);
    });

    test.each<[string, k8s.Affinity]>([
      ['preferred node affinity only', {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] } }],
        },
      }],
      ['pod anti-affinity only', {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: LABELS } }] },
      }],
    ])('an affinity with %s is not checked against the class', (_title, affinity) => {
      const { app, chart } = setup();
      SANDBOX.pin(rawDeployment(chart, { affinity }));
      expect(validationErrors(app)).toEqual([]);
    });
  });

  describe('host namespaces', () => {
    const KATA_LIMITS: RuntimeClassProps = { handler: 'kata-qemu', limits: { hostNetwork: false, hostPid: false, hostIpc: false, reason: KATA_REASON } };

    test('hostNetwork on a cdk8s-plus Pod when the class forbids it', () => {
      const { app, chart } = setup();
      const pod = new kplus.Pod(chart, 'pod', { containers: [{ image: 'nginx' }], hostNetwork: true });
      new RuntimeClass(chart, 'rc', KATA_LIMITS).pin(pod);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(pod), 'kata-qemu')} sets hostNetwork: true, which RuntimeClass "kata-qemu" cannot give (${KATA_REASON}): remove hostNetwork or run this workload with another runtime`,
      ]);
    });

    test('hostPID and hostIPC on a KubePod when the class forbids them', () => {
      const { app, chart } = setup();
      const pod = new k8s.KubePod(chart, 'pod', { spec: { containers: CONTAINERS, hostPid: true, hostIpc: true } });
      new RuntimeClass(chart, 'rc', KATA_LIMITS).pin(pod);
      expect(validationErrors(app)).toEqual([
        `${where(pod, 'kata-qemu')} sets hostPID: true, which RuntimeClass "kata-qemu" cannot give (${KATA_REASON}): remove hostPID or run this workload with another runtime`,
        `${where(pod, 'kata-qemu')} sets hostIPC: true, which RuntimeClass "kata-qemu" cannot give (${KATA_REASON}): remove hostIPC or run this workload with another runtime`,
      ]);
    });

    test('without a reason the message has no parentheses', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { hostNetwork: true });
      RuntimeClass.fromName('gvisor', { limits: { hostNetwork: false } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} sets hostNetwork: true, which RuntimeClass "gvisor" cannot give: remove hostNetwork or run this workload with another runtime`,
      ]);
    });

    test.each<[string, RuntimeClassProps['limits']]>([
      ['limits allow them', { hostNetwork: true, hostPid: true, hostIpc: true }],
      ['limits are unset', undefined],
      ['limits forbid other things only', { nodeAllocatable: { memory: '64Gi' } }],
    ])('fine when %s', (_title, limits) => {
      const { app, chart } = setup();
      const pod = new k8s.KubePod(chart, 'pod', { spec: { containers: CONTAINERS, hostNetwork: true, hostPid: true, hostIpc: true } });
      new RuntimeClass(chart, 'rc', { handler: 'kata-qemu', limits }).pin(pod);
      expect(validationErrors(app)).toEqual([]);
    });

    test('false values are fine when the class forbids them', () => {
      const { app, chart } = setup();
      const pod = new k8s.KubePod(chart, 'pod', { spec: { containers: CONTAINERS, hostNetwork: false, hostPid: false, hostIpc: false } });
      new RuntimeClass(chart, 'rc', KATA_LIMITS).pin(pod);
      expect(validationErrors(app)).toEqual([]);
    });
  });

  describe('footprint above limits.nodeAllocatable', () => {
    const KATA_1GI: RuntimeClassProps = {
      handler: 'kata-qemu',
      overhead: PodOverhead.of({ cpu: '250m', memory: '320Mi' }),
      limits: { nodeAllocatable: { memory: '1Gi', cpu: '2' } },
    };

    test('requests 800Mi + overhead 320Mi = 1120Mi > 1Gi', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('800Mi')]);
      new RuntimeClass(chart, 'rc', KATA_1GI).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata-qemu')} needs 1120Mi of memory per pod (requests 800Mi + overhead 320Mi), more than the 1Gi a node of RuntimeClass "kata-qemu" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('requests 600Mi + overhead 320Mi fits in 1Gi', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('600Mi')]);
      new RuntimeClass(chart, 'rc', KATA_1GI).pin(deployment);
      expect(validationErrors(app)).toEqual([]);
    });

    test('exactly at the ceiling fits', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('704Mi', '1750m')]);
      new RuntimeClass(chart, 'rc', KATA_1GI).pin(deployment);
      expect(validationErrors(app)).toEqual([]);
    });

    test('every resource above its ceiling is reported, from effective requests (init containers included)', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, { initContainers: [{ name: 'init', image: 'busybox', resources: { requests: { memory: k8s.Quantity.fromString('900Mi') } } }] }, [requesting('600Mi', '2')]);
      new RuntimeClass(chart, 'rc', KATA_1GI).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata-qemu')} needs 2250m of cpu per pod (requests 2 + overhead 250m), more than the 2 a node of RuntimeClass "kata-qemu" can give: lower the requests or raise limits.nodeAllocatable`,
        `${where(deployment, 'kata-qemu')} needs 1220Mi of memory per pod (requests 900Mi + overhead 320Mi), more than the 1Gi a node of RuntimeClass "kata-qemu" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('cdk8s-plus default requests count (512Mi + 320Mi fits in 1Gi; 1Gi + 320Mi does not)', () => {
      const { app, chart } = setup();
      const rc = new RuntimeClass(chart, 'rc', KATA_1GI);
      const small = new kplus.Deployment(chart, 'small', { containers: [{ image: 'nginx' }] });
      const big = new kplus.Deployment(chart, 'big', {
        containers: [{ image: 'nginx', resources: { memory: { request: Size.gibibytes(1) }, cpu: { request: kplus.Cpu.millis(500) } } }],
      });
      rc.pin(small);
      rc.pin(big);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(big), 'kata-qemu')} needs 1344Mi of memory per pod (requests 1Gi + overhead 320Mi), more than the 1Gi a node of RuntimeClass "kata-qemu" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('a resource the class has no overhead for counts the requests alone', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [{ name: 'app', image: 'x', resources: { limits: { 'example.com/vf': k8s.Quantity.fromNumber(2) } } }]);
      new RuntimeClass(chart, 'rc', { ...KATA_1GI, limits: { nodeAllocatable: { resources: { 'example.com/vf': '1' } } } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata-qemu')} needs 2 of example.com/vf per pod (requests 2 + overhead 0), more than the 1 a node of RuntimeClass "kata-qemu" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('an overhead alone above the ceiling counts no requests as 0', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart);
      RuntimeClass.fromName('kata', { overhead: PodOverhead.of({ memory: '320Mi' }), limits: { nodeAllocatable: { memory: '256Mi' } } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata')} needs 320Mi of memory per pod (requests 0 + overhead 320Mi), more than the 256Mi a node of RuntimeClass "kata" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    // The invalid overhead is reported; the footprint is not also computed from a part of it.
    test('a reference\'s invalid overhead is reported once, and the ceiling is checked against the requests alone', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('800Mi', '1200m')]);
      RuntimeClass.fromName('kata', {
        overhead: PodOverhead.of({ cpu: '250m', memory: '160MB' }),
        limits: { nodeAllocatable: { memory: '1Gi', cpu: '1' } },
      }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata')} RuntimeClass "kata": overhead.memory: "160MB" ${NOT_A_QUANTITY}`,
        `${where(deployment, 'kata')} needs 1200m of cpu per pod (requests 1200m + overhead 0), more than the 1 a node of RuntimeClass "kata" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('a reference\'s overhead and ceiling are used', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('800Mi')]);
      RuntimeClass.fromName('kata', { overhead: PodOverhead.of({ memory: '320Mi' }), limits: { nodeAllocatable: { memory: '1Gi' } } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata')} needs 1120Mi of memory per pod (requests 800Mi + overhead 320Mi), more than the 1Gi a node of RuntimeClass "kata" can give: lower the requests or raise limits.nodeAllocatable`,
      ]);
    });

    test('a bad ceiling is reported on the pinned workload', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('800Mi')]);
      RuntimeClass.fromName('kata', { limits: { nodeAllocatable: { memory: '1GB' } } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata')} RuntimeClass "kata" limits.nodeAllocatable.memory: "1GB" ${NOT_A_QUANTITY}`,
      ]);
    });

    test('a bad container request is reported on the pinned workload', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart, {}, [requesting('1GB')]);
      new RuntimeClass(chart, 'rc', KATA_1GI).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'kata-qemu')} container "app" resources: memory: "1GB" ${NOT_A_QUANTITY}`,
      ]);
    });
  });

  describe('a RuntimeClass.fromName reference is validated on the workloads pinned to it', () => {
    test('an invalid overhead', () => {
      const { app, chart } = setup();
      const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
      RuntimeClass.fromName('gvisor', { overhead: PodOverhead.of({ memory: '160MB' }) }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(ApiObject.of(deployment), 'gvisor')} RuntimeClass "gvisor": overhead.memory: "160MB" ${NOT_A_QUANTITY}`,
      ]);
    });

    test('an invalid scheduling', () => {
      const { app, chart } = setup();
      const deployment = rawDeployment(chart);
      RuntimeClass.fromName('gvisor', { scheduling: { tolerations: [{ key: 'k', tolerationSeconds: 5 }] } }).pin(deployment);
      expect(validationErrors(app)).toEqual([
        `${where(deployment, 'gvisor')} RuntimeClass "gvisor": scheduling.tolerations[0].tolerationSeconds (5) is set but effect is unset: tolerationSeconds only applies with effect: TaintEffect.NO_EXECUTE`,
      ]);
    });

    test('a RuntimeClass construct reports its own problems once, not on each workload', () => {
      const { app, chart } = setup();
      const rc = new RuntimeClass(chart, 'rc', { handler: 'kata', overhead: PodOverhead.of({ memory: '160MB' }) });
      rc.pin(rawDeployment(chart));
      expect(validationErrors(app)).toEqual([
        `[test/rc] RuntimeClass "kata": overhead.memory: "160MB" ${NOT_A_QUANTITY}`,
      ]);
    });
  });

  // Validation must not leave a render behind: a change made after a whole-app validation
  // (Testing.synth of another chart) shows in the object's next toJson() of the same tick.
  test('toJson() after a validation and a change in the same tick shows the change', () => {
    const app = Testing.app();
    const other = new Chart(app, 'other');
    new ApiObject(other, 'cm', { apiVersion: 'v1', kind: 'ConfigMap' });
    const chart = new Chart(app, 'test');
    const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
    RuntimeClass.fromName('gvisor').pin(deployment);
    Testing.synth(other);
    deployment.metadata.addLabel('team', 'payments');
    expect(ApiObject.of(deployment).toJson().metadata.labels).toEqual({ team: 'payments' });
  });

  test('one synth reports every problem at once', () => {
    const { app, chart } = setup();
    const rc = new RuntimeClass(chart, 'rc', { ...GVISOR, handler: 'run.sc' });
    const withOverhead = new k8s.KubeDeployment(chart, 'one', {
      spec: { selector: { matchLabels: LABELS }, template: { spec: { containers: CONTAINERS, overhead: { cpu: k8s.Quantity.fromString('1') } } } },
    });
    const withSelector = new k8s.KubePod(chart, 'two', { spec: { containers: CONTAINERS, nodeSelector: { 'sandbox.example.com/gvisor': 'no' } } });
    rc.pin(withOverhead);
    rc.pin(withSelector);
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "gvisor": handler "run.sc" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots',
      `${where(withOverhead, 'gvisor')} sets spec.overhead {"cpu":"1"} in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it`,
      `${where(withSelector, 'gvisor')} conflict: runtimeClass.scheduling.nodeSelector[sandbox.example.com/gvisor] = ready; pod.nodeSelector[sandbox.example.com/gvisor] = no: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value`,
    ]);
  });
});
