// A class's placement against the DaemonSet of its node setup, read from the manifest the synth
// writes: which of the DaemonSet's tolerations cover a class's taint, which required node affinity
// terms exclude a class's pool, and the words of each finding. The DaemonSets here are plain
// ApiObjects, so that each test states the rendered fields it is about.
import { ApiObject, App, Chart, JsonPatch, Testing } from 'cdk8s';
import { validationErrors } from './support';
import { RuntimeScheduling, RuntimeToleration, TaintEffect, TolerationOperator } from '../../src/core';
import { checkNodeSetupPlacement, notesOf } from '../../src/core/app-checks';

interface ClassSpec {
  readonly name: string;
  readonly scheduling: RuntimeScheduling;
  readonly snapshotter?: string;
}

interface Placement {
  readonly app: App;
  readonly daemonSet: ApiObject;
}

/** A DaemonSet with `podSpec` as its pod template's spec (no spec at all when undefined), checked for `classes`. */
function placement(podSpec: any, classes: ClassSpec[]): Placement {
  const app = Testing.app();
  const chart = new Chart(app, 'platform');
  const daemonSet = new ApiObject(chart, 'Agent', {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    ...(podSpec === undefined ? {} : { spec: { template: { spec: podSpec } } }),
  });
  for (const c of classes) {
    checkNodeSetupPlacement(daemonSet, 'setup', {
      runtimeClass: { runtimeClassName: c.name, scheduling: c.scheduling } as any,
      path: `platform/${c.name}`,
      handler: c.name,
      readyLabel: `runtimeclass.cdk8s.io/${c.name}`,
      snapshotter: c.snapshotter,
    });
  }
  return { app, daemonSet };
}

/** The synth's findings, each without the `[path] NodeSetup "setup": ` prefix. */
function problemsOf(p: Placement): string[] {
  return validationErrors(p.app).map((line) => line.replace('[platform/Agent] NodeSetup "setup": ', ''));
}

/** The notes a synth without findings records on the DaemonSet. */
function notesAfterSynth(p: Placement): string[] {
  expect(validationErrors(p.app)).toEqual([]);
  return notesOf(p.daemonSet);
}

// Notes are also Node warnings: keep them off stderr.
beforeEach(() => jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

/** Whether the DaemonSet's `tolerations` let the agent onto every node `classToleration` lets the class onto. */
function covered(tolerations: any[], classToleration: RuntimeToleration): boolean {
  return problemsOf(placement({ tolerations }, [{ name: 'runsc', scheduling: { tolerations: [classToleration] } }])).length === 0;
}

const NO_SCHEDULE = TaintEffect.NO_SCHEDULE;
const EXISTS = TolerationOperator.EXISTS;
const EQUAL = TolerationOperator.EQUAL;

describe('the DaemonSet\'s tolerations, matched as the scheduler matches them', () => {
  test('an Exists toleration without a key covers every taint; an Equal one without a key covers none', () => {
    expect(covered([{ operator: 'Exists' }], { key: 'sandbox', operator: EQUAL, value: 'gvisor', effect: NO_SCHEDULE })).toBe(true);
    expect(covered([{ operator: 'Exists' }], { operator: EXISTS })).toBe(true);
    expect(covered([{ operator: 'Equal' }], { key: 'sandbox', operator: EQUAL, effect: NO_SCHEDULE })).toBe(false);
    expect(covered([{ key: '', value: '' }], { key: 'sandbox', effect: NO_SCHEDULE })).toBe(false);
  });

  test('a keyed toleration covers only taints of that key, never the any-key taints an Exists toleration without a key lets the class onto', () => {
    expect(covered([{ key: 'sandbox', operator: 'Exists' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(true);
    expect(covered([{ key: 'dedicated', operator: 'Exists' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(false);
    expect(covered([{ key: 'sandbox', operator: 'Exists' }], { operator: EXISTS, effect: NO_SCHEDULE })).toBe(false);
  });

  test('an Equal toleration covers only its own value, and not the every-value taints of an Exists class toleration', () => {
    expect(covered([{ key: 'sandbox', operator: 'Equal', value: 'gvisor' }], { key: 'sandbox', operator: EQUAL, value: 'gvisor', effect: NO_SCHEDULE })).toBe(true);
    expect(covered([{ key: 'sandbox', operator: 'Equal', value: 'kata' }], { key: 'sandbox', operator: EQUAL, value: 'gvisor', effect: NO_SCHEDULE })).toBe(false);
    expect(covered([{ key: 'sandbox', value: 'gvisor' }], { key: 'sandbox', operator: EQUAL, value: 'kata', effect: NO_SCHEDULE })).toBe(false);
    expect(covered([{ key: 'sandbox', operator: 'Equal', value: 'gvisor' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(false);
    expect(covered([{ key: 'sandbox', operator: 'Equal' }], { key: 'sandbox', effect: NO_SCHEDULE })).toBe(true);
  });

  test('a toleration without an effect, or with an empty one, covers every effect; one with an effect only that effect', () => {
    expect(covered([{ key: 'sandbox', operator: 'Exists' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(true);
    expect(covered([{ key: 'sandbox', operator: 'Exists', effect: '' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(true);
    expect(covered([{ key: 'sandbox', operator: 'Exists', effect: 'NoExecute' }], { key: 'sandbox', operator: EXISTS, effect: NO_SCHEDULE })).toBe(false);
  });

  test('a class without tolerations needs none from the DaemonSet', () => {
    const p = placement({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox' } } }]);
    expect(validationErrors(p.app)).toEqual([]);
  });

  test('a class toleration with an empty key is said as any key, and its fix adds an Exists toleration without a key or an effect', () => {
    const p = placement({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }, [{ name: 'runsc', scheduling: { tolerations: [{ key: '', operator: EXISTS }] } }]);
    expect(problemsOf(p)).toEqual([
      'RuntimeClass "runsc" (platform/runsc) tolerates the taint (any key):NoSchedule and (any key):NoExecute (scheduling.tolerations[0]), but the NodeSetup\'s DaemonSet does not: '
      + 'the node agent never runs on nodes with that taint, so they are never labelled runtimeclass.cdk8s.io/runsc=ready and the class\'s pods cannot run there; '
      + 'add { operator: TolerationOperator.EXISTS } to the NodeSetup\'s tolerations, or leave its tolerations unset (it then tolerates every taint)',
    ]);
  });

  test('the fix for a class toleration without a key names no key', () => {
    const p = placement({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }, [{ name: 'runsc', scheduling: { tolerations: [{ operator: EXISTS, effect: NO_SCHEDULE }] } }]);
    expect(problemsOf(p)).toEqual([expect.stringContaining(
      'tolerates the taint (any key):NoSchedule (scheduling.tolerations[0]), but the NodeSetup\'s DaemonSet does not: '
      + 'the node agent never runs on nodes with that taint, so they are never labelled runtimeclass.cdk8s.io/runsc=ready and the class\'s pods cannot run there; '
      + 'add { operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE } to the NodeSetup\'s tolerations',
    )]);
  });

  test('the fix for an Equal toleration without a value spells out the empty value', () => {
    const p = placement({ tolerations: [] }, [{ name: 'runsc', scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE }] } }]);
    expect(problemsOf(p)).toEqual([expect.stringContaining(
      'tolerates the taint sandbox=:NoExecute (scheduling.tolerations[0]), but the NodeSetup\'s DaemonSet does not: the node agent never runs on nodes with that taint, '
      + 'so they are never labelled runtimeclass.cdk8s.io/runsc=ready and the class\'s pods cannot run there; '
      + 'add { key: \'sandbox\', operator: TolerationOperator.EQUAL, value: \'\', effect: TaintEffect.NO_EXECUTE } to the NodeSetup\'s tolerations',
    )]);
  });
});

describe('the DaemonSet\'s required node affinity against a class\'s pool', () => {
  /** The findings for a class on `pool` against a DaemonSet with these required node affinity terms. */
  function affinityProblems(terms: any[], pool: { [key: string]: string }): string[] {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
    return problemsOf(placement({ affinity }, [{ name: 'runsc', scheduling: { nodeSelector: pool } }]));
  }
  const term = (...matchExpressions: any[]): any => ({ matchExpressions });

  test('In and NotIn exclude a pool by its label\'s value, DoesNotExist by the label; expressions on labels the pool does not set exclude nothing', () => {
    const pool = { pool: 'sandbox' };
    expect(affinityProblems([term({ key: 'pool', operator: 'In', values: ['sandbox', 'vm'] })], pool)).toEqual([]);
    expect(affinityProblems([term({ key: 'pool', operator: 'In', values: ['general', 'vm'] })], pool)).toEqual([expect.stringContaining('(pool In [general, vm])')]);
    expect(affinityProblems([term({ key: 'pool', operator: 'NotIn', values: ['sandbox'] })], pool)).toEqual([expect.stringContaining('(pool NotIn [sandbox])')]);
    expect(affinityProblems([term({ key: 'pool', operator: 'NotIn', values: ['general'] })], pool)).toEqual([]);
    expect(affinityProblems([term({ key: 'pool', operator: 'DoesNotExist' })], pool)).toEqual([expect.stringContaining('(pool DoesNotExist)')]);
    expect(affinityProblems([term({ key: 'pool', operator: 'Exists' })], pool)).toEqual([]);
    expect(affinityProblems([term({ key: 'zone', operator: 'In', values: ['a'] }, { key: 'gpu', operator: 'DoesNotExist' })], pool)).toEqual([]);
  });

  test('terms are ORed: one term that admits the pool is enough, and the finding lists each excluding expression once', () => {
    const pool = { 'pool': 'sandbox', 'node-role.kubernetes.io/control-plane': '' };
    const controlPlane = { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' };
    expect(affinityProblems([term(controlPlane), term({ key: 'pool', operator: 'In', values: ['sandbox'] })], pool)).toEqual([]);
    expect(affinityProblems([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }, term(controlPlane)], pool)).toEqual([]);
    expect(affinityProblems([term(controlPlane, { key: 'pool', operator: 'NotIn', values: ['sandbox', 'vm'] }), term(controlPlane)], pool)).toEqual([
      'RuntimeClass "runsc" (platform/runsc) runs its pods on nodes with node-role.kubernetes.io/control-plane=, pool=sandbox, but the node agent\'s required node affinity '
      + '(node-role.kubernetes.io/control-plane DoesNotExist; pool NotIn [sandbox, vm]) excludes every such node: no node can be labelled runtimeclass.cdk8s.io/runsc=ready, '
      + 'so every pod of the class stays Pending; change the NodeSetup (for control-plane nodes, includeControlPlane: true; for virtualization labels, '
      + 'requireVirtualizationFeatureLabels) or the class\'s nodeSelector',
    ]);
  });

  test('a DaemonSet with affinity but no required node affinity excludes no pool', () => {
    const pool = { nodeSelector: { pool: 'sandbox' } };
    const podAntiAffinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } };
    const preferredOnly = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] } }] } };
    expect(problemsOf(placement({ affinity: podAntiAffinity }, [{ name: 'runsc', scheduling: pool }]))).toEqual([]);
    expect(problemsOf(placement({ affinity: preferredOnly }, [{ name: 'runsc', scheduling: pool }]))).toEqual([]);
  });
});

describe('where the DaemonSet runs, against where its classes run', () => {
  test('a class whose pool differs from the DaemonSet\'s nodeSelector in several labels names each, the class\'s and the DaemonSet\'s side alike', () => {
    const p = placement({ nodeSelector: { zone: 'a', pool: 'general' } }, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox', zone: 'b' } } }]);
    expect(problemsOf(p)).toEqual([expect.stringContaining(
      'runs its pods on nodes with pool=sandbox, zone=b, but the node agent runs only on nodes with pool=general, zone=a (the NodeSetup\'s nodeSelector)',
    )]);
  });

  test('a class whose scheduling is invalid gets no placement finding (the class reports its own mistake)', () => {
    const p = placement({ nodeSelector: { pool: 'general' } }, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'not a label value!' } } }]);
    expect(problemsOf(p)).toEqual([]);
  });

  test('a DaemonSet a patch strips of its spec or pod template is checked as one that runs on every node, not a crash', () => {
    const noSpec = placement(undefined, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox' } } }]);
    expect(notesAfterSynth(noSpec)).toEqual([expect.stringContaining('NodeSetup "setup" runs on every node, and its classes run on fewer nodes: "runsc" (pool=sandbox)')]);

    const noTemplate = placement({ nodeSelector: { pool: 'general' } }, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox' } } }]);
    noTemplate.daemonSet.addJsonPatch(JsonPatch.remove('/spec/template'));
    expect(notesAfterSynth(noTemplate)).toEqual([expect.stringContaining('NodeSetup "setup" runs on every node')]);

    const noPodSpec = placement({ nodeSelector: { pool: 'general' } }, [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox' } } }]);
    noPodSpec.daemonSet.addJsonPatch(JsonPatch.remove('/spec/template/spec'));
    expect(notesAfterSynth(noPodSpec)).toEqual([expect.stringContaining('NodeSetup "setup" runs on every node')]);
  });

  test('a DaemonSet that cannot render, validated outside a synth, reports no placement finding (the node setup reports why it does not render)', () => {
    const p = placement({ tolerations: [] }, [{ name: 'runsc', scheduling: { tolerations: [{ key: 'sandbox', operator: EXISTS }] } }]);
    expect(p.daemonSet.node.validate()).toEqual([expect.stringContaining('tolerates the taint sandbox:NoSchedule')]);
    p.daemonSet.addJsonPatch(JsonPatch.test('/kind', 'Deployment'));
    expect(() => p.daemonSet.toJson()).toThrow();
    expect(p.daemonSet.node.validate()).toEqual([]);
  });
});

describe('the note on classes narrower than their DaemonSet', () => {
  test('the DaemonSet\'s nodes are said in words: every node, every Linux node, or the labels besides the Linux one, sorted', () => {
    const narrow = [{ name: 'runsc', scheduling: { nodeSelector: { pool: 'sandbox' } } }];
    const runsOn = (nodeSelector?: any): string => notesAfterSynth(placement({ nodeSelector }, narrow))[0].split(', and its classes')[0];
    expect(runsOn()).toBe('NodeSetup "setup" runs on every node');
    expect(runsOn({ 'kubernetes.io/os': 'linux' })).toBe('NodeSetup "setup" runs on every Linux node');
    expect(runsOn({ 'kubernetes.io/os': 'linux', 'zone': 'a', 'tier': 'b' })).toBe('NodeSetup "setup" runs on Linux nodes with tier=b, zone=a');
    expect(runsOn({ 'kubernetes.io/os': 'windows', 'zone': 'a' })).toBe('NodeSetup "setup" runs on nodes with kubernetes.io/os=windows, zone=a');
    expect(runsOn({ 'kubernetes.io/os': 'windows' })).toBe('NodeSetup "setup" runs on nodes with kubernetes.io/os=windows');
  });

  test('classes that select the same labels in another order share a pool', () => {
    const p = placement({}, [
      { name: 'runsc', scheduling: { nodeSelector: { zone: 'a', pool: 'sandbox' } } },
      { name: 'kata', scheduling: { nodeSelector: { pool: 'sandbox', zone: 'a' } } },
    ]);
    expect(notesAfterSynth(p)).toEqual([
      'NodeSetup "setup" runs on every node, and its classes run on fewer nodes: "runsc" (pool=sandbox, zone=a), "kata" (pool=sandbox, zone=a). '
      + 'Its node agent installs each handler only on the nodes its class selects; nodes outside these pools install nothing, and their node-setup pods stay not ready; '
      + 'each node-setup pod logs the handlers it skipped and why. Give each pool its own NodeSetup with that pool\'s nodeSelector if the agent should run only where its handlers do',
    ]);
  });

  test('each narrower handler that needs a snapshotter is named; with a class on every node of the DaemonSet, no node is said to stay idle', () => {
    const p = placement({ nodeSelector: { 'kubernetes.io/os': 'linux' } }, [
      { name: 'runc', scheduling: {} },
      { name: 'fc', scheduling: { nodeSelector: { pool: 'vm' } }, snapshotter: 'devmapper' },
      { name: 'fc2', scheduling: { nodeSelector: { pool: 'vm2' } }, snapshotter: 'devmapper' },
    ]);
    expect(notesAfterSynth(p)).toEqual([
      'NodeSetup "setup" runs on every Linux node, and its classes run on different pools: "runc" (every Linux node), "fc" (pool=vm), "fc2" (pool=vm2). '
      + 'Its node agent installs each handler only on the nodes its class selects; handler "fc" also needs the devmapper snapshotter, and nodes of its pool without it skip it; '
      + 'handler "fc2" also needs the devmapper snapshotter, and nodes of its pool without it skip it; '
      + 'each node-setup pod logs the handlers it skipped and why. Give each pool its own NodeSetup with that pool\'s nodeSelector if the agent should run only where its handlers do',
    ]);
  });
});
