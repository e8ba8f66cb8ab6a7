// The live-cluster view: `kubectl get nodes,pods,runtimeclasses -A -o yaml | cdk8s-runtimeclass report -`.
// The fixtures under live/ are hand-written in the shape kubectl prints (a v1 List, keys sorted).
import * as fs from 'fs';
import * as path from 'path';
import { EXIT_OK, EXIT_PROBLEMS, runCli } from '../../src/report/cli';
import { buildModel, ReportModel } from '../../src/report/model';
import { findProblems, ProblemCode, ReportProblem } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';
import { renderReport, ReportFormat } from '../../src/report/render';

const WITH_PROBLEMS = fs.readFileSync(path.join(__dirname, 'live', 'cluster-with-problems.yaml'), 'utf8');
const HEALTHY = fs.readFileSync(path.join(__dirname, 'live', 'healthy-cluster.yaml'), 'utf8');

/** The same cluster before Kubernetes 1.30 (or on a runtime that does not tell): no node has status.runtimeHandlers. */
function withoutRuntimeHandlers(yaml: string): string {
  const stripped = yaml.replace(/^ {4}runtimeHandlers:\n(?: {4}- .*\n| {6}.*\n)*/gm, '');
  expect(stripped).not.toContain('runtimeHandlers');
  return stripped;
}

function analyse(yaml: string): { model: ReportModel; problems: ReportProblem[] } {
  const { documents, errors } = parseYamlDocuments(yaml, 'cluster.yaml');
  expect(errors).toEqual([]);
  const model = buildModel(documents, 1);
  return { model, problems: findProblems(model) };
}

/** The report through the command line, reading standard input as in the kubectl pipeline. */
function pipeline(yaml: string, ...options: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCli(['report', ...options, '-'], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => yaml });
  return { status, stdout, stderr };
}

/** The lines of a text report from `start` up to the next blank line. */
function section(text: string, start: string): string[] {
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.startsWith(start));
  expect(from).toBeGreaterThanOrEqual(0);
  const to = lines.indexOf('', from);
  return lines.slice(from, to);
}

describe('a cluster where the node setup went wrong', () => {
  test('every problem, at the line of the object it is about', () => {
    const { problems } = analyse(WITH_PROBLEMS);
    expect(problems.map((p) => [p.location.line, p.code])).toEqual([
      [94, ProblemCode.HANDLER_NOT_REPORTED], // pool-vm-2: labelled ready, kubelet does not list kata-qemu
      [301, ProblemCode.POD_ON_UNREADY_NODE], // a kata-qemu pod on pool-general-1
      [357, ProblemCode.HOST_NAMESPACE_NOT_GIVEN], // node-exporter: hostNetwork in a Kata VM
      [357, ProblemCode.HOST_NAMESPACE_NOT_GIVEN], // ... and hostPID
      [541, ProblemCode.NO_READY_NODE], // runsc: no node ready
      [541, ProblemCode.HANDLER_NOT_REPORTED], // runsc: no node lists the handler
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      'node "pool-vm-2" is labelled runtimeclass.cdk8s.io/kata-qemu=ready but its status.runtimeHandlers do not list "kata-qemu": pods of RuntimeClass "kata-qemu" '
        + 'scheduled there fail at sandbox creation; restart the node-setup pod on that node, or remove the label',
      'Pod "shop/checkout-7d9c8b6f4d-q8w4r" of RuntimeClass "kata-qemu" runs on node "pool-general-1", which is not labelled runtimeclass.cdk8s.io/kata-qemu=ready: '
        + 'the handler may be missing or being removed there (its label was taken away, or the pod was placed with spec.nodeName); '
        + 'delete the pod so that it is scheduled again, or set the node up again',
      'Pod "monitoring/node-exporter-5xk2m" (RuntimeClass "kata-qemu", handler "kata-qemu") sets hostNetwork: true, which RuntimeClass "kata-qemu" cannot give '
        + '(Kata Containers runs each pod in its own VM, which cannot join the node\'s namespaces): remove hostNetwork or run this workload with another runtime',
      'Pod "monitoring/node-exporter-5xk2m" (RuntimeClass "kata-qemu", handler "kata-qemu") sets hostPID: true, which RuntimeClass "kata-qemu" cannot give '
        + '(Kata Containers runs each pod in its own VM, which cannot join the node\'s namespaces): remove hostPID or run this workload with another runtime',
      'RuntimeClass "runsc": no node is labelled runtimeclass.cdk8s.io/runsc=ready, so its pods stay Pending (1 pod is Pending now): the node setup labels a node '
        + 'only after it has verified handler "runsc" there; check the node-setup DaemonSet\'s pods on the nodes that should run this class',
      'RuntimeClass "runsc": no node lists handler "runsc" in status.runtimeHandlers, so its pods cannot start anywhere (no runtime for "runsc" is configured); '
        + 'configure the handler on the nodes (the node setup does) or fix the class\'s handler',
    ]);
  });

  test('per class: ready nodes, nodes reporting the handler, pods per node', () => {
    const { model } = analyse(WITH_PROBLEMS);
    expect(model.nodes.map((n) => [n.name, n.location.line, n.runtimeHandlers?.map((h) => h.name)])).toEqual([
      ['pool-vm-1', 11, ['kata-qemu', 'runc', '']],
      ['pool-vm-2', 94, ['runc', '']],
      ['pool-general-1', 163, ['runc', '']],
    ]);
    expect(model.nodes[0].runtimeHandlers![0].features).toEqual({ recursiveReadOnlyMounts: true, userNamespaces: true });
    const kata = model.totals.find((t) => t.name === 'kata-qemu')!.nodes!;
    expect(kata.readyLabel).toBe('runtimeclass.cdk8s.io/kata-qemu');
    expect(kata.readyNodes).toEqual(['pool-vm-1', 'pool-vm-2']);
    expect(kata.handlerNodes).toEqual(['pool-vm-1']);
    expect(kata.matchingNodes).toEqual(['pool-vm-1', 'pool-vm-2']);
    expect(kata.podsByNode.map(({ node, pods }) => [node, pods.map((p) => p.name)])).toEqual([
      ['pool-general-1', ['checkout-7d9c8b6f4d-q8w4r']],
      ['pool-vm-1', ['checkout-7d9c8b6f4d-x2k9p', 'node-exporter-5xk2m']],
    ]);
    const runsc = model.totals.find((t) => t.name === 'runsc')!.nodes!;
    expect([runsc.readyNodes, runsc.handlerNodes, runsc.podsByNode.map(({ node, pods }) => [node, pods.length])]).toEqual([[], [], [[undefined, 1]]]);
    // Pods without a class are no class's business here.
    expect(model.totals.find((t) => t.name === undefined)!.nodes).toBeUndefined();
  });

  test('live pods: the overhead admission set is expected, and counted in their footprint', () => {
    const { model, problems } = analyse(WITH_PROBLEMS);
    expect(problems.filter((p) => p.code === ProblemCode.POD_OVERHEAD_SET)).toEqual([]);
    const checkout = model.workloads.find((w) => w.workload.name === 'checkout-7d9c8b6f4d-x2k9p')!;
    expect([checkout.workload.live, checkout.workload.nodeName, checkout.overhead.toStrings(), checkout.perPod.toStrings()]).toEqual([
      true, 'pool-vm-1', { cpu: '250m', memory: '320Mi' }, { cpu: '350m', memory: '448Mi' },
    ]);
    // The same pod as a manifest (no uid) is still told that it must not set overhead.
    const manifest = WITH_PROBLEMS.replace('uid: a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c01', 'labels2: {}');
    expect(analyse(manifest).problems.filter((p) => p.code === ProblemCode.POD_OVERHEAD_SET).map((p) => p.location.line)).toEqual([231]);
  });

  test('text: a live-cluster table per class, and --check fails', () => {
    const result = pipeline(WITH_PROBLEMS, '--check');
    expect(result.status).toBe(EXIT_PROBLEMS);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^RuntimeClass footprint report: 1 file, 1 document, 5 workloads, 2 RuntimeClasses defined, 3 nodes, 6 problems\n/);
    expect(section(result.stdout, 'Live cluster:')).toEqual([
      'Live cluster: 3 nodes, all reporting runtime handlers; ready = labelled runtimeclass.cdk8s.io/<handler>=ready by the node setup',
    ]);
    expect(section(result.stdout, 'RUNTIMECLASS  HANDLER    READY')).toEqual([
      'RUNTIMECLASS  HANDLER    READY NODES              NODES REPORTING HANDLER  PODS PER NODE',
      'kata-qemu     kata-qemu  2: pool-vm-1, pool-vm-2  1: pool-vm-1             pool-general-1 1, pool-vm-1 2',
      'runsc         runsc      0                        0                        not scheduled 1',
    ]);
    expect(result.stdout).toContain('\nProblems (6):\n  <stdin>:94: node "pool-vm-2" is labelled runtimeclass.cdk8s.io/kata-qemu=ready but ');
  });

  test('markdown: the same table for a pull request or an incident note', () => {
    const markdown = pipeline(WITH_PROBLEMS, '--format', 'markdown').stdout;
    expect(markdown).toContain(`#### Live cluster

3 nodes, all reporting runtime handlers; ready = labelled runtimeclass.cdk8s.io/&lt;handler&gt;=ready by the node setup.

| RuntimeClass | Handler | Ready nodes | Nodes reporting handler | Pods per node |
| --- | --- | --- | --- | --- |
| \`kata-qemu\` | kata-qemu | 2: pool-vm-1, pool-vm-2 | 1: pool-vm-1 | pool-general-1 1, pool-vm-1 2 |
| \`runsc\` | runsc | 0 | 0 | not scheduled 1 |

#### Problems (6)
`);
  });

  test('json: nodes, and per class the ready nodes, the nodes with the handler and the pods per node', () => {
    const json = JSON.parse(pipeline(WITH_PROBLEMS, '--format', 'json').stdout);
    expect(json.schemaVersion).toBe(3);
    expect(json.summary).toEqual({ files: 1, documents: 1, workloads: 5, runtimeClasses: 2, nodes: 3, problems: 6, notes: 0, errors: 0 });
    expect(json.runtimeClasses.map((c: any) => [c.name, c.nodes])).toEqual([
      ['kata-qemu', {
        readyLabel: 'runtimeclass.cdk8s.io/kata-qemu',
        readyNodes: ['pool-vm-1', 'pool-vm-2'],
        handlerNodes: ['pool-vm-1'],
        matchingNodes: ['pool-vm-1', 'pool-vm-2'],
        pods: [
          { node: 'pool-general-1', pods: ['shop/checkout-7d9c8b6f4d-q8w4r'] },
          { node: 'pool-vm-1', pods: ['shop/checkout-7d9c8b6f4d-x2k9p', 'monitoring/node-exporter-5xk2m'] },
        ],
      }],
      ['runsc', {
        readyLabel: 'runtimeclass.cdk8s.io/runsc', readyNodes: [], handlerNodes: [], matchingNodes: [], pods: [{ node: null, pods: ['shop/renderer-5f6d7c8b9-m7t2v'] }],
      }],
      [null, null],
    ]);
    expect(json.nodes[1]).toEqual({
      name: 'pool-vm-2',
      source: '<stdin>:94',
      readyHandlers: ['kata-qemu'],
      runtimeHandlers: [
        { name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
        { name: '', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
      ],
    });
    expect(json.nodes[2]).toMatchObject({ name: 'pool-general-1', readyHandlers: [] });
    expect(json.workloads.find((w: any) => w.name === 'renderer-5f6d7c8b9-m7t2v')).toMatchObject({ live: true, nodeName: null, runtimeClassName: 'runsc' });
  });
});

describe('a cluster where the node setup did its job', () => {
  test('--check passes; a gVisor class annotated for host networking accepts a hostNetwork pod', () => {
    const result = pipeline(HEALTHY, '--check');
    expect(result.status).toBe(EXIT_OK);
    expect(section(result.stdout, 'RUNTIMECLASS  HANDLER      READY')).toEqual([
      'RUNTIMECLASS  HANDLER      READY NODES  NODES REPORTING HANDLER  PODS PER NODE',
      'gvisor-host   gvisor-host  1: metal-a   1: metal-a               metal-a 1',
      'kata-clh      kata-clh     1: metal-a   1: metal-a               metal-a 1',
    ]);
    expect(result.stdout.endsWith('\nNo problems found.\n')).toBe(true);
  });

  test('without the annotation, the same hostNetwork pod is a problem: gVisor classes refuse it by default', () => {
    const { problems } = analyse(HEALTHY.replace('      runtimeclass.cdk8s.io/host-network: "true"\n', '      team: edge\n'));
    expect(problems.map((p) => [p.code, p.message.slice(0, 96)])).toEqual([
      [ProblemCode.HOST_NAMESPACE_NOT_GIVEN, 'Pod "ingress/edge-proxy-7rkq4" (RuntimeClass "gvisor-host", handler "gvisor-host") sets hostNetw'],
    ]);
  });

  test('a node whose ready label is removed while its pods run is reported; the class with no node left is too', () => {
    const { problems } = analyse(HEALTHY.replace('      runtimeclass.cdk8s.io/kata-clh: ready\n    name: metal-a', '    name: metal-a'));
    expect(problems.map((p) => p.code)).toEqual([ProblemCode.POD_ON_UNREADY_NODE, ProblemCode.NO_READY_NODE]);
    expect(problems[0].message).toMatch(/^Pod "bank\/ledger-0" of RuntimeClass "kata-clh" runs on node "metal-a", which is not labelled runtimeclass.cdk8s.io\/kata-clh=ready: /);
    // No pod waits: the message says the class's pods stay Pending, without a count.
    expect(problems[1].message).toMatch(/^RuntimeClass "kata-clh": no node is labelled runtimeclass.cdk8s.io\/kata-clh=ready, so its pods stay Pending: /);
  });
});

describe('runtime handlers are reported from Kubernetes 1.30 on', () => {
  test('when no node reports them, the handler checks are skipped and the table says so', () => {
    const { problems } = analyse(withoutRuntimeHandlers(WITH_PROBLEMS));
    expect(problems.map((p) => p.code)).toEqual([
      ProblemCode.POD_ON_UNREADY_NODE, ProblemCode.HOST_NAMESPACE_NOT_GIVEN, ProblemCode.HOST_NAMESPACE_NOT_GIVEN, ProblemCode.NO_READY_NODE,
    ]);
    const text = pipeline(withoutRuntimeHandlers(WITH_PROBLEMS)).stdout;
    expect(text).toContain('\nLive cluster: 3 nodes, none reporting runtime handlers; ');
    expect(text).toContain('\nkata-qemu     kata-qemu  2: pool-vm-1, pool-vm-2  not reported             pool-general-1 1, pool-vm-1 2\n');
    const json = JSON.parse(pipeline(withoutRuntimeHandlers(WITH_PROBLEMS), '--format', 'json').stdout);
    expect(json.runtimeClasses[0].nodes.handlerNodes).toBeNull();
    expect(json.nodes.map((n: any) => n.runtimeHandlers)).toEqual([null, null, null]);
  });

  test('when some nodes report them, a class whose handler none lists is a problem; silent nodes are not judged', () => {
    // pool-vm-1 (the one node that lists kata-qemu) upgraded last: it does not report yet.
    const yaml = WITH_PROBLEMS.replace(/^ {4}runtimeHandlers:\n {4}- features:\n(?: {6}.*\n)+ {6}name: kata-qemu\n(?: {4}- .*\n| {6}.*\n)*/m, '');
    const { model, problems } = analyse(yaml);
    expect(model.nodes.map((n) => n.runtimeHandlers === undefined)).toEqual([true, false, false]);
    expect(problems.filter((p) => p.code === ProblemCode.HANDLER_NOT_REPORTED).map((p) => p.message)).toEqual([
      'node "pool-vm-2" is labelled runtimeclass.cdk8s.io/kata-qemu=ready but its status.runtimeHandlers do not list "kata-qemu": pods of RuntimeClass "kata-qemu" '
        + 'scheduled there fail at sandbox creation; restart the node-setup pod on that node, or remove the label',
      'RuntimeClass "kata-qemu": none of the 2 nodes that report status.runtimeHandlers lists handler "kata-qemu" (1 more do not report them), so its pods cannot start '
        + 'on those (no runtime for "kata-qemu" is configured); configure the handler on the nodes (the node setup does) or fix the class\'s handler',
      'RuntimeClass "runsc": none of the 2 nodes that report status.runtimeHandlers lists handler "runsc" (1 more do not report them), so its pods cannot start '
        + 'on those (no runtime for "runsc" is configured); configure the handler on the nodes (the node setup does) or fix the class\'s handler',
    ]);
    expect(pipeline(yaml).stdout).toContain('\nLive cluster: 3 nodes, 2 reporting runtime handlers; ');
  });
});

describe('where a class can run, node by node', () => {
  const node = (name: string, labels: string, handlers: string) => `apiVersion: v1
kind: Node
metadata: {name: ${name}, uid: u-${name}, labels: {${labels}}}
status: {runtimeHandlers: [${handlers}]}
`;
  const pod = (name: string, runtimeClassName: string, nodeName?: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: t, uid: u-${name}}
spec: {runtimeClassName: ${runtimeClassName}, ${nodeName ? `nodeName: ${nodeName}, ` : ''}containers: [{name: a}]}
`;
  const yaml = [
    // Nodes out of name order; n2 matches one of the two keys of the selector only.
    node('n3', 'pool: vm, runtimeclass.cdk8s.io/kata-qemu: ready', '{name: kata-qemu}, {name: runc}'),
    node('n2', 'pool: vm', '{name: runc}'),
    node('n1', 'pool: vm, runtimeclass.cdk8s.io/kata-qemu: ready', '{name: kata-qemu}'),
    'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\nscheduling: {nodeSelector: {pool: vm, runtimeclass.cdk8s.io/kata-qemu: ready}}\n',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: t, uid: u-web}\nspec: {replicas: 3, template: {spec: {runtimeClassName: kata, containers: [{name: a}]}}}\n',
    pod('p1', 'kata', 'n3'), pod('p2', 'kata'), pod('p3', 'kata', 'n1'), pod('p4', 'kata', 'n3'), pod('q1', 'fc', 'n2'),
  ].join('---\n');

  test('ready nodes, nodes with the handler and matching nodes in name order; the Pods by node in name order, then those not scheduled', () => {
    const { model } = analyse(yaml);
    expect(model.totals.find((t) => t.name === 'kata')!.nodes).toEqual({
      readyLabel: 'runtimeclass.cdk8s.io/kata-qemu',
      readyNodes: ['n1', 'n3'],
      handlerNodes: ['n1', 'n3'],
      matchingNodes: ['n1', 'n3'],
      podsByNode: [
        { node: 'n1', pods: [expect.objectContaining({ name: 'p3' })] },
        { node: 'n3', pods: [expect.objectContaining({ name: 'p1' }), expect.objectContaining({ name: 'p4' })] },
        { node: undefined, pods: [expect.objectContaining({ name: 'p2' })] },
      ],
    });
  });

  test('a class that is only used, not defined: no ready label, no node known to have its handler, every node matches', () => {
    const { model } = analyse(yaml);
    expect(model.totals.find((t) => t.name === 'fc')!.nodes).toEqual({
      readyLabel: undefined,
      readyNodes: [],
      handlerNodes: [],
      matchingNodes: ['n1', 'n2', 'n3'],
      podsByNode: [{ node: 'n2', pods: [expect.objectContaining({ name: 'q1' })] }],
    });
  });
});

describe('classes that do not use the ready label', () => {
  const nodes = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: n1, uid: u1, labels: {sandbox.gke.io/runtime: gvisor}}
- apiVersion: v1
  kind: Node
  metadata: {name: n2, uid: u2, labels: {}}
`;
  const gkeClass = 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: gvisor\nscheduling: {nodeSelector: {sandbox.gke.io/runtime: gvisor}}\n';
  const pod = (node: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p-${node}, namespace: t, uid: p-${node}}\nspec: {runtimeClassName: gvisor, nodeName: ${node}, containers: [{name: a}]}\n`;

  test('a managed class is judged by its own nodeSelector, not by the node setup\'s label', () => {
    const { model, problems } = analyse(`${nodes}---\n${gkeClass}---\n${pod('n1')}`);
    expect(problems).toEqual([]);
    expect(model.totals[0].nodes).toMatchObject({ readyNodes: [], matchingNodes: ['n1'], handlerNodes: undefined });
  });

  test('no node matching its nodeSelector leaves its pods Pending; a pod on a node that no longer matches is reported', () => {
    const { problems } = analyse(`${nodes.replace('sandbox.gke.io/runtime: gvisor', 'pool: default')}---\n${gkeClass}---\n${pod('n2')}`);
    expect(problems.map((p) => p.message)).toEqual([
      'RuntimeClass "gvisor": no node matches its scheduling.nodeSelector (sandbox.gke.io/runtime=gvisor), so its pods stay Pending: '
        + 'label the nodes that have handler "gvisor", or fix the selector',
      'Pod "t/p-n2" of RuntimeClass "gvisor" runs on node "n2", which no longer matches the class\'s nodeSelector (sandbox.gke.io/runtime=gvisor): '
        + 'the handler may be missing or being removed there (its label was taken away, or the pod was placed with spec.nodeName); '
        + 'delete the pod so that it is scheduled again, or set the node up again',
    ]);
  });

  test('a class without a nodeSelector runs anywhere: no readiness problem; a pod on a node outside the input is left alone', () => {
    const { problems } = analyse(`${nodes}---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: gvisor\n---\n${pod('n2')}---\n${pod('elsewhere')}`);
    expect(problems).toEqual([]);
  });

  test('without Nodes in the input there is no live view and no live problem', () => {
    const { model, problems } = analyse(`${gkeClass}---\n${pod('n1')}`);
    expect(model.nodes).toEqual([]);
    expect(model.totals[0].nodes).toBeUndefined();
    expect(problems).toEqual([]);
    expect(renderReport(ReportFormat.TEXT, { model, problems, errors: [] })).not.toContain('Live cluster');
  });
});
