// What makes the report fast on a cluster dump must not change what it says: the fast YAML
// reader against the yaml package, the caches of the model, the rendering in pieces.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as util from 'util';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { CLEAN_YAML, GET_ALL_YAML, PROBLEMS_YAML } from './fixtures';
import { benchmarkReport } from '../../benchmark/report';
import { EXAMPLES } from '../../examples';
import { runCli } from '../../src/report/cli';
import * as fastYaml from '../../src/report/fast-yaml';
import { buildModel, containersKey, ReportModel } from '../../src/report/model';
import { findProblems } from '../../src/report/problems';
import { parseYamlDocuments } from '../../src/report/read';
import { renderReport, ReportFormat, writeReport } from '../../src/report/render';

const LIVE = path.join(__dirname, 'live');

/** Every fixture of the report tests, and the examples' synthesized YAML, by name. */
function fixtures(): Array<[string, string]> {
  const all: Array<[string, string]> = [['problems.yaml', PROBLEMS_YAML], ['clean.yaml', CLEAN_YAML], ['get-all.yaml', GET_ALL_YAML]];
  for (const file of fs.readdirSync(LIVE).sort()) all.push([file, fs.readFileSync(path.join(LIVE, file), 'utf8')]);
  for (const [name, build] of Object.entries(EXAMPLES)) {
    const app = new App();
    build(app);
    all.push([`${name}.yaml`, app.synthYaml()]);
  }
  return all;
}

/** `cdk8s-runtimeclass report --format <format> -` on `yaml`, in-process. */
function report(yaml: string, format: ReportFormat): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCli(['report', '--format', format, '-'], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => yaml });
  return { status, stdout, stderr };
}

function modelOf(yaml: string): ReportModel {
  const { documents, errors } = parseYamlDocuments(yaml, 'f.yaml');
  expect(errors).toEqual([]);
  return buildModel(documents, 1);
}

describe('the fast reader and the yaml package', () => {
  afterEach(() => jest.restoreAllMocks());

  test('give the same report, in every format, on every fixture and example', () => {
    const inputs = fixtures();
    expect(inputs.length).toBeGreaterThan(8);
    const fast = inputs.map(([, yaml]) => Object.values(ReportFormat).map((format) => report(yaml, format)));
    // Every document and list item declined: the yaml package reads them all.
    const declined = jest.spyOn(fastYaml, 'parseFastYaml').mockReturnValue(fastYaml.UNSURE);
    const fallback = inputs.map(([, yaml]) => Object.values(ReportFormat).map((format) => report(yaml, format)));
    expect(declined).toHaveBeenCalled();
    inputs.forEach(([name], i) => expect({ name, reports: fallback[i] }).toEqual({ name, reports: fast[i] }));
  });

  test('keys met before are given back only for the same text: same length and first letter, prefixes, more than 8 per slot, long keys', () => {
    const keys = ['abcd', 'abce', 'abcf', 'abcg', 'abch', 'abci', 'abcj', 'abck', 'abcl', 'abcm', 'ab', 'abc', 'abcde', `k${'x'.repeat(70)}`];
    const texts = [
      keys.map((k, i) => `${k}: ${i}`).join('\n'),
      [...keys].reverse().map((k, i) => `${k}: {${k}: ${i}, z${k}: [${k}]}`).join('\n'),
      keys.map((k) => `- ${k}: 1\n  x${k}: 2`).join('\n'),
      // Keys the core schema reads as something else stay the yaml package's, cache or not.
      'truex: 1\nTrue: 2',
      'nullx: 1\nnull: 2',
    ];
    for (const text of [...texts, ...texts]) {
      const lines = text.split('\n');
      const value = fastYaml.parseFastYaml(lines, 0, lines.length);
      const documents = parseAllDocuments(text);
      const expected = Array.isArray(documents) ? documents[0].toJS() : undefined;
      if (value === fastYaml.UNSURE) expect(text).toMatch(/^(True|null): 2$/m);
      else expect(util.isDeepStrictEqual(value, expected)).toBe(true);
    }
  });
});

describe('what the report loads', () => {
  /** Runs the report in a module registry of its own; counts how often each of `packages` is loaded. */
  function loads(packages: string[], inputs: string[]): { [name: string]: number[] } {
    const counts: { [name: string]: number[] } = {};
    jest.isolateModules(() => {
      const loaded: { [name: string]: number } = {};
      for (const name of packages) {
        loaded[name] = 0;
        jest.doMock(name, () => {
          loaded[name]++;
          return jest.requireActual(name);
        });
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cli: typeof import('../../src/report/cli') = require('../../src/report/cli');
      for (const name of packages) counts[name] = [loaded[name]];
      for (const input of inputs) {
        cli.runCli(['report', '-'], { stdout: () => undefined, stderr: () => undefined, readStdin: () => input });
        for (const name of packages) counts[name].push(loaded[name]);
      }
    });
    return counts;
  }

  test('neither cdk8s nor cdk8s-plus, and the yaml package only once the fast reader declines a document', () => {
    expect(loads(['yaml', 'cdk8s', 'cdk8s-plus-27'], [GET_ALL_YAML, PROBLEMS_YAML, '%YAML 1.2\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n']))
      .toEqual({ 'yaml': [0, 0, 0, 1], 'cdk8s': [0, 0, 0, 0], 'cdk8s-plus-27': [0, 0, 0, 0] });
  });
});

describe('the model\'s caches', () => {
  const deployment = (name: string, container: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - ${container}
`;

  test('pod specs that differ only by image share one requests entry', () => {
    const model = modelOf([
      deployment('a', '{name: app, image: registry.example.com/a:1, ports: [{containerPort: 80}], resources: {requests: {cpu: 100m}}}'),
      deployment('b', '{name: app, image: registry.example.com/b:2, resources: {requests: {cpu: 100m}}}'),
    ].join('---\n'));
    expect(model.workloads[0].workload.requests).toBe(model.workloads[1].workload.requests);
  });

  test('the requests key tells apart everything the footprint and its messages read', () => {
    const key = (container: unknown) => containersKey([container]);
    const base = { name: 'app', image: 'x', resources: { requests: { cpu: '100m' }, limits: { memory: '1Gi' } } };
    expect(key({ ...base, image: 'y', ports: [80] })).toBe(key(base));
    const different = [
      { ...base, name: 'other' },
      { ...base, name: 5 },
      { ...base, restartPolicy: 'Always' },
      { ...base, resources: { requests: { cpu: '200m' }, limits: { memory: '1Gi' } } },
      { ...base, resources: { requests: { cpu: 1 }, limits: { memory: '1Gi' } } },
      { ...base, resources: { requests: { cpu: '100m' } } },
      { ...base, resources: 'big' },
      { ...base, resources: { requests: { cpu: null }, limits: { memory: '1Gi' } } },
      { ...base, resources: { requests: ['cpu'], limits: { memory: '1Gi' } } },
      { ...base, resources: undefined },
      'a container',
    ];
    const keys = different.map(key);
    expect(new Set([key(base), ...keys]).size).toBe(different.length + 1);
    expect(containersKey(undefined)).not.toBe(containersKey([]));
    expect(containersKey('x')).not.toBe(containersKey(['x']));
  });

  // Each case has init containers of its own, so that its first pod spec alone is in the cache with the second's key.
  test.each([
    ['no containers', 'a number for containers', 'null', '5',
      { malformed: ['spec.containers is a number (5), not a list of containers: their requests are not counted'], invalid: [], requests: {} }],
    ['no containers', 'a null container', '[]', '[null]',
      { malformed: ['spec.containers[0] is null, not a container: not counted'], invalid: [], requests: {} }],
    ['resources that are a string', 'resources that are a number', '[{name: a, resources: big}]', '[{name: a, resources: 5}]',
      { malformed: ['container "a" resources is a number (5), not a mapping: not counted'], invalid: [], requests: {} }],
    ['an invalid request', 'the same invalid limit', '[{name: a, resources: {requests: {cpu: "1.5.0"}}}]', '[{name: a, resources: {limits: {cpu: "1.5.0"}}}]',
      { malformed: [], invalid: ['container "a" resources.limits.cpu: "1.5.0" is not a Kubernetes quantity'], requests: {} }],
    ['requests that are a string', 'requests that are a number', '[{name: a, resources: {requests: "1Gi"}}]', '[{name: a, resources: {requests: 5}}]',
      { malformed: ['container "a" resources.requests is a number (5), not a mapping of resources: not counted'], invalid: [], requests: {} }],
    ['empty requests', 'requests that are a number', '[{name: a, resources: {requests: {}}}]', '[{name: a, resources: {requests: 5}}]',
      { malformed: ['container "a" resources.requests is a number (5), not a mapping of resources: not counted'], invalid: [], requests: {} }],
    ['a request of 1 CPU', 'a request of 2 CPUs', '[{name: a, resources: {requests: {cpu: 1}}}]', '[{name: a, resources: {requests: {cpu: 2}}}]',
      { malformed: [], invalid: [], requests: { cpu: '2' } }],
    ['a request of null', 'a request of true', '[{name: a, resources: {requests: {cpu: null}}}]', '[{name: a, resources: {requests: {cpu: true}}}]',
      { malformed: [], invalid: ['container "a" resources.requests.cpu is a boolean (true), not a Kubernetes quantity: not counted'], requests: {} }],
    ['an infinite request', 'a request of null', '[{name: a, resources: {requests: {cpu: .inf}}}]', '[{name: a, resources: {requests: {cpu: null}}}]',
      { malformed: [], invalid: ['container "a" resources.requests.cpu is null, not a Kubernetes quantity: not counted'], requests: {} }],
    ['an unrendered template of 44 characters', 'one that differs in its last characters', '[{name: a, resources: {requests: {memory: "{{ .Values.resources.requests.memory.app1 }}"}}}]',
      '[{name: a, resources: {requests: {memory: "{{ .Values.resources.requests.memory.app2 }}"}}}]',
      { malformed: [], invalid: ['container "a" resources.requests.memory: "{{ .Values.resources.requests.memory.app2 }}" is not a Kubernetes quantity'], requests: {} }],
    ['a request of [true]', 'a request of true', '[{name: a, resources: {requests: {cpu: [true]}}}]', '[{name: a, resources: {requests: {cpu: true}}}]',
      { malformed: [], invalid: ['container "a" resources.requests.cpu is a boolean (true), not a Kubernetes quantity: not counted'], requests: {} }],
    ['a request that is a list of 1', 'a request of 1', '[{name: a, resources: {requests: {cpu: [1]}}}]', '[{name: a, resources: {requests: {cpu: 1}}}]',
      { malformed: [], invalid: [], requests: { cpu: '1' } }],
  ])('a pod spec with %s, then one with %s: the second gets its own requests and messages', (_first, _second, first, second, expected) => {
    const init = `[{name: init-${[first, second].join('-').replace(/[^a-z0-9]+/gi, '')}}]`;
    const pod = (name: string, containers: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {initContainers: ${init}, containers: ${containers}}\n`;
    const [, row] = modelOf(`${pod('first', first)}---\n${pod('second', second)}`).workloads;
    expect({
      malformed: row.workload.malformed,
      invalid: row.workload.invalidQuantities.map((m) => m.replace(/ \(write e\.g\..*$/, '')),
      requests: row.workload.requests.toStrings(),
    }).toEqual(expected);
  });

  test('workloads without overhead share one per-pod list (the empty overhead is one list)', () => {
    const model = modelOf([
      deployment('a', '{name: app, resources: {requests: {cpu: 100m}}}'),
      deployment('b', '{name: app, resources: {requests: {cpu: 100m}}}'),
    ].join('---\n'));
    expect(model.workloads[0].perPod).toBe(model.workloads[1].perPod);
    expect(model.workloads[0].overhead).toBe(model.workloads[1].overhead);
  });
});

describe('rendering in pieces', () => {
  /** A List of `count` Pods on one class, each with its own name. */
  function manyPods(count: number): string {
    const lines = ['apiVersion: v1', 'items:', '- apiVersion: node.k8s.io/v1', '  kind: RuntimeClass', '  metadata: {name: kata}', '  handler: kata-qemu'];
    for (let i = 0; i < count; i++) {
      lines.push('- apiVersion: v1', '  kind: Pod', `  metadata: {name: pod-${i}, namespace: ns-${i % 7}}`,
        `  spec: {runtimeClassName: ${i % 3 === 0 ? 'missing' : 'kata'}, containers: [{name: app, resources: {requests: {cpu: ${i % 5 + 1}00m}}}]}`);
    }
    lines.push('kind: List');
    return `${lines.join('\n')}\n`;
  }

  test('a large report comes in several pieces, which joined are renderReport\'s text; the JSON is JSON.stringify\'s', () => {
    const model = modelOf(manyPods(9000));
    const input = { model, problems: findProblems(model), errors: [] };
    for (const format of Object.values(ReportFormat)) {
      const pieces: string[] = [];
      writeReport(format, input, (text) => pieces.push(text));
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.every((piece) => piece.endsWith('\n'))).toBe(true);
      expect(pieces.join('')).toBe(renderReport(format, input));
    }
    const json = renderReport(ReportFormat.JSON, input);
    expect(json).toBe(`${JSON.stringify(JSON.parse(json), undefined, 2)}\n`);
  });

  test('the JSON of an empty input is JSON.stringify\'s too (empty lists)', () => {
    const model = buildModel([], 0);
    const json = renderReport(ReportFormat.JSON, { model, problems: [], errors: [{ file: 'x', message: 'x: is "empty"\n' }] });
    expect(json).toBe(`${JSON.stringify(JSON.parse(json), undefined, 2)}\n`);
    expect(JSON.parse(json).workloads).toEqual([]);
  });
});

describe('the report benchmark', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-bench-test-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a command line that crashes (node exits 1) fails the run instead of being timed', () => {
    const crashing = path.join(dir, 'crash.js');
    fs.writeFileSync(crashing, "require('a-module-that-is-not-installed');\n");
    expect(() => benchmarkReport([10], 1, crashing)).toThrow(/failed \(1\)/);
  });

  test('a command line that writes a report is timed', () => {
    const fake = path.join(dir, 'fake.js');
    fs.writeFileSync(fake, "process.stdout.write('RuntimeClass footprint report: 1 file\\n');\n");
    const result = benchmarkReport([10], 1, fake);
    expect(result.rows.map((row) => [row.shape, row.cpuMs.length])).toEqual([['kubectl', 1], ['manifests', 1]]);
  });
});
