// cdk8s validates the whole app once per chart, plus once: a node setup's validation, which
// renders the node agent's files, runs in the first pass of a synth only.
import * as fs from 'fs';
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CrunRuntime, NodeSetup } from '../../src';
import * as nodeAgentFiles from '../../src/node-setup/node-agent-files';
import { validationErrors } from '../core/support';

/** An app of `count` charts: a node setup with crun in the first, a Deployment pinned to crun in each. */
function appOfCharts(count: number): { app: App; charts: Chart[] } {
  const app = Testing.app();
  const charts = Array.from({ length: count }, (_, c) => new Chart(app, `apps-${c}`));
  const crun = new CrunRuntime(charts[0], 'crun', { nodeSetup: new NodeSetup(charts[0], 'setup') });
  for (const chart of charts) crun.pin(new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] }));
  return { app, charts };
}

/** How many times one App.synth of `app` renders the node agent's files. */
function agentRendersIn(app: App): number {
  const renders = jest.spyOn(nodeAgentFiles, 'renderNodeAgentFiles');
  try {
    app.synth();
    return renders.mock.calls.length;
  } finally {
    renders.mockRestore();
    fs.rmSync(app.outdir, { recursive: true, force: true });
  }
}

test('a NodeSetup renders the node agent\'s files for its validation once per synth, not once per chart', () => {
  const inOneChart = agentRendersIn(appOfCharts(1).app);
  expect(inOneChart).toBeGreaterThan(0);
  expect(agentRendersIn(appOfCharts(20).app)).toBe(inOneChart);
});

test('a NodeSetup\'s problem is reported in every synth of a many-chart app, and by each node.validate() outside one', () => {
  const { app, charts } = appOfCharts(20);
  expect(validationErrors(app)).toEqual([]);
  const idle = new NodeSetup(charts[19], 'idle', { name: 'idle-setup' });
  const problem = '[apps-19/idle] NodeSetup "idle-setup": installs no runtime: pass it as `nodeSetup` to a runtime, or remove it';
  expect(validationErrors(app)).toEqual([problem]);
  expect(validationErrors(app)).toEqual([problem]);
  expect(idle.node.validate()).toEqual([problem.replace(/^\[[^\]]+\] /, '')]);
  expect(idle.node.validate()).toHaveLength(1);
});
