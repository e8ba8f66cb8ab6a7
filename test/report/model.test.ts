import { CLEAN_YAML, PROBLEMS_YAML } from './fixtures';
import { buildModel, OverheadStatus, ReportModel } from '../../src/report/model';
import { findProblems } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';
import { renderReport, ReportFormat } from '../../src/report/render';

function modelOf(yaml: string): ReportModel {
  const { documents, errors } = parseYamlDocuments(yaml, 'f.yaml');
  expect(errors).toEqual([]);
  return buildModel(documents, 1);
}

/** A workload of `kind` with `podSpec` (as YAML flow text) and extra spec fields. */
function workloadYaml(kind: string, podSpec: string, spec: string = ''): string {
  const apiVersion = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', ReplicaSet: 'apps/v1', Job: 'batch/v1', CronJob: 'batch/v1', Pod: 'v1', ReplicationController: 'v1' }[kind];
  if (kind === 'Pod') return `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: ${podSpec}\n`;
  if (kind === 'CronJob') return `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: "@daily", jobTemplate: {spec: {${spec} template: {spec: ${podSpec}}}}}\n`;
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w}\nspec: {${spec} template: {spec: ${podSpec}}}\n`;
}

describe('RuntimeClasses', () => {
  test('name, handler, overhead and node selector of node.k8s.io/v1', () => {
    const [kata] = modelOf(PROBLEMS_YAML).runtimeClasses;
    expect(kata.name).toBe('kata');
    expect(kata.handler).toBe('kata-qemu');
    expect(kata.overhead.toStrings()).toEqual({ cpu: '250m', memory: '320Mi' });
    expect(kata.nodeSelector).toEqual({ 'runtimeclass.cdk8s.io/kata-qemu': 'ready', 'pool': 'vm' });
    expect(kata.location).toEqual({ file: 'f.yaml', line: 1 });
    expect(kata.invalid).toEqual([]);
  });

  test('node.k8s.io/v1alpha1 keeps its fields under spec', () => {
    const model = modelOf('apiVersion: node.k8s.io/v1alpha1\nkind: RuntimeClass\nmetadata: {name: old}\nspec: {runtimeHandler: kata, overhead: {podFixed: {memory: 160Mi}}}\n');
    expect(model.runtimeClasses[0].handler).toBe('kata');
    expect(model.runtimeClasses[0].overhead.toStrings()).toEqual({ memory: '160Mi' });
  });

  test('invalid overhead amounts are reported and left out', () => {
    const model = modelOf('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: bad}\nhandler: x\noverhead: {podFixed: {cpu: 250m, memory: 160MB, pods: null}}\n');
    expect(model.runtimeClasses[0].overhead.toStrings()).toEqual({ cpu: '250m' });
    expect(model.runtimeClasses[0].invalid).toEqual([
      'RuntimeClass "bad" overhead.podFixed.memory: "160MB" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one): not counted',
      'RuntimeClass "bad" overhead.podFixed.pods is null, not a Kubernetes quantity: not counted',
    ]);
  });

  test('a RuntimeClass of another API group is not one; one without a name is noted', () => {
    const model = modelOf('apiVersion: example.com/v1\nkind: RuntimeClass\nmetadata: {name: x}\n---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nhandler: y\n');
    expect(model.runtimeClasses).toEqual([]);
    expect(model.notes).toEqual([{ location: { file: 'f.yaml', line: 5 }, message: 'RuntimeClass has no metadata.name: skipped' }]);
  });
});

describe('workloads and footprints', () => {
  test('a Deployment on a defined class: requests + overhead per pod, x replicas', () => {
    const [web] = modelOf(PROBLEMS_YAML).workloads;
    expect(web.workload).toMatchObject({ kind: 'Deployment', name: 'web', namespace: 'shop', runtimeClassName: 'kata', replicas: 3, perNode: false });
    expect(web.overheadStatus).toBe(OverheadStatus.KNOWN);
    expect(web.workload.requests.toStrings()).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(web.perPod.toStrings()).toEqual({ cpu: '350m', memory: '448Mi' });
    expect(web.total?.toStrings()).toEqual({ cpu: '1050m', memory: '1344Mi' });
  });

  test('a class not in the input has unknown overhead; limits stand in for requests; a Job runs min(parallelism, completions)', () => {
    const batch = modelOf(PROBLEMS_YAML).workloads[1];
    expect(batch.overheadStatus).toBe(OverheadStatus.UNKNOWN);
    expect(batch.workload.replicas).toBe(2);
    expect(batch.workload.requests.toStrings()).toEqual({ cpu: '1', memory: '1Gi' });
    expect(batch.total?.toStrings()).toEqual({ cpu: '2', memory: '2Gi' });
  });

  test('a DaemonSet runs per node: no total, counted per node in its class', () => {
    const model = modelOf(CLEAN_YAML);
    const [agent, api] = model.workloads;
    expect(agent.workload.perNode).toBe(true);
    expect(agent.workload.replicas).toBeUndefined();
    expect(agent.total).toBeUndefined();
    expect(api.overheadStatus).toBe(OverheadStatus.NONE);
    expect(api.workload.replicas).toBe(1); // replicas left out defaults to 1
    expect(model.totals.map((t) => [t.name, t.workloads, t.pods, t.total.toStrings(), t.daemonSets, t.perNode.toStrings()])).toEqual([
      ['gvisor', 1, 0, {}, 1, { cpu: '50m', memory: '64Mi' }],
      [undefined, 1, 1, { cpu: '200m', memory: '256Mi' }, 0, {}],
    ]);
  });

  test.each([
    ['Deployment', 'replicas: 4,', 4],
    ['StatefulSet', 'replicas: 2,', 2],
    ['ReplicaSet', '', 1],
    ['ReplicationController', 'replicas: 0,', 0],
    ['Job', 'parallelism: 3,', 3],
    ['Job', 'completions: 5,', 1],
    ['CronJob', 'parallelism: 6, completions: 2,', 2],
    ['Pod', '', 1],
  ])('%s with "%s" runs %d pods at once', (kind, spec, pods) => {
    const [row] = modelOf(workloadYaml(kind, '{containers: [{name: a, resources: {requests: {cpu: 1}}}]}', spec)).workloads;
    expect(row.workload.replicas).toBe(pods);
    expect(row.total?.toStrings()).toEqual({ cpu: String(pods) });
  });

  test('init containers and sidecars count as the scheduler counts them', () => {
    const podSpec = `{initContainers: [{name: init, resources: {requests: {memory: 1Gi}}}, {name: sidecar, restartPolicy: Always, resources: {requests: {memory: 100Mi}}}],
      containers: [{name: a, resources: {requests: {memory: 200Mi}}}]}`;
    const [row] = modelOf(workloadYaml('Deployment', podSpec)).workloads;
    expect(row.workload.requests.toStrings()).toEqual({ memory: '1Gi' });
  });

  test('YAML numbers are quantities', () => {
    const [row] = modelOf(workloadYaml('Pod', '{containers: [{name: a, resources: {requests: {cpu: 0.5, memory: 1e9, nvidia.com/gpu: 2}}}]}')).workloads;
    expect(row.workload.requests.toStrings()).toEqual({ 'cpu': '500m', 'memory': '1G', 'nvidia.com/gpu': '2' });
    expect(row.workload.invalidQuantities).toEqual([]);
  });

  test('invalid and negative quantities are reported and not counted', () => {
    const [row] = modelOf(workloadYaml('Pod', '{containers: [{name: a, resources: {requests: {cpu: "1.5.0", memory: -1Gi, ephemeral-storage: true}, limits: {memory: .inf}}}]}')).workloads;
    expect(row.workload.requests.isEmpty).toBe(true);
    expect(row.workload.invalidQuantities).toEqual([
      'container "a" resources.requests.cpu: "1.5.0" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one): not counted',
      'container "a" resources.requests.memory: "-1Gi" is negative: amounts must be zero or more; not counted',
      'container "a" resources.requests.ephemeral-storage is a boolean (true), not a Kubernetes quantity: not counted',
      'container "a" resources.limits.memory is a number (Infinity), not a Kubernetes quantity: not counted',
    ]);
  });

  test('fields of the wrong shape are reported, never thrown', () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: odd}
spec:
  replicas: three
  template:
    spec:
      runtimeClassName: 7
      containers: [null, "nginx", {name: x, resources: [1]}, {name: y, resources: {requests: "1Gi"}}]
      initContainers: {name: z}
`;
    const [row] = modelOf(yaml).workloads;
    expect(row.workload.replicas).toBeUndefined();
    expect(row.total).toBeUndefined();
    expect(row.workload.runtimeClassName).toBeUndefined();
    expect(row.workload.malformed).toEqual([
      'spec.template.spec.runtimeClassName is a number (7), not a RuntimeClass name',
      'spec.template.spec.containers[0] is null, not a container: not counted',
      'spec.template.spec.containers[1] is a string ("nginx"), not a container: not counted',
      'container "x" resources is a list, not a mapping: not counted',
      'container "y" resources.requests is a string ("1Gi"), not a mapping of resources: not counted',
      'spec.template.spec.initContainers is a mapping, not a list of containers: their requests are not counted',
      'spec.replicas is a string ("three"), not a whole number of pods: the total is not counted',
    ]);
  });

  test('a workload without a pod spec is reported', () => {
    const [row] = modelOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: empty}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: 5}\n').workloads;
    expect(row.workload.malformed).toEqual(['has no pod spec at spec.template.spec: it creates no pods the report can count']);
  });

  test('kinds of other API groups and objects without pods are not workloads', () => {
    const model = modelOf('apiVersion: argoproj.io/v1alpha1\nkind: Deployment\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n---\napiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate: {spec: {containers: []}}\n');
    expect(model.workloads).toEqual([]);
    expect(model.notes).toEqual([]);
  });

  test('the items of a List are objects of their own, each at its own line', () => {
    const model = modelOf('apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: []}}\n  - 42\n');
    expect(model.workloads.map((w) => w.workload.name)).toEqual(['a']);
    expect(model.workloads[0].workload.location).toEqual({ file: 'f.yaml', line: 4 });
    expect(model.notes).toEqual([{ location: { file: 'f.yaml', line: 5 }, message: 'List items[1] is not a Kubernetes object (a number (42)): skipped' }]);
  });

  test('documents that are not Kubernetes objects are noted and skipped', () => {
    const model = modelOf('replicaCount: 2\n---\n- a\n---\njust text\n---\napiVersion: v1\n---\nkind: Pod\napiVersion: 3\n');
    expect(model.notes.map((n) => `${n.location.line}: ${n.message}`)).toEqual([
      '1: document has no apiVersion and kind, so it is not a Kubernetes object: skipped',
      '3: document is a list, not a Kubernetes object: skipped',
      '5: document is a string ("just text"), not a Kubernetes object: skipped',
      '7: document has no kind, so it is not a Kubernetes object: skipped',
      '9: document has no apiVersion, so it is not a Kubernetes object: skipped',
    ]);
  });
});

describe('fuzz: odd shapes never crash a stage', () => {
  // A small deterministic generator of YAML-like values (no randomness between runs).
  // Park-Miller: every product stays below 2^53, so the sequence is exact and never degrades.
  let seed = 42;
  const next = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
  const leaf = (): unknown => pick<unknown>([null, undefined, 0, -1, 1.5, 1e300, Number.NaN, '', 'x', '250m', '1Gi', '-1', '1e50', true, [], {}, [null], '{{ .Values.cpu }}']);
  const value = (depth: number): unknown => {
    if (depth <= 0 || next() < 0.3) return leaf();
    if (next() < 0.3) return [value(depth - 1), value(depth - 1)];
    const keys = ['kind', 'apiVersion', 'metadata', 'name', 'namespace', 'spec', 'template', 'jobTemplate', 'containers', 'initContainers',
      'resources', 'requests', 'limits', 'cpu', 'memory', 'replicas', 'parallelism', 'completions', 'runtimeClassName', 'nodeSelector',
      'overhead', 'podFixed', 'scheduling', 'handler', 'items', 'restartPolicy'];
    const result: { [key: string]: unknown } = {};
    for (let i = 0; i < 4; i++) result[pick(keys)] = value(depth - 1);
    return result;
  };
  const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod', 'RuntimeClass', 'List', 'ReplicationController'];
  const versions = ['apps/v1', 'batch/v1', 'v1', 'node.k8s.io/v1', 'node.k8s.io/v1alpha1'];

  /** A real manifest with random subtrees replaced, removed or added (its kind and apiVersion kept). */
  const mutate = (node: unknown, root: boolean = false): unknown => {
    if (!root && next() < 0.15) return value(3);
    if (Array.isArray(node)) return node.filter(() => next() > 0.1).map((child) => mutate(child));
    if (node !== null && typeof node === 'object') {
      const result: { [key: string]: unknown } = {};
      for (const [key, child] of Object.entries(node)) {
        if (root && (key === 'kind' || key === 'apiVersion')) result[key] = child;
        else if (next() > 0.1) result[key] = mutate(child);
      }
      if (next() < 0.1) result.replicas = leaf();
      return result;
    }
    return next() < 0.2 ? leaf() : node;
  };
  const realDocuments = [...parseYamlDocuments(PROBLEMS_YAML, 'a.yaml').documents, ...parseYamlDocuments(CLEAN_YAML, 'b.yaml').documents].map((d) => d.value);

  test('500 random objects and 500 mutated manifests go through model, problems and every rendering', () => {
    const documents = [];
    for (let i = 0; i < 500; i++) {
      const object = value(6) as any;
      const shaped = object !== null && typeof object === 'object' && !Array.isArray(object) ? { ...object, kind: pick(kinds), apiVersion: pick(versions) } : object;
      documents.push({ location: { file: 'fuzz.yaml', line: i + 1 }, value: shaped });
      documents.push({ location: { file: 'mutated.yaml', line: i + 1 }, value: mutate(pick(realDocuments), true) });
    }
    const model = buildModel(documents, 1);
    const problems = findProblems(model);
    for (const format of Object.values(ReportFormat)) {
      expect(() => renderReport(format, { model, problems, errors: [] })).not.toThrow();
    }
    // The generators must reach every stage, not only the "not a Kubernetes object" notes.
    const codes = new Set(problems.map((p) => p.code));
    expect({
      workloads: model.workloads.length > 150,
      pinned: model.workloads.filter((w) => w.workload.runtimeClassName !== undefined).length > 50,
      classes: model.runtimeClasses.length > 20,
      codes: ['duplicate-runtime-class', 'invalid-quantity', 'malformed', 'pod-overhead-set'].filter((c) => codes.has(c as any)),
    }).toEqual({ workloads: true, pinned: true, classes: true, codes: ['duplicate-runtime-class', 'invalid-quantity', 'malformed', 'pod-overhead-set'] });
  });

  test('every truncation of a real manifest parses or fails cleanly', () => {
    for (let end = 0; end <= PROBLEMS_YAML.length; end += 7) {
      const { documents } = parseYamlDocuments(PROBLEMS_YAML.slice(0, end), 'cut.yaml');
      const model = buildModel(documents, 1);
      expect(() => renderReport(ReportFormat.TEXT, { model, problems: findProblems(model), errors: [] })).not.toThrow();
    }
  });
});
