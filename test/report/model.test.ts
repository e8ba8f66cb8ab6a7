import { CLEAN_YAML, PROBLEMS_YAML } from './fixtures';
import { buildModel, describeValue, HostNamespace, isMapping, OverheadStatus, ReportModel } from '../../src/report/model';
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

  test.each([
    ['an empty name', 'metadata: {name: ""}'],
    ['a number for a name', 'metadata: {name: 5}'],
    ['metadata that is no mapping', 'metadata: kata'],
  ])('a RuntimeClass with %s is noted and skipped', (_, metadata) => {
    const model = modelOf(`apiVersion: node.k8s.io/v1\nkind: RuntimeClass\n${metadata}\nhandler: kata\n`);
    expect(model.runtimeClasses).toEqual([]);
    expect(model.notes.map((n) => n.message)).toEqual(['RuntimeClass has no metadata.name: skipped']);
  });

  test('a handler is a string or nothing; annotations and the node selector keep scalar values, as text', () => {
    const model = modelOf(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: odd
  annotations: {text: x, number: 1, flag: true, empty: null, nested: {a: b}, list: [1]}
handler: 5
scheduling: {nodeSelector: {pool: vm, zone: 2, spot: false, gpu: null}}
`);
    const [odd] = model.runtimeClasses;
    expect(odd.handler).toBeUndefined();
    expect(odd.annotations).toEqual({ text: 'x', number: '1', flag: 'true' });
    expect(odd.nodeSelector).toEqual({ pool: 'vm', zone: '2', spot: 'false' });
  });

  test('each version keeps the fields where it writes them: a v1alpha1 class without spec is read at its top level, a v1 class never from spec', () => {
    const model = modelOf(`apiVersion: node.k8s.io/v1alpha1
kind: RuntimeClass
metadata: {name: flat}
handler: kata
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: v1}
handler: kata-qemu
overhead: {podFixed: {memory: 320Mi}}
spec: {runtimeHandler: wrong, overhead: {podFixed: {memory: 1Mi}}}
`);
    expect(model.runtimeClasses.map((c) => [c.name, c.handler, c.overhead.toStrings()])).toEqual([
      ['flat', 'kata', {}],
      ['v1', 'kata-qemu', { memory: '320Mi' }],
    ]);
  });

  test('a class defined twice counts with its first definition, in the footprints and in the totals', () => {
    const model = modelOf(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: kata}
handler: kata-qemu
overhead: {podFixed: {memory: 320Mi}}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: kata}
handler: kata-clh
overhead: {podFixed: {memory: 130Mi}}
---
${workloadYaml('Pod', '{runtimeClassName: kata, containers: [{name: a, resources: {requests: {memory: 100Mi}}}]}')}`);
    expect(model.runtimeClasses.map((c) => c.handler)).toEqual(['kata-qemu', 'kata-clh']);
    expect(model.workloads[0].perPod.toStrings()).toEqual({ memory: '420Mi' });
    expect(model.totals[0].definition).toBe(model.runtimeClasses[0]);
  });
});

describe('Nodes', () => {
  test('a Node without a name, or with an empty one, is noted; runtimeHandlers keep the entries with a name, and only boolean features', () => {
    const model = modelOf(`apiVersion: v1
kind: Node
metadata: {name: ""}
---
apiVersion: v1
kind: Node
metadata: {labels: {pool: vm}}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {pool: vm, cores: 8}}
status:
  runtimeHandlers:
  - null
  - runc
  - {features: {userNamespaces: true}}
  - {name: 5}
  - {name: kata-qemu, features: {userNamespaces: "yes", recursiveReadOnlyMounts: true}}
  - {name: ""}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {runtimeHandlers: {name: runc}}
`);
    expect(model.notes.map((n) => `${n.location.line}: ${n.message}`)).toEqual(['1: Node has no metadata.name: skipped', '5: Node has no metadata.name: skipped']);
    expect(model.nodes.map((n) => [n.name, n.labels, n.runtimeHandlers])).toEqual([
      ['n1', { pool: 'vm', cores: '8' }, [{ name: 'kata-qemu', features: { recursiveReadOnlyMounts: true } }, { name: '', features: {} }]],
      ['n2', {}, undefined],
    ]);
  });
});

describe('which objects are read', () => {
  test('RuntimeClasses, Nodes and workloads only in their own API groups (workloads also in the older extensions group)', () => {
    const model = modelOf(`apiVersion: node.k8s.io/v1
kind: Handler
metadata: {name: not-a-class}
handler: kata
---
apiVersion: cluster.example.com/v1
kind: Node
metadata: {name: not-a-node}
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
spec: {template: {spec: {containers: []}}}
---
apiVersion: extensions/v1beta1
kind: DaemonSet
metadata: {name: old-agent}
spec: {template: {spec: {containers: []}}}
---
apiVersion: extensions/v1beta1
kind: ReplicaSet
metadata: {name: old-web-1}
spec: {template: {spec: {containers: []}}}
`);
    expect([model.runtimeClasses, model.nodes, model.workloads.map((w) => w.workload.name)]).toEqual([[], [], ['old', 'old-agent', 'old-web-1']]);
  });

  test('a typed list (PodList, as the API server returns it) is a list; an object of another kind with items, or a List whose items is no list, is not', () => {
    const pod = (name: string) => `{apiVersion: v1, kind: Pod, metadata: {name: ${name}}, spec: {containers: []}}`;
    const model = modelOf(`apiVersion: v1\nkind: PodList\nitems:\n- ${pod('listed')}\n---
apiVersion: example.com/v1\nkind: Thing\nitems:\n- ${pod('inside-a-thing')}\n---
apiVersion: v1\nkind: List\nitems: 5\n`);
    expect(model.workloads.map((w) => w.workload.name)).toEqual(['listed']);
    expect(model.notes).toEqual([]);
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

describe('workload fields', () => {
  const pod = (metadata: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: ${metadata}\nspec: ${spec}\n`;

  test('an empty apiVersion or kind is no apiVersion or kind', () => {
    const model = modelOf('apiVersion: ""\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nkind: ""\n');
    expect(model.workloads).toEqual([]);
    expect(model.notes.map((n) => n.message)).toEqual([
      'document has no apiVersion, so it is not a Kubernetes object: skipped',
      'document has no kind, so it is not a Kubernetes object: skipped',
    ]);
  });

  test.each([
    ['{name: 5, namespace: 7}', '5', '7'],
    ['{generateName: pi-, namespace: batch}', 'pi-*', 'batch'],
    ['{generateName: 5}', '(no name)', undefined],
    ['{}', '(no name)', undefined],
    ['x', '(no name)', undefined],
  ])('metadata %s: name %j, namespace %j', (metadata, name, namespace) => {
    const [row] = modelOf(pod(metadata, '{containers: []}')).workloads;
    expect([row.workload.name, row.workload.namespace]).toEqual([name, namespace]);
  });

  test.each([
    ['Deployment', '{template: {spec: null}}', 'has no pod spec at spec.template.spec: it creates no pods the report can count'],
    ['Deployment', '{template: {spec: [1]}}', 'spec.template.spec is a list, not a pod spec: it creates no pods the report can count'],
    ['Pod', '"big"', 'spec is a string ("big"), not a pod spec: it creates no pods the report can count'],
    ['CronJob', null, 'has no pod spec at spec.jobTemplate.spec.template.spec: it creates no pods the report can count'],
    ['CronJob', '{schedule: "@daily"}', 'has no pod spec at spec.jobTemplate.spec.template.spec: it creates no pods the report can count'],
  ])('%s with spec %s: %s', (kind, spec, message) => {
    const apiVersion = { Deployment: 'apps/v1', Pod: 'v1', CronJob: 'batch/v1' }[kind];
    const [row] = modelOf(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w}\n${spec === null ? '' : `spec: ${spec}\n`}`).workloads;
    expect(row.workload.malformed).toEqual([message]);
    expect(row.workload.replicas).toBe(1);
  });

  test('a runtimeClassName left empty by a template (null) is none; an empty string is reported', () => {
    const [unset, empty] = modelOf([pod('{name: a}', '{runtimeClassName: null, containers: []}'), pod('{name: b}', '{runtimeClassName: "", containers: []}')].join('---\n')).workloads;
    expect([unset.workload.runtimeClassName, unset.workload.malformed, unset.overheadStatus]).toEqual([undefined, [], OverheadStatus.NONE]);
    expect([empty.workload.runtimeClassName, empty.workload.malformed]).toEqual([undefined, ['spec.runtimeClassName is a string (""), not a RuntimeClass name']]);
  });

  test('fields a template leaves empty (null) count as left out: no problem, defaults apply', () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: helm}
spec:
  replicas: null
  template:
    spec:
      overhead: null
      initContainers: null
      containers:
      - {name: a, resources: null}
      - {name: b, resources: {requests: null, limits: {cpu: 1}}}
`;
    const [row] = modelOf(yaml).workloads;
    expect([row.workload.malformed, row.workload.invalidQuantities, row.workload.podOverhead, row.workload.replicas]).toEqual([[], [], undefined, 1]);
    expect(row.workload.requests.toStrings()).toEqual({ cpu: '1' });
  });

  test('a container without a string name is named by its index in messages', () => {
    const [row] = modelOf(pod('{name: p}', '{containers: [{resources: {requests: {cpu: "1.5.0"}}}, {name: 5, resources: {limits: {memory: "-1Gi"}}}]}')).workloads;
    expect(row.workload.invalidQuantities.map((m) => m.slice(0, m.indexOf(':')))).toEqual([
      'container "#0" resources.requests.cpu',
      'container "#1" resources.limits.memory',
    ]);
  });

  test.each([
    ['Deployment', 'replicas: -1,', 'spec.replicas is a number (-1), not a whole number of pods: the total is not counted'],
    ['StatefulSet', 'replicas: 1.5,', 'spec.replicas is a number (1.5), not a whole number of pods: the total is not counted'],
    ['ReplicaSet', 'replicas: true,', 'spec.replicas is a boolean (true), not a whole number of pods: the total is not counted'],
    ['Job', 'parallelism: x,', 'spec.parallelism is a string ("x"), not a whole number of pods: the total is not counted'],
    ['Job', 'completions: -2,', 'spec.completions is a number (-2), not a whole number of pods: the total is not counted'],
    ['CronJob', 'completions: 1.5,', 'spec.jobTemplate.spec.completions is a number (1.5), not a whole number of pods: the total is not counted'],
  ])('%s with "%s": %s', (kind, spec, message) => {
    const [row] = modelOf(workloadYaml(kind, '{containers: [{name: a, resources: {requests: {cpu: 1}}}]}', spec)).workloads;
    expect(row.workload.malformed).toEqual([message]);
    expect([row.workload.replicas, row.total]).toEqual([undefined, undefined]);
  });

  test('a replicas field the kind does not have (DaemonSet, Pod) is not read, whatever it holds', () => {
    const model = modelOf([
      workloadYaml('DaemonSet', '{containers: []}', 'replicas: three,'),
      workloadYaml('Pod', '{replicas: three, containers: []}'),
    ].join('---\n'));
    expect(model.workloads.map((w) => [w.workload.kind, w.workload.replicas, w.workload.malformed])).toEqual([['DaemonSet', undefined, []], ['Pod', 1, []]]);
  });

  test.each([
    ['hostNetwork: true', [HostNamespace.NETWORK]],
    ['hostPID: true', [HostNamespace.PID]],
    ['hostIPC: true', [HostNamespace.IPC]],
    ['hostIPC: true, hostNetwork: true, hostPID: true', [HostNamespace.NETWORK, HostNamespace.PID, HostNamespace.IPC]],
    ['hostNetwork: "true", hostPID: false', []],
  ])('a pod spec with %s shares %j', (fields, expected) => {
    const [row] = modelOf(pod('{name: p}', `{${fields}, containers: []}`)).workloads;
    expect(row.workload.hostNamespaces).toEqual(expected);
  });

  test.each([
    ['a Pod scheduled on n1 runs on n1', 'Pod', '{nodeName: n1, containers: []}', 'n1'],
    ['a Pod with an empty nodeName is not scheduled', 'Pod', '{nodeName: "", containers: []}', undefined],
    ['a Pod with a number for nodeName is not scheduled', 'Pod', '{nodeName: 5, containers: []}', undefined],
    ['a Deployment whose template names a node runs on no node itself', 'Deployment', '{nodeName: n1, containers: []}', undefined],
  ])('%s', (_, kind, podSpec, nodeName) => {
    const [row] = modelOf(workloadYaml(kind, podSpec)).workloads;
    expect(row.workload.nodeName).toBe(nodeName);
  });
});

describe('overhead', () => {
  const kata = 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\noverhead: {podFixed: {cpu: 250m, memory: 320Mi}}\n---\n';
  const pod = (uid: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p, ${uid}}\nspec: {${spec} containers: [{name: a, resources: {requests: {cpu: 100m}}}]}\n`;

  test.each([
    ['a manifest Pod: its hand-written overhead is not counted, its class\'s is', pod('', 'runtimeClassName: kata, overhead: {cpu: 1},'),
      [false, undefined, OverheadStatus.KNOWN, { cpu: '250m', memory: '320Mi' }, { cpu: '350m', memory: '320Mi' }]],
    ['a Pod with an empty uid is a manifest', pod('uid: ""', 'runtimeClassName: kata, overhead: {cpu: 1},'),
      [false, undefined, OverheadStatus.KNOWN, { cpu: '250m', memory: '320Mi' }, { cpu: '350m', memory: '320Mi' }]],
    ['a live Pod: the overhead admission set, even when its class is not in the input', pod('uid: u1', 'runtimeClassName: kata-fc, overhead: {cpu: 1},'),
      [true, { cpu: '1' }, OverheadStatus.KNOWN, { cpu: '1' }, { cpu: '1100m' }]],
    ['a live Pod: the overhead admission set, rather than its class\'s today', pod('uid: u1', 'runtimeClassName: kata, overhead: {memory: 160Mi},'),
      [true, { memory: '160Mi' }, OverheadStatus.KNOWN, { memory: '160Mi' }, { cpu: '100m', memory: '160Mi' }]],
    ['a live Pod without overhead on a class not in the input', pod('uid: u1', 'runtimeClassName: kata-fc,'),
      [true, undefined, OverheadStatus.UNKNOWN, {}, { cpu: '100m' }]],
    ['a live Pod without a class or overhead', pod('uid: u1', ''),
      [true, undefined, OverheadStatus.NONE, {}, { cpu: '100m' }]],
    ['a live Pod without a class whose overhead was set all the same', pod('uid: u1', 'overhead: {cpu: 1},'),
      [true, { cpu: '1' }, OverheadStatus.KNOWN, { cpu: '1' }, { cpu: '1100m' }]],
    ['a live Deployment: its template\'s overhead is no admitted overhead (admission sets it on Pods)',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, uid: u2}\nspec: {template: {spec: {runtimeClassName: kata-fc, overhead: {cpu: 1}, containers: [{name: a, resources: {requests: {cpu: 100m}}}]}}}\n',
      [true, undefined, OverheadStatus.UNKNOWN, {}, { cpu: '100m' }]],
  ])('%s', (_, yaml, [live, admitted, status, overhead, perPod]) => {
    const row = modelOf(`${kata}${yaml}`).workloads[0];
    expect([row.workload.live, row.workload.admittedOverhead?.toStrings(), row.overheadStatus, row.overhead.toStrings(), row.perPod.toStrings()])
      .toEqual([live, admitted, status, overhead, perPod]);
  });

  test('a live Pod\'s overhead of the wrong shape or with invalid amounts is reported, and the rest counted', () => {
    const model = modelOf([pod('uid: u1', 'overhead: 5,'), pod('uid: u2', 'overhead: {cpu: "1.5.0", memory: -1Gi, pods: 2},')].join('---\n'));
    expect(model.workloads.map((w) => [w.workload.malformed, w.workload.invalidQuantities, w.overhead.toStrings()])).toEqual([
      [['spec.overhead is a number (5), not a mapping of resources: not counted'], [], {}],
      [[], [
        'spec.overhead.cpu: "1.5.0" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one): not counted',
        'spec.overhead.memory: "-1Gi" is negative: amounts must be zero or more; not counted',
      ], { pods: '2' }],
    ]);
  });
});

describe('totals per class', () => {
  test('classes in name order, then the pods without a class; DaemonSets per node; workloads of unreadable replicas counted apart', () => {
    const model = modelOf([
      'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: zeta}\nhandler: z\n',
      workloadYaml('Deployment', '{runtimeClassName: alpha, containers: [{name: a, resources: {requests: {cpu: 1}}}]}', 'replicas: 2,'),
      workloadYaml('DaemonSet', '{runtimeClassName: zeta, containers: [{name: a, resources: {requests: {cpu: 100m}}}]}'),
      workloadYaml('Deployment', '{runtimeClassName: zeta, containers: [{name: a, resources: {requests: {cpu: 1}}}]}', 'replicas: x,'),
      workloadYaml('StatefulSet', '{runtimeClassName: zeta, containers: [{name: a, resources: {requests: {cpu: 1}}}]}', 'replicas: 3,'),
      workloadYaml('Pod', '{containers: [{name: a, resources: {requests: {cpu: 1}}}]}'),
    ].join('---\n'));
    const rows = model.totals.map((t) => [
      t.name, t.definition?.name, t.workloads, t.pods, t.total.toStrings(), t.daemonSets, t.perNode.toStrings(), t.unknownReplicas,
    ]);
    expect(rows).toEqual([
      ['alpha', undefined, 1, 2, { cpu: '2' }, 0, {}, 0],
      ['zeta', 'zeta', 3, 3, { cpu: '3' }, 1, { cpu: '100m' }, 1],
      [undefined, undefined, 1, 1, { cpu: '1' }, 0, {}, 0],
    ]);
    expect(model.totals[1].definition).toBe(model.runtimeClasses[0]);
  });

  test('no row for pods without a class when every workload names one; none at all for an empty input', () => {
    const pinned = modelOf(workloadYaml('Pod', '{runtimeClassName: kata, containers: []}'));
    expect(pinned.totals.map((t) => t.name ?? '(pods without a class)')).toEqual(['kata']);
    expect(buildModel([], 0).totals).toEqual([]);
  });
});

describe('values in messages', () => {
  test.each<[unknown, string]>([
    [undefined, 'missing'],
    [null, 'null'],
    [[1], 'a list'],
    [new Date('2024-01-02T03:04:05Z'), 'a date (2024-01-02T03:04:05.000Z)'],
    ['x'.repeat(40), `a string ("${'x'.repeat(40)}")`],
    [`${'x'.repeat(40)}y`, `a string ("${'x'.repeat(40)}...")`],
    ['a "quote"', 'a string ("a \\"quote\\"")'],
    [1.5, 'a number (1.5)'],
    [BigInt(10), 'a number (10)'],
    [false, 'a boolean (false)'],
    [{ a: 1 }, 'a mapping'],
    [() => 1, 'function'],
  ])('%p is described as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  test('a mapping is a plain object: not null, a list or a date', () => {
    expect([{}, null, [], new Date(0), 'x'].map(isMapping)).toEqual([true, false, false, false, false]);
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

test.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'])('a document of kind %s (a name every object inherits) is no workload, and nothing is thrown', (kind) => {
  const { documents } = parseYamlDocuments(`apiVersion: v1\nkind: ${kind}\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n`, 'f.yaml');
  const model = buildModel(documents, 1);
  expect(model.workloads.map((w) => w.workload.name)).toEqual(['p']);
});
