import { App, Chart, Testing } from 'cdk8s';
import { EXAMPLES } from '../../examples';
import { ServerlessFunctions } from '../../examples/serverless-functions';

/** Builds an example, runs the app's validations (as `cdk8s synth` does) and returns every chart's manifests. */
function synthExample(build: (app: App) => void): { app: App; manifests: { [chart: string]: any[] } } {
  const app = Testing.app();
  build(app);
  app.synth();
  const manifests: { [chart: string]: any[] } = {};
  for (const chart of app.charts) manifests[chart.node.id] = Testing.synth(chart);
  return { app, manifests };
}

function podSpecs(manifests: any[]): Array<{ kind: string; name: string; spec: any }> {
  return manifests.flatMap((m) => {
    if (m.kind === 'CronJob') return [{ kind: m.kind, name: m.metadata.name, spec: m.spec.jobTemplate.spec.template.spec }];
    if (m.spec?.template?.spec) return [{ kind: m.kind, name: m.metadata.name, spec: m.spec.template.spec }];
    return [];
  });
}

describe.each(Object.keys(EXAMPLES))('example %s', (name) => {
  test('synthesizes without validation errors and matches its snapshot', () => {
    const { manifests } = synthExample(EXAMPLES[name]);
    expect(manifests).toMatchSnapshot();
  });

  test('RuntimeClasses are cluster-scoped and every pinned workload names a class defined in the example', () => {
    const { manifests } = synthExample(EXAMPLES[name]);
    const all = Object.values(manifests).flat();
    const classes = all.filter((m) => m.kind === 'RuntimeClass');
    expect(classes.length).toBeGreaterThan(0);
    for (const rc of classes) expect(rc.metadata).not.toHaveProperty('namespace');
    const names = new Set(classes.map((rc) => rc.metadata.name));
    const pinned = podSpecs(all).filter((p) => p.spec.runtimeClassName !== undefined);
    expect(pinned.length).toBeGreaterThan(0);
    for (const p of pinned) {
      expect(names).toContain(p.spec.runtimeClassName);
      expect(p.spec).not.toHaveProperty('overhead');
    }
  });
});

test('multi-tenant SaaS: only the regulated tenant runs in Kata', () => {
  const { manifests } = synthExample(EXAMPLES['multi-tenant-saas']);
  const classOf = (chart: string) => podSpecs(manifests[chart]).map((p) => p.spec.runtimeClassName);
  expect(classOf('acme')).toEqual(['standard']);
  expect(classOf('globex')).toEqual(['standard']);
  expect(classOf('bank')).toEqual(['isolated']);
  const isolated = manifests.runtimes.find((m: any) => m.metadata.name === 'isolated');
  expect(isolated.handler).toBe('kata-qemu');
  expect(isolated.overhead).toEqual({ podFixed: { cpu: '250m', memory: '320Mi' } });
  expect(isolated.scheduling.nodeSelector).toEqual({ 'node-pool': 'isolated' });
});

test('confined monitoring agent: privileged container in a Kata VM without host namespaces', () => {
  const { manifests } = synthExample(EXAMPLES['confined-monitoring-agent']);
  const [agent] = podSpecs(manifests.monitoring);
  expect(agent.kind).toBe('DaemonSet');
  expect(agent.spec.runtimeClassName).toBe('kata-confined');
  expect(agent.spec.containers[0].securityContext.privileged).toBe(true);
  expect(agent.spec.hostNetwork).not.toBe(true);
  expect(agent.spec.hostPID).toBeUndefined();
});

test('serverless functions: Jobs on Kata Firecracker with footprints including the VM overhead', () => {
  const app = Testing.app();
  const chart = new ServerlessFunctions(app, 'functions');
  app.synth();
  const footprint = chart.footprints['resize-images'];
  expect(footprint.runtimeClassName).toBe('kata-fc');
  expect(footprint.podRequests).toEqual({ cpu: '500m', memory: '512Mi' });
  expect(footprint.overhead).toEqual({ cpu: '250m', memory: '130Mi' });
  expect(footprint.perPod).toEqual({ cpu: '750m', memory: '642Mi' });
  expect(footprint.replicas).toBe(8);
  expect(footprint.total).toEqual({ cpu: '6', memory: '5136Mi' });
  const jobs = podSpecs(Testing.synth(chart as Chart));
  expect(jobs.map((j) => [j.kind, j.spec.runtimeClassName])).toEqual([['Job', 'kata-fc'], ['CronJob', 'kata-fc']]);
});
