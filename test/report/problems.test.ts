import { ApiObject, App, Chart, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CLEAN_YAML, PROBLEMS_YAML } from './fixtures';
import { CrunRuntime, GvisorRuntime, KataHypervisor, KataRuntime, NodeSetup, RuntimeLimits, SandboxedDeployment, WorkloadFootprint } from '../../src';
import { buildModel } from '../../src/report/model';
import { findProblems, handlerLimits, ProblemCode, ReportProblem, sortByLocation } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';

function problemsOf(yaml: string, knownClasses?: string[]): ReportProblem[] {
  const { documents, errors } = parseYamlDocuments(yaml, 'f.yaml');
  expect(errors).toEqual([]);
  return findProblems(buildModel(documents, 1), { knownClasses });
}

const CLASS = 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\nscheduling: {nodeSelector: {pool: vm}}\n';

test('every problem of the hand-written file, in input order, with its code and line', () => {
  expect(problemsOf(PROBLEMS_YAML).map((p) => [p.code, p.location.line])).toEqual([
    [ProblemCode.NODE_SELECTOR_CONFLICT, 15],
    [ProblemCode.UNDEFINED_RUNTIME_CLASS, 35],
    [ProblemCode.POD_OVERHEAD_SET, 48],
    [ProblemCode.DUPLICATE_RUNTIME_CLASS, 58],
  ]);
});

test('a clean file has no problem', () => {
  expect(problemsOf(CLEAN_YAML)).toEqual([]);
});

describe('node selector conflicts', () => {
  const pod = (selector: string) => `${CLASS}---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\nspec: {runtimeClassName: kata, nodeSelector: ${selector}, containers: []}\n`;

  test('a pod selecting another value of a class key', () => {
    expect(problemsOf(pod('{pool: general}')).map((p) => p.message)).toEqual([
      'Pod "n/p" (RuntimeClass "kata") conflict: runtimeClass.scheduling.nodeSelector[pool] = vm; pod.nodeSelector[pool] = general: '
      + 'the pods would be rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value',
    ]);
  });

  test('the same value, or other keys, are no conflict', () => {
    expect(problemsOf(pod('{pool: vm, zone: a}'))).toEqual([]);
  });

  test('the message is the one the library gives at synth time', () => {
    const chart = new Chart(Testing.app(), 'test');
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { pool: 'vm' } } });
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata, containers: [{ image: 'nginx' }] });
    ApiObject.of(web).addJsonPatch(JsonPatch.add('/spec/template/spec/nodeSelector', { pool: 'general' }));
    const library = ApiObject.of(web).node.validate().find((m) => m.includes('conflict:'))!;
    // Each object rendered on its own: Testing.synth and chart.toJson() validate, and would throw on this very problem.
    const yaml = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => JSON.stringify(o.toJson())).join('\n---\n');
    const report = problemsOf(yaml).find((p) => p.code === ProblemCode.NODE_SELECTOR_CONFLICT)!.message;
    const detail = (message: string) => message.slice(message.indexOf('conflict:'));
    expect(detail(library)).toMatch(/^conflict: runtimeClass\.scheduling\.nodeSelector\[pool\] = vm; pod\.nodeSelector\[pool\] = general: /);
    expect(detail(report)).toBe(detail(library));
  });
});

describe('undefined classes', () => {
  const users = (count: number) => Array.from({ length: count }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {runtimeClassName: gvisor, containers: []}\n`).join('---\n');

  test('one problem per class, at its first user, naming up to five users', () => {
    const problems = problemsOf(users(7));
    expect(problems).toHaveLength(1);
    expect(problems[0].location.line).toBe(1);
    expect(problems[0].message).toBe('RuntimeClass "gvisor" is used by Pod "p0", Pod "p1", Pod "p2", Pod "p3", Pod "p4" and 2 more but not defined in the input: '
      + 'its overhead is unknown, and in a cluster without it every pod is rejected (pod rejected: RuntimeClass "gvisor" not found); '
      + 'add the RuntimeClass to the input, or pass --known-class gvisor if the cluster has it');
  });

  test('exactly five users are all named, without "and 0 more"', () => {
    expect(problemsOf(users(5))[0].message).toMatch(/^RuntimeClass "gvisor" is used by Pod "p0", Pod "p1", Pod "p2", Pod "p3", Pod "p4" but not defined in the input: /);
  });

  test('a class known to exist in the cluster is no problem', () => {
    expect(problemsOf(users(2), ['gvisor'])).toEqual([]);
  });
});

test('identical duplicate classes say so less loudly', () => {
  const problems = problemsOf(`${CLASS}---\n${CLASS}`);
  expect(problems.map((p) => p.message)).toEqual([
    'RuntimeClass "kata" is defined 2 times (f.yaml:1, f.yaml:7): a cluster holds one class per name and the last one applied wins (this report uses the first); keep one definition or rename the others',
  ]);
});

describe('duplicate classes that differ', () => {
  const cls = (spec: string) => `apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\n${spec}\n`;
  const base = 'handler: kata-qemu\noverhead: {podFixed: {memory: 160Mi}}\nscheduling: {nodeSelector: {pool: vm, zone: a, arch: amd64}}';
  const differs = (other: string) => problemsOf(`${cls(base)}---\n${cls(other)}`).map((p) => p.message.includes(' with different handlers, overheads or node selectors: '));

  test('another handler, overhead or nodeSelector value is a different definition', () => {
    expect(differs(base.replace('handler: kata-qemu', 'handler: kata-clh'))).toEqual([true]);
    expect(differs(base.replace('160Mi', '250Mi'))).toEqual([true]);
    expect(differs(base.replace('zone: a', 'zone: b'))).toEqual([true]);
    expect(differs(base.replace(', arch: amd64', ''))).toEqual([true]);
  });

  test('the same nodeSelector written in another key order is the same definition', () => {
    for (const order of ['{arch: amd64, pool: vm, zone: a}', '{zone: a, arch: amd64, pool: vm}', '{zone: a, pool: vm, arch: amd64}', '{arch: amd64, zone: a, pool: vm}']) {
      expect([order, differs(base.replace('{pool: vm, zone: a, arch: amd64}', order))]).toEqual([order, [false]]);
    }
  });
});

test('hand-set overhead is a problem even without a class', () => {
  const problems = problemsOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {overhead: {memory: 1Gi}, containers: []}}}\n');
  expect(problems.map((p) => p.code)).toEqual([ProblemCode.POD_OVERHEAD_SET]);
  expect(problems[0].message).toMatch(/^Deployment "d" sets overhead \{"memory":"1Gi"\} in its pod spec: /);
});

test('invalid quantities and malformed fields are problems naming the workload', () => {
  const problems = problemsOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, resources: {requests: {memory: 1GB}}}], initContainers: 3}\n');
  expect(problems.map((p) => [p.code, p.message])).toEqual([
    [ProblemCode.MALFORMED, 'Pod "p" spec.initContainers is a number (3), not a list of containers: their requests are not counted'],
    [ProblemCode.INVALID_QUANTITY, 'Pod "p" container "a" resources.requests.memory: "1GB" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one): not counted'],
  ]);
});

test('the report\'s footprints agree with WorkloadFootprint on a synthesized chart', () => {
  const chart = new Chart(new App(), 'shop', { namespace: 'shop' });
  const kata = new KataRuntime(chart, 'kata');
  const web = new SandboxedDeployment(chart, 'web', {
    runtime: kata,
    replicas: 3,
    containers: [{ image: 'nginx', resources: { cpu: { request: kplus.Cpu.millis(300) }, memory: { request: Size.mebibytes(200) } } }],
  });
  const expected = WorkloadFootprint.of(web);
  const yaml = Testing.synth(chart).map((m) => JSON.stringify(m)).join('\n---\n');
  const { documents } = parseYamlDocuments(yaml, 'shop.yaml');
  const row = buildModel(documents, 1).workloads.find((w) => w.workload.runtimeClassName === 'kata-qemu')!;
  expect(expected.perPod).toEqual({ cpu: '550m', memory: '520Mi' });
  expect(row.workload.requests.toStrings()).toEqual(expected.podRequests);
  expect(row.overhead.toStrings()).toEqual(expected.overhead);
  expect(row.perPod.toStrings()).toEqual(expected.perPod);
  expect(row.total?.toStrings()).toEqual(expected.total);
});

describe('what a class\'s handler cannot give, from the handler table the presets use', () => {
  const classYaml = (name: string, handler: string, annotations = '{}') => `apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: ${name}, annotations: ${annotations}}\nhandler: ${handler}\n`;
  const podYaml = (cls: string, fields: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\nspec: {runtimeClassName: ${cls}, ${fields}, containers: [{name: a}]}\n`;
  const limited = (yaml: string) => problemsOf(yaml).filter((p) => p.code === ProblemCode.HOST_NAMESPACE_NOT_GIVEN).map((p) => p.message.match(/sets (\w+): true/)![1]);

  test('Kata handlers (kata, kata-*) refuse hostNetwork, hostPID and hostIPC', () => {
    for (const handler of ['kata', 'kata-qemu', 'kata-clh', 'kata-fc', 'kata-dragonball', 'kata-qemu-snp']) {
      expect(limited(`${classYaml('vm', handler)}---\n${podYaml('vm', 'hostNetwork: true, hostPID: true, hostIPC: true')}`)).toEqual(['hostNetwork', 'hostPID', 'hostIPC']);
    }
    const [problem] = problemsOf(`${classYaml('vm', 'kata-fc')}---\n${podYaml('vm', 'hostIPC: true')}`);
    expect(problem.message).toBe('Pod "n/p" (RuntimeClass "vm", handler "kata-fc") sets hostIPC: true, which RuntimeClass "vm" cannot give (Kata Containers runs each pod '
      + 'in its own VM, which cannot join the node\'s namespaces): remove hostIPC or run this workload with another runtime');
  });

  test('gVisor handlers refuse hostNetwork only, unless the class is annotated for host networking', () => {
    for (const handler of ['runsc', 'runsc-kvm', 'gvisor', 'gvisor-systrap']) {
      expect(limited(`${classYaml('g', handler)}---\n${podYaml('g', 'hostNetwork: true, hostPID: true, hostIPC: true')}`)).toEqual(['hostNetwork']);
    }
    expect(limited(`${classYaml('g', 'runsc', '{runtimeclass.cdk8s.io/host-network: "true"}')}---\n${podYaml('g', 'hostNetwork: true')}`)).toEqual([]);
  });

  test('the host-network annotation only lifts gVisor\'s limit: a Kata class carrying it still refuses hostNetwork', () => {
    expect(limited(`${classYaml('vm', 'kata-qemu', '{runtimeclass.cdk8s.io/host-network: "true"}')}---\n${podYaml('vm', 'hostNetwork: true')}`)).toEqual(['hostNetwork']);
  });

  test('a class without a handler has no limits', () => {
    const { documents } = parseYamlDocuments('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: nohandler}\n', 'f.yaml');
    expect(handlerLimits(buildModel(documents, 1).runtimeClasses[0])).toBeUndefined();
  });

  test('other handlers, look-alikes and false values are no problem', () => {
    for (const handler of ['runc', 'crun', 'nvidia', 'katana', 'runscx', 'kata-']) {
      expect(limited(`${classYaml('c', handler)}---\n${podYaml('c', 'hostNetwork: true, hostPID: true')}`)).toEqual([]);
    }
    expect(limited(`${classYaml('vm', 'kata-qemu')}---\n${podYaml('vm', 'hostNetwork: false, hostPID: "true"')}`)).toEqual([]);
  });

  test('the presets\' own limits are the table\'s: synthesized classes get the same verdicts from the report as at synth time', () => {
    const chart = new Chart(new App(), 'c');
    // The Kata presets install one tree (/opt/kata): they share a node setup, on the VM pool.
    const kataNodes = new NodeSetup(chart, 'kata-nodes', { nodeSelector: { pool: 'vm' } });
    const runtimes = [
      ...Object.values(KataHypervisor).map((hypervisor) => new KataRuntime(chart, `kata-${hypervisor}`, { hypervisor, nodeSetup: kataNodes })),
      new GvisorRuntime(chart, 'gvisor'),
      new GvisorRuntime(chart, 'gvisor-host', { name: 'runsc-host', hostNetworking: true }),
      new CrunRuntime(chart, 'crun'),
    ];
    const yaml = Testing.synth(chart).filter((m) => m.kind === 'RuntimeClass').map((m) => JSON.stringify(m)).join('\n---\n');
    const { documents } = parseYamlDocuments(yaml, 'c.yaml');
    const classes = buildModel(documents, 1).runtimeClasses;
    const hostFields = (limits: RuntimeLimits | undefined) => [
      limits?.allowHostNetwork ?? limits?.hostNetwork ?? true,
      limits?.allowHostPid ?? limits?.hostPid ?? true,
      limits?.allowHostIpc ?? limits?.hostIpc ?? true,
    ];
    for (const runtime of runtimes) {
      const entry = classes.find((c) => c.name === runtime.runtimeClassName)!;
      expect([runtime.runtimeClassName, hostFields(handlerLimits(entry))]).toEqual([runtime.runtimeClassName, hostFields(runtime.limits)]);
    }
    expect(classes.find((c) => c.name === 'runsc-host')!.annotations).toEqual({ 'runtimeclass.cdk8s.io/host-network': 'true' });
    expect(classes.find((c) => c.name === 'runsc')!.annotations).toEqual({});
  });
});

describe('names the API server rejects', () => {
  test('a RuntimeClass name, a missing or invalid handler', () => {
    const problems = problemsOf('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: Kata_QEMU}\nhandler: kata-qemu\n---\n'
      + 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: nohandler}\n---\n'
      + 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: dotted}\nhandler: kata.qemu\n');
    expect(problems.map((p) => [p.code, p.location.line, p.message])).toEqual([
      [ProblemCode.INVALID_NAME, 1, 'RuntimeClass "Kata_QEMU": metadata.name must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending '
        + 'with a letter or digit; the API server rejects the class, so no pod can use it: rename it'],
      [ProblemCode.INVALID_NAME, 6, 'RuntimeClass "nohandler" has no handler: the API server requires one (handler: Required value); set the handler configured in the '
        + 'nodes\' container runtime'],
      [ProblemCode.INVALID_NAME, 10, 'RuntimeClass "dotted": handler "kata.qemu" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with '
        + 'a letter or digit, no dots; the API server rejects the class: use the handler\'s name as configured in containerd or CRI-O'],
    ]);
  });

  test('a workload\'s runtimeClassName is an invalid name, not an undefined class', () => {
    const problems = problemsOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {runtimeClassName: Kata, containers: []}}}\n', ['Kata']);
    expect(problems.map((p) => [p.code, p.message])).toEqual([
      [ProblemCode.INVALID_NAME, 'Deployment "web" has runtimeClassName "Kata", which the API server rejects: a RuntimeClass name must be a DNS-1123 subdomain: '
        + 'lowercase letters, digits, "-" and ".", starting and ending with a letter or digit; use the name of an existing RuntimeClass'],
    ]);
    const tooLong = 'a'.repeat(254);
    expect(problemsOf(`apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {runtimeClassName: ${tooLong}, containers: []}\n`)[0].message)
      .toContain('a RuntimeClass name must be at most 253 characters (it has 254)');
  });
});

describe('a live cluster', () => {
  const node = (name: string, labels: string, handlers?: string[]) => `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, uid: ${name}, labels: ${labels}}\n`
    + (handlers === undefined ? '' : `status: {runtimeHandlers: [${handlers.map((h) => `{name: ${h}}`).join(', ')}]}\n`);
  const pod = (name: string, nodeName?: string, namespace: string | null = 't') => 'apiVersion: v1\nkind: Pod\n'
    + `metadata: {name: ${name}, uid: ${name}${namespace === null ? '' : `, namespace: ${namespace}`}}\n`
    + `spec: {runtimeClassName: kata${nodeName === undefined ? '' : `, nodeName: ${nodeName}`}, containers: [{name: a}]}\n`;
  const kata = (scheduling: string) => `apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\n${scheduling}\n`;
  const gated = kata('scheduling: {nodeSelector: {runtimeclass.cdk8s.io/kata-qemu: ready}}');
  const live = (...docs: string[]) => problemsOf(docs.join('---\n'));

  test('pods on one node that is not ready are named together, up to five, in the plural', () => {
    const pods = [
      pod('a', 'n2', null), ...['b', 'c', 'd', 'e'].map((p) => pod(p, 'n2')),
      ...['f', 'g', 'h', 'i', 'j', 'k'].map((p) => pod(p, 'n3')),
      ...['l', 'm'].map((p) => pod(p, 'n4')),
    ];
    const problems = live(node('n1', '{runtimeclass.cdk8s.io/kata-qemu: ready}'), node('n2', '{}'), node('n3', '{}'), node('n4', '{}'), gated, ...pods);
    const tail = 'which is not labelled runtimeclass.cdk8s.io/kata-qemu=ready: the handler may be missing or being removed there '
      + '(its label was taken away, or the pods were placed with spec.nodeName); delete the pods so that they are scheduled again, or set the node up again';
    expect(problems.map((p) => [p.code, p.message])).toEqual([
      [ProblemCode.POD_ON_UNREADY_NODE, `5 pods (a, t/b, t/c, t/d, t/e) of RuntimeClass "kata" run on node "n2", ${tail}`],
      [ProblemCode.POD_ON_UNREADY_NODE, `6 pods (t/f, t/g, t/h, t/i, t/j and 1 more) of RuntimeClass "kata" run on node "n3", ${tail}`],
      [ProblemCode.POD_ON_UNREADY_NODE, `2 pods (t/l, t/m) of RuntimeClass "kata" run on node "n4", ${tail}`],
    ]);
  });

  test('a nodeSelector of several keys is named whole: no node matches it, Pending pods are counted, a node no longer matches it', () => {
    const problems = live(node('n1', '{pool: general}'), kata('scheduling: {nodeSelector: {pool: vm, zone: a}}'), pod('a', 'n1'), pod('b'), pod('c'));
    expect(problems.map((p) => p.message)).toEqual([
      'RuntimeClass "kata": no node matches its scheduling.nodeSelector (pool=vm, zone=a), so its pods stay Pending (2 pods are Pending now): '
        + 'label the nodes that have handler "kata-qemu", or fix the selector',
      'Pod "t/a" of RuntimeClass "kata" runs on node "n1", which no longer matches the class\'s nodeSelector (pool=vm, zone=a): '
        + 'the handler may be missing or being removed there (its label was taken away, or the pod was placed with spec.nodeName); '
        + 'delete the pod so that it is scheduled again, or set the node up again',
    ]);
  });

  test('a class that does not select the ready label is judged by it once some node carries it', () => {
    const problems = live(node('n1', '{runtimeclass.cdk8s.io/kata-qemu: ready}'), node('n2', '{}'), kata(''), pod('a', 'n1'), pod('b', 'n2'));
    expect(problems.map((p) => [p.code, p.message.split(': ')[0]])).toEqual([
      [ProblemCode.POD_ON_UNREADY_NODE, 'Pod "t/b" of RuntimeClass "kata" runs on node "n2", which is not labelled runtimeclass.cdk8s.io/kata-qemu=ready'],
    ]);
  });

  test('a class without a handler is reported as invalid only, not as a handler no node has or a class no node is ready for', () => {
    const problems = live(node('n1', '{}', ['runc']), 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nscheduling: {nodeSelector: {pool: vm}}\n', pod('a'), pod('b', 'n1'));
    expect(problems.map((p) => p.code)).toEqual([ProblemCode.INVALID_NAME]);
  });
});

describe('problems are sorted by file, then line; problems at one place keep their order', () => {
  test('across files and lines', () => {
    const at = (file: string, line: number, id: string) => ({ location: { file, line }, id });
    const items = [at('b.yaml', 1, 'b1'), at('a.yaml', 9, 'a9-first'), at('c.yaml', 3, 'c3'), at('a.yaml', 2, 'a2'), at('a.yaml', 9, 'a9-second'),
      at('b.yaml', 1, 'b1-second'), at('a.yaml', 9, 'a9-third'), at('c.yaml', 1, 'c1'), at('a.yaml', 2, 'a2-second')];
    expect(sortByLocation(items).map((i) => i.id)).toEqual(['a2', 'a2-second', 'a9-first', 'a9-second', 'a9-third', 'b1', 'b1-second', 'c1', 'c3']);
  });
});
