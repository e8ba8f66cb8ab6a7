// The footprint report on large inputs: wall time and peak memory of whole `cdk8s-runtimeclass
// report` processes (the compiled lib/cli.js) at 10k, 50k and 100k objects, in the two shapes
// the report is fed in practice. Numbers, never pass/fail.
//
//   kubectl:  one `kind: List` document, as `kubectl get all -A -o yaml` prints it: per app a
//             Deployment, its ReplicaSet and 3 Pods with ownerReferences and status
//   manifests: a `---` stream of Deployments, as `cdk8s synth` writes it
//
// Run alone: npx ts-node --project benchmark/tsconfig.json benchmark/report.ts [--runs=3] [--sizes=10000,50000,100000]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.join(__dirname, '..');

/** The input shapes. */
export type DumpShape = 'kubectl' | 'manifests';

const CLASSES = ['kata', 'gvisor', 'crun'];

function runtimeClass(name: string, indent: string, first: string): string[] {
  return [
    `${first}apiVersion: node.k8s.io/v1`,
    `${indent}handler: ${name === 'kata' ? 'kata-qemu' : name === 'gvisor' ? 'runsc' : 'crun'}`,
    `${indent}kind: RuntimeClass`,
    `${indent}metadata:`,
    `${indent}  name: ${name}`,
    `${indent}overhead:`,
    `${indent}  podFixed:`,
    `${indent}    cpu: 250m`,
    `${indent}    memory: 320Mi`,
  ];
}

function podSpec(indent: string, app: string, runtimeClassName: string | undefined, nodeName?: string): string[] {
  return [
    `${indent}containers:`,
    `${indent}- image: registry.example.com/${app}:1.0.0`,
    `${indent}  imagePullPolicy: IfNotPresent`,
    `${indent}  name: app`,
    `${indent}  ports:`,
    `${indent}  - containerPort: 8080`,
    `${indent}    protocol: TCP`,
    `${indent}  resources:`,
    `${indent}    limits:`,
    `${indent}      memory: 512Mi`,
    `${indent}    requests:`,
    `${indent}      cpu: 100m`,
    `${indent}      memory: 128Mi`,
    `${indent}  securityContext:`,
    `${indent}    allowPrivilegeEscalation: false`,
    `${indent}    readOnlyRootFilesystem: true`,
    `${indent}dnsPolicy: ClusterFirst`,
    ...(nodeName ? [`${indent}nodeName: ${nodeName}`] : []),
    `${indent}restartPolicy: Always`,
    ...(runtimeClassName ? [`${indent}runtimeClassName: ${runtimeClassName}`] : []),
    `${indent}securityContext:`,
    `${indent}  runAsNonRoot: true`,
    `${indent}terminationGracePeriodSeconds: 30`,
  ];
}

/** One app as kubectl prints it: Deployment, ReplicaSet, 3 Pods (5 objects), as List items at column 0. */
function kubectlApp(index: number): string[] {
  const app = `app-${index}`;
  const ns = `team-${index % 50}`;
  const cls = index % 4 === 3 ? undefined : CLASSES[index % 3];
  const hash = `5d${(index * 7919).toString(16).padStart(8, '0').slice(-8)}`;
  const rs = `${app}-${hash}`;
  const uid = (kind: number, i: number) => `${kind}0000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const owner = (kind: string, name: string, ownerUid: string) => [
    '    ownerReferences:',
    '    - apiVersion: apps/v1',
    '      blockOwnerDeletion: true',
    '      controller: true',
    `      kind: ${kind}`,
    `      name: ${name}`,
    `      uid: ${ownerUid}`,
  ];
  const lines: string[] = [
    '- apiVersion: apps/v1',
    '  kind: Deployment',
    '  metadata:',
    `    labels: {app: ${app}}`,
    `    name: ${app}`,
    `    namespace: ${ns}`,
    `    uid: ${uid(1, index)}`,
    '  spec:',
    '    replicas: 3',
    `    selector: {matchLabels: {app: ${app}}}`,
    '    template:',
    `      metadata: {labels: {app: ${app}}}`,
    '      spec:',
    ...podSpec('        ', app, cls),
    '  status: {availableReplicas: 3, readyReplicas: 3, replicas: 3}',
    '- apiVersion: apps/v1',
    '  kind: ReplicaSet',
    '  metadata:',
    `    labels: {app: ${app}, pod-template-hash: ${hash}}`,
    `    name: ${rs}`,
    `    namespace: ${ns}`,
    ...owner('Deployment', app, uid(1, index)),
    `    uid: ${uid(2, index)}`,
    '  spec:',
    '    replicas: 3',
    `    selector: {matchLabels: {app: ${app}, pod-template-hash: ${hash}}}`,
    '    template:',
    `      metadata: {labels: {app: ${app}, pod-template-hash: ${hash}}}`,
    '      spec:',
    ...podSpec('        ', app, cls),
    '  status: {availableReplicas: 3, readyReplicas: 3, replicas: 3}',
  ];
  for (let p = 0; p < 3; p++) {
    lines.push(
      '- apiVersion: v1',
      '  kind: Pod',
      '  metadata:',
      `    generateName: ${rs}-`,
      `    labels: {app: ${app}, pod-template-hash: ${hash}}`,
      `    name: ${rs}-${(index * 3 + p).toString(36).padStart(5, 'x').slice(-5)}`,
      `    namespace: ${ns}`,
      ...owner('ReplicaSet', rs, uid(2, index)),
      `    uid: ${uid(3, index * 3 + p)}`,
      '  spec:',
      ...podSpec('    ', app, cls, `node-${(index * 3 + p) % 200}`),
      ...(cls ? ['    overhead: {cpu: 250m, memory: 320Mi}'] : []),
      '  status:',
      '    conditions:',
      '    - {lastTransitionTime: "2026-12-01T10:00:00Z", status: "True", type: Ready}',
      '    hostIP: 10.0.0.1',
      '    phase: Running',
      `    podIP: 10.1.${Math.floor(index / 250) % 250}.${index % 250}`,
      '    qosClass: Burstable',
      '    startTime: "2026-12-01T10:00:00Z"',
    );
  }
  return lines;
}

/** One Deployment as cdk8s synth writes it (a `---` stream). */
function manifestDeployment(index: number): string[] {
  const app = `app-${index}`;
  const cls = index % 4 === 3 ? undefined : CLASSES[index % 3];
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${app}-c8${(index * 2654435761 % 0xffffffff).toString(16).padStart(8, '0')}`,
    `  namespace: team-${index % 50}`,
    'spec:',
    '  minReadySeconds: 0',
    '  progressDeadlineSeconds: 600',
    '  replicas: 3',
    '  selector:',
    '    matchLabels:',
    `      cdk8s.io/metadata.addr: ${app}-c8${index.toString(16).padStart(8, '0')}`,
    '  strategy:',
    '    rollingUpdate:',
    '      maxSurge: 25%',
    '      maxUnavailable: 25%',
    '    type: RollingUpdate',
    '  template:',
    '    metadata:',
    '      labels:',
    `        cdk8s.io/metadata.addr: ${app}-c8${index.toString(16).padStart(8, '0')}`,
    '    spec:',
    ...podSpec('      ', app, cls),
    '---',
  ];
}

/** Writes an input of about `objects` objects to `file`, streaming (the benchmark never holds it whole). */
export function writeDump(file: string, objects: number, shape: DumpShape): { objects: number; bytes: number } {
  const fd = fs.openSync(file, 'w');
  let count = 0;
  let buffered: string[] = [];
  const flush = () => {
    fs.writeSync(fd, buffered.join('\n') + '\n');
    buffered = [];
  };
  const emit = (lines: string[]) => {
    buffered.push(...lines);
    if (buffered.length > 20000) flush();
  };
  if (shape === 'kubectl') {
    emit(['apiVersion: v1', 'items:']);
    for (const name of CLASSES) emit(runtimeClass(name, '  ', '- '));
    count += CLASSES.length;
    for (let i = 0; count < objects; i++) {
      emit(kubectlApp(i));
      count += 5;
    }
    emit(['kind: List', 'metadata:', '  resourceVersion: ""']);
  } else {
    for (const name of CLASSES) emit([...runtimeClass(name, '', ''), '---']);
    count += CLASSES.length;
    for (let i = 0; count < objects; i++) {
      emit(manifestDeployment(i));
      count += 1;
    }
  }
  flush();
  fs.closeSync(fd);
  return { objects: count, bytes: fs.statSync(file).size };
}

/** One report process: wall time, its CPU time and its peak resident memory (from the process itself, at exit). */
export interface ReportRun {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly status: number | null;
}

/** How the text report begins. */
const REPORT_HEADER = 'RuntimeClass footprint report: ';

/** Runs `node lib/cli.js report <file>` once; `preload` reports the process's own usage on exit. */
function runReport(cli: string, preload: string, file: string): ReportRun {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--require', preload, cli, 'report', file], {
    cwd: repo, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const usage = /^report-usage (\d+) (\d+)$/m.exec(result.stderr);
  // Status 0 and a report: node's own exit status for an uncaught exception (a crash at start,
  // a module not found) is 1, the status --check gives problems, which this run does not ask for.
  if (!usage || result.status !== 0 || !result.stdout.startsWith(REPORT_HEADER)) {
    throw new Error(`report on ${file} failed (${result.status ?? result.signal}): ${result.stderr.slice(0, 500)}`);
  }
  return { wallMs, cpuMs: Number(usage[1]) / 1000, maxRssMb: Number(usage[2]) / 1024, status: result.status };
}

const PRELOAD = `process.on('exit', () => {
  const u = process.resourceUsage();
  require('fs').writeSync(2, '\\nreport-usage ' + (u.userCPUTime + u.systemCPUTime) + ' ' + u.maxRSS + '\\n');
});
`;

/** Timings per shape and size. */
export interface ReportBenchmark {
  readonly runs: number;
  readonly rows: Array<{ shape: DumpShape; objects: number; megabytes: number; wallMs: number[]; cpuMs: number[]; maxRssMb: number[] }>;
}

export function benchmarkReport(
  sizes: readonly number[] = [10_000, 50_000, 100_000], runs: number = 3, cli: string = path.join(repo, 'lib', 'cli.js'),
): ReportBenchmark {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npx projen compile\``);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-bench-'));
  try {
    const preload = path.join(dir, 'usage.js');
    fs.writeFileSync(preload, PRELOAD);
    const rows: ReportBenchmark['rows'] = [];
    for (const shape of ['kubectl', 'manifests'] as DumpShape[]) {
      for (const size of sizes) {
        const file = path.join(dir, `${shape}-${size}.yaml`);
        const written = writeDump(file, size, shape);
        const samples = Array.from({ length: runs }, () => runReport(cli, preload, file));
        rows.push({
          shape,
          objects: written.objects,
          megabytes: written.bytes / 1024 / 1024,
          wallMs: samples.map((s) => s.wallMs),
          cpuMs: samples.map((s) => s.cpuMs),
          maxRssMb: samples.map((s) => s.maxRssMb),
        });
        fs.rmSync(file);
      }
    }
    return { runs, rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function minMedianMax(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `${sorted[0].toFixed(0)}/${median.toFixed(0)}/${sorted[sorted.length - 1].toFixed(0)}`;
}

export function formatReportBenchmark(result: ReportBenchmark): string[] {
  const lines = [`footprint report (lib/cli.js report <file>, text output), ${result.runs} processes each; min/median/max`];
  lines.push(`  ${'input'.padEnd(12)}${'objects'.padStart(9)}${'MB'.padStart(7)}${'wall ms'.padStart(18)}${'cpu ms'.padStart(18)}${'peak RSS MB'.padStart(16)}`);
  for (const row of result.rows) {
    lines.push(`  ${row.shape.padEnd(12)}${row.objects.toLocaleString('en-US').padStart(9)}${row.megabytes.toFixed(0).padStart(7)}`
      + `${minMedianMax(row.wallMs).padStart(18)}${minMedianMax(row.cpuMs).padStart(18)}${minMedianMax(row.maxRssMb).padStart(16)}`);
  }
  return lines;
}

if (require.main === module) {
  const option = (name: string, fallback: string) => process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const result = benchmarkReport(option('sizes', '10000,50000,100000').split(',').map(Number), Number(option('runs', '3')), option('cli', path.join(repo, 'lib', 'cli.js')));
  formatReportBenchmark(result).forEach((line) => console.log(line));
}
