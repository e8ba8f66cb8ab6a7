import { CLEAN_YAML } from './fixtures';
import { ResourceList } from '../../src/core/resources';
import { buildModel } from '../../src/report/model';
import { findProblems } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';
import { formatResources, JSON_SCHEMA_VERSION, RenderInput, renderReport, ReportFormat, writeReport } from '../../src/report/render';

function inputOf(yaml: string): RenderInput {
  const { documents } = parseYamlDocuments(yaml, 'clean.yaml');
  const model = buildModel(documents, 1);
  return { model, problems: findProblems(model), errors: [] };
}

test('resources print as "name amount" pairs, keys sorted, "-" when empty', () => {
  expect(formatResources(ResourceList.parse({ 'memory': '1Gi', 'cpu': '1500m', 'example.com/gpu': '1' }).list)).toBe('cpu 1500m, example.com/gpu 1, memory 1Gi');
  expect(formatResources(ResourceList.empty())).toBe('-');
});

test('text: a table of workloads, a table per class, then problems', () => {
  expect(renderReport(ReportFormat.TEXT, inputOf(CLEAN_YAML))).toBe(`RuntimeClass footprint report: 1 file, 3 documents, 2 workloads, 1 RuntimeClass defined, 0 problems

WORKLOAD             CLASS   REPLICAS  REQUESTS PER POD        OVERHEAD  PER POD                 TOTAL
DaemonSet ops/agent  gvisor  per node  cpu 50m, memory 64Mi    -         cpu 50m, memory 64Mi    -
Deployment api       (none)  1         cpu 200m, memory 256Mi  -         cpu 200m, memory 256Mi  cpu 200m, memory 256Mi

RUNTIMECLASS  HANDLER  OVERHEAD  WORKLOADS  PODS  TOTAL                   PER NODE (DAEMONSETS)
gvisor        runsc    -         1          0     -                       cpu 50m, memory 64Mi
(none)        -        -         1          1     cpu 200m, memory 256Mi  -

No problems found.
`);
});

test('markdown: GitHub tables for a pull request', () => {
  expect(renderReport(ReportFormat.MARKDOWN, inputOf(CLEAN_YAML))).toBe(`### RuntimeClass footprint report

1 file, 3 documents, 2 workloads, 1 RuntimeClass defined, 0 problems.

| Workload | RuntimeClass | Replicas | Requests per pod | Overhead | Per pod | Total |
| --- | --- | ---: | --- | --- | --- | --- |
| DaemonSet \`ops/agent\` | \`gvisor\` | per node | cpu 50m, memory 64Mi | - | cpu 50m, memory 64Mi | - |
| Deployment \`api\` | (none) | 1 | cpu 200m, memory 256Mi | - | cpu 200m, memory 256Mi | cpu 200m, memory 256Mi |

#### Totals per RuntimeClass

| RuntimeClass | Handler | Overhead | Workloads | Pods | Total | Per node (DaemonSets) |
| --- | --- | --- | ---: | ---: | --- | --- |
| \`gvisor\` | runsc | - | 1 | 0 | - | cpu 50m, memory 64Mi |
| (none) | - | - | 1 | 1 | cpu 200m, memory 256Mi | - |

No problems found.
`);
});

test('markdown: table cells and messages cannot break the table or inject HTML', () => {
  const yaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: "a|b`c", namespace: "<x>"}\nspec: {runtimeClassName: "r|s", containers: [], overhead: {cpu: "<b>|"}}\n';
  const markdown = renderReport(ReportFormat.MARKDOWN, inputOf(yaml));
  expect(markdown).toContain('| Pod `<x>/a\\|b\'c` | `r\\|s` | 1 | - | unknown | - | - |');
  expect(markdown).toContain('- `clean.yaml:1` Pod "&lt;x&gt;/a\\|b\\`c" sets overhead {"cpu":"&lt;b&gt;\\|"} in its pod spec: ');
});

test('markdown: the cell naming the workload a row is counted in is escaped like any other', () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: "we|b_1", namespace: shop, uid: d1}\n'
    + 'spec: {replicas: 2, template: {spec: {containers: [{name: a, resources: {requests: {cpu: 1}}}]}}}\n---\n'
    + 'apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: "we|b_1-5f8c", namespace: shop, uid: r1, '
    + 'ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: "we|b_1", uid: d1, controller: true}]}\n'
    + 'spec: {replicas: 2, template: {spec: {containers: [{name: a, resources: {requests: {cpu: 1}}}]}}}\n';
  expect(renderReport(ReportFormat.MARKDOWN, inputOf(yaml))).toContain('\n| ReplicaSet `shop/we\\|b_1-5f8c` | (none) | 2 | cpu 1 | - | cpu 1 | in Deployment shop/we\\|b\\_1 |\n');
});

test('json: the stable schema, every key present', () => {
  const json = JSON.parse(renderReport(ReportFormat.JSON, { ...inputOf(CLEAN_YAML), errors: [{ file: 'gone.yaml', message: 'cannot read "gone.yaml": no such file or directory' }] }));
  expect(json).toEqual({
    schemaVersion: JSON_SCHEMA_VERSION,
    summary: { files: 1, documents: 3, workloads: 2, runtimeClasses: 1, nodes: 0, problems: 0, notes: 0, errors: 1 },
    workloads: [
      {
        kind: 'DaemonSet',
        namespace: 'ops',
        name: 'agent',
        source: 'clean.yaml:6',
        runtimeClassName: 'gvisor',
        replicas: null,
        perNode: true,
        requests: { cpu: '50m', memory: '64Mi' },
        overhead: {},
        overheadKnown: true,
        perPod: { cpu: '50m', memory: '64Mi' },
        total: null,
        countedIn: null,
        live: false,
        nodeName: null,
      },
      {
        kind: 'Deployment',
        namespace: null,
        name: 'api',
        source: 'clean.yaml:18',
        runtimeClassName: null,
        replicas: 1,
        perNode: false,
        requests: { cpu: '200m', memory: '256Mi' },
        overhead: {},
        overheadKnown: true,
        perPod: { cpu: '200m', memory: '256Mi' },
        total: { cpu: '200m', memory: '256Mi' },
        countedIn: null,
        live: false,
        nodeName: null,
      },
    ],
    runtimeClasses: [
      {
        name: 'gvisor',
        defined: true,
        handler: 'runsc',
        source: 'clean.yaml:1',
        overhead: {},
        nodeSelector: {},
        workloads: 1,
        pods: 0,
        total: {},
        daemonSets: 1,
        perNode: { cpu: '50m', memory: '64Mi' },
        unknownReplicas: 0,
        nodes: null,
      },
      {
        name: null,
        defined: false,
        handler: null,
        source: null,
        overhead: null,
        nodeSelector: null,
        workloads: 1,
        pods: 1,
        total: { cpu: '200m', memory: '256Mi' },
        daemonSets: 0,
        perNode: {},
        unknownReplicas: 0,
        nodes: null,
      },
    ],
    nodes: [],
    problems: [],
    notes: [],
    errors: [{ source: 'gone.yaml', message: 'cannot read "gone.yaml": no such file or directory' }],
  });
});

test('an input without workloads says so in every format', () => {
  const input = inputOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
  expect(renderReport(ReportFormat.TEXT, input)).toBe('RuntimeClass footprint report: 1 file, 1 document, 0 workloads, 0 RuntimeClasses defined, 0 problems\n\nNo workloads found.\n\nNo problems found.\n');
  expect(renderReport(ReportFormat.MARKDOWN, input)).toBe('### RuntimeClass footprint report\n\n1 file, 1 document, 0 workloads, 0 RuntimeClasses defined, 0 problems.\n\nNo workloads found.\n\nNo problems found.\n');
  expect(JSON.parse(renderReport(ReportFormat.JSON, input)).workloads).toEqual([]);
});

test('unknown replicas are shown and counted apart', () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: many, template: {spec: {containers: [{name: a, resources: {requests: {cpu: 1}}}]}}}\n';
  const text = renderReport(ReportFormat.TEXT, inputOf(yaml));
  expect(text).toContain('Deployment d  (none)  ?         cpu 1             -         cpu 1    -\n');
  expect(text).toContain('(none)        -        -         1          0 (+1 workload unknown)  -      -\n');
});

/** The cells of the text table row whose first cell is `first`, in the table whose header has the columns `columns`. */
function textRow(text: string, columns: string[], first: string): string[] {
  const lines = text.split('\n');
  const from = lines.findIndex((l) => columns.every((c) => l.split(/ {2,}/).includes(c)));
  expect(from).toBeGreaterThanOrEqual(0);
  const row = lines.slice(from + 1, lines.indexOf('', from)).map((l) => l.split(/ {2,}/)).find((cells) => cells[0] === first);
  expect(row).toBeDefined();
  return row!;
}

/** The cells of the Markdown table row that starts with `first`, in the first table after the line `heading`. */
function markdownRow(markdown: string, heading: string, first: string): string[] {
  const lines = markdown.split('\n');
  const line = lines.slice(lines.indexOf(heading)).find((l) => l.startsWith(`| ${first} |`));
  expect(line).toBeDefined();
  return line!.slice(2, -2).split(' | ');
}

test.each([
  [1, '1 unreadable input', 'but 1 input could not be read or parsed'],
  [2, '2 unreadable inputs', 'but 2 inputs could not be read or parsed'],
])('%i unreadable input(s): the summary and the closing line count them in words (%s)', (count, summary, closing) => {
  const errors = ['gone.yaml', 'lost.yaml'].slice(0, count).map((file) => ({ file, message: `cannot read "${file}": no such file or directory` }));
  const input = { ...inputOf(CLEAN_YAML), errors };
  const text = renderReport(ReportFormat.TEXT, input);
  expect(text.split('\n')[0]).toBe(`RuntimeClass footprint report: 1 file, 3 documents, 2 workloads, 1 RuntimeClass defined, 0 problems, ${summary}`);
  expect(text).toContain(`\nUnreadable input (${count}): these could not be read or parsed, so everything below leaves them out:\n  cannot read "gone.yaml"`);
  expect(text.endsWith(`\nNo problems found in the input that could be read, ${closing} (see "Unreadable input" above): this report is incomplete.\n`)).toBe(true);
  const markdown = renderReport(ReportFormat.MARKDOWN, input);
  expect(markdown).toContain(`\n1 file, 3 documents, 2 workloads, 1 RuntimeClass defined, 0 problems, ${summary}.\n\n#### Unreadable input (${count})\n`);
  expect(markdown.endsWith(`\nNo problems found in the input that could be read, ${closing} (see "Unreadable input" above): this report is incomplete.\n`)).toBe(true);
});

test('workloads whose replicas cannot be read are counted apart, in the plural when there are several', () => {
  const deployment = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec: {replicas: many, template: {spec: {containers: [{name: a}]}}}\n`;
  const input = inputOf(`${deployment('d1')}---\n${deployment('d2')}`);
  const cells = ['(none)', '-', '-', '2', '0 (+2 workloads unknown)', '-', '-'];
  expect(textRow(renderReport(ReportFormat.TEXT, input), ['RUNTIMECLASS', 'WORKLOADS'], '(none)')).toEqual(cells);
  expect(markdownRow(renderReport(ReportFormat.MARKDOWN, input), '#### Totals per RuntimeClass', '(none)')).toEqual(cells);
  const json = JSON.parse(renderReport(ReportFormat.JSON, input));
  expect(json.runtimeClasses[0]).toMatchObject({ name: null, workloads: 2, pods: 0, unknownReplicas: 2 });
});

test('a DaemonSet on a class not in the input: its per-node footprint is a lower bound, it has no total', () => {
  const yaml = 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec: {template: {spec: {runtimeClassName: kata, containers: [{name: a, resources: {requests: {cpu: 50m}}}]}}}\n';
  const text = renderReport(ReportFormat.TEXT, inputOf(yaml));
  expect(textRow(text, ['WORKLOAD'], 'DaemonSet agent')).toEqual(['DaemonSet agent', 'kata', 'per node', 'cpu 50m', 'unknown', 'at least cpu 50m', '-']);
  expect(textRow(text, ['RUNTIMECLASS', 'WORKLOADS'], 'kata')).toEqual(['kata', 'not in input', 'unknown', '1', '0', '-', 'at least cpu 50m']);
});

test('a RuntimeClass without a handler shows "?" for it, and has no ready nodes to count', () => {
  const yaml = 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: odd}\n---\n'
    + 'apiVersion: v1\nkind: Node\nmetadata: {name: n1, uid: u1, labels: {runtimeclass.cdk8s.io/odd: ready}}\nstatus: {runtimeHandlers: [{name: odd}]}\n';
  const input = inputOf(yaml);
  const text = renderReport(ReportFormat.TEXT, input);
  expect(textRow(text, ['RUNTIMECLASS', 'WORKLOADS'], 'odd')).toEqual(['odd', '?', '-', '0', '0', '-', '-']);
  expect(textRow(text, ['RUNTIMECLASS', 'READY NODES'], 'odd')).toEqual(['odd', '?', '-', '-', '-']);
  const markdown = renderReport(ReportFormat.MARKDOWN, input);
  expect(markdown).toContain('\n| `odd` | ? | - | 0 | 0 | - | - |\n');
  expect(markdown).toContain('\n| `odd` | ? | - | - | - |\n');
  expect(JSON.parse(renderReport(ReportFormat.JSON, input)).runtimeClasses[0]).toMatchObject({
    name: 'odd', defined: true, handler: null, nodes: { readyLabel: null, readyNodes: [], handlerNodes: [] },
  });
});

describe('the live-cluster table', () => {
  const node = (name: string, labels: string, handlers?: string) =>
    `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, uid: ${name}, labels: {${labels}}}\n${handlers === undefined ? '' : `status: {runtimeHandlers: [${handlers}]}\n`}`;
  const pod = (name: string, on: string, namespace = 't') =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${namespace}, uid: ${name}}\nspec: {runtimeClassName: kata, nodeName: ${on}, containers: [{name: a}]}\n`;
  const kata = 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\n';

  test.each([
    ['reports', '{name: runc}', '-'],
    ['does not report', undefined, 'not reported'],
  ])('a class used but not in the input, on a cluster that %s runtime handlers: no handler, no ready nodes', (_, handlers, reported) => {
    const input = inputOf([node('n1', 'pool: a', handlers), pod('p1', 'n1')].join('---\n'));
    const text = renderReport(ReportFormat.TEXT, input);
    expect(textRow(text, ['RUNTIMECLASS', 'READY NODES'], 'kata')).toEqual(['kata', 'not in input', '-', reported, 'n1 1']);
    expect(markdownRow(renderReport(ReportFormat.MARKDOWN, input), '#### Live cluster', '`kata`')).toEqual(['`kata`', 'not in input', '-', reported, 'n1 1']);
  });

  test.each([
    [5, '5: n1, n2, n3, n4, n5', 'n1 1, n2 1, n3 1, n4 1, n5 1'],
    [7, '7: n1, n2, n3, n4, n5 and 2 more', 'n1 1, n2 1, n3 1, n4 1, n5 1 and 2 more nodes'],
  ])('%i nodes: a cell names the first five and counts the rest', (count, nodes, pods) => {
    const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    const yaml = [kata, ...names.map((n) => node(n, 'runtimeclass.cdk8s.io/kata-qemu: ready', '{name: kata-qemu}')), ...names.map((n) => pod(`p-${n}`, n))].join('---\n');
    const input = inputOf(yaml);
    expect(textRow(renderReport(ReportFormat.TEXT, input), ['RUNTIMECLASS', 'READY NODES'], 'kata')).toEqual(['kata', 'kata-qemu', nodes, nodes, pods]);
    expect(markdownRow(renderReport(ReportFormat.MARKDOWN, input), '#### Live cluster', '`kata`')).toEqual(['`kata`', 'kata-qemu', nodes, nodes, pods]);
  });

  test('a class without pods shows "-" for them', () => {
    const input = inputOf([kata, node('n1', 'runtimeclass.cdk8s.io/kata-qemu: ready')].join('---\n'));
    expect(textRow(renderReport(ReportFormat.TEXT, input), ['RUNTIMECLASS', 'READY NODES'], 'kata')).toEqual(['kata', 'kata-qemu', '1: n1', 'not reported', '-']);
  });

  test('nodes but no RuntimeClass: the live-cluster line without a table', () => {
    const input = inputOf(node('n1', 'pool: a'));
    expect(renderReport(ReportFormat.TEXT, input)).toBe('RuntimeClass footprint report: 1 file, 1 document, 0 workloads, 0 RuntimeClasses defined, 1 node, 0 problems\n\n'
      + 'No workloads found.\n\n'
      + 'Live cluster: 1 node, none reporting runtime handlers; ready = labelled runtimeclass.cdk8s.io/<handler>=ready by the node setup\n\n'
      + 'No problems found.\n');
    expect(renderReport(ReportFormat.MARKDOWN, input)).toBe('### RuntimeClass footprint report\n\n'
      + '1 file, 1 document, 0 workloads, 0 RuntimeClasses defined, 1 node, 0 problems.\n\n'
      + 'No workloads found.\n\n'
      + '#### Live cluster\n\n1 node, none reporting runtime handlers; ready = labelled runtimeclass.cdk8s.io/&lt;handler&gt;=ready by the node setup.\n\n'
      + 'No problems found.\n');
  });

  test('json: ready handlers are the labels set to "ready", sorted; keys of node selectors and features sorted; a pod without namespace by its name', () => {
    const yaml = [
      'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: kata}\nhandler: kata-qemu\nscheduling: {nodeSelector: {zone: a, pool: vm}}\n',
      node('n1', 'runtimeclass.cdk8s.io/runsc: ready, runtimeclass.cdk8s.io/kata-fc: pending, runtimeclass.cdk8s.io/kata-qemu: ready, pool: vm, zone: a, team: ready',
        '{name: kata-qemu, features: {userNamespaces: true, recursiveReadOnlyMounts: false}}'),
      pod('solo', 'n1', '~'),
    ].join('---\n');
    const json = JSON.parse(renderReport(ReportFormat.JSON, inputOf(yaml)));
    expect(json.nodes[0].readyHandlers).toEqual(['kata-qemu', 'runsc']);
    expect(Object.keys(json.nodes[0].runtimeHandlers[0].features)).toEqual(['recursiveReadOnlyMounts', 'userNamespaces']);
    expect(Object.keys(json.runtimeClasses[0].nodeSelector)).toEqual(['pool', 'zone']);
    expect(json.runtimeClasses[0].nodes.pods).toEqual([{ node: 'n1', pods: ['solo'] }]);
    expect(json.workloads[0]).toMatchObject({ name: 'solo', namespace: null, live: true, nodeName: 'n1' });
  });
});

test.each([
  ['line breaks, however written, become one space', 'a\nb\r\n\r\nc\rd', 'a b c d'],
  ['backslashes are doubled', 'C:\\dir\\x', 'C:\\\\dir\\\\x'],
  ['emphasis, code and link characters are escaped', '*a* _b_ `c` [d](e)', '\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e)'],
  ['a pipe cannot end a table cell, even after a backslash', 'a|b\\|c', 'a\\|b\\\\\\|c'],
  ['angle brackets are entities', '<script>', '&lt;script&gt;'],
])('markdown: in a message, %s', (_, message, markdown) => {
  const input = { ...inputOf(CLEAN_YAML), errors: [{ file: 'x', message }] };
  expect(renderReport(ReportFormat.MARKDOWN, input)).toContain(`\n\n- ${markdown}\n\n`);
});

test('markdown: a name with line breaks stays on its table row, as one code span', () => {
  const yaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: "a\\nb\\r\\n\\r\\nc\\rd", namespace: ns}\nspec: {runtimeClassName: "k\\r\\nl", containers: []}\n';
  expect(renderReport(ReportFormat.MARKDOWN, inputOf(yaml))).toContain('\n| Pod `ns/a b c d` | `k l` | 1 | - | unknown | - | - |\n');
});

test.each([
  [4088, [4096]],
  [4089, [4096, 1]],
])('writeReport hands the text on in whole lines, 4096 at most at a time, never an empty piece (%i workloads)', (count, lines) => {
  const one = inputOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n');
  // The text report has 8 lines besides a line per workload.
  const input = { ...one, model: { ...one.model, workloads: new Array(count).fill(one.model.workloads[0]) } };
  const pieces: string[] = [];
  writeReport(ReportFormat.TEXT, input, (text) => pieces.push(text));
  expect(pieces.map((piece) => piece.split('\n').length - 1)).toEqual(lines);
  expect(pieces.join('').endsWith('\n\nNo problems found.\n')).toBe(true);
});

/** The cells of a Markdown table row as GitHub's table parser splits them (a backslash escapes the punctuation after it). */
function gfmCells(row: string): number {
  let cells = 0;
  for (let i = 1; i < row.length; i++) {
    if (row[i] === '\\' && /[!-/:-@[-`{-~]/.test(row[i + 1] ?? '')) i++;
    else if (row[i] === '|') cells++;
  }
  return cells;
}

test('markdown: a name holding a backslash before a pipe does not end its table cell', () => {
  const yaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: "a\\\\|b"}\nspec: {runtimeClassName: "r\\\\|s", containers: []}\n';
  const rows = renderReport(ReportFormat.MARKDOWN, inputOf(yaml)).split('\n').filter((l) => l.startsWith('| '));
  expect(rows.map(gfmCells)).toEqual([7, 7, 7, 7, 7, 7]);
});

test('text: a name with a line break keeps its table row and its problem on one line each', () => {
  const yaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: "a\\nb"}\nspec: {containers: [], overhead: {cpu: 1}}\n';
  const text = renderReport(ReportFormat.TEXT, inputOf(yaml));
  expect(text).toMatch(/\nPod a b +\(none\) +1 +- +- +- +-\n/);
  expect(text).toContain('\nProblems (1):\n  clean.yaml:1: Pod "a b" sets overhead ');
});
