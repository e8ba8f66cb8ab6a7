import { Chart, Testing } from 'cdk8s';
import {
  CrioRuntimeType,
  CrunRuntime,
  GvisorPlatform,
  GvisorRuntime,
  KataHypervisor,
  KataRuntime,
  RuncRuntime,
  SandboxedRuntime,
} from '../../src';
import { HandlerConfig } from '../../src/containerd/handler-config';

function newChart(): Chart {
  return new Chart(Testing.app(), 'test');
}

function handlerConfigOf(runtime: SandboxedRuntime): HandlerConfig {
  return runtime._handlerConfig();
}

const KATA_CONFIG_DIR = '/opt/kata/share/defaults/kata-containers';
const KATA_GO_SHIM = '/opt/kata/bin/containerd-shim-kata-v2';

describe('Kata Containers', () => {
  test.each([
    [KataHypervisor.QEMU, 'kata-qemu', KATA_GO_SHIM, `${KATA_CONFIG_DIR}/configuration-qemu.toml`],
    [KataHypervisor.CLOUD_HYPERVISOR, 'kata-clh', KATA_GO_SHIM, `${KATA_CONFIG_DIR}/configuration-clh.toml`],
    [KataHypervisor.FIRECRACKER, 'kata-fc', KATA_GO_SHIM, `${KATA_CONFIG_DIR}/configuration-fc.toml`],
    [KataHypervisor.DRAGONBALL, 'kata-dragonball', '/opt/kata/runtime-rs/bin/containerd-shim-kata-v2', `${KATA_CONFIG_DIR}/runtime-rs/configuration-dragonball.toml`],
  ])('%s: handler %s, shim %s, ConfigPath %s', (hypervisor, handler, shim, configPath) => {
    const kata = new KataRuntime(newChart(), 'kata', { hypervisor });
    const config = handlerConfigOf(kata);
    expect(config.handler).toBe(handler);
    expect(config.runtimeType).toBe(`io.containerd.${handler}.v2`);
    expect(config.runtimePath).toBe(shim);
    expect(config.options).toEqual({ ConfigPath: configPath });
    expect(config.privilegedWithoutHostDevices).toBe(true);
    expect(config.podAnnotations).toEqual(['io.katacontainers.*']);
    expect(config.containerAnnotations).toBeUndefined();
    expect(config.systemdCgroupFromNode).toBeUndefined();
    expect(config.crio).toEqual({
      runtimePath: shim,
      runtimeType: 'vm',
      runtimeRoot: '/run/vc',
      runtimeConfigPath: configPath,
      privilegedWithoutHostDevices: true,
    });
    expect(kata.requiresKvm).toBe(true);
  });

  test('QEMU: the whole handler config', () => {
    const kata = new KataRuntime(newChart(), 'kata');
    expect(handlerConfigOf(kata)).toStrictEqual({
      handler: 'kata-qemu',
      runtimeType: 'io.containerd.kata-qemu.v2',
      runtimePath: KATA_GO_SHIM,
      options: { ConfigPath: `${KATA_CONFIG_DIR}/configuration-qemu.toml` },
      systemdCgroupFromNode: undefined,
      privilegedWithoutHostDevices: true,
      podAnnotations: ['io.katacontainers.*'],
      containerAnnotations: undefined,
      snapshotter: undefined,
      crio: {
        runtimePath: KATA_GO_SHIM,
        runtimeType: CrioRuntimeType.VM,
        runtimeRoot: '/run/vc',
        runtimeConfigPath: `${KATA_CONFIG_DIR}/configuration-qemu.toml`,
        privilegedWithoutHostDevices: true,
        // CRI-O's allowed_annotations lists CRI-O's own experimental annotations; it passes
        // io.katacontainers.* to the runtime without it.
        allowedAnnotations: undefined,
      },
    });
  });

  test('only Firecracker uses the devmapper snapshotter', () => {
    const chart = newChart();
    const snapshotters = Object.values(KataHypervisor).map((hypervisor) =>
      [hypervisor, handlerConfigOf(new KataRuntime(chart, hypervisor, { hypervisor })).snapshotter]);
    expect(snapshotters).toEqual([
      [KataHypervisor.QEMU, undefined],
      [KataHypervisor.CLOUD_HYPERVISOR, undefined],
      [KataHypervisor.FIRECRACKER, 'devmapper'],
      [KataHypervisor.DRAGONBALL, undefined],
    ]);
  });

  test('a renamed class keeps the hypervisor\'s handler in the node config', () => {
    const kata = new KataRuntime(newChart(), 'kata', { name: 'secure', hypervisor: KataHypervisor.CLOUD_HYPERVISOR });
    expect(handlerConfigOf(kata)).toMatchObject({ handler: 'kata-clh', runtimeType: 'io.containerd.kata-clh.v2' });
  });

  test('every Kata hypervisor requires KVM', () => {
    const chart = newChart();
    expect(Object.values(KataHypervisor).map((hypervisor) => new KataRuntime(chart, hypervisor, { hypervisor }).requiresKvm))
      .toEqual([true, true, true, true]);
  });
});

describe('gVisor', () => {
  test('the default runtime: runsc shim with TypeUrl and ConfigPath', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor');
    expect(handlerConfigOf(gvisor)).toStrictEqual({
      handler: 'runsc',
      runtimeType: 'io.containerd.runsc.v1',
      runtimePath: undefined,
      options: { TypeUrl: 'io.containerd.runsc.v1.options', ConfigPath: '/etc/containerd/runsc.toml' },
      systemdCgroupFromNode: undefined,
      privilegedWithoutHostDevices: undefined,
      podAnnotations: undefined,
      containerAnnotations: undefined,
      snapshotter: undefined,
      crio: undefined,
    });
    expect(gvisor.runscPath).toBe('/usr/local/bin/runsc');
    expect(gvisor.configPath).toBe('/etc/containerd/runsc.toml');
  });


  test.each([
    [GvisorPlatform.SYSTRAP, false],
    [GvisorPlatform.KVM, true],
    [GvisorPlatform.PTRACE, false],
  ])('platform %s: requiresKvm is %s', (platform, requiresKvm) => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', { platform });
    expect(gvisor.requiresKvm).toBe(requiresKvm);
    expect(gvisor.platform).toBe(platform);
    expect(gvisor.runscFlags).toEqual({ platform });
  });

  test('hostNetworking adds network=host', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', { hostNetworking: true });
    expect(gvisor.runscFlags).toEqual({ network: 'host', platform: 'systrap' });
  });

  test('without hostNetworking there is no network flag', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', { hostNetworking: false });
    expect(gvisor.runscFlags).toEqual({ platform: 'systrap' });
  });

  test('user flags are merged with the typed ones, keys sorted', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', {
      platform: GvisorPlatform.KVM,
      hostNetworking: true,
      runscFlags: { 'overlay2': 'root:self', 'debug-log': '/var/log/runsc/', 'debug': 'true' },
    });
    expect(gvisor.runscFlags).toEqual({
      'debug': 'true',
      'debug-log': '/var/log/runsc/',
      'network': 'host',
      'overlay2': 'root:self',
      'platform': 'kvm',
    });
    expect(Object.keys(gvisor.runscFlags)).toEqual(['debug', 'debug-log', 'network', 'overlay2', 'platform']);
  });

  test('a repeated typed flag does not override the typed option (and is reported, see validation tests)', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', { platform: GvisorPlatform.KVM, runscFlags: { platform: 'ptrace' } });
    expect(gvisor.runscFlags).toEqual({ platform: 'kvm' });
  });

  test('runsc.toml path and handler follow the class name', () => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', { name: 'gvisor-ptrace', platform: GvisorPlatform.PTRACE });
    expect(handlerConfigOf(gvisor)).toMatchObject({
      handler: 'gvisor-ptrace',
      runtimeType: 'io.containerd.runsc.v1',
      options: { TypeUrl: 'io.containerd.runsc.v1.options', ConfigPath: '/etc/containerd/runsc-gvisor-ptrace.toml' },
    });
  });

  // Guards: under CRI-O 1.34 runsc ran pod sandboxes but no app container (test/support/README.md),
  // so no gVisor class is offered for CRI-O, whatever its flags.
  test.each([
    ['the default flags (SYSTRAP)', {}],
    ['platform KVM', { platform: GvisorPlatform.KVM }],
    ['platform PTRACE', { platform: GvisorPlatform.PTRACE }],
    ['hostNetworking', { hostNetworking: true }],
    ['an extra runsc flag', { runscFlags: { overlay2: 'root:self' } }],
  ])('a gVisor class with %s has no CRI-O configuration', (_what, props) => {
    const gvisor = new GvisorRuntime(newChart(), 'gvisor', props);
    expect(handlerConfigOf(gvisor).crio).toBeUndefined();
  });
});

describe('crun', () => {
  test('runc v2 shim with BinaryName /usr/bin/crun and the node\'s SystemdCgroup', () => {
    const crun = new CrunRuntime(newChart(), 'crun');
    expect(handlerConfigOf(crun)).toStrictEqual({
      handler: 'crun',
      runtimeType: 'io.containerd.runc.v2',
      runtimePath: undefined,
      options: { BinaryName: '/usr/bin/crun' },
      systemdCgroupFromNode: true,
      privilegedWithoutHostDevices: undefined,
      podAnnotations: undefined,
      containerAnnotations: undefined,
      snapshotter: undefined,
      crio: {
        runtimePath: '/usr/bin/crun',
        runtimeType: CrioRuntimeType.OCI,
        runtimeRoot: '/run/crun',
        runtimeConfigPath: undefined,
        privilegedWithoutHostDevices: undefined,
        allowedAnnotations: undefined,
      },
    });
    expect(crun.requiresKvm).toBe(false);
  });

  test('binaryPath sets BinaryName and the CRI-O runtime_path', () => {
    const crun = new CrunRuntime(newChart(), 'crun', { binaryPath: '/usr/local/bin/crun' });
    const config = handlerConfigOf(crun);
    expect(config.options).toEqual({ BinaryName: '/usr/local/bin/crun' });
    expect(config.crio?.runtimePath).toBe('/usr/local/bin/crun');
  });
});

describe('runc', () => {
  test('the default handler: runc v2 shim, no options, the node\'s SystemdCgroup', () => {
    const runc = new RuncRuntime(newChart(), 'runc');
    expect(handlerConfigOf(runc)).toStrictEqual({
      handler: 'runc',
      runtimeType: 'io.containerd.runc.v2',
      runtimePath: undefined,
      options: undefined,
      systemdCgroupFromNode: true,
      privilegedWithoutHostDevices: undefined,
      podAnnotations: undefined,
      containerAnnotations: undefined,
      snapshotter: undefined,
      crio: {
        runtimePath: '/usr/bin/runc',
        runtimeType: CrioRuntimeType.OCI,
        runtimeRoot: '/run/runc',
        runtimeConfigPath: undefined,
        privilegedWithoutHostDevices: undefined,
        allowedAnnotations: undefined,
      },
    });
    expect(runc.requiresKvm).toBe(false);
  });

  test('handler runc-audit with a binary of its own', () => {
    const runc = new RuncRuntime(newChart(), 'audit', { handler: 'runc-audit', binaryPath: '/opt/audit/runc' });
    expect(handlerConfigOf(runc)).toMatchObject({
      handler: 'runc-audit',
      runtimeType: 'io.containerd.runc.v2',
      options: { BinaryName: '/opt/audit/runc' },
      systemdCgroupFromNode: true,
      crio: { runtimePath: '/opt/audit/runc', runtimeType: 'oci' },
    });
  });
});

describe('the node setup facts as one snapshot per preset', () => {
  test('every preset', () => {
    const chart = newChart();
    const runtimes: SandboxedRuntime[] = [
      ...Object.values(KataHypervisor).map((hypervisor) => new KataRuntime(chart, `kata-${hypervisor}`, { hypervisor })),
      new GvisorRuntime(chart, 'gvisor'),
      new GvisorRuntime(chart, 'gvisor-kvm', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM }),
      new CrunRuntime(chart, 'crun'),
      new RuncRuntime(chart, 'runc'),
      new RuncRuntime(chart, 'runc-audit', { handler: 'runc-audit' }),
    ];
    // Through JSON, as the node setup will render it: unset fields drop out.
    expect(JSON.parse(JSON.stringify(runtimes.map(handlerConfigOf)))).toMatchSnapshot();
  });
});
