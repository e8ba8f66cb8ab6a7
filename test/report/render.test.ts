import { CLEAN_YAML } from './fixtures';
import { ResourceList } from '../../src/core/resources';
import { buildModel } from '../../src/report/model';
import { findProblems } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';
import { formatResources, JSON_SCHEMA_VERSION, RenderInput, renderReport, ReportFormat } from '../../src/report/render';

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
