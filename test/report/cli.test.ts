import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import { CLEAN_YAML, PROBLEMS_YAML } from './fixtures';
import { EXAMPLES } from '../../examples';
import { EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS, parseReportArguments, runCli, USAGE } from '../../src/report/cli';
import { ReportFormat } from '../../src/report/render';

// The command line run in-process, with its files and standard input as given (cli-process.test.ts
// runs the package's binary as a process).

/** `cdk8s-runtimeclass <args>` run in-process from `cwd` (paths are read and shown as given). */
function cli(args: string[], options: { cwd: string; input?: string }): { status: number; stdout: string; stderr: string } {
  const before = process.cwd();
  process.chdir(options.cwd);
  try {
    return inProcess(args, options.input ?? '');
  } finally {
    process.chdir(before);
  }
}

/** runCli in-process, collecting its output. */
function inProcess(args: string[], stdin: string = '', progressThreshold?: number): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCli(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => stdin, progressThreshold });
  return { status, stdout, stderr };
}

function tempDir(files: { [name: string]: string } = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'report-cli-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe('on the examples\' synthesized YAML', () => {
  const root = tempDir();
  for (const [name, build] of Object.entries(EXAMPLES)) {
    const app = new App({ outdir: path.join(root, name) });
    build(app);
    app.synth();
  }

  test('text report; --check passes once GKE Sandbox\'s class is declared as existing in the cluster', () => {
    const result = cli(['report', '--check', '--known-class', 'gvisor', '.'], { cwd: root });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(EXIT_OK);
    expect(result.stdout).toMatch(/^RuntimeClass footprint report: \d+ files, \d+ documents, \d+ workloads, \d+ RuntimeClasses defined, 0 problems\n/);
    expect(result.stdout).toMatch(/\nDeployment tenant-bank\/bank-api-c8[0-9a-f]+ +isolated +3 +cpu 200m, memory 256Mi +cpu 250m, memory 320Mi +cpu 450m, memory 576Mi +cpu 1350m, memory 1728Mi\n/);
    expect(result.stdout).toMatch(/\nJob functions\/functions-resize-images-c8[0-9a-f]+ +kata-fc +8 +cpu 500m, memory 512Mi +cpu 250m, memory 130Mi +cpu 750m, memory 642Mi +cpu 6, memory 5136Mi\n/);
    expect(result.stdout).toMatchSnapshot();
  });

  test('markdown and json renderings; the only problem is the class the managed-cluster example borrows from GKE', () => {
    expect(inProcess(['report', '--format', 'markdown', root]).stdout.split(root).join('<examples>')).toMatchSnapshot();
    const result = cli(['report', '--check', '--format=json', '.'], { cwd: root });
    expect(result.status).toBe(EXIT_PROBLEMS);
    const json = JSON.parse(result.stdout);
    expect(json.problems.map((p: any) => [p.code, p.message.slice(0, 39)])).toEqual([['undefined-runtime-class', 'RuntimeClass "gvisor" is used by Deploy']]);
    expect(json.runtimeClasses.find((c: any) => c.name === 'gvisor')).toMatchObject({ defined: false, overhead: null });
    const isolated = json.runtimeClasses.find((c: any) => c.name === 'isolated');
    expect(isolated).toMatchObject({ defined: true, handler: 'kata-qemu', overhead: { cpu: '250m', memory: '320Mi' }, workloads: 1, pods: 3, total: { cpu: '1350m', memory: '1728Mi' } });
    // Line numbers move whenever an example gains an object: the hand-written tests below pin them.
    const withoutSources = JSON.parse(JSON.stringify(json, (key, value) => (key === 'source' ? undefined : value)));
    expect(withoutSources).toMatchSnapshot();
  });
});

describe('on hand-written YAML with every problem', () => {
  const root = tempDir({ 'shop.yaml': PROBLEMS_YAML, 'clean/clean.yaml': CLEAN_YAML });

  test('text report with the problems; exit 0 without --check, 1 with it', () => {
    const expected = `RuntimeClass footprint report: 1 file, 6 documents, 3 workloads, 2 RuntimeClasses defined, 4 problems

WORKLOAD             CLASS   REPLICAS  REQUESTS PER POD        OVERHEAD                PER POD                     TOTAL
Deployment shop/web  kata    3         cpu 100m, memory 128Mi  cpu 250m, memory 320Mi  cpu 350m, memory 448Mi      cpu 1050m, memory 1344Mi
Job shop/batch       gvisor  2         cpu 1, memory 1Gi       unknown                 at least cpu 1, memory 1Gi  at least cpu 2, memory 2Gi
Pod manual           kata    1         memory 64Mi             cpu 250m, memory 320Mi  cpu 250m, memory 384Mi      cpu 250m, memory 384Mi

RUNTIMECLASS  HANDLER       OVERHEAD                WORKLOADS  PODS  TOTAL                       PER NODE (DAEMONSETS)
gvisor        not in input  unknown                 1          2     at least cpu 2, memory 2Gi  -
kata          kata-qemu     cpu 250m, memory 320Mi  2          4     cpu 1300m, memory 1728Mi    -

Problems (4):
  shop.yaml:15: Deployment "shop/web" (RuntimeClass "kata") conflict: runtimeClass.scheduling.nodeSelector[pool] = vm; pod.nodeSelector[pool] = general: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value
  shop.yaml:35: RuntimeClass "gvisor" is used by Job "shop/batch" but not defined in the input: its overhead is unknown, and in a cluster without it every pod is rejected (pod rejected: RuntimeClass "gvisor" not found); add the RuntimeClass to the input, or pass --known-class gvisor if the cluster has it
  shop.yaml:48: Pod "manual" sets overhead {"cpu":"250m","memory":"320Mi"} in its pod spec: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it
  shop.yaml:58: RuntimeClass "kata" is defined 2 times (shop.yaml:1, shop.yaml:58) with different handlers, overheads or node selectors: a cluster holds one class per name and the last one applied wins (this report uses the first); keep one definition or rename the others

Notes (1):
  shop.yaml:64: document has no apiVersion and kind, so it is not a Kubernetes object: skipped
`;
    const plain = cli(['report', 'shop.yaml'], { cwd: root });
    expect(plain).toEqual({ status: EXIT_OK, stdout: expected, stderr: '' });
    const checked = cli(['report', '--check', 'shop.yaml'], { cwd: root });
    expect(checked).toEqual({ status: EXIT_PROBLEMS, stdout: expected, stderr: '' });
  });

  test('markdown, exactly', () => {
    const result = inProcess(['report', '--format', 'markdown', path.join(root, 'shop.yaml')]);
    expect(result.status).toBe(EXIT_OK);
    expect(result.stdout.split(`${root}${path.sep}`).join('')).toBe(`### RuntimeClass footprint report

1 file, 6 documents, 3 workloads, 2 RuntimeClasses defined, 4 problems.

| Workload | RuntimeClass | Replicas | Requests per pod | Overhead | Per pod | Total |
| --- | --- | ---: | --- | --- | --- | --- |
| Deployment \`shop/web\` | \`kata\` | 3 | cpu 100m, memory 128Mi | cpu 250m, memory 320Mi | cpu 350m, memory 448Mi | cpu 1050m, memory 1344Mi |
| Job \`shop/batch\` | \`gvisor\` | 2 | cpu 1, memory 1Gi | unknown | at least cpu 1, memory 1Gi | at least cpu 2, memory 2Gi |
| Pod \`manual\` | \`kata\` | 1 | memory 64Mi | cpu 250m, memory 320Mi | cpu 250m, memory 384Mi | cpu 250m, memory 384Mi |

#### Totals per RuntimeClass

| RuntimeClass | Handler | Overhead | Workloads | Pods | Total | Per node (DaemonSets) |
| --- | --- | --- | ---: | ---: | --- | --- |
| \`gvisor\` | not in input | unknown | 1 | 2 | at least cpu 2, memory 2Gi | - |
| \`kata\` | kata-qemu | cpu 250m, memory 320Mi | 2 | 4 | cpu 1300m, memory 1728Mi | - |

#### Problems (4)

- \`shop.yaml:15\` Deployment "shop/web" (RuntimeClass "kata") conflict: runtimeClass.scheduling.nodeSelector\\[pool\\] = vm; pod.nodeSelector\\[pool\\] = general: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value
- \`shop.yaml:35\` RuntimeClass "gvisor" is used by Job "shop/batch" but not defined in the input: its overhead is unknown, and in a cluster without it every pod is rejected (pod rejected: RuntimeClass "gvisor" not found); add the RuntimeClass to the input, or pass --known-class gvisor if the cluster has it
- \`shop.yaml:48\` Pod "manual" sets overhead {"cpu":"250m","memory":"320Mi"} in its pod spec: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it
- \`shop.yaml:58\` RuntimeClass "kata" is defined 2 times (shop.yaml:1, shop.yaml:58) with different handlers, overheads or node selectors: a cluster holds one class per name and the last one applied wins (this report uses the first); keep one definition or rename the others

#### Notes (1)

- \`shop.yaml:64\` document has no apiVersion and kind, so it is not a Kubernetes object: skipped
`);
  });

  test('json, exactly', () => {
    const result = inProcess(['report', '--format', 'json', path.join(root, 'shop.yaml')]);
    const json = JSON.parse(result.stdout.split(`${root}${path.sep}`).join(''));
    expect(json.summary).toEqual({ files: 1, documents: 6, workloads: 3, runtimeClasses: 2, nodes: 0, problems: 4, notes: 1, errors: 0 });
    expect(json.workloads[1]).toEqual({
      kind: 'Job',
      namespace: 'shop',
      name: 'batch',
      source: 'shop.yaml:35',
      runtimeClassName: 'gvisor',
      replicas: 2,
      perNode: false,
      requests: { cpu: '1', memory: '1Gi' },
      overhead: null,
      overheadKnown: false,
      perPod: { cpu: '1', memory: '1Gi' },
      total: { cpu: '2', memory: '2Gi' },
      countedIn: null,
      live: false,
      nodeName: null,
    });
    expect(json.runtimeClasses).toEqual([
      {
        name: 'gvisor',
        defined: false,
        handler: null,
        source: null,
        overhead: null,
        nodeSelector: null,
        workloads: 1,
        pods: 2,
        total: { cpu: '2', memory: '2Gi' },
        daemonSets: 0,
        perNode: {},
        unknownReplicas: 0,
        nodes: null,
      },
      {
        name: 'kata',
        defined: true,
        handler: 'kata-qemu',
        source: 'shop.yaml:1',
        overhead: { cpu: '250m', memory: '320Mi' },
        nodeSelector: { 'pool': 'vm', 'runtimeclass.cdk8s.io/kata-qemu': 'ready' },
        workloads: 2,
        pods: 4,
        total: { cpu: '1300m', memory: '1728Mi' },
        daemonSets: 0,
        perNode: {},
        unknownReplicas: 0,
        nodes: null,
      },
    ]);
    expect(json.problems.map((p: any) => [p.code, p.source])).toEqual([
      ['node-selector-conflict', 'shop.yaml:15'], ['undefined-runtime-class', 'shop.yaml:35'], ['pod-overhead-set', 'shop.yaml:48'], ['duplicate-runtime-class', 'shop.yaml:58'],
    ]);
    expect(json.notes).toEqual([{ source: 'shop.yaml:64', message: 'document has no apiVersion and kind, so it is not a Kubernetes object: skipped' }]);
  });

  test('json lists the problems by code; --known-class silences an undefined class', () => {
    const result = cli(['report', '--format', 'json', '--check', '--known-class', 'gvisor', 'shop.yaml', 'clean'], { cwd: root });
    expect(result.status).toBe(EXIT_PROBLEMS);
    const json = JSON.parse(result.stdout);
    expect(json.summary).toEqual({ files: 2, documents: 9, workloads: 5, runtimeClasses: 3, nodes: 0, problems: 3, notes: 1, errors: 0 });
    expect(json.problems.map((p: any) => `${p.source} ${p.code}`)).toEqual(['shop.yaml:15 node-selector-conflict', 'shop.yaml:48 pod-overhead-set', 'shop.yaml:58 duplicate-runtime-class']);
  });

  test('a clean directory passes --check', () => {
    const result = cli(['report', '--check', '--format', 'markdown', 'clean'], { cwd: root });
    expect(result.status).toBe(EXIT_OK);
    expect(result.stdout).toContain('\nNo problems found.\n');
  });

  test('standard input', () => {
    const result = cli(['report', '--check', '-'], { cwd: root, input: PROBLEMS_YAML });
    expect(result.status).toBe(EXIT_PROBLEMS);
    expect(result.stdout).toContain('\n  <stdin>:48: Pod "manual" sets overhead ');
  });
});

describe('errors', () => {
  test('usage errors exit 2 with a message on stderr and nothing on stdout', () => {
    const root = tempDir();
    expect(cli(['report'], { cwd: root })).toEqual({
      status: EXIT_ERROR,
      stdout: '',
      stderr: 'cdk8s-runtimeclass report: give at least one file or directory to read (or - for standard input)\nRun "cdk8s-runtimeclass report --help" for usage.\n',
    });
    expect(inProcess(['report', '--format', 'yaml', 'x'])).toEqual({
      status: EXIT_ERROR,
      stdout: '',
      stderr: 'cdk8s-runtimeclass report: --format must be one of text, markdown, json (got "yaml")\nRun "cdk8s-runtimeclass report --help" for usage.\n',
    });
    expect(inProcess(['report', '--verbose', 'x']).stderr).toMatch(/^cdk8s-runtimeclass report: unknown option --verbose\n/);
    expect(inProcess(['report', '--known-class']).stderr).toMatch(/^cdk8s-runtimeclass report: --known-class needs a value\n/);
    expect(inProcess(['report', '--check=yes', 'x']).stderr).toMatch(/^cdk8s-runtimeclass report: --check takes no value\n/);
    expect(inProcess(['deploy']).stderr).toMatch(/^cdk8s-runtimeclass: unknown command "deploy": the command is "report"\n/);
    expect(inProcess([]).status).toBe(EXIT_ERROR);
    expect(inProcess([]).stderr).toMatch(/^cdk8s-runtimeclass: no command given: the command is "report"\n\nUsage: cdk8s-runtimeclass report /);
  });

  test('an option that needs a value is not given the next option or an empty class name', () => {
    expect(inProcess(['report', '--format', '--check', 'x']).stderr).toMatch(/^cdk8s-runtimeclass report: --format needs a value\n/);
    expect(inProcess(['report', '--known-class', '', 'x']).stderr).toMatch(/^cdk8s-runtimeclass report: --known-class needs a RuntimeClass name\n/);
    // "-" is standard input, a value like any other.
    expect(parseReportArguments(['--known-class', '-', 'x'])).toMatchObject({ knownClasses: ['-'], paths: ['x'] });
  });

  test('--help prints the usage and exits 0', () => {
    expect(inProcess(['report', '--help'])).toEqual({ status: EXIT_OK, stdout: USAGE, stderr: '' });
    expect(inProcess(['--help']).stdout).toBe(USAGE);
    expect(inProcess(['-h'])).toEqual({ status: EXIT_OK, stdout: USAGE, stderr: '' });
    expect(inProcess(['help'])).toEqual({ status: EXIT_OK, stdout: USAGE, stderr: '' });
  });

  test('an unreadable file or invalid YAML exits 2, naming it; what could be read is still reported', () => {
    const root = tempDir({ 'good.yaml': CLEAN_YAML, 'bad.yaml': 'a: 1\n---\nb: [1\n' });
    const result = cli(['report', 'missing.yaml', 'good.yaml', 'bad.yaml'], { cwd: root });
    expect(result.status).toBe(EXIT_ERROR);
    expect(result.stderr).toBe('cdk8s-runtimeclass report: error: cannot read "missing.yaml": no such file or directory\n'
      + 'cdk8s-runtimeclass report: error: bad.yaml:3:6: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]\n');
    expect(result.stdout).toBe(`RuntimeClass footprint report: 2 files, 4 documents, 2 workloads, 1 RuntimeClass defined, 0 problems, 2 unreadable inputs

Unreadable input (2): these could not be read or parsed, so everything below leaves them out:
  cannot read "missing.yaml": no such file or directory
  bad.yaml:3:6: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]

WORKLOAD             CLASS   REPLICAS  REQUESTS PER POD        OVERHEAD  PER POD                 TOTAL
DaemonSet ops/agent  gvisor  per node  cpu 50m, memory 64Mi    -         cpu 50m, memory 64Mi    -
Deployment api       (none)  1         cpu 200m, memory 256Mi  -         cpu 200m, memory 256Mi  cpu 200m, memory 256Mi

RUNTIMECLASS  HANDLER  OVERHEAD  WORKLOADS  PODS  TOTAL                   PER NODE (DAEMONSETS)
gvisor        runsc    -         1          0     -                       cpu 50m, memory 64Mi
(none)        -        -         1          1     cpu 200m, memory 256Mi  -

No problems found in the input that could be read, but 2 inputs could not be read or parsed (see "Unreadable input" above): this report is incomplete.

Notes (1):
  bad.yaml:1: document has no apiVersion and kind, so it is not a Kubernetes object: skipped
`);
  });

  test('unreadable input is in the markdown and the json too, never a clean "No problems found."; --check exits 2 on it', () => {
    const root = tempDir({ 'good.yaml': CLEAN_YAML, 'bad.yaml': 'kind: [\n' });
    const markdown = cli(['report', '--check', '--format', 'markdown', 'good.yaml', 'bad.yaml', 'gone'], { cwd: root });
    expect(markdown.status).toBe(EXIT_ERROR);
    expect(markdown.stdout).toMatch(/^### RuntimeClass footprint report\n\n2 files, 3 documents, 2 workloads, 1 RuntimeClass defined, 0 problems, 2 unreadable inputs\.\n\n/);
    expect(markdown.stdout).toContain('\n#### Unreadable input (2)\n\n**The report is incomplete:** these could not be read or parsed, so everything below leaves them out.\n\n'
      + '- cannot read "gone": no such file or directory\n- bad.yaml:1:8: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a \\]\n\n');
    expect(markdown.stdout).not.toMatch(/^No problems found\.$/m);
    expect(markdown.stdout).toContain('\nNo problems found in the input that could be read, but 2 inputs could not be read or parsed (see "Unreadable input" above): this report is incomplete.\n');

    const json = cli(['report', '--check', '--format', 'json', 'bad.yaml'], { cwd: root });
    expect(json.status).toBe(EXIT_ERROR);
    const report = JSON.parse(json.stdout);
    expect(report.summary).toMatchObject({ files: 1, documents: 0, problems: 0, errors: 1 });
    expect(report.errors).toEqual([{ source: 'bad.yaml:1', message: 'bad.yaml:1:8: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]' }]);

    // Standard input that is not YAML at all.
    const stdin = cli(['report', '--check', '-'], { cwd: root, input: '\u0000\u0001' });
    expect(stdin.status).toBe(EXIT_ERROR);
    expect(stdin.stdout).toContain('\nUnreadable input (1): these could not be read or parsed, so everything below leaves them out:\n  <stdin>: is a binary file, not YAML\n');
    expect(stdin.stdout).not.toMatch(/^No problems found\.$/m);
  });
});

describe('empty input', () => {
  test('an empty file or empty stdin is an error (exit 2, listed like unreadable input), not "No problems found." even with --check', () => {
    const root = tempDir({ 'empty.yaml': '', 'comments.yaml': '# nothing yet\n---\n\n' });
    const stdin = cli(['report', '--check', '-'], { cwd: root, input: '' });
    expect(stdin.status).toBe(EXIT_ERROR);
    expect(stdin.stderr).toBe('cdk8s-runtimeclass report: error: <stdin>: is empty (no YAML document): there is nothing to report on; '
      + 'if it is a command\'s output, check that the command succeeded\n');
    expect(stdin.stdout).toContain('\nUnreadable input (1): these could not be read or parsed, so everything below leaves them out:\n  <stdin>: is empty (no YAML document)');
    expect(stdin.stdout).not.toMatch(/^No problems found\.$/m);
    for (const format of ['text', 'markdown', 'json']) {
      const file = inProcess(['report', '--check', '--format', format, path.join(root, 'empty.yaml'), path.join(root, 'comments.yaml')]);
      expect(file.status).toBe(EXIT_ERROR);
      expect(file.stderr.match(/: is empty \(no YAML document\)/g)).toHaveLength(2);
    }
    const json = JSON.parse(inProcess(['report', '--format', 'json', path.join(root, 'empty.yaml')]).stdout);
    expect(json.summary).toMatchObject({ files: 1, documents: 0, errors: 1 });
    expect(json.errors[0].message).toMatch(/empty\.yaml: is empty \(no YAML document\)/);
  });

  test('only the inputs that are empty are errors; a directory holding one empty file is named as a directory', () => {
    const root = tempDir({ 'empty.yaml': '', 'good.yaml': CLEAN_YAML, 'one/empty.yaml': '' });
    const mixed = cli(['report', 'empty.yaml', 'good.yaml'], { cwd: root });
    expect(mixed.status).toBe(EXIT_ERROR);
    expect(mixed.stderr).toBe('cdk8s-runtimeclass report: error: empty.yaml: is empty (no YAML document): there is nothing to report on; '
      + 'if it is a command\'s output, check that the command succeeded\n');
    expect(cli(['report', 'one'], { cwd: root }).stderr).toBe(
      'cdk8s-runtimeclass report: error: one: every *.yaml and *.yml file under it is empty (no YAML document): there is nothing to report on\n');
    // Standard input beside a file: each is its own input.
    expect(cli(['report', '-', 'good.yaml'], { cwd: root, input: '' }).stderr).toMatch(/^cdk8s-runtimeclass report: error: <stdin>: is empty /);
    expect(cli(['report', '-', 'empty.yaml'], { cwd: root, input: CLEAN_YAML }).stderr).toMatch(/^cdk8s-runtimeclass report: error: empty\.yaml: is empty /);
  });

  test('a directory is one input: an empty chart file beside others is fine, a directory of empty files is an error', () => {
    const root = tempDir({ 'dist/empty-chart.k8s.yaml': '', 'dist/app.k8s.yaml': CLEAN_YAML, 'blank/a.yaml': '', 'blank/b.yml': '\n# x\n' });
    expect(inProcess(['report', '--check', path.join(root, 'dist')]).status).toBe(EXIT_OK);
    const blank = inProcess(['report', '--check', `${path.join(root, 'blank')}${path.sep}`]);
    expect(blank.status).toBe(EXIT_ERROR);
    expect(blank.stderr).toBe(`cdk8s-runtimeclass report: error: ${path.join(root, 'blank')}${path.sep}: every *.yaml and *.yml file under it is empty (no YAML document): there is nothing to report on\n`);
  });
});

describe('progress', () => {
  test('quiet up to 200 files; above, progress goes to stderr only', () => {
    const files: { [name: string]: string } = {};
    for (let i = 0; i < 201; i++) files[`f${String(i).padStart(3, '0')}.yaml`] = `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: []}\n`;
    const root = tempDir(files);
    const large = cli(['report', '--format', 'json', '.'], { cwd: root });
    expect(large.status).toBe(EXIT_OK);
    expect(JSON.parse(large.stdout).summary.workloads).toBe(201);
    expect(large.stderr).toBe('cdk8s-runtimeclass report: reading 201 files\n'
      + 'cdk8s-runtimeclass report: read 100 of 201 files\ncdk8s-runtimeclass report: read 200 of 201 files\ncdk8s-runtimeclass report: read 201 of 201 files\n');
    fs.rmSync(path.join(root, 'f200.yaml'));
    expect(inProcess(['report', root]).stderr).toBe('');
  });

  test('a large input reports every tenth of the way', () => {
    const root = tempDir({ 'a.yaml': CLEAN_YAML, 'b.yaml': CLEAN_YAML, 'c.yaml': CLEAN_YAML });
    expect(inProcess(['report', root], '', 2).stderr).toBe('cdk8s-runtimeclass report: reading 3 files\ncdk8s-runtimeclass report: read 3 of 3 files\n');
  });
});

describe('parseReportArguments', () => {
  test('options in both spellings, "--" and "-"', () => {
    expect(parseReportArguments(['--format=markdown', 'a', '--known-class', 'x', '--known-class=y', '--check', '--', '--odd-file', '-'])).toEqual({
      paths: ['a', '--odd-file', '-'], format: ReportFormat.MARKDOWN, check: true, knownClasses: ['x', 'y'],
    });
    expect(parseReportArguments(['-h'])).toBe('help');
  });
});
