import { ApiObject, App, Chart, Cron, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { PodOverhead, RuntimeClass } from '../../src/core';
import { K3sRuntimeClass, ManagedRuntimeClass, NvidiaGpuOperatorClass } from '../../src/managed';

function newChart(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test', { namespace: 'shop' }) };
}

function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c: IConstruct) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

function deploymentManifest(chart: Chart): any {
  return Testing.synth(chart).find((m) => m.kind === 'Deployment');
}

describe('GKE Sandbox', () => {
  const gvisor = ManagedRuntimeClass.gkeSandbox();

  test('the gvisor class with GKE\'s sandbox node selector and toleration', () => {
    expect(gvisor.runtimeClassName).toBe('gvisor');
    expect(gvisor.overhead).toBeUndefined();
    expect(gvisor.scheduling).toEqual({
      nodeSelector: { 'sandbox.gke.io/runtime': 'gvisor' },
      tolerations: [{ key: 'sandbox.gke.io/runtime', operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' }],
    });
    expect(gvisor.limits).toEqual({
      allowHostNetwork: false,
      allowHostPid: false,
      allowHostIpc: false,
      // The deprecated names read the same, for one minor version.
      hostNetwork: false,
      hostPid: false,
      hostIpc: false,
      reason: 'GKE Sandbox runs each pod on gVisor\'s application kernel, which has its own network, PID and IPC namespaces and cannot join the node\'s',
    });
  });

  test('is not a construct and synthesizes nothing; a pinned Deployment names it', () => {
    const { app, chart } = newChart();
    const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27', securityContext: { ensureNonRoot: false } }] });
    ManagedRuntimeClass.gkeSandbox().pin(web);
    const manifests = Testing.synth(chart);
    expect(manifests.map((m) => m.kind)).toEqual(['Deployment']);
    expect(deploymentManifest(chart).spec.template.spec.runtimeClassName).toBe('gvisor');
    expect(validationErrors(app)).toEqual([]);
  });

  test('a pinned pod that needs the node\'s network is an error naming GKE Sandbox\'s limit', () => {
    const { app, chart } = newChart();
    const agent = new kplus.Deployment(chart, 'agent', { containers: [{ image: 'agent:1', securityContext: { ensureNonRoot: false } }], hostNetwork: true });
    ManagedRuntimeClass.gkeSandbox().pin(agent);
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/agent\/Resource\] Deployment "[^"]+" \(pinned to RuntimeClass "gvisor"\) sets hostNetwork: true, which RuntimeClass "gvisor" cannot give \(GKE Sandbox runs each pod on gVisor's application kernel/);
  });

  test('a pod node selector that contradicts the sandbox pool label is an error', () => {
    const { app, chart } = newChart();
    const pod = new ApiObject(chart, 'pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { nodeSelector: { 'sandbox.gke.io/runtime': 'runc' }, containers: [{ name: 'c', image: 'busybox' }] },
    });
    ManagedRuntimeClass.gkeSandbox().pin(pod);
    expect(validationErrors(app)).toEqual([
      '[test/pod] Pod "p" (pinned to RuntimeClass "gvisor") conflict: runtimeClass.scheduling.nodeSelector[sandbox.gke.io/runtime] = gvisor; pod.nodeSelector[sandbox.gke.io/runtime] = runc: the pods would be rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value',
    ]);
  });

  test('each call returns a fresh reference', () => {
    expect(ManagedRuntimeClass.gkeSandbox()).not.toBe(ManagedRuntimeClass.gkeSandbox());
  });
});

describe('AKS pod sandboxing', () => {
  test('kata-vm-isolation with AKS\'s 600Mi overhead and its node pool label', () => {
    const kata = ManagedRuntimeClass.aksPodSandboxing();
    expect(kata.runtimeClassName).toBe('kata-vm-isolation');
    expect(kata.overhead?.amounts).toEqual({ memory: '600Mi' });
    expect(kata.scheduling).toEqual({ nodeSelector: { 'kubernetes.azure.com/kata-vm-isolation': 'true' } });
    expect(kata.limits).toMatchObject({ allowHostNetwork: false, allowHostPid: false, allowHostIpc: false });
    expect(kata.limits.reason).toBe('AKS pod sandboxing runs each pod in its own Kata VM, which cannot join the node\'s namespaces');
  });

  test('the legacy class of KataMshvVmIsolation node pools', () => {
    const kata = ManagedRuntimeClass.aksPodSandboxing({ legacyClassName: true });
    expect(kata.runtimeClassName).toBe('kata-mshv-vm-isolation');
    expect(kata.overhead).toBeUndefined();
    expect(kata.scheduling).toEqual({ nodeSelector: { 'kubernetes.azure.com/kata-mshv-vm-isolation': 'true' } });
  });

  test('an overhead of your own replaces the default', () => {
    const kata = ManagedRuntimeClass.aksPodSandboxing({ overhead: PodOverhead.of({ memory: '1Gi', cpu: '100m' }) });
    expect(kata.overhead?.amounts).toEqual({ memory: '1Gi', cpu: '100m' });
  });

  test('hostPID on a pinned Job is an error', () => {
    const { app, chart } = newChart();
    const job = new ApiObject(chart, 'job', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'debug' },
      spec: { template: { spec: { hostPID: true, restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    ManagedRuntimeClass.aksPodSandboxing().pin(job);
    expect(validationErrors(app)).toEqual([
      '[test/job] Job "debug" (pinned to RuntimeClass "kata-vm-isolation") sets hostPID: true, which RuntimeClass "kata-vm-isolation" cannot give (AKS pod sandboxing runs each pod in its own Kata VM, which cannot join the node\'s namespaces): remove hostPID or run this workload with another runtime',
    ]);
  });
});

describe('NVIDIA GPU operator', () => {
  test('nvidia by default, without overhead, scheduling or limits', () => {
    const nvidia = ManagedRuntimeClass.nvidiaGpuOperator();
    expect(nvidia.runtimeClassName).toBe('nvidia');
    expect(nvidia.overhead).toBeUndefined();
    expect(nvidia.scheduling).toEqual({});
    expect(nvidia.limits).toEqual({});
  });

  test('the CDI and legacy classes', () => {
    expect(ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.CDI }).runtimeClassName).toBe('nvidia-cdi');
    expect(ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.LEGACY }).runtimeClassName).toBe('nvidia-legacy');
  });

  test('a renamed class (operator.runtimeClass)', () => {
    expect(ManagedRuntimeClass.nvidiaGpuOperator({ name: 'gpu' }).runtimeClassName).toBe('gpu');
  });

  test('a name for the CDI class, or an invalid name, is an error', () => {
    expect(() => ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.CDI, name: 'gpu' })).toThrow(
      'ManagedRuntimeClass.nvidiaGpuOperator: name "gpu" renames only the NVIDIA class (the ClusterPolicy\'s operator.runtimeClass); the operator names nvidia-cdi itself: remove name',
    );
    expect(() => ManagedRuntimeClass.nvidiaGpuOperator({ name: 'GPU' })).toThrow('RuntimeClass.fromName("GPU"): the name must be a DNS-1123 subdomain');
  });
});

describe('k3s', () => {
  test.each([
    [K3sRuntimeClass.CRUN, 'crun'],
    [K3sRuntimeClass.NVIDIA, 'nvidia'],
    [K3sRuntimeClass.NVIDIA_EXPERIMENTAL, 'nvidia-experimental'],
    [K3sRuntimeClass.LUNATIC, 'lunatic'],
    [K3sRuntimeClass.SLIGHT, 'slight'],
    [K3sRuntimeClass.SPIN, 'spin'],
    [K3sRuntimeClass.WWS, 'wws'],
    [K3sRuntimeClass.WASMEDGE, 'wasmedge'],
    [K3sRuntimeClass.WASMER, 'wasmer'],
    [K3sRuntimeClass.WASMTIME, 'wasmtime'],
  ])('%s', (cls, name) => {
    const reference = ManagedRuntimeClass.k3s(cls);
    expect(reference.runtimeClassName).toBe(name);
    expect(reference.scheduling).toEqual({});
    expect(reference.overhead).toBeUndefined();
  });

  test('a pinned CronJob names the class', () => {
    const { app, chart } = newChart();
    const cron = new kplus.CronJob(chart, 'cron', { schedule: Cron.schedule({ minute: '*/5' }), containers: [{ image: 'spin-app:1', securityContext: { ensureNonRoot: false } }] });
    ManagedRuntimeClass.k3s(K3sRuntimeClass.SPIN).pin(cron);
    const manifest = Testing.synth(chart).find((m) => m.kind === 'CronJob');
    expect(manifest.spec.jobTemplate.spec.template.spec.runtimeClassName).toBe('spin');
    expect(validationErrors(app)).toEqual([]);
  });
});

test('references are what RuntimeClass.fromName returns: not constructs', () => {
  expect(RuntimeClass.isRuntimeClass(ManagedRuntimeClass.gkeSandbox())).toBe(false);
});
