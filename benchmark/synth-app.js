// One benchmark scenario, run as a whole process by benchmark/run.ts:
//   node benchmark/synth-app.js <plain|pinned|kata> <deployments> [charts]
// builds <deployments> cdk8s-plus-27 Deployments spread over [charts] charts (default 1; the first
// also holds the runtime) and synthesizes them with app.synth() into a temp dir. `plain` uses cdk8s-plus-27 alone; `pinned` pins every
// Deployment to a RuntimeClass; `kata` pins them to a KataRuntime preset with its node setup.
// Plain JavaScript against the compiled library (lib/), so that no compiler runs in the process
// being measured. Prints the process's CPU time (user + system, ms) on exit.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { App, Chart } = require('cdk8s');
const kplus = require('cdk8s-plus-27');

const [variant, deployments, chartCount] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];
if (!['plain', 'pinned', 'kata'].includes(variant) || !(deployments > 0) || !(chartCount > 0)) {
  throw new Error('usage: node benchmark/synth-app.js <plain|pinned|kata> <deployments> [charts]');
}

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-runtimeclass-bench-'));
try {
  const app = new App({ outdir });
  const charts = Array.from({ length: chartCount }, (_, c) => new Chart(app, `apps-${c}`));
  // No chart dependencies: cdk8s would add one from each object to every object of the chart
  // depended on, a cost of cdk8s that grows with what that chart holds, not with pinning.
  const platform = charts[0];
  let pin = () => undefined;
  if (variant !== 'plain') {
    const library = require(path.join(__dirname, '..', 'lib'));
    const runtime = variant === 'kata'
      ? new library.KataRuntime(platform, 'kata')
      : new library.RuntimeClass(platform, 'rc', { name: 'sandboxed', handler: 'kata-qemu', overhead: library.PodOverhead.of({ cpu: '250m', memory: '320Mi' }) });
    pin = (workload) => runtime.pin(workload);
  }
  for (let i = 0; i < deployments; i++) {
    const chart = charts[Math.floor((i * chartCount) / deployments)];
    pin(new kplus.Deployment(chart, `d${i}`, { containers: [{ image: 'nginx:1.27', portNumber: 80 }] }));
  }
  app.synth();
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}
const cpu = process.cpuUsage();
process.stdout.write(`${(cpu.user + cpu.system) / 1000}\n`);
