// The API reads the way cdk8s-plus does: tolerations take a Duration and cdk8s-plus's taint
// queries, and host namespace limits say what they allow. The old names keep working, deprecated.
import { Chart, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { validationErrors } from './support';
import { RuntimeClass, RuntimeClassDefault, KataRuntime, MutatingAdmissionPolicyVersion, TaintEffect, TolerationOperator } from '../../src';

function newChart() {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

function hostNetworkDeployment(chart: Chart): kplus.Deployment {
  return new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27', securityContext: { ensureNonRoot: false } }], hostNetwork: true });
}

describe('tolerationSeconds is a number where cdk8s-plus uses Duration', () => {
  test('evictAfter takes a Duration and renders as tolerationSeconds', () => {
    const { chart } = newChart();
    new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', value: 'kata', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }] },
    });
    const [runtimeClass] = Testing.synth(chart);
    expect(runtimeClass.scheduling.tolerations).toEqual([{ key: 'sandbox', value: 'kata', effect: 'NoExecute', tolerationSeconds: 300 }]);
  });

  test('the deprecated tolerationSeconds still works, and the same value under both names is accepted', () => {
    const { app, chart } = newChart();
    new RuntimeClass(chart, 'old', { handler: 'kata', scheduling: { tolerations: [{ key: 'a', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 60 }] } });
    new RuntimeClass(chart, 'both', { handler: 'kata-fc', scheduling: { tolerations: [{ key: 'a', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 60, evictAfter: Duration.minutes(1) }] } });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart).map((c) => c.scheduling.tolerations[0].tolerationSeconds)).toEqual([60, 60]);
  });

  test('evictAfter and tolerationSeconds with different values, a fraction of a second, or no Duration are errors', () => {
    const { app, chart } = newChart();
    new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      scheduling: {
        tolerations: [
          { key: 'a', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 60, evictAfter: Duration.minutes(2) },
          { key: 'b', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.millis(1500) },
          { key: 'c', effect: TaintEffect.NO_EXECUTE, evictAfter: 30 as any },
          { key: 'd', effect: TaintEffect.NO_SCHEDULE, evictAfter: Duration.seconds(30) },
        ],
      },
    });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": scheduling.tolerations[0].evictAfter (120 s) and its deprecated tolerationSeconds (60) differ: give only evictAfter',
      '[test/rc] RuntimeClass "kata": scheduling.tolerations[1].evictAfter (1.5 s) must be a whole number of seconds',
      '[test/rc] RuntimeClass "kata": scheduling.tolerations[2].evictAfter is number 30, not a Duration: give Duration.seconds(n), Duration.minutes(n), ...',
      '[test/rc] RuntimeClass "kata": scheduling.tolerations[3].evictAfter (30 s) is set but effect is NoSchedule: evictAfter only applies with effect: TaintEffect.NO_EXECUTE',
    ]);
  });

  test('a node setup renders evictAfter as tolerationSeconds on its DaemonSet', () => {
    const { chart } = newChart();
    new KataRuntime(chart, 'kata', { scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.hours(1) }] } });
    const daemonSet = Testing.synth(chart).find((m) => m.kind === 'DaemonSet');
    expect(daemonSet.spec.template.spec.tolerations).toEqual([{ key: 'sandbox', effect: 'NoExecute', tolerationSeconds: 3600 }]);
  });
});

describe("the library's own TaintEffect and RuntimeToleration sit beside cdk8s-plus's", () => {
  test('toleratedTaints takes cdk8s-plus taint queries (kplus.TaintEffect, evictAfter) and reads back as tolerations', () => {
    const { app, chart } = newChart();
    const runtimeClass = new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      scheduling: {
        tolerations: [{ key: 'own', operator: TolerationOperator.EXISTS }],
        toleratedTaints: [
          kplus.NodeTaintQuery.is('sandbox', 'kata', { effect: kplus.TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(10) }),
          kplus.NodeTaintQuery.exists('dedicated', { effect: kplus.TaintEffect.NO_SCHEDULE }),
        ],
      },
    });
    expect(validationErrors(app)).toEqual([]);
    expect(runtimeClass.scheduling.tolerations!.map((t) => [t.key, t.operator, t.value, t.effect, t.evictAfter?.toSeconds()])).toEqual([
      ['own', TolerationOperator.EXISTS, undefined, undefined, undefined],
      ['sandbox', TolerationOperator.EQUAL, 'kata', TaintEffect.NO_EXECUTE, 600],
      ['dedicated', TolerationOperator.EXISTS, undefined, TaintEffect.NO_SCHEDULE, undefined],
    ]);
    expect(Testing.synth(chart)[0].scheduling.tolerations).toEqual([
      { key: 'own', operator: 'Exists' },
      { key: 'sandbox', operator: 'Equal', value: 'kata', effect: 'NoExecute', tolerationSeconds: 600 },
      { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
    ]);
  });

  test("a runtime's own node setup tolerates the taints its class tolerates through cdk8s-plus queries", () => {
    const { chart } = newChart();
    new KataRuntime(chart, 'kata', { scheduling: { toleratedTaints: [kplus.NodeTaintQuery.is('pool', 'vm', { effect: kplus.TaintEffect.NO_SCHEDULE })] } });
    const daemonSet = Testing.synth(chart).find((m) => m.kind === 'DaemonSet');
    expect(daemonSet.spec.template.spec.tolerations).toEqual([{ key: 'pool', operator: 'Equal', value: 'vm', effect: 'NoSchedule' }]);
  });

  test('a toleratedTaints entry that is no cdk8s-plus query is an error naming it', () => {
    const { app, chart } = newChart();
    new RuntimeClass(chart, 'rc', { handler: 'kata', scheduling: { toleratedTaints: [{ key: 'sandbox' } as any] } });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": scheduling.toleratedTaints[0] is an object {"key":"sandbox"}, not a cdk8s-plus NodeTaintQuery: use kplus.NodeTaintQuery.is(key, value), .exists(key) or .any()',
    ]);
  });

  test("the library's TaintEffect has cdk8s-plus's values", () => {
    expect(Object.values(TaintEffect).sort()).toEqual(Object.values(kplus.TaintEffect).sort());
  });
});

describe('RuntimeLimits.hostNetwork: false reads backwards', () => {
  test('allowHostNetwork: false refuses a pinned pod with hostNetwork: true', () => {
    const { app, chart } = newChart();
    const runtimeClass = new RuntimeClass(chart, 'rc', { handler: 'vm', limits: { allowHostNetwork: false, reason: 'each pod is a VM' } });
    runtimeClass.pin(hostNetworkDeployment(chart));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/sets hostNetwork: true, which RuntimeClass "vm" cannot give \(each pod is a VM\)/);
  });

  test('the deprecated hostNetwork: false still refuses it, and reads back under both names', () => {
    const { app, chart } = newChart();
    const runtimeClass = new RuntimeClass(chart, 'rc', { handler: 'vm', limits: { hostNetwork: false } });
    runtimeClass.pin(hostNetworkDeployment(chart));
    expect(runtimeClass.limits).toEqual({ allowHostNetwork: false, hostNetwork: false });
    expect(validationErrors(app)).toEqual([expect.stringMatching(/sets hostNetwork: true, which RuntimeClass "vm" cannot give/)]);
  });

  test('allowHostPid: true with the deprecated hostPid: false is an error; the same value under both names is not', () => {
    const { app, chart } = newChart();
    new RuntimeClass(chart, 'rc', { handler: 'vm', limits: { allowHostPid: true, hostPid: false, allowHostIpc: false, hostIpc: false } });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "vm": limits.allowHostPid is true but the deprecated limits.hostPid is false: they mean the same; give only allowHostPid',
    ]);
    expect(() => RuntimeClass.fromName('vm', { limits: { allowHostNetwork: false, hostNetwork: true } }))
      .toThrow('RuntimeClass.fromName("vm"): limits.allowHostNetwork is false but the deprecated limits.hostNetwork is true: they mean the same; give only allowHostNetwork');
  });

  test('the presets say what they allow with the new names', () => {
    const { chart } = newChart();
    const kata = new KataRuntime(chart, 'kata');
    expect(kata.limits).toMatchObject({ allowHostNetwork: false, allowHostPid: false, allowHostIpc: false });
  });

  test('a RuntimeClassDefault leaves alone pods that ask for what allowHost* refuses', () => {
    const { chart } = newChart();
    new RuntimeClassDefault(chart, 'default', {
      runtimeClass: RuntimeClass.fromName('vm', { limits: { allowHostNetwork: false, allowHostPid: true } }),
      namespaceSelector: { matchLabels: { tenant: 'true' } },
      apiVersion: MutatingAdmissionPolicyVersion.V1,
    });
    const policy = Testing.synth(chart).find((m) => m.kind === 'MutatingAdmissionPolicy');
    const conditions = policy.spec.matchConditions.map((c: any) => c.name);
    expect(conditions).toContain('no-host-network');
    expect(conditions).not.toContain('no-host-pid');
  });
});
