import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { EXAMPLES } from '../../examples';
import { ServerlessFunctions } from '../../examples/serverless-functions';
import { RuntimeClass } from '../../src';
import { withoutAgentCode } from '../support/snapshots';

/** Builds an example, runs the app's validations (as `cdk8s synth` does) and returns every chart's manifests. */
function synthExample(build: (app: App) => void): { app: App; manifests: { [chart: string]: any[] } } {
  const app = Testing.app();
  build(app);
  app.synth();
  const manifests: { [chart: string]: any[] } = {};
  for (const chart of app.charts) manifests[chart.node.id] = Testing.synth(chart);
  return { app, manifests };
}

/** True for the objects of a runtime's node setup (its DaemonSet, RBAC, ...). */
function isNodeSetupObject(manifest: any): boolean {
  return manifest.metadata?.labels?.['app.kubernetes.io/name'] === 'runtimeclass-node-setup'
    || (manifest.kind === 'Namespace' && manifest.metadata?.name === 'runtimeclass-system');
}

/**
 * Every chart's manifests for a snapshot, with the installer script and the ConfigMap name derived
 * from it replaced by placeholders: the script is tested on its own (test/node-setup) and every
 * change to it would otherwise rewrite every snapshot; the name has tests of its own.
 */
function forSnapshot(manifests: { [chart: string]: any[] }): { [chart: string]: any[] } {
  const result: { [chart: string]: any[] } = {};
  for (const [chart, objects] of Object.entries(manifests)) result[chart] = objects.map(withoutAgentCode);
  return result;
}

/** Pod specs of the example's own workloads (node setup DaemonSets aside). */
function podSpecs(manifests: any[]): Array<{ kind: string; name: string; spec: any }> {
  return allPodSpecs(manifests.filter((m) => !isNodeSetupObject(m)));
}

function allPodSpecs(manifests: any[]): Array<{ kind: string; name: string; spec: any }> {
  return manifests.flatMap((m) => {
    if (m.kind === 'CronJob') return [{ kind: m.kind, name: m.metadata.name, spec: m.spec.jobTemplate.spec.template.spec }];
    if (m.spec?.template?.spec) return [{ kind: m.kind, name: m.metadata.name, spec: m.spec.template.spec }];
    return [];
  });
}

/** Classes an example uses but does not create: the cluster provides them. */
const PROVIDED_BY_THE_CLUSTER: { [example: string]: string[] } = {
  'managed-gke-sandbox': ['gvisor'],
};

/** Files of examples/ that are not apps: the registry and the script that synthesizes them all. */
const NOT_EXAMPLES = ['index.ts', 'synth-all.ts'];

test('every app in examples/ is registered in EXAMPLES under its file name, and so synthesized below', () => {
  const files = fs.readdirSync(path.join(__dirname, '..', '..', 'examples')).filter((f) => f.endsWith('.ts') && !NOT_EXAMPLES.includes(f));
  expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual(Object.keys(EXAMPLES).sort());
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const example = require(path.join(__dirname, '..', '..', 'examples', file));
    expect(example.build).toBe(EXAMPLES[file.replace(/\.ts$/, '')]);
  }
});

describe.each(Object.keys(EXAMPLES))('example %s', (name) => {
  test('synthesizes without validation errors and matches its snapshot', () => {
    const { manifests } = synthExample(EXAMPLES[name]);
    expect(forSnapshot(manifests)).toMatchSnapshot();
  });

  test('RuntimeClasses are cluster-scoped and every pinned workload names a class defined in the example or by the cluster', () => {
    const { manifests } = synthExample(EXAMPLES[name]);
    const all = Object.values(manifests).flat();
    const classes = all.filter((m) => m.kind === 'RuntimeClass');
    for (const rc of classes) expect(rc.metadata).not.toHaveProperty('namespace');
    const provided = PROVIDED_BY_THE_CLUSTER[name] ?? [];
    expect(classes.length + provided.length).toBeGreaterThan(0);
    const names = new Set([...classes.map((rc) => rc.metadata.name), ...provided]);
    const pinned = podSpecs(all).filter((p) => p.spec.runtimeClassName !== undefined);
    expect(pinned.length).toBeGreaterThan(0);
    for (const p of pinned) {
      expect(names).toContain(p.spec.runtimeClassName);
      expect(p.spec).not.toHaveProperty('overhead');
    }
  });

  test('every class with a node setup selects its ready label, and node setup objects keep to runtimeclass-system', () => {
    const { manifests } = synthExample(EXAMPLES[name]);
    const all = Object.values(manifests).flat();
    const setups = all.filter((m) => m.kind === 'DaemonSet' && isNodeSetupObject(m));
    // A managed cluster installs its runtimes itself.
    expect(setups.length > 0).toBe(PROVIDED_BY_THE_CLUSTER[name] === undefined);
    for (const setup of setups) {
      const mounted = setup.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name;
      const spec = JSON.parse(all.find((m) => m.kind === 'ConfigMap' && m.metadata.name === mounted).data['spec.json']);
      const handlers: string[] = spec.handlers.map((h: any) => h.handler);
      for (const rc of all.filter((m) => m.kind === 'RuntimeClass' && handlers.includes(m.handler))) {
        expect(rc.scheduling.nodeSelector[`runtimeclass.cdk8s.io/${rc.handler}`]).toBe('ready');
      }
    }
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    for (const m of all.filter(isNodeSetupObject)) {
      expect([m.kind, m.metadata.namespace]).toEqual([m.kind, clusterScoped.includes(m.kind) ? undefined : 'runtimeclass-system']);
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
  expect(isolated.scheduling.nodeSelector).toEqual({ 'node-pool': 'isolated', 'runtimeclass.cdk8s.io/kata-qemu': 'ready' });
  // runc (the nodes' default handler) needs no node setup; Kata gets its own.
  const standard = manifests.runtimes.find((m: any) => m.metadata.name === 'standard');
  expect(standard).toEqual({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'standard' }, handler: 'runc' });
  expect(manifests.runtimes.filter((m: any) => m.kind === 'DaemonSet').map((m: any) => m.metadata.name)).toEqual(['kata-qemu-node-setup']);
  // Kata's own node setup installs only where the class can run: the tainted, labelled pool.
  const installer = manifests.runtimes.find((m: any) => m.kind === 'DaemonSet');
  expect(installer.spec.template.spec.tolerations).toEqual([{ key: 'isolated', value: 'true', effect: 'NoSchedule' }]);
  expect(installer.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'node-pool': 'isolated' });
});

test('confined monitoring agent: privileged container in a Kata VM without host namespaces', () => {
  const { manifests } = synthExample(EXAMPLES['confined-monitoring-agent']);
  const [agent] = podSpecs(manifests.monitoring);
  expect(agent.kind).toBe('DaemonSet');
  expect(agent.name).toMatch(/^monitoring-agent-/);
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
  const synthesized = Testing.synth(chart as Chart);
  const jobs = podSpecs(synthesized);
  expect(jobs.map((j) => [j.kind, j.spec.runtimeClassName])).toEqual([['Job', 'kata-fc'], ['CronJob', 'kata-fc']]);
  // The Firecracker node setup: no runtimeClassName of its own (it prepares the nodes).
  expect(allPodSpecs(synthesized).filter((p) => p.spec.runtimeClassName === undefined).map((p) => [p.kind, p.name])).toEqual([['DaemonSet', 'kata-fc-node-setup']]);
});

test('managed GKE sandbox: nothing installed, the Deployment pinned to GKE\'s gvisor class, tenants held to it by policy', () => {
  const { manifests } = synthExample(EXAMPLES['managed-gke-sandbox']);
  const all = Object.values(manifests).flat();
  expect(all.filter((m) => ['RuntimeClass', 'DaemonSet'].includes(m.kind))).toEqual([]);
  const [runner] = podSpecs(manifests.plugins);
  expect(runner.spec.runtimeClassName).toBe('gvisor');
  const policies = manifests.platform.filter((m: any) => m.kind === 'ValidatingAdmissionPolicy').map((m: any) => m.metadata.name);
  expect(policies).toEqual(['runtimeclass-tenants-sandboxed-pods', 'runtimeclass-tenants-sandboxed-workloads', 'runtimeclass-tenants-sandboxed-cronjobs']);
  const bindings = manifests.platform.filter((m: any) => m.kind === 'ValidatingAdmissionPolicyBinding');
  for (const binding of bindings) {
    expect(binding.spec.validationActions).toEqual(['Warn', 'Audit']);
    expect(binding.spec.matchResources.namespaceSelector).toEqual({ matchLabels: { 'tenancy.example.com/untrusted': 'true' } });
  }
});

test('managed GKE sandbox: a class named gvisor next to the platform is an error pointing at the reference', () => {
  const app = Testing.app();
  EXAMPLES['managed-gke-sandbox'](app);
  new RuntimeClass(new Chart(app, 'extra'), 'gvisor', { handler: 'runsc', name: 'gvisor' });
  expect(() => app.synth()).toThrow(/gvisor.*ManagedRuntimeClass\.gkeSandbox\(\)/s);
});

test('runc to Kata migration: one template, 6 stable pods on runc and 2 canary pods on Kata, one Service for both', () => {
  const { manifests } = synthExample(EXAMPLES['runc-to-kata-migration']);
  const objects = manifests.checkout.filter((m: any) => !isNodeSetupObject(m));
  const deployments = objects.filter((m: any) => m.kind === 'Deployment');
  expect(deployments.map((d: any) => [d.spec.replicas, d.spec.template.spec.runtimeClassName])).toEqual([[6, 'runc'], [2, 'kata-qemu']]);
  const [stable, canary] = deployments.map((d: any) => d.spec.template.spec.containers);
  expect(canary).toEqual(stable);
  const service = objects.find((m: any) => m.kind === 'Service');
  for (const d of deployments) {
    for (const [key, value] of Object.entries(service.spec.selector)) expect(d.spec.template.metadata.labels[key]).toBe(value);
  }
  expect(objects.filter((m: any) => m.kind === 'PrometheusRule').map((m: any) => m.apiVersion)).toEqual(['monitoring.coreos.com/v1']);
});
