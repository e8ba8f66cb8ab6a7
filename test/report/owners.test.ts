import { GET_ALL_YAML } from './fixtures';
import { buildModel, ReportModel } from '../../src/report/model';
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
