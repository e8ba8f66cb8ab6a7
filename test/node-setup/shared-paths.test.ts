/**
 * Two node setups that install the same host path fight over it on every node both select:
 * one's uninstall deletes the other's file while the other stays labelled ready, and with two
 * versions the last writer wins. That is a synth-time error, naming both setups and the path.
 */
import { App, Chart, Testing } from 'cdk8s';
import { CpuArchitecture, GvisorPlatform, GvisorRuntime, KataRuntime, NodeSetup, RuntimeArtifacts, SandboxedRuntime } from '../../src';
import { validationErrors } from '../core/support';

const RUNSC_SHA512 = 'a'.repeat(128);
const SHIM_SHA512 = 'b'.repeat(128);
const NEWER_RUNSC_SHA512 = 'c'.repeat(128);
const NEWER_SHIM_SHA512 = 'd'.repeat(128);
const RELEASE = GvisorRuntime.releaseArtifacts('20250101.0', { runscAmd64: RUNSC_SHA512, shimAmd64: SHIM_SHA512 });

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

/** A generic runc-based runtime that installs `artifacts` and `hostFiles`. */
interface GenericOptions {
  readonly artifacts?: RuntimeArtifacts[];
  readonly hostFiles?: { [path: string]: string };
}

function generic(chart: Chart, handler: string, options: GenericOptions): SandboxedRuntime {
  return new SandboxedRuntime(chart, handler, {
    handler,
    containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: `/opt/${handler}/bin/runc` } },
    ...options,
  });
}

const FIX = 'each setup would delete or overwrite the other\'s files on the nodes both select; share one NodeSetup between the runtimes (pass the same `nodeSetup`), '
  + 'give one of the artifacts another destination, or give the setups node selectors that never select the same node';

describe('Setups do not own shared artifacts: two setups that install the same host path are a synth error naming both', () => {
  test('two gVisor classes with release artifacts in two setups both write /usr/local/bin/runsc and its shim', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'systrap', { artifacts: RELEASE });
    new GvisorRuntime(chart, 'kvm', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM, artifacts: RELEASE });
    expect(validationErrors(app)).toEqual([
      `[test/systrap/NodeSetup] NodeSetup "runsc-node-setup": installs "/usr/local/bin/runsc" for runtime "gVisor (systrap)", and NodeSetup "gvisor-kvm-node-setup" (test/kvm/NodeSetup) installs it too for runtime "gVisor (kvm)": ${FIX}`,
      `[test/systrap/NodeSetup] NodeSetup "runsc-node-setup": installs "/usr/local/bin/containerd-shim-runsc-v1" for runtime "gVisor (systrap)", and NodeSetup "gvisor-kvm-node-setup" (test/kvm/NodeSetup) installs it too for runtime "gVisor (kvm)": ${FIX}`,
      `[test/kvm/NodeSetup] NodeSetup "gvisor-kvm-node-setup": installs "/usr/local/bin/runsc" for runtime "gVisor (kvm)", and NodeSetup "runsc-node-setup" (test/systrap/NodeSetup) installs it too for runtime "gVisor (systrap)": ${FIX}`,
      `[test/kvm/NodeSetup] NodeSetup "gvisor-kvm-node-setup": installs "/usr/local/bin/containerd-shim-runsc-v1" for runtime "gVisor (kvm)", and NodeSetup "runsc-node-setup" (test/systrap/NodeSetup) installs it too for runtime "gVisor (systrap)": ${FIX}`,
    ]);
  });

  test('the fix: one NodeSetup for both classes installs the binaries once', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'gvisor');
    new GvisorRuntime(chart, 'systrap', { artifacts: RELEASE, nodeSetup: setup });
    new GvisorRuntime(chart, 'kvm', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM, artifacts: RELEASE, nodeSetup: setup });
    expect(validationErrors(app)).toEqual([]);
  });

  test('setups whose node selectors never select the same node may install the same path', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'systrap', { artifacts: RELEASE, nodeSetup: new NodeSetup(chart, 'pool-a', { name: 'pool-a', nodeSelector: { pool: 'a' } }) });
    new GvisorRuntime(chart, 'kvm', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM, artifacts: RELEASE, nodeSetup: new NodeSetup(chart, 'pool-b', { name: 'pool-b', nodeSelector: { pool: 'b' } }) });
    expect(validationErrors(app)).toEqual([]);
    // A selector that only narrows the other (pool=a, and any node) still overlaps.
    const overlapping = newApp();
    new GvisorRuntime(overlapping.chart, 'systrap', { artifacts: RELEASE, nodeSetup: new NodeSetup(overlapping.chart, 'pool-a', { name: 'pool-a', nodeSelector: { pool: 'a' } }) });
    new GvisorRuntime(overlapping.chart, 'kvm', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM, artifacts: RELEASE });
    expect(validationErrors(overlapping.app)).toHaveLength(4);
  });

  test('artifacts for different architectures never meet on one node', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'systrap', { artifacts: RELEASE });
    new GvisorRuntime(chart, 'kvm', {
      name: 'gvisor-kvm',
      platform: GvisorPlatform.KVM,
      artifacts: GvisorRuntime.releaseArtifacts('20250101.0', { runscArm64: RUNSC_SHA512, shimArm64: SHIM_SHA512 }),
    });
    expect(validationErrors(app)).toEqual([]);
  });

  test('a file inside another setup\'s directory artifact overlaps it', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata');
    generic(chart, 'extra', { artifacts: [RuntimeArtifacts.fromUrl('https://example.com/qemu', RUNSC_SHA512, { destination: '/opt/kata/bin/qemu-system-x86_64', architecture: CpuArchitecture.AMD64 })] });
    expect(validationErrors(app)).toEqual([
      `[test/kata/NodeSetup] NodeSetup "kata-qemu-node-setup": installs "/opt/kata" (/opt/kata/bin/qemu-system-x86_64 overlaps it) for runtime "Kata Containers with QEMU", and NodeSetup "extra-node-setup" (test/extra/NodeSetup) installs it too for runtime "extra": ${FIX}`,
      `[test/extra/NodeSetup] NodeSetup "extra-node-setup": installs "/opt/kata/bin/qemu-system-x86_64" (/opt/kata overlaps it) for runtime "extra", and NodeSetup "kata-qemu-node-setup" (test/kata/NodeSetup) installs it too for runtime "Kata Containers with QEMU": ${FIX}`,
    ]);
  });

  test('a host file two setups write is shared too', () => {
    const { app, chart } = newApp();
    generic(chart, 'one', { hostFiles: { '/etc/sandbox/shared.toml': 'a = 1\n' } });
    generic(chart, 'two', { hostFiles: { '/etc/sandbox/shared.toml': 'a = 1\n' } });
    expect(validationErrors(app)).toEqual([
      `[test/one/NodeSetup] NodeSetup "one-node-setup": installs "/etc/sandbox/shared.toml" for runtime "one", and NodeSetup "two-node-setup" (test/two/NodeSetup) installs it too for runtime "two": ${FIX}`,
      `[test/two/NodeSetup] NodeSetup "two-node-setup": installs "/etc/sandbox/shared.toml" for runtime "two", and NodeSetup "one-node-setup" (test/one/NodeSetup) installs it too for runtime "one": ${FIX}`,
    ]);
  });

  test('within one setup, two versions at one path: the last would win, so it is an error naming both runtimes', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'gvisor');
    new GvisorRuntime(chart, 'systrap', { artifacts: RELEASE, nodeSetup: setup });
    new GvisorRuntime(chart, 'kvm', {
      name: 'gvisor-kvm',
      platform: GvisorPlatform.KVM,
      nodeSetup: setup,
      artifacts: GvisorRuntime.releaseArtifacts('20250601.0', { runscAmd64: NEWER_RUNSC_SHA512, shimAmd64: NEWER_SHIM_SHA512 }),
    });
    const tail = 'from different sources: the last one installed would replace the other; give them the same artifact (one version), or another destination';
    expect(validationErrors(app)).toEqual([
      `[test/gvisor] NodeSetup "runtimeclass-node-setup": runtimes "gVisor (systrap)" and "gVisor (kvm)" both install "/usr/local/bin/runsc", ${tail}`,
      `[test/gvisor] NodeSetup "runtimeclass-node-setup": runtimes "gVisor (systrap)" and "gVisor (kvm)" both install "/usr/local/bin/containerd-shim-runsc-v1", ${tail}`,
    ]);
  });
});
