import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Include, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GvisorRuntime, KataHypervisor, KataRuntime, PodOverhead, ResourceAmounts, RuntimeClass, SandboxedDaemonSet, WorkloadFootprint } from '../../src';

function newChart(): Chart {
  return new Chart(Testing.app(), 'test');
}

function requests(cpuMillis: number, memoryMebibytes: number): kplus.ContainerResources {
  return { cpu: { request: kplus.Cpu.millis(cpuMillis) }, memory: { request: Size.mebibytes(memoryMebibytes) } };
}

/** A plain manifest of `kind` whose pod spec is `podSpec`. */
function rawWorkload(chart: Chart, id: string, kind: 'Deployment' | 'Job' | 'CronJob' | 'Pod', podSpec: any, spec: any = {}): ApiObject {
  const template = { metadata: { labels: { app: id } }, spec: podSpec };
  const bodies: { [k: string]: any } = {
    Deployment: { apiVersion: 'apps/v1', spec: { selector: { matchLabels: { app: id } }, template, ...spec } },
    Job: { apiVersion: 'batch/v1', spec: { template, ...spec } },
    CronJob: { apiVersion: 'batch/v1', spec: { schedule: '0 * * * *', jobTemplate: { spec: { template, ...spec } } } },
    Pod: { apiVersion: 'v1', spec: podSpec },
  };
  return new ApiObject(chart, id, { kind, metadata: { name: id }, ...bodies[kind] });
}

describe('WorkloadFootprint of a pinned Deployment', () => {
  const chart = newChart();
  const kata = new KataRuntime(chart, 'kata');
  const web = new kplus.Deployment(chart, 'web', {
    replicas: 3,
    containers: [
      { name: 'app', image: 'registry.example.com/app:1.0', resources: requests(100, 64) },
      { name: 'proxy', image: 'registry.example.com/proxy:2.0', resources: requests(150, 128) },
    ],
  });
  kata.pin(web);
  const footprint = WorkloadFootprint.of(web);

  test('runtimeClassName is the pinned class', () => {
    expect(footprint.runtimeClassName).toBe('kata-qemu');
  });

  test('podRequests is the sum of the containers', () => {
    expect(footprint.podRequests).toEqual({ cpu: '250m', memory: '192Mi' });
  });

  test('overhead is the class\'s podFixed', () => {
    expect(footprint.overhead).toEqual({ cpu: '250m', memory: '320Mi' });
  });

  test('perPod is requests + overhead', () => {
    expect(footprint.perPod).toEqual({ cpu: '500m', memory: '512Mi' });
  });

  test('replicas and total', () => {
    expect(footprint.replicas).toBe(3);
    expect(footprint.total).toEqual({ cpu: '1500m', memory: '1536Mi' });
  });

  test('forPods multiplies perPod', () => {
    expect(footprint.forPods(4)).toEqual({ cpu: '2', memory: '2Gi' });
    expect(footprint.forPods(1)).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(footprint.forPods(0)).toEqual({ cpu: '0', memory: '0' });
  });

  test('every figure also comes as values, whose quantities are the strings', () => {
    expect([footprint.podRequestAmounts.cpuMillis, footprint.podRequestAmounts.memoryBytes]).toEqual([250, 192 * 2 ** 20]);
    expect([footprint.overheadAmounts.cpuMillis, footprint.overheadAmounts.memoryBytes]).toEqual([250, 320 * 2 ** 20]);
    expect([footprint.perPodAmounts.cpuMillis, footprint.perPodAmounts.memoryBytes]).toEqual([500, 512 * 2 ** 20]);
    expect([footprint.totalAmounts!.cpuMillis, footprint.totalAmounts!.memoryBytes]).toEqual([1500, 1536 * 2 ** 20]);
    expect(footprint.podRequestAmounts.quantities).toEqual(footprint.podRequests);
    expect(footprint.overheadAmounts.quantities).toEqual(footprint.overhead);
    expect(footprint.perPodAmounts.quantities).toEqual(footprint.perPod);
    expect(footprint.totalAmounts!.quantities).toEqual(footprint.total);
    expect(footprint.amountsForPods(4).quantities).toEqual(footprint.forPods(4));
  });

  test('footprints add up and compare with a budget', () => {
    const two = footprint.totalAmounts!.plus(footprint.totalAmounts!);
    expect(two.quantities).toEqual({ cpu: '3', memory: '3Gi' });
    expect(two.fitsWithin(ResourceAmounts.of({ cpu: kplus.Cpu.units(4), memory: Size.gibibytes(3) }))).toBe(true);
    expect(two.resourcesExceeding(ResourceAmounts.of({ cpu: kplus.Cpu.units(4), memory: Size.gibibytes(2) }))).toEqual(['memory']);
  });
});

describe('effective requests', () => {
  test('an init container larger than the sum of the containers sets the pod\'s requests', () => {
    const chart = newChart();
    const kata = new KataRuntime(chart, 'kata');
    const web = new kplus.Deployment(chart, 'web', {
      replicas: 1,
      initContainers: [{ name: 'migrate', image: 'registry.example.com/migrate:1.0', resources: { cpu: { request: kplus.Cpu.units(1) }, memory: { request: Size.gibibytes(1) } } }],
      containers: [
        { name: 'app', image: 'registry.example.com/app:1.0', resources: requests(100, 64) },
        { name: 'proxy', image: 'registry.example.com/proxy:2.0', resources: requests(150, 128) },
      ],
    });
    kata.pin(web);
    const footprint = WorkloadFootprint.of(web);
    expect(footprint.podRequests).toEqual({ cpu: '1', memory: '1Gi' });
    expect(footprint.perPod).toEqual({ cpu: '1250m', memory: '1344Mi' });
    expect(footprint.total).toEqual({ cpu: '1250m', memory: '1344Mi' });
  });

  test('per resource: the init container wins memory, the containers win CPU', () => {
    const chart = newChart();
    const web = new kplus.Deployment(chart, 'web', {
      replicas: 1,
      initContainers: [{ name: 'migrate', image: 'registry.example.com/migrate:1.0', resources: requests(50, 512) }],
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0', resources: requests(300, 128) }],
    });
    expect(WorkloadFootprint.of(web).podRequests).toEqual({ cpu: '300m', memory: '512Mi' });
  });

  test('sidecars (init containers with restartPolicy Always) add to the containers and to later init containers', () => {
    const chart = newChart();
    const pod = rawWorkload(chart, 'pod', 'Pod', {
      initContainers: [
        { name: 'migrate', image: 'migrate', resources: { requests: { cpu: '1', memory: '256Mi' } } },
        { name: 'proxy', image: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        { name: 'warmup', image: 'warmup', resources: { requests: { cpu: '200m', memory: '1Gi' } } },
      ],
      containers: [{ name: 'app', image: 'app', resources: { requests: { cpu: '300m', memory: '128Mi' } } }],
    });
    const footprint = WorkloadFootprint.of(pod);
    // cpu: max(migrate 1, warmup 200m + proxy 100m, app 300m + proxy 100m) = 1
    // memory: max(migrate 256Mi, warmup 1Gi + proxy 64Mi, app 128Mi + proxy 64Mi) = 1088Mi
    expect(footprint.podRequests).toEqual({ cpu: '1', memory: '1088Mi' });
    expect(footprint.replicas).toBe(1);
  });

  test('a limit stands in for a missing request, resource by resource', () => {
    const chart = newChart();
    const pod = rawWorkload(chart, 'pod', 'Pod', {
      containers: [{ name: 'app', image: 'app', resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m' } } }],
    });
    expect(WorkloadFootprint.of(pod).podRequests).toEqual({ cpu: '100m', memory: '256Mi' });
  });

  test('cdk8s-plus default resources are counted when none are given', () => {
    const chart = newChart();
    const web = new kplus.Deployment(chart, 'web', { replicas: 1, containers: [{ image: 'registry.example.com/app:1.0' }] });
    // cdk8s-plus-27 2.9 requests 1000m CPU and 512Mi memory by default.
    expect(WorkloadFootprint.of(web).podRequests).toEqual({ cpu: '1', memory: '512Mi' });
  });

  test('extended resources and decimal memory are added exactly', () => {
    const chart = newChart();
    const vm = new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '320Mi', resources: { 'example.com/vfio': '1' } }) });
    const pod = rawWorkload(chart, 'pod', 'Pod', {
      containers: [{ name: 'app', image: 'app', resources: { requests: { 'cpu': '0.1', 'memory': '100M', 'example.com/vfio': '2' } } }],
    });
    vm.pin(pod);
    const footprint = WorkloadFootprint.of(pod);
    // Memory is shown with a binary suffix where one is exact, else with a decimal one: 100M stays 100M.
    expect(footprint.podRequests).toEqual({ 'cpu': '100m', 'example.com/vfio': '2', 'memory': '100M' });
    // 100M + 320Mi = 100000000 + 335544320 bytes: no exact binary or decimal suffix.
    expect(footprint.perPod).toEqual({ 'cpu': '350m', 'example.com/vfio': '3', 'memory': '435544320' });
  });

  test('invalid requests throw, naming the workload and the container', () => {
    const chart = newChart();
    const pod = rawWorkload(chart, 'pod', 'Pod', { containers: [{ name: 'app', image: 'app', resources: { requests: { memory: '1GB' } } }] });
    expect(() => WorkloadFootprint.of(pod)).toThrow(
      /^WorkloadFootprint\.of\(test\/pod\): Pod "pod" has invalid requests: container "app" resources: memory: "1GB" is not a Kubernetes quantity/,
    );
  });
});

describe('replicas by kind', () => {
  test('a DaemonSet has no replica count: total is undefined, use forPods', () => {
    const chart = newChart();
    const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.CLOUD_HYPERVISOR });
    const agent = new SandboxedDaemonSet(chart, 'agent', {
      runtime: kata,
      containers: [{ image: 'registry.example.com/agent:1.0', resources: requests(100, 64) }],
    });
    const footprint = WorkloadFootprint.of(agent);
    expect(footprint.replicas).toBeUndefined();
    expect(footprint.total).toBeUndefined();
    expect(footprint.totalAmounts).toBeUndefined();
    expect(footprint.amountsForPods(10).memoryBytes).toBe(1940 * 2 ** 20);
    expect(footprint.perPod).toEqual({ cpu: '350m', memory: '194Mi' });
    expect(footprint.forPods(10)).toEqual({ cpu: '3500m', memory: '1940Mi' });
  });

  test('a cdk8s-plus Deployment without replicas counts its default of 2', () => {
    const chart = newChart();
    const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'registry.example.com/app:1.0', resources: requests(100, 64) }] });
    const footprint = WorkloadFootprint.of(web);
    expect(footprint.replicas).toBe(2);
    expect(footprint.total).toEqual({ cpu: '200m', memory: '128Mi' });
  });

  test('a Job counts its parallelism', () => {
    const chart = newChart();
    const job = rawWorkload(chart, 'fn', 'Job', { containers: [{ name: 'fn', image: 'fn', resources: { requests: { cpu: '250m', memory: '128Mi' } } }] }, { parallelism: 4 });
    const footprint = WorkloadFootprint.of(job);
    expect(footprint.replicas).toBe(4);
    expect(footprint.total).toEqual({ cpu: '1', memory: '512Mi' });
  });

  test('a CronJob counts its job template\'s parallelism', () => {
    const chart = newChart();
    const cron = rawWorkload(chart, 'report', 'CronJob', { containers: [{ name: 'r', image: 'r', resources: { requests: { cpu: '250m' } } }] }, { parallelism: 3 });
    expect(WorkloadFootprint.of(cron).replicas).toBe(3);
    expect(WorkloadFootprint.of(cron).total).toEqual({ cpu: '750m' });
  });

  // Guards: a Job runs min(parallelism, completions) pods at once, not parallelism alone.
  test('a Job with fewer completions than parallelism runs at most `completions` pods', () => {
    const chart = newChart();
    const job = rawWorkload(chart, 'fn', 'Job', { containers: [{ name: 'fn', image: 'fn', resources: { requests: { cpu: '250m' } } }] }, { parallelism: 5, completions: 2 });
    expect(WorkloadFootprint.of(job).replicas).toBe(2);
    expect(WorkloadFootprint.of(job).total).toEqual({ cpu: '500m' });
  });

  test('a Job with more completions than parallelism runs `parallelism` pods at once', () => {
    const chart = newChart();
    const job = rawWorkload(chart, 'fn', 'Job', { containers: [{ name: 'fn', image: 'fn', resources: { requests: { cpu: '250m' } } }] }, { parallelism: 4, completions: 200 });
    expect(WorkloadFootprint.of(job).replicas).toBe(4);
  });

  test('a Job with completions and no parallelism runs one pod at a time', () => {
    const chart = newChart();
    const job = rawWorkload(chart, 'fn', 'Job', { containers: [{ name: 'fn', image: 'fn', resources: { requests: { cpu: '250m' } } }] }, { completions: 10 });
    expect(WorkloadFootprint.of(job).replicas).toBe(1);
  });

  test('a CronJob\'s job template with fewer completions than parallelism runs at most `completions` pods', () => {
    const chart = newChart();
    const cron = rawWorkload(chart, 'report', 'CronJob', { containers: [{ name: 'r', image: 'r', resources: { requests: { cpu: '250m' } } }] }, { parallelism: 3, completions: 1 });
    expect(WorkloadFootprint.of(cron).replicas).toBe(1);
  });
});

describe('the runtime class of a footprint', () => {
  test('an unpinned workload has no overhead and no class', () => {
    const chart = newChart();
    const web = new kplus.Deployment(chart, 'web', { replicas: 3, containers: [{ image: 'registry.example.com/app:1.0', resources: requests(100, 64) }] });
    const footprint = WorkloadFootprint.of(web);
    expect(footprint.runtimeClassName).toBeUndefined();
    expect(footprint.overhead).toEqual({});
    expect(footprint.perPod).toEqual({ cpu: '100m', memory: '64Mi' });
    expect(footprint.total).toEqual({ cpu: '300m', memory: '192Mi' });
  });

  test('a class passed explicitly is used for an unpinned workload', () => {
    const chart = newChart();
    const gvisor = new GvisorRuntime(chart, 'gvisor', { overhead: PodOverhead.of({ memory: '64Mi' }) });
    const web = new kplus.Deployment(chart, 'web', { replicas: 1, containers: [{ image: 'registry.example.com/app:1.0', resources: requests(100, 64) }] });
    const footprint = WorkloadFootprint.of(web, gvisor);
    expect(footprint.runtimeClassName).toBe('runsc');
    expect(footprint.perPod).toEqual({ cpu: '100m', memory: '128Mi' });
  });

  test('a reference\'s overhead is counted', () => {
    const chart = newChart();
    const reference = RuntimeClass.fromName('kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '160Mi' }) });
    const web = new kplus.Deployment(chart, 'web', { replicas: 1, containers: [{ image: 'registry.example.com/app:1.0', resources: requests(100, 64) }] });
    reference.pin(web);
    const footprint = WorkloadFootprint.of(web);
    expect(footprint.runtimeClassName).toBe('kata');
    expect(footprint.perPod).toEqual({ cpu: '350m', memory: '224Mi' });
  });
});

describe('argument checks', () => {
  const chart = newChart();
  const web = new kplus.Deployment(chart, 'web', { replicas: 1, containers: [{ image: 'registry.example.com/app:1.0', resources: requests(100, 64) }] });
  const webFootprint = WorkloadFootprint.of(web);

  test('forPods(-1) throws', () => {
    expect(() => webFootprint.forPods(-1)).toThrow('WorkloadFootprint.forPods(-1): give a whole number of pods, 0 or more');
  });

  test('forPods(1.5) throws', () => {
    expect(() => webFootprint.forPods(1.5)).toThrow('WorkloadFootprint.forPods(1.5): give a whole number of pods, 0 or more');
  });

  test.each([-1, 1.5])('amountsForPods(%p) throws', (pods) => {
    expect(() => webFootprint.amountsForPods(pods)).toThrow(`WorkloadFootprint.amountsForPods(${pods}): give a whole number of pods, 0 or more`);
  });

  describe('an Include', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'footprint-include-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const deployment = (name: string) => [
      'apiVersion: apps/v1',
      'kind: Deployment',
      `metadata: {name: ${name}}`,
      'spec:',
      `  selector: {matchLabels: {app: ${name}}}`,
      '  template:',
      `    metadata: {labels: {app: ${name}}}`,
      '    spec:',
      `      containers: [{name: ${name}, image: ${name}, resources: {requests: {cpu: 100m, memory: 64Mi}}}]`,
    ].join('\n');

    test('with two workloads throws', () => {
      const file = path.join(dir, 'two.yaml');
      fs.writeFileSync(file, `${deployment('a')}\n---\n${deployment('b')}\n`);
      const included = new Include(newChart(), 'manifests', { url: file });
      expect(() => WorkloadFootprint.of(included)).toThrow(
        'WorkloadFootprint.of(test/manifests): expected one workload object, found 2; pass each workload on its own',
      );
    });

    test('with one workload and a Service is measured', () => {
      const file = path.join(dir, 'one.yaml');
      fs.writeFileSync(file, `${deployment('a')}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n`);
      const includeChart = newChart();
      const kata = new KataRuntime(includeChart, 'kata');
      const included = new Include(includeChart, 'manifests', { url: file });
      kata.pin(included);
      const footprint = WorkloadFootprint.of(included);
      expect(footprint.runtimeClassName).toBe('kata-qemu');
      expect(footprint.replicas).toBe(1);
      expect(footprint.perPod).toEqual({ cpu: '350m', memory: '384Mi' });
    });

    test('with no workload throws', () => {
      const file = path.join(dir, 'none.yaml');
      fs.writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n');
      const included = new Include(newChart(), 'manifests', { url: file });
      expect(() => WorkloadFootprint.of(included)).toThrow(
        'WorkloadFootprint.of(test/manifests): expected one workload object, found 0; pass each workload on its own',
      );
    });
  });
});
