import { App, Chart, Testing } from 'cdk8s';
import { IConstruct } from 'constructs';
import { RuntimeClass } from '../../src/core';
import { K3sRuntimeClass, ManagedPlatform, ManagedPlatformKind, ManagedRuntimeClass } from '../../src/managed';
import { CrunRuntime, GvisorRuntime, KataRuntime } from '../../src/runtimes';

function newChart(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c: IConstruct) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

describe('the classes each platform creates', () => {
  test.each([
    [ManagedPlatformKind.GKE, ['gvisor']],
    [ManagedPlatformKind.AKS, ['kata-vm-isolation', 'kata-mshv-vm-isolation']],
    [ManagedPlatformKind.NVIDIA_GPU_OPERATOR, ['nvidia', 'nvidia-cdi', 'nvidia-legacy']],
    [ManagedPlatformKind.K3S, ['crun', 'nvidia', 'nvidia-experimental', 'lunatic', 'slight', 'spin', 'wws', 'wasmedge', 'wasmer', 'wasmtime']],
  ])('%s', (platform, names) => {
    expect(ManagedPlatform.providedClassNames(platform)).toEqual(names);
  });

  test('every preset refers to a class its platform lists, with the same facts', () => {
    const namesOf = ManagedPlatform.providedClassNames;
    expect(namesOf(ManagedPlatformKind.GKE)).toContain(ManagedRuntimeClass.gkeSandbox().runtimeClassName);
    expect(namesOf(ManagedPlatformKind.AKS)).toContain(ManagedRuntimeClass.aksPodSandboxing().runtimeClassName);
    expect(namesOf(ManagedPlatformKind.AKS)).toContain(ManagedRuntimeClass.aksPodSandboxing({ legacyClassName: true }).runtimeClassName);
    expect(namesOf(ManagedPlatformKind.NVIDIA_GPU_OPERATOR)).toContain(ManagedRuntimeClass.nvidiaGpuOperator().runtimeClassName);
    for (const cls of Object.values(K3sRuntimeClass)) {
      expect(namesOf(ManagedPlatformKind.K3S)).toContain(ManagedRuntimeClass.k3s(cls).runtimeClassName);
    }
  });
});

describe('ManagedPlatform', () => {
  test('synthesizes nothing', () => {
    const { chart } = newChart();
    new ManagedPlatform(chart, 'gke', { platform: ManagedPlatformKind.GKE });
    expect(Testing.synth(chart)).toEqual([]);
  });

  test('GKE: a gVisor runtime preset named gvisor collides with GKE Sandbox\'s class', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'gke', { platform: ManagedPlatformKind.GKE });
    new GvisorRuntime(chart, 'sandbox', { name: 'gvisor', nodeSetup: false });
    expect(validationErrors(app)).toEqual([
      '[test/gke] ManagedPlatform GKE Sandbox: RuntimeClass "gvisor" (test/sandbox/Default) has the name of a class GKE Sandbox already creates (GKE creates and manages it on clusters with GKE Sandbox), so applying it would fight GKE Sandbox over the object: remove it and refer to the existing class with ManagedRuntimeClass.gkeSandbox()',
    ]);
  });

  test('GKE: a gVisor preset under its default name (runsc) and a reference to gvisor are fine', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'gke', { platform: ManagedPlatformKind.GKE });
    new GvisorRuntime(chart, 'own', { nodeSetup: false });
    const reference = ManagedRuntimeClass.gkeSandbox();
    expect(reference.runtimeClassName).toBe('gvisor');
    expect(validationErrors(app)).toEqual([]);
  });

  test('AKS: a RuntimeClass construct with either AKS class name', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'aks', { platform: ManagedPlatformKind.AKS });
    new RuntimeClass(chart, 'kata', { name: 'kata-vm-isolation', handler: 'kata' });
    new RuntimeClass(chart, 'old', { name: 'kata-mshv-vm-isolation', handler: 'kata' });
    new KataRuntime(chart, 'qemu', { nodeSetup: false });
    expect(validationErrors(app)).toEqual([
      '[test/aks] ManagedPlatform AKS pod sandboxing: RuntimeClass "kata-vm-isolation" (test/kata) has the name of a class AKS pod sandboxing already creates (AKS creates it and its addon manager keeps reconciling it), so applying it would fight AKS pod sandboxing over the object: remove it and refer to the existing class with ManagedRuntimeClass.aksPodSandboxing()',
      '[test/aks] ManagedPlatform AKS pod sandboxing: RuntimeClass "kata-mshv-vm-isolation" (test/old) has the name of a class AKS pod sandboxing already creates (AKS creates it and its addon manager keeps reconciling it), so applying it would fight AKS pod sandboxing over the object: remove it and refer to the existing class with ManagedRuntimeClass.aksPodSandboxing({ legacyClassName: true })',
    ]);
  });

  test('NVIDIA GPU operator: the default classes and a renamed one', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'gpu', { platform: ManagedPlatformKind.NVIDIA_GPU_OPERATOR, additionalClassNames: ['gpu'] });
    new RuntimeClass(chart, 'cdi', { name: 'nvidia-cdi', handler: 'nvidia-cdi' });
    new RuntimeClass(chart, 'renamed', { name: 'gpu', handler: 'nvidia' });
    new RuntimeClass(chart, 'other', { name: 'nvidia-custom', handler: 'nvidia' });
    expect(validationErrors(app)).toEqual([
      '[test/gpu] ManagedPlatform NVIDIA GPU operator: RuntimeClass "nvidia-cdi" (test/cdi) has the name of a class the NVIDIA GPU operator already creates (the operator owns it and rewrites it on every reconcile), so applying it would fight the NVIDIA GPU operator over the object: remove it and refer to the existing class with ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.CDI })',
      '[test/gpu] ManagedPlatform NVIDIA GPU operator: RuntimeClass "gpu" (test/renamed) has the name of a class the NVIDIA GPU operator already creates (the operator owns it and rewrites it on every reconcile), so applying it would fight the NVIDIA GPU operator over the object: remove it and refer to the existing class with RuntimeClass.fromName(\'gpu\')',
    ]);
  });

  test('k3s: the crun preset collides with k3s\'s crun class', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'k3s', { platform: ManagedPlatformKind.K3S });
    new CrunRuntime(chart, 'crun', { nodeSetup: false });
    new RuntimeClass(chart, 'spin', { name: 'spin', handler: 'spin' });
    expect(validationErrors(app)).toEqual([
      '[test/k3s] ManagedPlatform k3s: RuntimeClass "crun" (test/crun/Default) has the name of a class k3s already creates (k3s deploys it from its packaged manifests every time a server starts), so applying it would fight k3s over the object: remove it and refer to the existing class with ManagedRuntimeClass.k3s(K3sRuntimeClass.CRUN)',
      '[test/k3s] ManagedPlatform k3s: RuntimeClass "spin" (test/spin) has the name of a class k3s already creates (k3s deploys it from its packaged manifests every time a server starts), so applying it would fight k3s over the object: remove it and refer to the existing class with ManagedRuntimeClass.k3s(K3sRuntimeClass.SPIN)',
    ]);
  });

  test('k3s: a crun preset under another name is fine', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'k3s', { platform: ManagedPlatformKind.K3S });
    new CrunRuntime(chart, 'crun', { name: 'fast', nodeSetup: false });
    expect(validationErrors(app)).toEqual([]);
  });

  test('classes in other charts of the app are found too', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'gke', { platform: ManagedPlatformKind.GKE });
    new RuntimeClass(new Chart(app, 'other'), 'rc', { name: 'gvisor', handler: 'runsc' });
    expect(validationErrors(app)).toHaveLength(1);
    expect(validationErrors(app)[0]).toContain('RuntimeClass "gvisor" (other/rc)');
  });

  test('an invalid additional class name', () => {
    const { app, chart } = newChart();
    const platform = new ManagedPlatform(chart, 'gpu', { platform: ManagedPlatformKind.NVIDIA_GPU_OPERATOR, additionalClassNames: ['GPU', 'nvidia'] });
    expect(platform.classNames).toEqual(['nvidia', 'nvidia-cdi', 'nvidia-legacy', 'GPU']);
    expect(validationErrors(app)).toEqual([
      '[test/gpu] ManagedPlatform NVIDIA GPU operator: additionalClassNames[0] "GPU" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    ]);
  });

  test('app.synth() fails on a collision', () => {
    const { app, chart } = newChart();
    new ManagedPlatform(chart, 'k3s', { platform: ManagedPlatformKind.K3S });
    new RuntimeClass(chart, 'rc', { name: 'wasmtime', handler: 'wasmtime' });
    expect(() => app.synth()).toThrow(/\[test\/k3s\] ManagedPlatform k3s: RuntimeClass "wasmtime" \(test\/rc\) has the name of a class k3s already creates/);
  });
});
