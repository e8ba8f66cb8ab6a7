import { GET_ALL_YAML } from './fixtures';
import { buildModel, ReportModel } from '../../src/report/model';
import { ownerIdentityOf, topOwners } from '../../src/report/owners';
import { parseYamlDocuments } from '../../src/report/read';
import { renderReport, ReportFormat } from '../../src/report/render';

function modelOf(yaml: string): ReportModel {
  const { documents, errors } = parseYamlDocuments(yaml, 'all.yaml');
  expect(errors).toEqual([]);
  return buildModel(documents, 1);
}

/** Pods per class and what is counted in what, as `Kind name -> Kind name`. */
function counting(model: ReportModel) {
  return {
    pods: Object.fromEntries(model.totals.map((t) => [t.name ?? '(none)', t.pods])),
    workloads: Object.fromEntries(model.totals.map((t) => [t.name ?? '(none)', t.workloads])),
    countedIn: model.workloads.filter((r) => r.countedIn).map((r) => `${r.workload.kind} ${r.workload.name} -> ${r.countedIn!.kind} ${r.countedIn!.name}`),
  };
}

const EXPECTED_COUNTED_IN = [
  'ReplicaSet web-7d4b9c6f5 -> Deployment web',
  'ReplicaSet web-5f8c7b9d4 -> Deployment web',
  'Pod web-7d4b9c6f5-2xkqz -> Deployment web',
  'Pod web-7d4b9c6f5-h8v4n -> Deployment web',
  'Pod web-7d4b9c6f5-q9m7c -> Deployment web',
  'Job resize-29410230 -> CronJob resize',
  'Pod resize-29410230-x7k2p -> CronJob resize',
  'Pod resize-29410230-m4r8t -> CronJob resize',
];

describe('kubectl get all-shaped input', () => {
  test('kubectl get all-shaped input (Deployment + ReplicaSet + Pods) counts each pod once: 3 where 3 exist, by ownerReferences', () => {
    const model = modelOf(GET_ALL_YAML);
    expect(counting(model)).toEqual({ pods: { 'kata': 3, '(none)': 3 }, workloads: { 'kata': 1, '(none)': 2 }, countedIn: EXPECTED_COUNTED_IN });
    const kata = model.totals.find((t) => t.name === 'kata')!;
    expect(kata.total.toStrings()).toEqual({ cpu: '1050m', memory: '1344Mi' });
    expect(model.totals.find((t) => t.name === undefined)!.total.toStrings()).toEqual({ cpu: '1050m', memory: '528Mi' });
    // The live view still places every Pod on its node.
    expect(kata.nodes).toBeUndefined();
  });

  test('without ownerReferences (stripped by an export tool) the chain is found by template identity: Deployment -> ReplicaSet -> Pod, CronJob -> Job -> Pod', () => {
    const stripped = GET_ALL_YAML.split('\n').filter((line) => !line.includes('ownerReferences:')).join('\n');
    expect(stripped).not.toContain('ownerReferences');
    expect(counting(modelOf(stripped))).toEqual({ pods: { 'kata': 3, '(none)': 3 }, workloads: { 'kata': 1, '(none)': 2 }, countedIn: EXPECTED_COUNTED_IN });
    // A Pod known only by generateName is matched too.
    const generated = stripped.replace(/\n {4}name: web-7d4b9c6f5-2xkqz/, '');
    expect(counting(modelOf(generated)).countedIn).toContain('Pod web-7d4b9c6f5-* -> Deployment web');
  });

  test('an owner that is not in the input, or another object of the same name (uid differs), leaves the object counted on its own', () => {
    const withoutReplicaSets = GET_ALL_YAML.replace(/- apiVersion: apps\/v1\n {2}kind: ReplicaSet\n(?: {2}.*\n)+/g, '');
    expect(counting(modelOf(withoutReplicaSets)).pods).toEqual({ 'kata': 6, '(none)': 3 });
    const recreated = GET_ALL_YAML.replace(/(kind: Deployment, name: web, uid: 0d000000-0000-4000-8000-)000000000001/g, '$1000000000777');
    expect(counting(modelOf(recreated)).pods).toEqual({ 'kata': 6, '(none)': 3 });
  });

  test('template identity needs the owner\'s name, labels and containers: a Deployment "web" does not take in the Pods of "web-api"', () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec: {replicas: 2, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-api-x7k2p, namespace: a, labels: {app: web}}
spec: {containers: [{name: app}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-5f8c7b9d4, namespace: a}
spec: {replicas: 2, template: {metadata: {labels: {app: other}}, spec: {containers: [{name: app}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-6a9d8c0e5, namespace: b}
spec: {replicas: 2, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: a}
spec: {replicas: 2, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: pg}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: a, labels: {app: db, statefulset.kubernetes.io/pod-name: db-0}}
spec: {containers: [{name: pg}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: a, labels: {app: db}}
spec: {containers: [{name: pg}, {name: sidecar}]}
`;
    // web-api-x7k2p: no "web-api" object; web-5f8c7b9d4: other labels; the one in namespace b: another namespace;
    // db-1: other containers. Only db-0 is made by a workload of the input.
    expect(counting(modelOf(yaml)).countedIn).toEqual(['Pod db-0 -> StatefulSet db']);
  });

  test('the table says where a counted object is counted; json has countedIn and no total for it', () => {
    const model = modelOf(GET_ALL_YAML);
    const input = { model, problems: [], errors: [] };
    const text = renderReport(ReportFormat.TEXT, input);
    expect(text).toMatch(/\nReplicaSet shop\/web-7d4b9c6f5 +kata +3 +cpu 100m, memory 128Mi +cpu 250m, memory 320Mi +cpu 350m, memory 448Mi +in Deployment shop\/web\n/);
    expect(text).toMatch(/\nkata +kata-qemu +cpu 250m, memory 320Mi +1 +3 +cpu 1050m, memory 1344Mi +-\n/);
    const json = JSON.parse(renderReport(ReportFormat.JSON, input));
    expect(json.schemaVersion).toBe(3);
    expect(json.workloads.map((w: any) => [w.name, w.countedIn, w.total])).toEqual([
      ['web', null, { cpu: '1050m', memory: '1344Mi' }],
      ['web-7d4b9c6f5', 'Deployment shop/web', null],
      ['web-5f8c7b9d4', 'Deployment shop/web', null],
      ['web-7d4b9c6f5-2xkqz', 'Deployment shop/web', null],
      ['web-7d4b9c6f5-h8v4n', 'Deployment shop/web', null],
      ['web-7d4b9c6f5-q9m7c', 'Deployment shop/web', null],
      ['resize', null, { cpu: '1', memory: '512Mi' }],
      ['resize-29410230', 'CronJob shop/resize', null],
      ['resize-29410230-x7k2p', 'CronJob shop/resize', null],
      ['resize-29410230-m4r8t', 'CronJob shop/resize', null],
      ['debug', null, { cpu: '50m', memory: '16Mi' }],
    ]);
  });
});

/** A workload manifest: a Pod carries its labels and containers itself, other kinds in their pod template. */
type Manifest = { [key: string]: unknown };

function manifest(kind: string, metadata: Manifest, pod: { labels?: unknown; containers?: unknown } = {}): Manifest {
  const template = { metadata: { labels: pod.labels }, spec: { containers: pod.containers } };
  switch (kind) {
    case 'Pod': return { kind, metadata: { ...metadata, labels: pod.labels }, spec: { containers: pod.containers } };
    case 'CronJob': return { kind, metadata, spec: { jobTemplate: { spec: { template } } } };
    case 'PodTemplate': return { kind, metadata, template };
    default: return { kind, metadata, spec: { template } };
  }
}

const WEB = { labels: { app: 'web' }, containers: [{ name: 'app' }, { name: 'sidecar' }] };

/** Where each object is counted, as `Kind name -> Kind name`, for the objects counted in another. */
function countedIn(objects: Manifest[]): string[] {
  const identities = objects.map((o) => ownerIdentityOf(o));
  const label = (i: number) => `${identities[i].kind} ${identities[i].name ?? identities[i].generateName + '*'}`;
  return topOwners(identities).flatMap((top, index) => top === undefined ? [] : [`${label(index)} -> ${label(top)}`]);
}

/** An ownerReference to a controller. */
function ref(kind: string, name: string, extra: Manifest = { controller: true }) {
  return { apiVersion: 'v1', kind, name, ...extra };
}

describe('template identity: the name each controller gives what it makes', () => {
  test('a ReplicaSet is made by the Deployment whose name is before its pod-template-hash; a ReplicaSet of "web-canary" is not made by "web"', () => {
    expect(countedIn([
      manifest('Deployment', { name: 'web' }, WEB),
      manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, WEB),
      manifest('ReplicaSet', { name: 'web-canary-5f8c7b9d4' }, WEB),
    ])).toEqual(['ReplicaSet web-7d4b9c6f5 -> Deployment web']);
  });

  test('a Job is made by the CronJob whose name is before its scheduled minute; "resize-manual-29410230" and "resize-29410230-retry" are not', () => {
    expect(countedIn([
      manifest('CronJob', { name: 'resize' }, WEB),
      manifest('Job', { name: 'resize-29410230' }, WEB),
      manifest('Job', { name: 'resize-manual-29410230' }, WEB),
      manifest('Job', { name: 'resize-29410230-retry' }, WEB),
    ])).toEqual(['Job resize-29410230 -> CronJob resize']);
  });

  const PODS: Array<[string, string, string[], string[]]> = [
    // owner kind, owner name, names of pods it made, names of pods it did not make
    ['ReplicaSet', 'web-7d4b9c6f5', ['web-7d4b9c6f5-2xkqz'], ['web-7d4b9c6f5-canary-2xkqz', 'web-7d4b9c6f5-2xkqzz', 'web-7d4b9c6f5-2xkq']],
    ['Job', 'resize-29410230', ['resize-29410230-x7k2p', 'resize-29410230-3-x7k2p', 'resize-29410230-12-x7k2p'],
      ['resize-29410230-canary-x7k2p', 'resize-29410230-x7k2pp', 'resize-29410230-x7k2', 'resize-29410230-a-x7k2p']],
    ['StatefulSet', 'db', ['db-0', 'db-12'], ['db-canary-0', 'db-1a', 'db-x']],
    ['DaemonSet', 'agent', ['agent-x7k2p'], ['agent-canary-x7k2p', 'agent-x7k2pp', 'agent-x7k2']],
    ['ReplicationController', 'legacy', ['legacy-x7k2p'], ['legacy-canary-x7k2p', 'legacy-x7k2pp', 'legacy-x7k2']],
  ];
  test.each(PODS)('a Pod is made by the %s %s when its name is the owner\'s, a dash and what that controller adds', (kind, name, made, notMade) => {
    const objects = [manifest(kind, { name }, WEB), ...[...made, ...notMade].map((pod) => manifest('Pod', { name: pod }, WEB))];
    expect(countedIn(objects)).toEqual(made.map((pod) => `Pod ${pod} -> ${kind} ${name}`));
  });

  test('a Pod known only by its generateName is matched as if named with 5 random characters', () => {
    expect(countedIn([
      manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, WEB),
      manifest('Pod', { generateName: 'web-7d4b9c6f5-' }, WEB),
    ])).toEqual(['Pod web-7d4b9c6f5-* -> ReplicaSet web-7d4b9c6f5']);
  });

  test('the owner\'s pod labels must all be on the child (a controller adds labels, never drops one)', () => {
    const owner = manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, { ...WEB, labels: { app: 'web', tier: 'front' } });
    expect(countedIn([owner, manifest('Pod', { name: 'web-7d4b9c6f5-2xkqz' }, { ...WEB, labels: { 'app': 'web', 'tier': 'front', 'pod-template-hash': '7d4b9c6f5' } })]))
      .toEqual(['Pod web-7d4b9c6f5-2xkqz -> ReplicaSet web-7d4b9c6f5']);
    expect(countedIn([owner, manifest('Pod', { name: 'web-7d4b9c6f5-2xkqz' }, WEB)])).toEqual([]);
  });

  test('the containers must be the same, name by name: [app, sidecar] is not [apps, idecar], and an owner without containers makes nothing', () => {
    const pod = (containers: unknown) => manifest('Pod', { name: 'web-7d4b9c6f5-2xkqz' }, { ...WEB, containers });
    expect(countedIn([manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, WEB), pod([{ name: 'apps' }, { name: 'idecar' }])])).toEqual([]);
    expect(countedIn([manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, { ...WEB, containers: [] }), pod([])])).toEqual([]);
  });

  test('objects without a namespace (a cluster-scoped dump) are matched among themselves', () => {
    expect(countedIn([
      manifest('Deployment', { name: 'web' }, WEB),
      manifest('ReplicaSet', { name: 'web-7d4b9c6f5' }, WEB),
      manifest('Pod', { name: 'web-7d4b9c6f5-2xkqz' }, WEB),
    ])).toEqual(['ReplicaSet web-7d4b9c6f5 -> Deployment web', 'Pod web-7d4b9c6f5-2xkqz -> Deployment web']);
  });
});

describe('ownerReferences', () => {
  const rs = (name: string, uid?: string) => manifest('ReplicaSet', { name, namespace: 'shop', uid }, WEB);
  const pod = (ownerReferences: unknown[], metadata: Manifest = { name: 'web-7d4b9c6f5-2xkqz' }) =>
    manifest('Pod', { ...metadata, namespace: 'shop', ownerReferences }, WEB);

  test('the controller reference is followed before the others', () => {
    expect(countedIn([rs('other'), rs('web-7d4b9c6f5'), pod([ref('ReplicaSet', 'other', {}), ref('ReplicaSet', 'web-7d4b9c6f5')])]))
      .toEqual(['Pod web-7d4b9c6f5-2xkqz -> ReplicaSet web-7d4b9c6f5']);
  });

  test('without a controller reference the others are followed, in order, to the first owner in the input', () => {
    expect(countedIn([rs('web-7d4b9c6f5'), pod([ref('ReplicaSet', 'gone', {}), ref('ReplicaSet', 'web-7d4b9c6f5', { controller: false })])]))
      .toEqual(['Pod web-7d4b9c6f5-2xkqz -> ReplicaSet web-7d4b9c6f5']);
  });

  test('the uid is checked when both sides have one: of two objects of the same name, the one with the uid; either side without uid matches', () => {
    expect(countedIn([rs('web-7d4b9c6f5', 'uid-1'), rs('web-7d4b9c6f5', 'uid-2'), pod([ref('ReplicaSet', 'web-7d4b9c6f5', { controller: true, uid: 'uid-2' })])]))
      .toEqual(['Pod web-7d4b9c6f5-2xkqz -> ReplicaSet web-7d4b9c6f5']);
    const twoOfTheName = (uid: string) => [rs('web-7d4b9c6f5', 'uid-1'), rs('web-7d4b9c6f5', 'uid-2'), pod([ref('ReplicaSet', 'web-7d4b9c6f5', { controller: true, uid })])];
    expect(topOwners(twoOfTheName('uid-1').map((o) => ownerIdentityOf(o)))).toEqual([undefined, undefined, 0]);
    expect(topOwners(twoOfTheName('uid-2').map((o) => ownerIdentityOf(o)))).toEqual([undefined, undefined, 1]);
    expect(countedIn([rs('web-7d4b9c6f5', 'uid-1'), pod([ref('ReplicaSet', 'web-7d4b9c6f5', { controller: true, uid: 'uid-2' })])])).toEqual([]);
    expect(countedIn([rs('web-7d4b9c6f5'), pod([ref('ReplicaSet', 'web-7d4b9c6f5', { controller: true, uid: 'uid-2' })])])).toHaveLength(1);
    expect(countedIn([rs('web-7d4b9c6f5', 'uid-1'), pod([ref('ReplicaSet', 'web-7d4b9c6f5')])])).toHaveLength(1);
  });

  test('an object whose owner is not in the input counts on its own, and is not matched by template identity instead', () => {
    expect(countedIn([rs('web-7d4b9c6f5'), pod([ref('ReplicaSet', 'web-0000000000')])])).toEqual([]);
    // Known only by generateName, in a namespace with no other named object.
    expect(countedIn([pod([ref('ReplicaSet', 'web-7d4b9c6f5')], { generateName: 'web-7d4b9c6f5-' })])).toEqual([]);
  });

  test('chains are followed to the topmost owner: CronJob -> Job -> Pod; in a cycle each object is counted in the other, never in itself', () => {
    expect(countedIn([
      manifest('CronJob', { name: 'resize' }, WEB),
      manifest('Job', { name: 'resize-29410230', ownerReferences: [ref('CronJob', 'resize')] }, WEB),
      manifest('Pod', { name: 'resize-29410230-x7k2p', ownerReferences: [ref('Job', 'resize-29410230')] }, WEB),
    ])).toEqual(['Job resize-29410230 -> CronJob resize', 'Pod resize-29410230-x7k2p -> CronJob resize']);
    const cycle = [
      manifest('ReplicaSet', { name: 'a', ownerReferences: [ref('ReplicaSet', 'b')] }, WEB),
      manifest('ReplicaSet', { name: 'b', ownerReferences: [ref('ReplicaSet', 'a')] }, WEB),
    ];
    expect(topOwners(cycle.map((o) => ownerIdentityOf(o)))).toEqual([1, 0]);
  });
});

describe('ownerIdentityOf', () => {
  test('reads kind, name, namespace, uid, the pod template\'s labels and the containers\' names; the model\'s strings are reused', () => {
    const deployment = manifest('Deployment', { name: 'web', namespace: 'shop', uid: 'u-1', generateName: 'web-' }, WEB);
    expect(ownerIdentityOf(deployment)).toEqual({
      kind: 'Deployment',
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      ownerReferences: undefined,
      podLabels: { app: 'web' },
      containerNames: ['app', 'sidecar'],
      generateName: 'web-',
    });
    expect(ownerIdentityOf(deployment, { name: 'web', namespace: 'shop' })).toMatchObject({ name: 'web', namespace: 'shop' });
    expect(ownerIdentityOf(manifest('CronJob', { name: 'resize' }, WEB))).toMatchObject({ podLabels: { app: 'web' }, containerNames: ['app', 'sidecar'] });
    expect(ownerIdentityOf(manifest('PodTemplate', { name: 't' }, WEB))).toMatchObject({ podLabels: { app: 'web' }, containerNames: ['app', 'sidecar'] });
    expect(ownerIdentityOf(manifest('Pod', { name: 'debug' }, WEB))).toMatchObject({ podLabels: { app: 'web' }, containerNames: ['app', 'sidecar'] });
  });

  test('wrong types and empty strings read as absent', () => {
    expect(ownerIdentityOf({ kind: 'Deployment', metadata: { name: 42, namespace: '', uid: 7, generateName: '' }, spec: { template: { metadata: { labels: { app: 'web', n: 1 } }, spec: { containers: 'app' } } } }))
      .toEqual({ kind: 'Deployment', name: undefined, namespace: undefined, uid: undefined, ownerReferences: undefined, podLabels: { app: 'web' }, containerNames: [], generateName: undefined });
    expect(ownerIdentityOf({ kind: 'Deployment', metadata: { name: '', namespace: 5, uid: '' } })).toMatchObject({ name: undefined, namespace: undefined, uid: undefined });
    // Not a workload, or no kind at all: nothing to read, no error.
    expect(ownerIdentityOf({ kind: 'ConfigMap', metadata: { name: 'c' } })).toMatchObject({ kind: 'ConfigMap', podLabels: {}, containerNames: [] });
    expect(ownerIdentityOf({ metadata: 'x' })).toMatchObject({ podLabels: {}, containerNames: [] });
  });

  test('ownerReferences keep those with a string kind and name, controller only when exactly true; an empty list reads as none', () => {
    const ownerReferences = [
      { apiVersion: 'batch/v1', kind: 'CronJob', name: 'a', uid: 'u-1', controller: true, blockOwnerDeletion: true },
      { kind: 'CronJob', name: 'b', uid: '', controller: 'true' },
      { kind: 'CronJob' }, { name: 'c' }, { kind: 'CronJob', name: 1 }, 'CronJob/d', null,
    ];
    const identity = ownerIdentityOf(manifest('Job', { name: 'j', ownerReferences }, WEB));
    expect(identity.ownerReferences).toEqual([
      { kind: 'CronJob', name: 'a', uid: 'u-1', controller: true },
      { kind: 'CronJob', name: 'b', uid: undefined, controller: false },
    ]);
    expect(ownerIdentityOf(manifest('Pod', { name: 'p', generateName: 'p-', ownerReferences: [] }, WEB)))
      .toMatchObject({ ownerReferences: undefined, generateName: 'p-', podLabels: { app: 'web' }, containerNames: ['app', 'sidecar'] });
  });

  test('a Pod with ownerReferences keeps no labels, containers or generateName (it is matched by its references and makes nothing); other kinds keep them', () => {
    const ownerReferences = [ref('ReplicaSet', 'web-7d4b9c6f5')];
    expect(ownerIdentityOf(manifest('Pod', { generateName: 'web-7d4b9c6f5-', ownerReferences }, WEB)))
      .toMatchObject({ podLabels: {}, containerNames: [], generateName: undefined });
    expect(ownerIdentityOf(manifest('Job', { name: 'resize-29410230', ownerReferences }, WEB)))
      .toMatchObject({ podLabels: { app: 'web' }, containerNames: ['app', 'sidecar'] });
  });
});
