// Values a new user gives that slipped past the synth: unit slips in an overhead, strings outside
// an enum from JavaScript, a misspelt runsc flag, cdk8s Lazy values, and undefined where a
// construct or a runtime is required. Each now fails the synth (or works) with a readable message.
import { App, Chart, Lazy, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { validationErrors } from './support';
import {
  CrunRuntime,
  GvisorRuntime,
  KataRuntime,
  KubernetesDistribution,
  NodeSetup,
  PodOverhead,
  RuntimeArtifacts,
  RuntimeClass,
  SandboxedDaemonSet,
} from '../../src';
import { describeValue, isLazy, nameText, resolveValue } from '../../src/core/values';

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

describe('Overhead cpu: "250" (250 cores) and memory: "320m" (0.32 bytes) pass on a plain class', () => {
  test('a CPU overhead above 8 CPUs is an error that suggests millicores', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', overhead: PodOverhead.of({ cpu: '250', memory: '320Mi' }) });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": overhead.cpu: "250" is 250 CPUs added to every pod, more than the 8 any runtime needs: '
      + 'did you mean "250m" (millicores; e.g. Cpu.millis(250))? Fix the amount, or, if it is meant, set allowUnusualAmounts: true on the overhead',
    ]);
  });

  test('a memory overhead below 1Mi is an error that suggests mebibytes', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', overhead: PodOverhead.of({ cpu: '250m', memory: '320m' }) });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": overhead.memory: "320m" is less than 1Mi added to every pod; "320m" is in thousandths of a byte: '
      + 'did you mean "320Mi" (mebibytes; e.g. Size.mebibytes(320))? Fix the amount, or, if it is meant, set allowUnusualAmounts: true on the overhead',
    ]);
  });

  test('bytes without a unit are named too; zero and the bounds themselves are fine', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'small', { handler: 'small', overhead: PodOverhead.of({ memory: '1000' }) });
    new RuntimeClass(chart, 'zero', { handler: 'zero', overhead: PodOverhead.of({ cpu: '0', memory: '0' }) });
    new RuntimeClass(chart, 'edges', { handler: 'edges', overhead: PodOverhead.of({ cpu: '8', memory: '1Mi' }) });
    expect(validationErrors(app)).toEqual([
      '[test/small] RuntimeClass "small": overhead.memory: "1000" is less than 1Mi added to every pod; a runtime adds at least a few mebibytes '
      + 'to a pod: give the amount with a unit (e.g. "64Mi", Size.mebibytes(64)) Fix the amount, or, if it is meant, set allowUnusualAmounts: true on the overhead',
    ]);
  });

  test('allowUnusualAmounts: true accepts them, and they are synthesized as given', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', overhead: PodOverhead.of({ cpu: '250', memory: '320m', allowUnusualAmounts: true }) });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].overhead).toEqual({ podFixed: { cpu: '250', memory: '320m' } });
  });

  test('a runtime preset\'s overhead is checked the same way', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { overhead: PodOverhead.of({ cpu: '100', memory: '64Mi' }) });
    expect(validationErrors(app).join('\n')).toContain('overhead.cpu: "100" is 100 CPUs added to every pod');
  });
});

describe('A gVisor platform outside the enum (a JavaScript caller) passes the synth', () => {
  test('GvisorRuntime platform: a string that is not a GvisorPlatform is an error listing the members', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { platform: 'systrapp' as any });
    expect(validationErrors(app)).toContain(
      '[test/gvisor] gVisor (systrapp) runtime "runsc": platform is "systrapp", which is not a GvisorPlatform: '
      + 'use one of GvisorPlatform.SYSTRAP, GvisorPlatform.KVM, GvisorPlatform.PTRACE');
  });

  test('KataRuntime hypervisor outside KataHypervisor throws at once, naming the members (not a TypeError)', () => {
    const { chart } = newApp();
    expect(() => new KataRuntime(chart, 'kata', { hypervisor: 'qemu-tdx' as any })).toThrow(
      'KataRuntime "kata": hypervisor is "qemu-tdx", which is not a KataHypervisor: use one of KataHypervisor.QEMU, '
      + 'KataHypervisor.CLOUD_HYPERVISOR, KataHypervisor.FIRECRACKER, KataHypervisor.DRAGONBALL');
  });

  test('NodeSetup distribution and an artifact\'s architecture outside their enums are errors', () => {
    const { app, chart } = newApp();
    const nodeSetup = new NodeSetup(chart, 'nodes', { distribution: 'eks' as any });
    new CrunRuntime(chart, 'crun', {
      nodeSetup,
      artifacts: [RuntimeArtifacts.fromUrl('https://example.com/crun', 'a'.repeat(128), { destination: '/usr/local/bin/crun', architecture: 'x86_64' as any })],
    });
    const errors = validationErrors(app);
    expect(errors).toContain('[test/nodes] NodeSetup "runtimeclass-node-setup": distribution is "eks", which is not a KubernetesDistribution: use one of '
      + Object.keys(KubernetesDistribution).map((k) => `KubernetesDistribution.${k}`).join(', '));
    expect(errors.some((e) => e.includes('url artifact "https://example.com/crun": architecture is "x86_64", which is not a CpuArchitecture: use one of CpuArchitecture.AMD64'))).toBe(true);
  });

  test('a toleration\'s operator and effect outside their enums are errors', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', operator: 'Exist' as any, effect: 'NoSchedul' as any }] },
    });
    const errors = validationErrors(app);
    expect(errors).toContain('[test/rc] RuntimeClass "kata": scheduling.tolerations[0].operator is "Exist", which is not a TolerationOperator: use one of TolerationOperator.EQUAL, TolerationOperator.EXISTS');
    expect(errors).toContain('[test/rc] RuntimeClass "kata": scheduling.tolerations[0].effect is "NoSchedul", which is not a TaintEffect: use one of TaintEffect.NO_SCHEDULE, TaintEffect.PREFER_NO_SCHEDULE, TaintEffect.NO_EXECUTE');
  });
});

describe('A misspelt runsc flag (`overlay` for `overlay2`) passes the synth; only the node finds out', () => {
  const errorsFor = (runscFlags: { [flag: string]: string }, allowUncheckedRunscFlags?: boolean) => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { runscFlags, allowUncheckedRunscFlags });
    return validationErrors(app);
  };
  const prefix = '[test/gvisor] gVisor (systrap) runtime "runsc": ';

  test('overlay (deprecated, a boolean) given overlay2\'s value: an error that points to overlay2', () => {
    expect(errorsFor({ overlay: 'root:self' })).toEqual([
      `${prefix}runscFlags.overlay is deprecated in runsc ("use --overlay2=all:memory to achieve the same effect"): did you mean "overlay2"? `
      + 'Fix the name, or, for a flag of a newer runsc, set allowUncheckedRunscFlags: true',
    ]);
  });

  test('a name no known runsc has: an error naming the nearest flag and the releases checked', () => {
    expect(errorsFor({ 'overlay3': 'root:self', 'debug-logs': '/tmp/' })).toEqual([
      `${prefix}runscFlags.overlay3 is not a flag of runsc releases 20221219.0 and 20240729.0: did you mean "overlay2"? `
      + 'Fix the name (`runsc flags` lists them), or, for a flag of a newer runsc, set allowUncheckedRunscFlags: true',
      `${prefix}runscFlags.debug-logs is not a flag of runsc releases 20221219.0 and 20240729.0: did you mean "debug-log"? `
      + 'Fix the name (`runsc flags` lists them), or, for a flag of a newer runsc, set allowUncheckedRunscFlags: true',
    ]);
  });

  test('values runsc would refuse: a boolean flag given "yes", a number flag given words', () => {
    expect(errorsFor({ 'net-raw': 'yes', 'num-network-channels': 'four' })).toEqual([
      `${prefix}runscFlags.net-raw = "yes": it is a boolean flag: give "true" or "false" (runsc would refuse --net-raw=yes and no pod of the class would start)`,
      `${prefix}runscFlags.num-network-channels = "four": it takes a whole number (runsc would refuse --num-network-channels=four and no pod of the class would start)`,
    ]);
  });

  test('allowUncheckedRunscFlags accepts a flag of a newer runsc, but still checks the values of known flags', () => {
    expect(errorsFor({ 'some-future-flag': 'on', 'overlay': 'true' }, true)).toEqual([]);
    expect(errorsFor({ 'some-future-flag': 'on', 'net-raw': 'yes' }, true)).toEqual([
      `${prefix}runscFlags.net-raw = "yes": it is a boolean flag: give "true" or "false" (runsc would refuse --net-raw=yes and no pod of the class would start)`,
    ]);
  });

  test('flags of either known release, with valid values, pass', () => {
    expect(errorsFor({ 'overlay2': 'root:self', 'directfs': 'false', 'num-network-channels': '2', 'debug-log': '/var/log/runsc/' })).toEqual([]);
  });
});

describe('A Lazy name gives RuntimeClass "[object Object]"; a Lazy overhead gives a message about "an object (Lazy)"', () => {
  // pin() writes runtimeClassName with a JSON patch, which cdk8s applies after it resolves Lazy
  // values: the name must be known when pin() is called, or the workload is written with the Lazy.
  test('a Lazy name that cannot be produced yet when a workload is pinned: pin() says so', () => {
    const { chart } = newApp();
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata', name: Lazy.any({ produce: () => { throw new Error('the suffix is not known yet'); } }) });
    const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
    expect(() => rc.pin(deployment)).toThrow(
      'RuntimeClass at test/rc: pin() writes runtimeClassName into test/web when it is called, but the name is a Lazy value that cannot be produced yet '
      + '(the suffix is not known yet): give the name as a string, or a Lazy that can be produced before pin() is called');
  });

  test('a Lazy name is produced before it is checked (and when a workload is pinned): a good one passes, and pinned workloads agree with it', () => {
    const { app, chart } = newApp();
    let suffix = '';
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata', name: Lazy.any({ produce: () => `kata${suffix}` }) });
    suffix = '-fast';
    const deployment = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx', securityContext: { ensureNonRoot: false } }] });
    rc.pin(deployment);
    expect(validationErrors(app)).toEqual([]);
    const manifests = Testing.synth(chart);
    expect(manifests.find((m) => m.kind === 'RuntimeClass').metadata.name).toBe('kata-fast');
    expect(manifests.find((m) => m.kind === 'Deployment').spec.template.spec.runtimeClassName).toBe('kata-fast');
  });

  test('a Lazy name that produces a bad name is named by what it produced', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', name: Lazy.any({ produce: () => 'Kata_Fast' }) });
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/rc\] RuntimeClass "Kata_Fast": name "Kata_Fast" must /);
  });

  test('a name that is no string at all is named readably, with the construct path', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', name: { value: 'kata' } as any });
    expect(validationErrors(app)).toContain(
      '[test/rc] RuntimeClass at test/rc: name is an object {"value":"kata"}, not a string: give the RuntimeClass\'s metadata.name as a string (or a Lazy that produces one)');
  });

  test('Lazy overhead amounts are produced when checked, after the app is built', () => {
    const { app, chart } = newApp();
    let memory = '1Gi';
    new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      overhead: PodOverhead.of({ cpu: Lazy.any({ produce: () => '250m' }), memory: Lazy.any({ produce: () => memory }), resources: { 'hugepages-2Mi': Lazy.any({ produce: () => '4Mi' }) } }),
    });
    memory = '320Mi';
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].overhead).toEqual({ podFixed: { 'cpu': '250m', 'hugepages-2Mi': '4Mi', 'memory': '320Mi' } });
  });

  test('a Lazy overhead that produces no quantity is named by what it produced', () => {
    const { app, chart } = newApp();
    new RuntimeClass(chart, 'rc', { handler: 'kata', overhead: PodOverhead.of({ cpu: '250m', memory: Lazy.any({ produce: () => 320 }) }) });
    expect(validationErrors(app)).toContain(
      '[test/rc] RuntimeClass "kata": overhead.memory: number 320 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))');
  });
});

describe('pin(undefined) and SandboxedDaemonSet({ runtime: undefined }) from JavaScript throw "TypeError: Cannot read properties of undefined"', () => {
  test('pin(undefined) names the class and what pin() takes', () => {
    const { chart } = newApp();
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata' });
    expect(() => rc.pin(undefined as any)).toThrow(
      'RuntimeClass "kata": pin() was given undefined, not a construct: give it the workload to pin (a cdk8s-plus Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod, a Kube* object, or an Include)');
  });

  test('a sandboxed workload without a runtime names itself and what runtime takes', () => {
    const { chart } = newApp();
    expect(() => new SandboxedDaemonSet(chart, 'agent', { runtime: undefined as any, containers: [{ image: 'nginx' }] })).toThrow(
      'SandboxedDaemonSet "test/agent": runtime is undefined: give the RuntimeClass its pods run with (a runtime preset such as a GvisorRuntime, a RuntimeClass, or RuntimeClass.fromName("name"))');
  });
});

describe('values as the checks see them and as messages name them (src/core/values.ts)', () => {
  // A Lazy from another copy of cdk8s in the app's node_modules: same shape, another class object.
  class OtherLazy { public constructor(private readonly make: () => unknown) {} public produce(): unknown { return this.make(); } }
  Object.defineProperty(OtherLazy, 'name', { value: 'Lazy' });
  const chain = (length: number, last: unknown): unknown => {
    let value: unknown = last;
    for (let i = 0; i < length; i++) { const inner = value; value = Lazy.any({ produce: () => inner }); }
    return value;
  };

  test('a Lazy of another cdk8s copy counts by its shape; objects of other shapes do not', () => {
    expect(isLazy(Lazy.any({ produce: () => 1 }))).toBe(true);
    expect(isLazy(new OtherLazy(() => 1))).toBe(true);
    expect(isLazy({ produce: () => 1 })).toBe(false); // a plain object with produce()
    expect(isLazy(Object.assign(Object.create(null), { produce: () => 1 }))).toBe(false); // no constructor at all
    const named = new OtherLazy(() => 1) as any;
    named.produce = 'not a function';
    expect(isLazy(named)).toBe(false);
    expect([isLazy(null), isLazy(undefined), isLazy('Lazy'), isLazy(OtherLazy)]).toEqual([false, false, false, false]);
    expect(resolveValue(new OtherLazy(() => 'kata'))).toEqual({ value: 'kata' });
  });

  test('a Lazy that produces Lazy values is produced again, up to 10 deep; one that never stops is a problem, not a hang', () => {
    expect(resolveValue(chain(10, 'kata'))).toEqual({ value: 'kata' });
    expect(resolveValue(chain(11, 'kata'))).toEqual({ problem: 'a Lazy value that keeps producing Lazy values' });
    const endless: any = Lazy.any({ produce: () => endless });
    expect(describeValue(endless)).toBe('a Lazy value that keeps producing Lazy values');
  });

  test('a Lazy that throws is a problem naming what it threw', () => {
    expect(resolveValue(Lazy.any({ produce: () => { throw new Error('the chart is not built yet'); } })))
      .toEqual({ problem: 'a Lazy value that cannot be produced yet (the chart is not built yet)' });
    expect(describeValue(new OtherLazy(() => { throw 'no'; }))).toBe('a Lazy value that cannot be produced yet (no)');
  });

  test('values are named by type, class or JSON, shortened past 80 characters', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue('kata')).toBe('"kata"');
    expect(describeValue(Lazy.any({ produce: () => 'kata' }))).toBe('a Lazy value producing "kata"');
    expect(describeValue(5)).toBe('number 5');
    expect(describeValue(null)).toBe('object null');
    expect(describeValue(true)).toBe('boolean true');
    expect(describeValue(new Map())).toBe('an object (Map)');
    expect(describeValue(Object.create(null))).toBe('an object {}');
    const exactly80 = { k: 'x'.repeat(72) }; // {"k":"..."} is 8 + 72 characters
    expect(describeValue(exactly80)).toBe(`an object ${JSON.stringify(exactly80)}`);
    const longer = { k: 'x'.repeat(73) };
    expect(describeValue(longer)).toBe(`an object ${JSON.stringify(longer).slice(0, 77)}...`);
    const circular: any = {};
    circular.self = circular;
    expect(describeValue(circular)).toBe('an object (not JSON)');
  });

  test('a name is the string it is or produces; anything else reads as describeValue names it', () => {
    expect(nameText('kata')).toBe('kata');
    expect(nameText(Lazy.any({ produce: () => 'kata' }))).toBe('kata');
    expect(nameText(Lazy.any({ produce: () => 7 }))).toBe('a Lazy value producing number 7');
    expect(nameText({ value: 'kata' })).toBe('an object {"value":"kata"}');
  });
});
