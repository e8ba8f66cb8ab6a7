import * as fs from 'fs';
import { ApiObject, Chart, Lazy, Testing, YamlOutputType } from 'cdk8s';
import { Construct } from 'constructs';
import { validationErrors } from './support';
import { RuntimeClass, RuntimeClassProps } from '../../src/core';
import { NodeSetup } from '../../src/node-setup/node-setup';
import { GvisorRuntime, RuncRuntime } from '../../src/runtimes';

const SANDBOX: RuntimeClassProps = { name: 'sandbox', handler: 'kata-qemu', scheduling: { nodeSelector: { pool: 'sandbox' } } };
function deployment(scope: Construct, id: string, podSpec: () => any = () => ({})): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: id },
    spec: Lazy.any({ produce: () => ({ selector: { matchLabels: { app: id } }, template: { metadata: { labels: { app: id } }, spec: { containers: [{ name: 'app', image: 'nginx' }], ...podSpec() } } }) }),
  });
}

test('App.synth (FOLDER_PER_CHART_FILE_PER_RESOURCE) checks the render it writes, not one another validation made before writing', () => {
  const app = Testing.app({ yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE });
  const chart = new Chart(app, 'test');
  let conflict = true;
  const hook = new ApiObject(chart, 'hook', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hook' }, data: Lazy.any({ produce: () => { conflict = false; return { a: 'b' }; } }) });
  const web = deployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
  web.addDependency(hook);
  new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
  chart.node.addValidation({ validate: () => { web.toJson(); return []; } });
  expect(validationErrors(app)).toEqual([]);
});

test('a pinned object a toJson override leaves out is not reported when another problem fails the synth', () => {
  class Dropping extends Chart {
    public toJson(): any[] { return super.toJson().filter((m: any) => m.metadata.name !== 'web'); }
  }
  const app = Testing.app();
  const chart = new Dropping(app, 'test');
  const rc = new RuntimeClass(chart, 'rc', SANDBOX);
  rc.pin(deployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } })));
  rc.pin(deployment(chart, 'cart', () => ({ overhead: { cpu: '1' } })));
  const errors = validationErrors(app);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^\[test\/cart\]/);
});

test('a node setup DaemonSet that is also pinned keeps its placement check at synth', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'platform');
  const setup = new NodeSetup(chart, 'Setup', { name: 'general-setup', nodeSelector: { pool: 'general' } });
  new GvisorRuntime(chart, 'Gvisor', { nodeSetup: setup, scheduling: { nodeSelector: { pool: 'sandbox' } } });
  const before = setup.daemonSet.node.validate();
  const runc = new RuncRuntime(chart, 'Runc');
  runc.pin(setup.daemonSet);
  expect(before).toEqual([expect.stringContaining('no node can be labelled runtimeclass.cdk8s.io/runsc=ready')]);
  expect(validationErrors(app)).toEqual([expect.stringContaining('no node can be labelled runtimeclass.cdk8s.io/runsc=ready')]);
  fs.rmSync(app.outdir, { recursive: true, force: true });
});
