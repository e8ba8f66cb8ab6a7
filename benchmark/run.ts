// Prints timings; never fails on a number. Run with `npx projen benchmark` (it compiles first:
// every figure is a whole `node` process against the compiled library in lib/).
//
// Each figure is the median of separate processes, the variants of one comparison run in turns
// (A B C, then C B A, ...) so that a slower moment of the machine weighs on each alike. Wall time
// is measured around the process; CPU time (user + system) is what the process reports for itself.
//
// Options (after `--`): --runs=N (default 10), --sizes=1000,10000 (Deployments), --charts=50
// (the many-chart app, at the first size), --require-runs=N (default 20), --report-sizes=10000,50000,100000
// and --report-runs=3 (the footprint report on cluster dumps). The node agent's and gVisor's
// benchmarks follow.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchmarkGvisorOverhead, formatGvisorOverhead } from './gvisor-overhead';
import { benchmarkReport, formatReportBenchmark } from './report';

const repo = path.join(__dirname, '..');

function option(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

const RUNS = Number(option('runs', '10'));
const SIZES = option('sizes', '1000,10000').split(',').map(Number);
const CHARTS = Number(option('charts', '50'));
const REQUIRE_RUNS = Number(option('require-runs', '20'));

interface Figure { readonly wallMs: number; readonly cpuMs: number }

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `node <args>` once; the process prints its own CPU time in ms as its last line. */
function runProcess(args: string[]): Figure {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return { wallMs, cpuMs: Number(result.stdout.trim().split('\n').pop()) };
}

/** The median figure of each variant over `runs` alternating rounds. */
function compare(variants: Array<[string, string[]]>, runs: number): Map<string, Figure> {
  const samples = new Map(variants.map(([name]) => [name, [] as Figure[]]));
  for (let round = 0; round < runs; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, args] of order) samples.get(name)!.push(runProcess(args));
  }
  return new Map([...samples].map(([name, figures]) => [name, {
    wallMs: median(figures.map((f) => f.wallMs)),
    cpuMs: median(figures.map((f) => f.cpuMs)),
  }]));
}

function printTable(title: string, figures: Map<string, Figure>, baseline: string): void {
  const base = figures.get(baseline)!;
  console.log(title);
  console.log(`  ${'scenario'.padEnd(34)}${'wall ms'.padStart(9)}${'cpu ms'.padStart(9)}${'wall x'.padStart(8)}${'cpu x'.padStart(8)}`);
  for (const [name, f] of figures) {
    console.log(`  ${name.padEnd(34)}${f.wallMs.toFixed(0).padStart(9)}${f.cpuMs.toFixed(0).padStart(9)}`
      + `${(f.wallMs / base.wallMs).toFixed(3).padStart(8)}${(f.cpuMs / base.cpuMs).toFixed(3).padStart(8)}`);
  }
}

const VARIANTS: Array<[string, string]> = [
  ['plain cdk8s-plus-27', 'plain'],
  ['pinned to a RuntimeClass', 'pinned'],
  ['Kata preset with node setup', 'kata'],
];

function synthComparison(deployments: number, charts: number): Map<string, Figure> {
  const script = path.join('benchmark', 'synth-app.js');
  const figures = compare(VARIANTS.map(([name, variant]) => [name, [script, variant, String(deployments), String(charts)]]), RUNS);
  const where = charts === 1 ? 'one chart' : `${charts} charts`;
  printTable(`synth: ${deployments.toLocaleString('en-US')} Deployments in ${where}, app.synth() to files; median of ${RUNS} processes each`, figures, VARIANTS[0][0]);
  return figures;
}

function requireComparison(): void {
  const cpu = ';const u=process.cpuUsage();console.log((u.user+u.system)/1000)';
  const figures = compare([
    ['node alone', ['-e', cpu.slice(1)]],
    ['cdk8s-plus-27', ['-e', `require('cdk8s-plus-27')${cpu}`]],
    ['cdk8s-plus-27 + cdk8s-runtimeclass', ['-e', `require('cdk8s-plus-27');require('./lib')${cpu}`]],
  ], REQUIRE_RUNS);
  printTable(`require, whole process; median of ${REQUIRE_RUNS} processes each (ratios to cdk8s-plus-27 alone)`,
    new Map([...figures].filter(([name]) => name !== 'node alone')), 'cdk8s-plus-27');
  const node = figures.get('node alone')!;
  console.log(`  (node alone: ${node.wallMs.toFixed(0)} ms wall, ${node.cpuMs.toFixed(0)} ms cpu)`);
}

/**
 * Runs the benchmarks of other parts whose files are here (node agent, installer): each exported
 * `benchmark*` function, its result printed by the file's `describe*` or `format*` function if it
 * has one.
 */
async function otherBenchmarks(): Promise<void> {
  for (const file of ['node-agent.ts', 'check-sandbox.ts', 'installer.ts']) {
    if (!fs.existsSync(path.join(__dirname, file))) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported: { [name: string]: unknown } = require(path.join(__dirname, file));
    const functions = Object.entries(exported).filter((e): e is [string, (...args: any[]) => any] => typeof e[1] === 'function');
    const describe = functions.find(([name]) => /^(describe|format)/.test(name))?.[1];
    for (const [name, benchmark] of functions.filter(([n]) => n.startsWith('benchmark'))) {
      try {
        const result = await benchmark();
        const lines: string[] = describe ? describe(result)
          : [`${file} ${name}: ${Object.entries(result ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(0) : String(v)}`).join(', ')}`];
        lines.forEach((line) => console.log(line));
      } catch (e: any) {
        console.log(`${file} ${name}: skipped (${String(e.message).split('\n')[0]})`);
      }
    }
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(repo, 'lib', 'index.js'))) {
    throw new Error('lib/index.js is missing: run `npx projen compile` (`npx projen benchmark` does)');
  }
  const cpuModel = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown CPU';
  console.log(`machine: ${os.cpus().length} cores, ${cpuModel}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`);

  const bySize = new Map<number, Map<string, Figure>>();
  for (const size of SIZES) bySize.set(size, synthComparison(size, 1));
  if (SIZES.length > 1) {
    const [small, large] = [SIZES[0], SIZES[SIZES.length - 1]];
    console.log(`growth from ${small.toLocaleString('en-US')} to ${large.toLocaleString('en-US')} Deployments (x${large / small}), cpu:`);
    for (const [name] of VARIANTS) {
      console.log(`  ${name.padEnd(34)}x${(bySize.get(large)!.get(name)!.cpuMs / bySize.get(small)!.get(name)!.cpuMs).toFixed(2)}`);
    }
  }
  if (CHARTS > 1) synthComparison(SIZES[0], CHARTS);
  requireComparison();
  formatReportBenchmark(benchmarkReport(option('report-sizes', '10000,50000,100000').split(',').map(Number), Number(option('report-runs', '3'))))
    .forEach((line) => console.log(line));
  await otherBenchmarks();
  for (const line of formatGvisorOverhead(await benchmarkGvisorOverhead())) console.log(line);
}

main().catch((e) => { console.error(e); process.exit(1); });
