import { ApiObject, App, Chart, Cron, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  GvisorRuntime,
  KataHypervisor,
  KataRuntime,
  PodOverhead,
  RuntimeClass,
  SandboxedCronJob,
  SandboxedDaemonSet,
  SandboxedDeployment,
  SandboxedJob,
  SandboxedPod,
  SandboxedStatefulSet,
  WorkloadFootprint,
} from '../../src';

/** Every validation message of the app, as `app.synth()` reports them: `[construct path] message`. */
function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test', { namespace: 'tenant-a' }) };
}

/** Reads a JSON pointer. */
function at(document: any, pointer: string): any {
  return pointer.split('/').slice(1).reduce((node, key) => (node === undefined || node === null ? undefined : node[key]), document);
}

/** True for the objects of a runtime's node setup (its DaemonSet, RBAC, ...), which every runtime now brings. */
function isNodeSetupObject(manifest: any): boolean {
  return manifest.metadata?.labels?.['app.kubernetes.io/name'] === 'runtimeclass-node-setup'
    || (manifest.kind === 'Namespace' && manifest.metadata?.name === 'runtimeclass-system');
}

/** The synthesized manifests of the chart other than the node setups' (validates the app). */
function workloadsAndClassesOf(chart: Chart): any[] {
  return Testing.synth(chart).filter((o) => !isNodeSetupObject(o));
}

/** The synthesized manifest of a kind, node setups aside (validates the app). */
function manifestOf(chart: Chart, kind: string): any {
  const found = workloadsAndClassesOf(chart).filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

const container: kplus.ContainerProps = {
  name: 'app',
  image: 'registry.example.com/app:1.0',
  resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(64) } },
};

describe('each wrapper sets runtimeClassName at its kind\'s pod spec path and exposes runtime', () => {
  test('SandboxedDeployment: /spec/template/spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const workload = new SandboxedDeployment(chart, 'web', { runtime: kata, containers: [container] });
    expect(workload.runtime).toBe(kata);
    expect(validationErrors(app)).toEqual([]);
    const manifest = manifestOf(chart, 'Deployment');
    expect(at(manifest, '/spec/template/spec/runtimeClassName')).toBe('kata-qemu');
    expect(at(manifest, '/spec/runtimeClassName')).toBeUndefined();
    expect(at(manifest, '/spec/template/spec/overhead')).toBeUndefined();
  });

  test('SandboxedStatefulSet with a headless Service: /spec/template/spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    const service = new kplus.Service(chart, 'db-headless', { clusterIP: 'None', ports: [{ port: 5432 }] });
    const workload = new SandboxedStatefulSet(chart, 'db', { runtime: gvisor, service, containers: [{ ...container, portNumber: 5432 }] });
    expect(workload.runtime).toBe(gvisor);
    expect(workload.service).toBe(service);
    expect(validationErrors(app)).toEqual([]);
    const manifest = manifestOf(chart, 'StatefulSet');
    expect(at(manifest, '/spec/template/spec/runtimeClassName')).toBe('runsc');
    expect(at(manifest, '/spec/serviceName')).toBe(service.name);
    // The Service is not a workload: it is left alone.
    expect(manifestOf(chart, 'Service').spec).not.toHaveProperty('runtimeClassName');
    expect(manifestOf(chart, 'Service').spec.clusterIP).toBe('None');
  });

  test('SandboxedDaemonSet: /spec/template/spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.CLOUD_HYPERVISOR });
    const workload = new SandboxedDaemonSet(chart, 'agent', { runtime: kata, containers: [container] });
    expect(workload.runtime).toBe(kata);
    expect(validationErrors(app)).toEqual([]);
    expect(at(manifestOf(chart, 'DaemonSet'), '/spec/template/spec/runtimeClassName')).toBe('kata-clh');
  });

  test('SandboxedJob: /spec/template/spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.FIRECRACKER });
    const workload = new SandboxedJob(chart, 'fn', { runtime: kata, containers: [container] });
    expect(workload.runtime).toBe(kata);
    expect(validationErrors(app)).toEqual([]);
    expect(at(manifestOf(chart, 'Job'), '/spec/template/spec/runtimeClassName')).toBe('kata-fc');
  });

  test('SandboxedCronJob: /spec/jobTemplate/spec/template/spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    const workload = new SandboxedCronJob(chart, 'report', { runtime: gvisor, schedule: Cron.daily(), containers: [container] });
    expect(workload.runtime).toBe(gvisor);
    expect(validationErrors(app)).toEqual([]);
    const manifest = manifestOf(chart, 'CronJob');
    expect(at(manifest, '/spec/jobTemplate/spec/template/spec/runtimeClassName')).toBe('runsc');
    expect(at(manifest, '/spec/template')).toBeUndefined();
    expect(at(manifest, '/spec/schedule')).toBe('0 0 * * *');
  });

  test('SandboxedPod: /spec/runtimeClassName', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const workload = new SandboxedPod(chart, 'debug', { runtime: kata, containers: [container] });
    expect(workload.runtime).toBe(kata);
    expect(validationErrors(app)).toEqual([]);
    const manifest = manifestOf(chart, 'Pod');
    expect(at(manifest, '/spec/runtimeClassName')).toBe('kata-qemu');
    expect(at(manifest, '/spec/overhead')).toBeUndefined();
  });

  test('a wrapper takes a reference to an existing class', () => {
    const { app, chart } = newApp();
    const gke = RuntimeClass.fromName('gvisor', { scheduling: { nodeSelector: { 'sandbox.gke.io/runtime': 'gvisor' } } });
    const workload = new SandboxedDeployment(chart, 'web', { runtime: gke, containers: [container] });
    expect(workload.runtime).toBe(gke);
    expect(validationErrors(app)).toEqual([]);
    // Nothing is synthesized for the reference itself, not even a node setup.
    expect(Testing.synth(chart).map((o) => o.kind)).toEqual(['Deployment']);
    expect(at(manifestOf(chart, 'Deployment'), '/spec/template/spec/runtimeClassName')).toBe('gvisor');
  });

  test('all six wrappers in one namespaced chart', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    new SandboxedDeployment(chart, 'web', { runtime: kata, containers: [container] });
    new SandboxedStatefulSet(chart, 'db', { runtime: gvisor, containers: [{ ...container, portNumber: 5432 }] });
    new SandboxedDaemonSet(chart, 'agent', { runtime: kata, containers: [container] });
    new SandboxedJob(chart, 'fn', { runtime: kata, containers: [container] });
    new SandboxedCronJob(chart, 'report', { runtime: gvisor, schedule: Cron.daily(), containers: [container] });
    new SandboxedPod(chart, 'debug', { runtime: kata, containers: [container] });
    expect(validationErrors(app)).toEqual([]);
    const all = Testing.synth(chart);
    // The runtimes' node setups keep to their own namespace (or none, when cluster-scoped), not the chart's.
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    expect(all.filter(isNodeSetupObject).map((o) => o.metadata.namespace))
      .toEqual(all.filter(isNodeSetupObject).map((o) => (clusterScoped.includes(o.kind) ? undefined : 'runtimeclass-system')));
    expect(all.filter((o) => o.kind === 'DaemonSet' && isNodeSetupObject(o)).map((o) => o.metadata.name)).toEqual(['kata-qemu-node-setup', 'runsc-node-setup']);
    // The node setups are snapshot-tested on their own (test/runtimes, test/node-setup).
    const manifests = workloadsAndClassesOf(chart);
    expect(manifests.map((o) => [o.kind, o.metadata.namespace])).toEqual([
      ['RuntimeClass', undefined],
      ['RuntimeClass', undefined],
      ['Deployment', 'tenant-a'],
      ['Service', 'tenant-a'],
      ['StatefulSet', 'tenant-a'],
      ['DaemonSet', 'tenant-a'],
      ['Job', 'tenant-a'],
      ['CronJob', 'tenant-a'],
      ['Pod', 'tenant-a'],
    ]);
    expect(manifests).toMatchSnapshot();
  });
});

describe('pinning a wrapper again', () => {
  test('to another runtime: "pinned 2 times" naming both classes', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata, containers: [container] });
    gvisor.pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") is pinned 2 times (to "kata-qemu", "runsc"): `
      + 'a pod runs with one RuntimeClass; call pin() once',
    ]);
    // The first pin decides the output.
    expect(ApiObject.of(web).toJson().spec.template.spec.runtimeClassName).toBe('kata-qemu');
  });

  test('to the same runtime: still an error', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const job = new SandboxedJob(chart, 'fn', { runtime: kata, containers: [container] });
    kata.pin(job);
    expect(validationErrors(app)).toEqual([
      `[test/fn/Resource] Job "${job.name}" (pinned to RuntimeClass "kata-qemu") is pinned 2 times (to "kata-qemu", "kata-qemu"): `
      + 'a pod runs with one RuntimeClass; call pin() once',
    ]);
  });

  test('a CronJob pinned again through its RuntimeClass construct', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const cron = new SandboxedCronJob(chart, 'report', { runtime: kata, schedule: Cron.daily(), containers: [container] });
    kata.runtimeClass.pin(cron);
    expect(validationErrors(app)).toEqual([expect.stringContaining(`CronJob "${cron.name}" (pinned to RuntimeClass "kata-qemu") is pinned 2 times`)]);
  });
});

describe('containers added after construction', () => {
  test('land in the output next to runtimeClassName', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata });
    web.addContainer(container);
    web.addContainer({ ...container, name: 'sidecar', image: 'registry.example.com/proxy:2.0' });
    expect(validationErrors(app)).toEqual([]);
    const spec = at(manifestOf(chart, 'Deployment'), '/spec/template/spec');
    expect(spec.runtimeClassName).toBe('kata-qemu');
    expect(spec.containers.map((c: any) => c.name)).toEqual(['app', 'sidecar']);
  });

  test('in a Pod too', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const pod = new SandboxedPod(chart, 'debug', { runtime: kata });
    pod.addContainer(container);
    expect(validationErrors(app)).toEqual([]);
    const manifest = manifestOf(chart, 'Pod');
    expect(at(manifest, '/spec/runtimeClassName')).toBe('kata-qemu');
    expect(at(manifest, '/spec/containers/0/name')).toBe('app');
  });

  test('are counted in the footprint', () => {
    const { chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata, replicas: 2 });
    web.addContainer(container);
    web.addContainer({ ...container, name: 'sidecar', resources: { cpu: { request: kplus.Cpu.millis(150) }, memory: { request: Size.mebibytes(128) } } });
    const footprint = WorkloadFootprint.of(web);
    expect(footprint.podRequests).toEqual({ cpu: '250m', memory: '192Mi' });
    expect(footprint.perPod).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(footprint.total).toEqual({ cpu: '1', memory: '1Gi' });
  });

  test('are checked against the runtime\'s ceiling', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { nodeAllocatable: { memory: '512Mi' } });
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata });
    web.addContainer({ ...container, resources: { memory: { request: Size.mebibytes(256) } } });
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") needs 576Mi of memory per pod `
      + '(requests 256Mi + overhead 320Mi), more than the 512Mi a node of RuntimeClass "kata-qemu" can give: lower the '
      + 'requests or raise nodeAllocatable',
    ]);
  });
  // Guards against reusing validation's render for the next toJson() (a stale manifest).
  test('a container added after validation is in the next render', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata, containers: [container] });
    expect(validationErrors(app)).toEqual([]);
    web.addContainer({ ...container, name: 'late' });
    expect(ApiObject.of(web).toJson().spec.template.spec.containers.map((c: any) => c.name)).toEqual(['app', 'late']);
  });

  // Guards: an unrenderable pinned workload is one problem among the others, not a thrown error that hides them.
  test('a wrapper that never gets a container is reported as a problem, not thrown, so other problems still show', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '160Mi' }) });
    const web = new SandboxedDeployment(chart, 'web', { runtime: kata });
    let errors: string[] = [];
    expect(() => { errors = validationErrors(app); }).not.toThrow();
    expect(errors).toEqual([
      expect.stringMatching(/^\[test\/kata\] Kata Containers with QEMU runtime "kata-qemu": overhead\.memory "160Mi" is below the 320Mi/),
      '[test/web/Resource] cannot be rendered, so its pinning to RuntimeClass "kata-qemu" cannot be checked: '
      + `Failed serializing construct at path 'test/web/Resource' with name '${web.name}': Error: PodSpec must have at least 1 container`,
    ]);
  });
});

describe('checks through wrappers', () => {
  test('a Kata Pod with hostNetwork is refused', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const pod = new SandboxedPod(chart, 'debug', { runtime: kata, hostNetwork: true, containers: [container] });
    expect(validationErrors(app)).toEqual([
      `[test/debug/Resource] Pod "${pod.name}" (pinned to RuntimeClass "kata-qemu") sets hostNetwork: true, which `
      + 'RuntimeClass "kata-qemu" cannot give (Kata Containers with QEMU runs each pod in its own VM, which cannot join '
      + 'the node\'s namespaces): remove hostNetwork or run this workload with another runtime',
    ]);
  });

  test('a gVisor DaemonSet with hostNetwork is fine when the runtime has hostNetworking', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor', { hostNetworking: true });
    new SandboxedDaemonSet(chart, 'agent', { runtime: gvisor, hostNetwork: true, containers: [container] });
    expect(validationErrors(app)).toEqual([]);
  });

  test('a reference with an invalid overhead is reported on the pinned workload', () => {
    const { app, chart } = newApp();
    const reference = RuntimeClass.fromName('kata', { overhead: PodOverhead.of({ memory: '160MB' }) });
    const web = new SandboxedDeployment(chart, 'web', { runtime: reference, containers: [container] });
    expect(validationErrors(app)).toEqual([
      expect.stringMatching(new RegExp(`^\\[test/web/Resource\\] Deployment "${web.name}" \\(pinned to RuntimeClass "kata"\\) RuntimeClass "kata": overhead\\.memory: "160MB" is not a Kubernetes quantity`)),
    ]);
  });
});
