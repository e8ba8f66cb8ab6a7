// Prints timings; never fails on a number. Run with `npx projen benchmark` (after `npx projen compile`
// for the require timings, which load the compiled library from lib/).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { benchmarkGvisorOverhead, formatGvisorOverhead } from './gvisor-overhead';
import { KataRuntime } from '../src';

const DEPLOYMENTS = 1000;
const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Builds and synthesizes (validations + YAML in memory) an app with `DEPLOYMENTS` Deployments. */
function synthMs(pinned: boolean): number {
  const start = process.hrtime.bigint();
  const app = new App({ outdir: fs.mkdtempSync('/tmp/cdk8s-runtimeclass-bench-') });
  const chart = new Chart(app, 'bench');
  const kata = new KataRuntime(chart, 'kata');
  for (let i = 0; i < DEPLOYMENTS; i++) {
    const deployment = new kplus.Deployment(chart, `d${i}`, { containers: [{ image: 'nginx:1.27', portNumber: 80 }] });
    if (pinned) kata.pin(deployment);
  }
  app.synth();
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  fs.rmSync(app.outdir, { recursive: true, force: true });
  return elapsed;
}

/** Median wall time of `node -e "require(target)"` in a fresh process, minus an empty node start. */
function requireMs(target: string): number {
  const time = (code: string) => {
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = process.hrtime.bigint();
      execFileSync(process.execPath, ['-e', code], { cwd: path.join(__dirname, '..') });
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return median(samples);
  };
  return time(`require(${JSON.stringify(target)})`) - time('');
}

async function main(): Promise<void> {
  synthMs(true); synthMs(false); // warm up the JIT and the module cache
  const unpinned: number[] = [];
  const pinned: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    unpinned.push(synthMs(false));
    pinned.push(synthMs(true));
  }
  const u = median(unpinned);
  const p = median(pinned);
  console.log(`synth, ${DEPLOYMENTS} Deployments, median of ${RUNS}:`);
  console.log(`  unpinned      ${u.toFixed(0)} ms`);
  console.log(`  pinned (kata) ${p.toFixed(0)} ms`);
  console.log(`  ratio         ${(p / u).toFixed(3)} (goal <= 1.10)`);

  const lib = path.join(__dirname, '..', 'lib', 'index.js');
  if (fs.existsSync(lib)) {
    const plus = requireMs('cdk8s-plus-27');
    const ours = requireMs(lib);
    console.log(`require, fresh process, median of ${RUNS} (node start subtracted):`);
    console.log(`  cdk8s-plus-27 alone         ${plus.toFixed(0)} ms`);
    console.log(`  cdk8s-runtimeclass (+plus)  ${ours.toFixed(0)} ms`);
  } else {
    console.log('require timings skipped: lib/index.js is missing (run `npx projen compile` first)');
  }

  const agentBenchmark = path.join(__dirname, 'node-agent.ts');
  if (fs.existsSync(agentBenchmark)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { benchmarkNodeAgent, describeNodeAgentTimings } = require('./node-agent');
    for (const line of describeNodeAgentTimings(await benchmarkNodeAgent())) console.log(line);
  }

  for (const line of formatGvisorOverhead(await benchmarkGvisorOverhead())) console.log(line);
}

main().catch((e) => { console.error(e); process.exit(1); });
