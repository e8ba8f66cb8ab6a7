import { App, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  CrunRuntime,
  GvisorPlatform,
  GvisorRuntime,
  KataHypervisor,
  KataRuntime,
  PodOverhead,
  RuncRuntime,
  SandboxedRuntime,
  TaintEffect,
  TolerationOperator,
} from '../../src';

/** Every validation message of the app, as `app.synth()` reports them: `[construct path] message`. */
function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

describe('Kata overhead minimum', () => {
  test('QEMU with 160Mi of memory (kata-deploy\'s value) is below the 320Mi minimum', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '160Mi' }) });
    expect(validationErrors(app)).toEqual([
      '[test/kata] Kata Containers with QEMU runtime "kata-qemu": overhead.memory "160Mi" is below the 320Mi that '
      + 'Kata Containers with QEMU needs per pod: the scheduler would under-count each pod and nodes would overcommit '
      + 'memory until pods are OOM-killed; raise overhead.memory to at least 320Mi, or set allowOverheadBelowMinimum: '
      + 'true if you measured a smaller guest',
    ]);
  });

  test('app.synth() fails with the same message, naming the construct path', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '160Mi' }) });
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Validation failed with the following errors:\n {2}\[test\/kata\] Kata Containers with QEMU runtime "kata-qemu": overhead\.memory "160Mi" is below the 320Mi/);
    expect(message).toContain('OOM-killed');
    expect(message).toContain('allowOverheadBelowMinimum: true');
  });

  test('an overhead given as cdk8s-plus values is held to the same minimum', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: Size.mebibytes(160) }) });
    expect(validationErrors(app)).toEqual([
      '[test/kata] Kata Containers with QEMU runtime "kata-qemu": overhead.memory "160Mi" is below the 320Mi that '
      + 'Kata Containers with QEMU needs per pod: the scheduler would under-count each pod and nodes would overcommit '
      + 'memory until pods are OOM-killed; raise overhead.memory to at least 320Mi, or set allowOverheadBelowMinimum: '
      + 'true if you measured a smaller guest',
    ]);
  });

  test('CPU below the minimum is reported on its own', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.CLOUD_HYPERVISOR, overhead: PodOverhead.of({ cpu: '100m', memory: '130Mi' }) });
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/kata\] Kata Containers with Cloud Hypervisor runtime "kata-clh": overhead\.cpu "100m" is below the 250m that Kata Containers with Cloud Hypervisor needs per pod: /);
    expect(errors[0]).toContain('raise overhead.cpu to at least 250m');
  });

  test('an overhead without memory is reported as unset', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m' }) });
    expect(validationErrors(app)).toEqual([
      '[test/kata] Kata Containers with QEMU runtime "kata-qemu": overhead.memory is unset, which is below the 320Mi '
      + 'that Kata Containers with QEMU needs per pod: the scheduler would under-count each pod and nodes would '
      + 'overcommit memory until pods are OOM-killed; raise overhead.memory to at least 320Mi, or set '
      + 'allowOverheadBelowMinimum: true if you measured a smaller guest',
    ]);
  });

  test('an empty overhead reports both cpu and memory', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.FIRECRACKER, overhead: PodOverhead.of({}) });
    const errors = validationErrors(app);
    expect(errors.map((e) => e.match(/overhead\.(\w+) is unset/)?.[1])).toEqual(['cpu', 'memory']);
    expect(errors.every((e) => e.startsWith('[test/kata] Kata Containers with Firecracker runtime "kata-fc": '))).toBe(true);
  });

  test('allowOverheadBelowMinimum: true accepts a smaller overhead and renders it', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '160Mi' }), allowOverheadBelowMinimum: true });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].overhead).toEqual({ podFixed: { cpu: '250m', memory: '160Mi' } });
  });

  test('allowOverheadBelowMinimum: true also accepts an overhead without memory', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m' }), allowOverheadBelowMinimum: true });
    expect(validationErrors(app)).toEqual([]);
  });

  test('a larger overhead is fine', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '1', memory: '1Gi' }) });
    expect(validationErrors(app)).toEqual([]);
  });

  test('the minimum written in other units is fine (0.3125Gi = 320Mi, 0.25 = 250m)', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '0.25', memory: '0.3125Gi' }) });
    expect(validationErrors(app)).toEqual([]);
  });

  test('decimal units are compared exactly: 335M is below 320Mi (335544320 bytes)', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '335M' }) });
    expect(validationErrors(app)).toEqual([expect.stringContaining('overhead.memory "335M" is below the 320Mi')]);
  });

  test('a malformed overhead is reported once, by the RuntimeClass, without an OOM message', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: '250m', memory: '320MB' }) });
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/kata\/Default\] RuntimeClass "kata-qemu": overhead\.memory: "320MB" is not a Kubernetes quantity/);
    expect(errors[0]).not.toContain('OOM');
  });

  test('runtimes without a minimum accept any valid overhead', () => {
    const { app, chart } = newApp();
    new CrunRuntime(chart, 'crun', { overhead: PodOverhead.of({ cpu: '1m' }) });
    new RuncRuntime(chart, 'runc', { handler: 'runc-audit', overhead: PodOverhead.of({ memory: '1Mi' }) });
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('gVisor overhead minimum', () => {
  test('an overhead below the measured default is an error naming the field, the value and the fix', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { overhead: PodOverhead.of({ cpu: '10m', memory: '32Mi' }) });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": overhead.memory "32Mi" is below the 64Mi that gVisor (systrap) needs per pod: '
      + 'the scheduler would under-count each pod and nodes would overcommit memory until pods are OOM-killed; raise overhead.memory to at least 64Mi, '
      + 'or set allowOverheadBelowMinimum: true if you measured a smaller guest',
    ]);
  });

  test('a memory-only overhead leaves cpu unset, which is reported; the opt-out accepts both', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { platform: GvisorPlatform.PTRACE, overhead: PodOverhead.of({ memory: '128Mi' }) });
    expect(validationErrors(app)).toEqual([expect.stringMatching(/^\[test\/gvisor\] gVisor \(ptrace\) runtime "runsc": overhead\.cpu is unset, which is below the 10m /)]);

    const other = newApp();
    new GvisorRuntime(other.chart, 'gvisor', { overhead: PodOverhead.of({ memory: '20Mi' }), allowOverheadBelowMinimum: true });
    expect(validationErrors(other.app)).toEqual([]);
    expect(Testing.synth(other.chart).find((o) => o.kind === 'RuntimeClass').overhead).toEqual({ podFixed: { memory: '20Mi' } });
  });
});

describe('preset scheduling', () => {
  test('the user\'s scheduling is kept on the RuntimeClass', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', {
      scheduling: {
        nodeSelector: { 'katacontainers.io/kata-runtime': 'true', 'node.example.com/pool': 'sandbox' },
        tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE }],
      },
    });
    expect(validationErrors(app)).toEqual([]);
    // The node setup adds its ready label for the handler to the user's selector.
    expect(kata.scheduling.nodeSelector).toEqual({
      'katacontainers.io/kata-runtime': 'true',
      'node.example.com/pool': 'sandbox',
      'runtimeclass.cdk8s.io/kata-qemu': 'ready',
    });
    expect(Testing.synth(chart)[0].scheduling).toEqual({
      nodeSelector: { 'katacontainers.io/kata-runtime': 'true', 'node.example.com/pool': 'sandbox', 'runtimeclass.cdk8s.io/kata-qemu': 'ready' },
      tolerations: [{ key: 'sandbox', operator: 'Exists', effect: 'NoSchedule' }],
    });
  });

  test('adding a compatible node selector merges it', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    gvisor.runtimeClass.addScheduling({ nodeSelector: { 'runtime.example.com/runsc': 'ready', 'pool': 'sandbox' } }, 'the node setup');
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].scheduling).toEqual({
      nodeSelector: { 'pool': 'sandbox', 'runtime.example.com/runsc': 'ready', 'runtimeclass.cdk8s.io/runsc': 'ready' },
    });
  });

  test('a conflicting node selector value is an error naming both values and who required them', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    kata.runtimeClass.addScheduling({ nodeSelector: { pool: 'general' } }, 'the node setup');
    expect(validationErrors(app)).toEqual([
      '[test/kata/Default] RuntimeClass "kata-qemu": scheduling.nodeSelector["pool"] = "general" (required by the node setup) '
      + 'conflicts with "sandbox" set earlier: no node can have both; use the same value or another key',
    ]);
    // The first value stays: the class never selects nodes no one asked for.
    expect(kata.scheduling.nodeSelector).toEqual({ 'pool': 'sandbox', 'runtimeclass.cdk8s.io/kata-qemu': 'ready' });
  });

  test('a user selector on the ready label with another value conflicts with the node setup', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { 'runtimeclass.cdk8s.io/kata-qemu': 'true' } } });
    expect(validationErrors(app)).toEqual([
      '[test/kata/Default] RuntimeClass "kata-qemu": scheduling.nodeSelector["runtimeclass.cdk8s.io/kata-qemu"] = "ready" '
      + '(required by the node setup "kata-qemu-node-setup") conflicts with "true" set earlier: no node can have both; use the same value or another key',
    ]);
  });

  test('a user selector on the ready label with the value "ready" is merged', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { 'runtimeclass.cdk8s.io/kata-qemu': 'ready' } } });
    expect(validationErrors(app)).toEqual([]);
    expect(kata.scheduling.nodeSelector).toEqual({ 'runtimeclass.cdk8s.io/kata-qemu': 'ready' });
  });

  test('nodeSetup: false leaves the user\'s selector alone', () => {
    const { app, chart } = newApp();
    const youki = new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      nodeSetup: false,
      containerd: { runtimeType: 'io.containerd.runc.v2' },
      scheduling: { nodeSelector: { pool: 'youki' } },
    });
    expect(validationErrors(app)).toEqual([]);
    expect(youki.scheduling.nodeSelector).toEqual({ pool: 'youki' });
  });

  test('invalid scheduling given to a preset is reported by its RuntimeClass', () => {
    const { app, chart } = newApp();
    new CrunRuntime(chart, 'crun', { scheduling: { tolerations: [{ key: 'a', operator: TolerationOperator.EXISTS, value: 'x' }] } });
    expect(validationErrors(app)).toEqual([
      '[test/crun/Default] RuntimeClass "crun": scheduling.tolerations[0].value "x" is set with operator EXISTS, '
      + 'which matches any value: remove the value or use EQUAL',
    ]);
  });
});

describe('gVisor runscFlags', () => {
  test('repeating platform is an error pointing at the typed option', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { platform: 'kvm' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscFlags.platform = "kvm" repeats a typed option: set it with platform: GvisorPlatform.* instead',
    ]);
  });

  test('repeating network is an error pointing at hostNetworking', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { network: 'host' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscFlags.network = "host" repeats a typed option: set it with hostNetworking instead',
    ]);
  });

  test('a renamed class whose name cannot be a handler names the prop the user set', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'byName', { name: 'gvisor.kvm' });
    new GvisorRuntime(chart, 'byMetadata', { metadata: { name: 'gvisor.ptrace' } });
    const rule = 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots';
    expect(validationErrors(app)).toEqual([
      `[test/byName/Default] RuntimeClass "gvisor.kvm": handler "gvisor.kvm" ${rule} (it comes from name: a renamed gVisor class uses its name as its handler; choose a name without dots)`,
      `[test/byMetadata/Default] RuntimeClass "gvisor.ptrace": handler "gvisor.ptrace" ${rule} (it comes from metadata.name: a renamed gVisor class uses its name as its handler; choose a name without dots)`,
    ]);
  });

  test('a flag with leading dashes is an error', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { '--debug': 'true' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscFlags key "--debug" starts with "-": write flags without dashes (e.g. "debug-log")',
    ]);
  });

  test('a flag with uppercase letters is an error', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { DebugLog: '/tmp' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscFlags key "DebugLog" is not a runsc flag name (lowercase letters, digits and "-")',
    ]);
  });

  test('a flag with an "=" in its name is an error', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { 'debug=true': '' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscFlags key "debug=true" is not a runsc flag name (lowercase letters, digits and "-")',
    ]);
  });

  test('every problem is reported in one synth, under the class name', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { name: 'gvisor-kvm', platform: GvisorPlatform.KVM, runscFlags: { 'platform': 'ptrace', '-x': '1' } });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (kvm) runtime "gvisor-kvm": runscFlags.platform = "ptrace" repeats a typed option: set it with platform: GvisorPlatform.* instead',
      '[test/gvisor] gVisor (kvm) runtime "gvisor-kvm": runscFlags key "-x" starts with "-": write flags without dashes (e.g. "debug-log")',
    ]);
  });

  test('valid flags are fine', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags: { 'overlay2': 'root:self', 'debug-log': '/var/log/runsc/', 'net-raw': 'true' } });
    expect(validationErrors(app)).toEqual([]);
  });

  test('a relative runscPath is an error', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscPath: 'bin/runsc' });
    const errors = validationErrors(app);
    expect(errors).toContain('[test/gvisor] gVisor (systrap) runtime "runsc": runscPath "bin/runsc" must be an absolute path on the node');
  });

  // Guards: the mistake is reported under runscPath only, not again as crio.runtimePath or as an artifact.
  test('a relative runscPath is reported once, under runscPath', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscPath: 'bin/runsc' });
    expect(validationErrors(app)).toEqual([
      '[test/gvisor] gVisor (systrap) runtime "runsc": runscPath "bin/runsc" must be an absolute path on the node',
    ]);
  });

  // BUG: src/node-setup/node-setup.ts problems() (the `name` check) also reports the node setup name
  // derived from the invalid handler ('NodeSetup "gvisor.kvm-node-setup": name "gvisor.kvm-node-setup"
  // must be a DNS-1123 label ...'), a name the user never wrote, for the mistake the RuntimeClass already
  // reports. A runtime's own node setup should stay silent while its runtime has problems.
  test('a renamed class whose name is not a DNS-1123 label is reported on the handler it becomes', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { name: 'gvisor.kvm', platform: GvisorPlatform.KVM });
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/gvisor\/Default\] RuntimeClass "gvisor\.kvm": handler "gvisor\.kvm" /);
  });
});

describe('binary paths of crun and runc', () => {
  test('a relative crun binaryPath is reported once, under binaryPath', () => {
    const { app, chart } = newApp();
    new CrunRuntime(chart, 'crun', { binaryPath: 'bin/crun' });
    expect(validationErrors(app)).toEqual([
      '[test/crun] crun runtime "crun": binaryPath "bin/crun" must be an absolute path on the node',
    ]);
  });

  test('a relative runc binaryPath is reported once, under binaryPath', () => {
    const { app, chart } = newApp();
    new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath: 'bin/runc' });
    expect(validationErrors(app)).toEqual([
      '[test/audit] runc runtime "runc-audit": binaryPath "bin/runc" must be an absolute path on the node',
    ]);
  });
});

describe('SandboxedRuntime handler options', () => {
  test('the ceiling given both as nodeAllocatable and as limits.nodeAllocatable is an error, not a silent choice', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      displayName: 'youki',
      containerd: { runtimeType: 'io.containerd.runc.v2' },
      nodeAllocatable: { memory: Size.gibibytes(2) },
      limits: { nodeAllocatable: { memory: '4Gi' } },
    });
    expect(validationErrors(app)).toEqual([
      '[test/youki] youki runtime "youki": nodeAllocatable and limits.nodeAllocatable are both set: set the ceiling once, with nodeAllocatable',
    ]);
  });

  test('a generic runtime with valid facts synthesizes its class', () => {
    const { app, chart } = newApp();
    const youki = new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      displayName: 'youki',
      containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/local/bin/youki', NoNewKeyring: true, IoUid: 0 } },
    });
    expect(validationErrors(app)).toEqual([]);
    expect(youki.runtimeClassName).toBe('youki');
    const manifests = Testing.synth(chart);
    expect(manifests[0]).toEqual({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'youki' },
      handler: 'youki',
      scheduling: { nodeSelector: { 'runtimeclass.cdk8s.io/youki': 'ready' } },
    });
    // Its own node setup, named after the handler.
    expect(manifests.map((o) => [o.kind, o.metadata.name])).toEqual([
      ['RuntimeClass', 'youki'],
      ['Namespace', 'runtimeclass-system'],
      ['ServiceAccount', 'youki-node-setup'],
      ['ResourceQuota', 'youki-node-setup-critical-pods'],
      ['ClusterRole', 'youki-node-setup'],
      ['ClusterRoleBinding', 'youki-node-setup'],
      ['Role', 'youki-node-setup'],
      ['RoleBinding', 'youki-node-setup'],
      ['ValidatingAdmissionPolicy', 'youki-node-setup-own-node'],
      ['ValidatingAdmissionPolicyBinding', 'youki-node-setup-own-node'],
      ['ConfigMap', expect.stringMatching(/^youki-node-setup-[0-9a-f]{10}$/)],
      ['DaemonSet', 'youki-node-setup'],
    ]);
    expect(youki._handlerConfig().crio).toBeUndefined();
  });

  test('a generic runtime with nodeSetup: false synthesizes only its class', () => {
    const { app, chart } = newApp();
    const youki = new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      nodeSetup: false,
      containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/local/bin/youki' } },
    });
    expect(validationErrors(app)).toEqual([]);
    expect(youki.nodeSetup).toBeUndefined();
    expect(Testing.synth(chart)).toEqual([{ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'youki' }, handler: 'youki' }]);
  });

  test('a relative containerd.runtimePath is an error', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', { handler: 'shim', containerd: { runtimeType: 'io.containerd.shim.v2', runtimePath: 'bin/containerd-shim-v2' } });
    expect(validationErrors(app)).toEqual([
      '[test/r] shim runtime "shim": containerd.runtimePath "bin/containerd-shim-v2" must be an absolute path on the node',
    ]);
  });

  test('relative CRI-O paths are errors', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', {
      handler: 'shim',
      containerd: { runtimeType: 'io.containerd.shim.v2' },
      crio: { runtimePath: 'shim', runtimeConfigPath: 'etc/shim.toml' },
    });
    expect(validationErrors(app)).toEqual([
      '[test/r] shim runtime "shim": crio.runtimePath "shim" must be an absolute path on the node',
      '[test/r] shim runtime "shim": crio.runtimeConfigPath "etc/shim.toml" must be an absolute path on the node',
    ]);
  });

  test('a runtimeType that is not a shim type is an error', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', { handler: 'shim', containerd: { runtimeType: 'io.containerd shim v2' } });
    expect(validationErrors(app)).toEqual([
      '[test/r] shim runtime "shim": containerd.runtimeType "io.containerd shim v2" is not a shim type: use a name like "io.containerd.runc.v2"',
    ]);
  });

  test.each([
    ['a fraction', 1.5, '1.5'],
    ['an object', { a: 1 }, '{"a":1}'],
    ['an array', ['a'], '["a"]'],
    ['null', null, 'null'],
  ])('an option value that is %s is an error', (_what, value, shown) => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', { handler: 'shim', displayName: 'My shim', containerd: { runtimeType: 'io.containerd.shim.v2', options: { Weight: value } } });
    expect(validationErrors(app)).toEqual([
      `[test/r] My shim runtime "shim": containerd.options.Weight = ${shown}: option values must be strings, booleans or integers`,
    ]);
  });

  test('SystemdCgroup together with systemdCgroupFromNode is an error', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', {
      handler: 'runc-systemd',
      containerd: { runtimeType: 'io.containerd.runc.v2', options: { SystemdCgroup: true }, systemdCgroupFromNode: true },
    });
    expect(validationErrors(app)).toEqual([
      '[test/r] runc-systemd runtime "runc-systemd": containerd.options.SystemdCgroup is set together with systemdCgroupFromNode: '
      + 'keep one (systemdCgroupFromNode copies the node\'s runc setting)',
    ]);
  });

  test('SystemdCgroup alone is fine', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'r', { handler: 'runc-systemd', containerd: { runtimeType: 'io.containerd.runc.v2', options: { SystemdCgroup: true } } });
    expect(validationErrors(app)).toEqual([]);
  });

  test('a minimumOverhead with no overhead at all renders the minimum', () => {
    const { app, chart } = newApp();
    const r = new SandboxedRuntime(chart, 'r', {
      handler: 'vm',
      containerd: { runtimeType: 'io.containerd.vm.v2' },
      minimumOverhead: PodOverhead.of({ memory: '64Mi' }),
    });
    expect(validationErrors(app)).toEqual([]);
    expect(r.overhead?.amounts).toEqual({ memory: '64Mi' });
    expect(Testing.synth(chart)[0].overhead).toEqual({ podFixed: { memory: '64Mi' } });
  });

  // BUG: src/node-setup/node-setup.ts problems() (the `name` check) adds '[test/runc/NodeSetup] NodeSetup
  // "Runc_Audit-node-setup": name "Runc_Audit-node-setup" must be a DNS-1123 label ...': the same mistake a
  // third time, under a name derived from the handler that the user never wrote.
  test('an invalid handler is reported by the RuntimeClass, for the handler and the name derived from it', () => {
    const { app, chart } = newApp();
    new RuncRuntime(chart, 'runc', { handler: 'Runc_Audit' });
    expect(validationErrors(app)).toEqual([
      expect.stringMatching(/^\[test\/runc\/Default\] RuntimeClass "Runc_Audit": name "Runc_Audit" must be a DNS-1123 subdomain: .*\(it is the RuntimeClass's metadata\.name\)$/),
      expect.stringMatching(/^\[test\/runc\/Default\] RuntimeClass "Runc_Audit": handler "Runc_Audit" must be a DNS-1123 label: /),
    ]);
  });

  // BUG: src/node-setup/node-setup.ts problems() (the loop over other NodeSetups) adds four messages for the
  // same mistake: each runtime's own node setup ("runsc-node-setup", named after the class's handler)
  // reports "another NodeSetup ... has the same name and namespace: give each its own `name`" and
  // 'handler "runsc" is also installed by ...'. The fix is the one the RuntimeClass message gives (a
  // `name` for the class, which renames gVisor's handler and so its node setup); the NodeSetup advice
  // names a prop of a construct the user never created.
  test('two presets with the same class name are an error', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'a');
    new GvisorRuntime(chart, 'b', { platform: GvisorPlatform.KVM });
    const errors = validationErrors(app);
    expect(errors).toEqual([
      expect.stringMatching(/^\[test\/a\/Default\] RuntimeClass "runsc": another RuntimeClass in this app has the same name \(test\/b\/Default\)/),
      expect.stringMatching(/^\[test\/b\/Default\] RuntimeClass "runsc": another RuntimeClass in this app has the same name \(test\/a\/Default\)/),
    ]);
  });
});
