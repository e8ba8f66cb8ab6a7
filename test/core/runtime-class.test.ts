import { ApiObject, Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { validationErrors } from './support';
import { PodOverhead, RuntimeClass, RuntimeClassProps, TaintEffect, TolerationOperator } from '../../src/core';

const SUBDOMAIN_RULE = 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
const LABEL_RULE = 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots';
const NAME_PART_RULE = 'must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
const LABEL_VALUE_RULE = 'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
const NOT_A_QUANTITY = 'is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)';

/** The validation errors of an app holding one RuntimeClass at `test/rc`. */
function errorsOf(props: RuntimeClassProps): string[] {
  const app = Testing.app();
  new RuntimeClass(new Chart(app, 'test'), 'rc', props);
  return validationErrors(app);
}

/** The synthesized manifests of a chart holding one RuntimeClass. */
function synthOf(props: RuntimeClassProps, namespace?: string): any[] {
  const chart = new Chart(Testing.app(), 'test', { namespace });
  new RuntimeClass(chart, 'rc', props);
  return Testing.synth(chart);
}

describe('RuntimeClass rendering', () => {
  test('renders every field', () => {
    expect(synthOf({
      name: 'kata',
      handler: 'kata-qemu',
      overhead: PodOverhead.of({ memory: '320Mi', cpu: '0.25', ephemeralStorage: '1Gi', resources: { 'example.com/vf': '1' } }),
      scheduling: {
        nodeSelector: { 'sandbox.example.com/ready': 'true', 'kubernetes.io/arch': 'amd64' },
        tolerations: [
          { key: 'sandbox', operator: TolerationOperator.EQUAL, value: 'kata', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 300 },
          { key: 'dedicated', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
          { key: 'soft', effect: TaintEffect.PREFER_NO_SCHEDULE },
        ],
      },
      metadata: { labels: { team: 'platform' }, annotations: { 'example.com/owner': 'sre' } },
    })).toEqual([{
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'kata', labels: { team: 'platform' }, annotations: { 'example.com/owner': 'sre' } },
      handler: 'kata-qemu',
      overhead: { podFixed: { 'cpu': '0.25', 'ephemeral-storage': '1Gi', 'example.com/vf': '1', 'memory': '320Mi' } },
      scheduling: {
        nodeSelector: { 'kubernetes.io/arch': 'amd64', 'sandbox.example.com/ready': 'true' },
        tolerations: [
          { key: 'sandbox', operator: 'Equal', value: 'kata', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'soft', effect: 'PreferNoSchedule' },
        ],
      },
    }]);
  });

  test('podFixed keys are sorted', () => {
    const [manifest] = synthOf({
      handler: 'kata',
      overhead: PodOverhead.of({ memory: '1Gi', cpu: '1', resources: { 'hugepages-2Mi': '4Mi', 'example.com/a': '1' } }),
    });
    expect(Object.keys(manifest.overhead.podFixed)).toEqual(['cpu', 'example.com/a', 'hugepages-2Mi', 'memory']);
  });

  test('the name defaults to the handler, with no hash suffix; no overhead or scheduling when none is given', () => {
    expect(synthOf({ handler: 'runsc' })).toEqual([{
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'runsc' },
      handler: 'runsc',
    }]);
  });

  test('an empty overhead and an empty scheduling are left out', () => {
    const [manifest] = synthOf({ handler: 'runsc', overhead: PodOverhead.of({}), scheduling: { nodeSelector: {}, tolerations: [] } });
    expect(Object.keys(manifest)).toEqual(['apiVersion', 'kind', 'metadata', 'handler']);
  });

  test('tolerations alone render no empty nodeSelector', () => {
    const [manifest] = synthOf({ handler: 'kata', scheduling: { tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }] } });
    expect(Object.keys(manifest.scheduling)).toEqual(['tolerations']);
  });

  test('metadata.name alone names the class', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata-qemu', metadata: { name: 'sandboxed' } });
    expect(rc.runtimeClassName).toBe('sandboxed');
    expect(Testing.synth(chart)[0].metadata).toEqual({ name: 'sandboxed' });
  });

  test('never emits metadata.namespace, even in a namespaced chart; labels and annotations are kept', () => {
    const [manifest] = synthOf({ handler: 'kata-qemu', metadata: { labels: { a: 'b' }, annotations: { c: 'd' } } }, 'tenant-a');
    expect(manifest.metadata).toEqual({ name: 'kata-qemu', labels: { a: 'b' }, annotations: { c: 'd' } });
    expect('namespace' in manifest.metadata).toBe(false);
  });

  test('other objects of the namespaced chart keep the namespace', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'tenant-a' });
    new RuntimeClass(chart, 'rc', { handler: 'kata-qemu' });
    new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
    const manifests = Testing.synth(chart);
    expect(manifests.map((m) => [m.kind, m.metadata.namespace])).toEqual([['RuntimeClass', undefined], ['ConfigMap', 'tenant-a']]);
    expect('namespace' in manifests[0].metadata).toBe(false);
  });

  test('a namespace given in metadata is not emitted (and is an error)', () => {
    for (const chartNamespace of [undefined, 'tenant-a']) {
      const app = Testing.app();
      const rc = new RuntimeClass(new Chart(app, 'test', { namespace: chartNamespace }), 'rc', { handler: 'kata', metadata: { namespace: 'default' } });
      expect('namespace' in rc.apiObject.toJson().metadata).toBe(false);
      expect(validationErrors(app)).toEqual([
        '[test/rc] RuntimeClass "kata": metadata.namespace "default" is set, but a RuntimeClass is cluster-scoped: remove the namespace',
      ]);
    }
  });

  test('the child ApiObject has id Resource', () => {
    const rc = new RuntimeClass(Testing.chart(), 'rc', { handler: 'kata' });
    expect(rc.node.tryFindChild('Resource')).toBe(rc.apiObject);
    expect(ApiObject.of(rc).kind).toBe('RuntimeClass');
  });

  test('isRuntimeClass', () => {
    const rc = new RuntimeClass(Testing.chart(), 'rc', { handler: 'kata' });
    expect(RuntimeClass.isRuntimeClass(rc)).toBe(true);
    expect(RuntimeClass.isRuntimeClass(rc.apiObject)).toBe(false);
    expect(RuntimeClass.isRuntimeClass(RuntimeClass.fromName('gvisor'))).toBe(false);
    expect(RuntimeClass.isRuntimeClass(null)).toBe(false);
    expect(RuntimeClass.isRuntimeClass('kata')).toBe(false);
  });

  test('synthesizes byte-identical output twice', () => {
    const build = () => synthOf({
      handler: 'kata',
      overhead: PodOverhead.of({ memory: '320Mi', cpu: '250m' }),
      scheduling: { nodeSelector: { b: '1', a: '2' }, tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS }] },
    });
    expect(JSON.stringify(build())).toBe(JSON.stringify(build()));
  });
});

describe('RuntimeClass validation', () => {
  test('a valid class has no error', () => {
    expect(errorsOf({
      name: 'kata.sandbox',
      handler: 'kata-qemu',
      overhead: PodOverhead.of({ memory: '320Mi', cpu: '250m', resources: { 'hugepages-2Mi': '4Mi' } }),
      scheduling: { nodeSelector: { 'a.io/b': 'c' }, tolerations: [{ operator: TolerationOperator.EXISTS }] },
    })).toEqual([]);
  });

  test.each<[string, RuntimeClassProps, string[]]>([
    // name
    ['uppercase name', { name: 'Kata', handler: 'kata' },
      [`RuntimeClass "Kata": name "Kata" ${SUBDOMAIN_RULE} (it is the RuntimeClass's metadata.name)`]],
    ['name with _', { name: 'kata_qemu', handler: 'kata' },
      [`RuntimeClass "kata_qemu": name "kata_qemu" ${SUBDOMAIN_RULE} (it is the RuntimeClass's metadata.name)`]],
    ['name of 254 characters', { name: 'a'.repeat(254), handler: 'kata' },
      [`RuntimeClass "${'a'.repeat(254)}": name "${'a'.repeat(254)}" must be at most 253 characters (it has 254) (it is the RuntimeClass's metadata.name)`]],
    ['metadata.name differing from name', { name: 'kata', handler: 'kata', metadata: { name: 'other' } },
      ['RuntimeClass "kata": metadata.name "other" differs from name "kata": set the name once, with `name`']],
    // handler
    ['empty handler', { name: 'kata', handler: '' },
      ['RuntimeClass "kata": handler "" must not be empty']],
    ['handler with a dot', { handler: 'kata.qemu' },
      [`RuntimeClass "kata.qemu": handler "kata.qemu" ${LABEL_RULE}`]],
    ['uppercase handler', { name: 'kata', handler: 'Kata' },
      [`RuntimeClass "kata": handler "Kata" ${LABEL_RULE}`]],
    ['handler of 64 characters', { handler: 'k'.repeat(64) },
      [`RuntimeClass "${'k'.repeat(64)}": handler "${'k'.repeat(64)}" must be at most 63 characters (it has 64)`]],
    ['empty handler and no name: both are reported', { handler: '' },
      ['RuntimeClass "": name "" must not be empty (it is the RuntimeClass\'s metadata.name)', 'RuntimeClass "": handler "" must not be empty']],
    // overhead resource names
    ['overhead resource "gpu"', { handler: 'kata', overhead: PodOverhead.of({ resources: { gpu: '1' } }) },
      ['RuntimeClass "kata": overhead resource "gpu" is not a standard container resource (cpu, memory, ephemeral-storage, hugepages-<size>) nor an extended resource "<domain>/<name>"']],
    ['overhead resource "kubernetes.io/foo"', { handler: 'kata', overhead: PodOverhead.of({ resources: { 'kubernetes.io/foo': '1' } }) },
      ['RuntimeClass "kata": overhead resource "kubernetes.io/foo" is in the reserved kubernetes.io domain: extended resources need a domain of their own (e.g. "example.com/foo")']],
    ['overhead resource "example.com/"', { handler: 'kata', overhead: PodOverhead.of({ resources: { 'example.com/': '1' } }) },
      ['RuntimeClass "kata": overhead resource "example.com/" is not a valid extended resource name: it must have a non-empty name part']],
    ['overhead resource "hugepages-xyz"', { handler: 'kata', overhead: PodOverhead.of({ memory: '1Gi', resources: { 'hugepages-xyz': '2Mi' } }) },
      ['RuntimeClass "kata": overhead resource "hugepages-xyz" is a hugepages resource with an invalid page size (e.g. use "hugepages-2Mi" or "hugepages-1Gi")']],
    // overhead quantities
    ['memory "160MB"', { handler: 'kata', overhead: PodOverhead.of({ memory: '160MB' }) },
      [`RuntimeClass "kata": overhead.memory: "160MB" ${NOT_A_QUANTITY}`]],
    ['cpu "1.5.0"', { handler: 'kata', overhead: PodOverhead.of({ cpu: '1.5.0' }) },
      [`RuntimeClass "kata": overhead.cpu: "1.5.0" ${NOT_A_QUANTITY}`]],
    ['cpu "abc"', { handler: 'kata', overhead: PodOverhead.of({ cpu: 'abc' }) },
      [`RuntimeClass "kata": overhead.cpu: "abc" ${NOT_A_QUANTITY}`]],
    ['ephemeral storage ""', { handler: 'kata', overhead: PodOverhead.of({ ephemeralStorage: '' }) },
      [`RuntimeClass "kata": overhead.ephemeralStorage: "" ${NOT_A_QUANTITY}`]],
    ['cpu "-1"', { handler: 'kata', overhead: PodOverhead.of({ cpu: '-1' }) },
      ['RuntimeClass "kata": overhead.cpu: "-1" is negative: overhead must be zero or more']],
    ['extended resource "1.5"', { handler: 'kata', overhead: PodOverhead.of({ resources: { 'example.com/foo': '1.5' } }) },
      ['RuntimeClass "kata": overhead.resources["example.com/foo"]: "1.5" is not a whole number: extended resources are counted in whole units']],
    ['extended resource "500m"', { handler: 'kata', overhead: PodOverhead.of({ resources: { 'example.com/foo': '500m' } }) },
      ['RuntimeClass "kata": overhead.resources["example.com/foo"]: "500m" is not a whole number: extended resources are counted in whole units']],
    ['hugepages without cpu or memory', { handler: 'kata', overhead: PodOverhead.of({ resources: { 'hugepages-2Mi': '4Mi' } }) },
      ['RuntimeClass "kata": overhead sets hugepages without cpu or memory: the API server rejects it ("HugePages require cpu or memory"); add a cpu or memory overhead']],
    ['cpu twice', { handler: 'kata', overhead: PodOverhead.of({ cpu: '250m', resources: { cpu: '500m' } }) },
      ['RuntimeClass "kata": overhead.resources["cpu"] repeats a resource that has its own field: set it once, with the `cpu` field']],
    // scheduling: node selector
    ['nodeSelector key "-bad"', { handler: 'kata', scheduling: { nodeSelector: { '-bad': 'x' } } },
      [`RuntimeClass "kata": scheduling.nodeSelector key "-bad" ${NAME_PART_RULE}`]],
    ['nodeSelector key "a/b/c"', { handler: 'kata', scheduling: { nodeSelector: { 'a/b/c': 'x' } } },
      ['RuntimeClass "kata": scheduling.nodeSelector key "a/b/c" must be a qualified name: an optional DNS subdomain prefix and "/", then a name']],
    ['nodeSelector key with a 64-character name part', { handler: 'kata', scheduling: { nodeSelector: { [`example.com/${'n'.repeat(64)}`]: 'x' } } },
      [`RuntimeClass "kata": scheduling.nodeSelector key "example.com/${'n'.repeat(64)}" must have a name part of at most 63 characters (it has 64)`]],
    ['nodeSelector value "has space"', { handler: 'kata', scheduling: { nodeSelector: { zone: 'has space' } } },
      [`RuntimeClass "kata": scheduling.nodeSelector["zone"] value "has space" ${LABEL_VALUE_RULE}`]],
    ['nodeSelector value of 64 characters', { handler: 'kata', scheduling: { nodeSelector: { zone: 'v'.repeat(64) } } },
      [`RuntimeClass "kata": scheduling.nodeSelector["zone"] value "${'v'.repeat(64)}" must be at most 63 characters (it has 64)`]],
    // scheduling: tolerations
    ['toleration with an empty key and EQUAL', { handler: 'kata', scheduling: { tolerations: [{ operator: TolerationOperator.EQUAL, value: 'x' }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0] has an empty key with operator Equal: an empty key matches every taint only with operator: TolerationOperator.EXISTS; set a key or use EXISTS']],
    ['toleration with no key and the default operator', { handler: 'kata', scheduling: { tolerations: [{ effect: TaintEffect.NO_SCHEDULE }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0] has an empty key with operator Equal: an empty key matches every taint only with operator: TolerationOperator.EXISTS; set a key or use EXISTS']],
    ['toleration EXISTS with a value', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS, value: 'v' }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0].value "v" is set with operator EXISTS, which matches any value: remove the value or use EQUAL']],
    ['tolerationSeconds with NO_SCHEDULE', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', effect: TaintEffect.NO_SCHEDULE, tolerationSeconds: 30 }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0].tolerationSeconds (30) is set but effect is NoSchedule: tolerationSeconds only applies with effect: TaintEffect.NO_EXECUTE']],
    ['tolerationSeconds without an effect', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', tolerationSeconds: 30 }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0].tolerationSeconds (30) is set but effect is unset: tolerationSeconds only applies with effect: TaintEffect.NO_EXECUTE']],
    ['non-integer tolerationSeconds', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 2.5 }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0].tolerationSeconds (2.5) must be a whole number of seconds']],
    ['toleration key "bad key"', { handler: 'kata', scheduling: { tolerations: [{ key: 'bad key', operator: TolerationOperator.EXISTS }] } },
      [`RuntimeClass "kata": scheduling.tolerations[0].key "bad key" ${NAME_PART_RULE}`]],
    ['toleration value "bad value"', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', value: 'bad value' }] } },
      [`RuntimeClass "kata": scheduling.tolerations[0].value "bad value" ${LABEL_VALUE_RULE}`]],
    ['toleration EXISTS with a value that is no label value: one problem, the value to remove', {
      handler: 'kata', scheduling: { tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS, value: 'bad value' }] },
    }, ['RuntimeClass "kata": scheduling.tolerations[0].value "bad value" is set with operator EXISTS, which matches any value: remove the value or use EQUAL']],
    ['evictAfter null (as from JSON)', { handler: 'kata', scheduling: { tolerations: [{ key: 'k', effect: TaintEffect.NO_EXECUTE, evictAfter: null as any }] } },
      ['RuntimeClass "kata": scheduling.tolerations[0].evictAfter is object null, not a Duration: give Duration.seconds(n), Duration.minutes(n), ...']],
    ['toleratedTaints entries undefined and null', { handler: 'kata', scheduling: { toleratedTaints: [undefined as any, null as any] } }, [
      'RuntimeClass "kata": scheduling.toleratedTaints[0] is undefined, not a cdk8s-plus NodeTaintQuery: use kplus.NodeTaintQuery.is(key, value), .exists(key) or .any()',
      'RuntimeClass "kata": scheduling.toleratedTaints[1] is object null, not a cdk8s-plus NodeTaintQuery: use kplus.NodeTaintQuery.is(key, value), .exists(key) or .any()',
    ]],
    ['duplicate tolerations', {
      handler: 'kata',
      scheduling: {
        tolerations: [
          { key: 'a', operator: TolerationOperator.EXISTS },
          { key: 'k', value: 'v', effect: TaintEffect.NO_SCHEDULE },
          { key: 'k', value: 'v', effect: TaintEffect.NO_SCHEDULE },
        ],
      },
    }, ['RuntimeClass "kata": scheduling.tolerations[2] duplicates the toleration at index 1 (same key, operator, value and effect): remove one']],
    ['tolerations that are the same once an omitted key, operator or value is read as "", Equal or ""', {
      handler: 'kata',
      scheduling: {
        tolerations: [
          { operator: TolerationOperator.EXISTS },
          { key: '', operator: TolerationOperator.EXISTS },
          { key: 'k', value: 'v' },
          { key: 'k', operator: TolerationOperator.EQUAL, value: 'v' },
          { key: 'b' },
          { key: 'b', value: '' },
        ],
      },
    }, [
      'RuntimeClass "kata": scheduling.tolerations[1] duplicates the toleration at index 0 (same key, operator, value and effect): remove one',
      'RuntimeClass "kata": scheduling.tolerations[3] duplicates the toleration at index 2 (same key, operator, value and effect): remove one',
      'RuntimeClass "kata": scheduling.tolerations[5] duplicates the toleration at index 4 (same key, operator, value and effect): remove one',
    ]],
  ])('%s', (_title, props, messages) => {
    expect(errorsOf(props)).toEqual(messages.map((m) => `[test/rc] ${m}`));
  });

  test('tolerations that differ only by effect are fine', () => {
    expect(errorsOf({
      handler: 'kata',
      scheduling: {
        tolerations: [
          { key: 'k', value: 'v', effect: TaintEffect.NO_SCHEDULE },
          { key: 'k', value: 'v', effect: TaintEffect.NO_EXECUTE },
        ],
      },
    })).toEqual([]);
  });

  test('tolerations that differ only by value or by operator are fine', () => {
    expect(errorsOf({
      handler: 'kata',
      scheduling: {
        tolerations: [
          { key: 'k', value: 'a' },
          { key: 'k', value: 'b' },
          { key: 'other', operator: TolerationOperator.EQUAL },
          { key: 'other', operator: TolerationOperator.EXISTS },
        ],
      },
    })).toEqual([]);
  });

  test('hugepages-2Mi with cpu is fine', () => {
    expect(errorsOf({ handler: 'kata', overhead: PodOverhead.of({ cpu: '250m', resources: { 'hugepages-2Mi': '4Mi' } }) })).toEqual([]);
  });

  test('several problems of one class are all reported', () => {
    expect(errorsOf({
      name: 'Kata',
      handler: 'kata.qemu',
      overhead: PodOverhead.of({ memory: '160MB' }),
      scheduling: { nodeSelector: { zone: 'has space' } },
    })).toEqual([
      `[test/rc] RuntimeClass "Kata": name "Kata" ${SUBDOMAIN_RULE} (it is the RuntimeClass's metadata.name)`,
      `[test/rc] RuntimeClass "Kata": handler "kata.qemu" ${LABEL_RULE}`,
      `[test/rc] RuntimeClass "Kata": overhead.memory: "160MB" ${NOT_A_QUANTITY}`,
      `[test/rc] RuntimeClass "Kata": scheduling.nodeSelector["zone"] value "has space" ${LABEL_VALUE_RULE}`,
    ]);
  });

  test('two classes with the same name in two charts: both are reported', () => {
    const app = Testing.app();
    new RuntimeClass(new Chart(app, 'a'), 'rc', { handler: 'kata-qemu' });
    new RuntimeClass(new Chart(app, 'b'), 'sandbox', { name: 'kata-qemu', handler: 'kata-clh' });
    new RuntimeClass(new Chart(app, 'c'), 'rc', { handler: 'runsc' });
    expect(validationErrors(app)).toEqual([
      '[a/rc] RuntimeClass "kata-qemu": another RuntimeClass in this app has the same name (b/sandbox): names are cluster-wide, give each class its own `name`',
      '[b/sandbox] RuntimeClass "kata-qemu": another RuntimeClass in this app has the same name (a/rc): names are cluster-wide, give each class its own `name`',
    ]);
  });

  test('a class with the same name that was removed from the app is not a twin', () => {
    const app = Testing.app();
    new RuntimeClass(new Chart(app, 'a'), 'rc', { handler: 'kata-qemu' });
    const b = new Chart(app, 'b');
    new RuntimeClass(b, 'sandbox', { name: 'kata-qemu', handler: 'kata-clh' });
    b.node.tryRemoveChild('sandbox');
    expect(validationErrors(app)).toEqual([]);
  });

  test('problems in different constructs are reported in one synth', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new RuntimeClass(chart, 'one', { handler: 'Kata', name: 'one' });
    new RuntimeClass(chart, 'two', { handler: 'two', overhead: PodOverhead.of({ cpu: '-1' }) });
    new RuntimeClass(chart, 'three', { handler: 'three', metadata: { namespace: 'x' } });
    expect(validationErrors(app)).toEqual([
      `[test/one] RuntimeClass "one": handler "Kata" ${LABEL_RULE}`,
      '[test/two] RuntimeClass "two": overhead.cpu: "-1" is negative: overhead must be zero or more',
      '[test/three] RuntimeClass "three": metadata.namespace "x" is set, but a RuntimeClass is cluster-scoped: remove the namespace',
    ]);
  });
});

describe('addScheduling', () => {
  function classWithZone() {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const rc = new RuntimeClass(chart, 'rc', {
      handler: 'kata',
      scheduling: { nodeSelector: { zone: 'a' }, tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }] },
    });
    return { app, chart, rc };
  }

  test('adds labels and tolerations to the output', () => {
    const { app, chart, rc } = classWithZone();
    rc.addScheduling({ nodeSelector: { ready: 'true' }, tolerations: [{ key: 'gpu', operator: TolerationOperator.EXISTS }] });
    rc.addNodeSelector('arch', 'amd64');
    rc.addToleration({ key: 'spot', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].scheduling).toEqual({
      nodeSelector: { arch: 'amd64', ready: 'true', zone: 'a' },
      tolerations: [
        { key: 'sandbox', operator: 'Exists' },
        { key: 'gpu', operator: 'Exists' },
        { key: 'spot', operator: 'Exists', effect: 'NoSchedule' },
      ],
    });
    expect(rc.scheduling.nodeSelector).toEqual({ zone: 'a', ready: 'true', arch: 'amd64' });
  });

  test('scheduling added after the class was created lands in the output', () => {
    const chart = new Chart(Testing.app(), 'test');
    const rc = new RuntimeClass(chart, 'rc', { handler: 'kata' });
    rc.addNodeSelector('ready', 'true');
    expect(Testing.synth(chart)[0].scheduling).toEqual({ nodeSelector: { ready: 'true' } });
  });

  test('the same key with the same value is fine; repeated tolerations are dropped', () => {
    const { app, chart, rc } = classWithZone();
    rc.addScheduling({ nodeSelector: { zone: 'a' }, tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }] });
    rc.addToleration({ key: 'sandbox', operator: TolerationOperator.EXISTS });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(chart)[0].scheduling).toEqual({
      nodeSelector: { zone: 'a' },
      tolerations: [{ key: 'sandbox', operator: 'Exists' }],
    });
  });

  test('the same key with another value is a conflict naming the source', () => {
    const { app, rc } = classWithZone();
    rc.addScheduling({ nodeSelector: { zone: 'b' } }, 'the node setup');
    rc.addNodeSelector('zone', 'c');
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": scheduling.nodeSelector["zone"] = "b" (required by the node setup) conflicts with "a" set earlier: no node can have both; use the same value or another key',
      '[test/rc] RuntimeClass "kata": scheduling.nodeSelector["zone"] = "c" (required by a later setting) conflicts with "a" set earlier: no node can have both; use the same value or another key',
    ]);
    expect(rc.scheduling.nodeSelector).toEqual({ zone: 'a' });
  });

  test('the same toleration added with other seconds is a conflict naming both and the source; the first stays', () => {
    const app = Testing.app();
    const rc = new RuntimeClass(new Chart(app, 'test'), 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }] },
    });
    rc.addScheduling({ tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(10) }] }, 'the node setup');
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[test\/rc\] RuntimeClass "kata": scheduling toleration \["sandbox","Equal","","NoExecute"\] .*\b600\b.*: the API server treats them as duplicates; keep one$/);
    expect(errors[0]).toMatch(/\b300\b/);
    expect(errors[0]).toContain('the node setup');
    expect(rc.scheduling.tolerations!.map((t) => [t.key, t.evictAfter?.toSeconds()])).toEqual([['sandbox', 300]]);
  });

  test('re-adding a toleration with an evictAfter that is no Duration, or that contradicts tolerationSeconds, does not throw at the call', () => {
    const rc = new RuntimeClass(new Chart(Testing.app(), 'test'), 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }] },
    });
    expect(() => rc.addToleration({ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: 300 as any })).not.toThrow();
    expect(() => rc.addToleration({ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5), tolerationSeconds: 60 })).not.toThrow();
    expect(rc.scheduling.tolerations!.map((t) => [t.key, t.evictAfter?.toSeconds()])).toEqual([['sandbox', 300]]);
  });

  test('added labels and tolerations are validated', () => {
    const { app, rc } = classWithZone();
    rc.addNodeSelector('-bad', 'x');
    rc.addToleration({ key: 'k', operator: TolerationOperator.EXISTS, value: 'v' });
    expect(validationErrors(app)).toEqual([
      `[test/rc] RuntimeClass "kata": scheduling.nodeSelector key "-bad" ${NAME_PART_RULE}`,
      '[test/rc] RuntimeClass "kata": scheduling.tolerations[1].value "v" is set with operator EXISTS, which matches any value: remove the value or use EQUAL',
    ]);
  });
});

describe('RuntimeClass.fromName', () => {
  test('refers to an existing class without synthesizing anything', () => {
    const chart = new Chart(Testing.app(), 'test');
    const overhead = PodOverhead.of({ memory: '64Mi' });
    const ref = RuntimeClass.fromName('gvisor', { overhead, scheduling: { nodeSelector: { sandbox: 'gvisor' } }, limits: { allowHostNetwork: false } });
    expect(ref.runtimeClassName).toBe('gvisor');
    expect(ref.overhead).toBe(overhead);
    expect(ref.scheduling).toEqual({ nodeSelector: { sandbox: 'gvisor' } });
    expect(ref.limits).toEqual({ allowHostNetwork: false, hostNetwork: false });
    expect(Testing.synth(chart)).toEqual([]);
  });

  test('defaults: no overhead, no scheduling, no limits', () => {
    const ref = RuntimeClass.fromName('kata');
    expect(ref.overhead).toBeUndefined();
    expect(ref.scheduling).toEqual({});
    expect(ref.limits).toEqual({});
  });

  test.each<[string, string]>([
    ['Bad_Name', `RuntimeClass.fromName("Bad_Name"): the name ${SUBDOMAIN_RULE}`],
    ['', 'RuntimeClass.fromName(""): the name must not be empty'],
    ['a'.repeat(254), `RuntimeClass.fromName("${'a'.repeat(254)}"): the name must be at most 253 characters (it has 254)`],
  ])('%p throws', (name, message) => {
    expect(() => RuntimeClass.fromName(name)).toThrow(message);
  });

  test('a nodeAllocatable value that is no quantity throws at once: it could not be checked later', () => {
    expect(() => RuntimeClass.fromName('kata', { limits: { nodeAllocatable: { memory: Size.kibibytes(0.0001) } } })).toThrow(
      'RuntimeClass.fromName("kata"): limits.nodeAllocatable.memory: a Size of 0.1024 bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string',
    );
  });

  test('a reference does not count as a duplicate of a class in the app', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new RuntimeClass(chart, 'rc', { handler: 'gvisor' });
    RuntimeClass.fromName('gvisor').pin(new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] }));
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('cdk8s-plus values for overhead and nodeAllocatable', () => {
  test('a Cpu and a Size overhead render as podFixed quantities', () => {
    const [manifest] = synthOf({
      handler: 'kata-qemu',
      overhead: PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: Size.mebibytes(320), ephemeralStorage: Size.gibibytes(1.5) }),
    });
    expect(manifest.overhead).toEqual({ podFixed: { 'cpu': '250m', 'ephemeral-storage': '1536Mi', 'memory': '320Mi' } });
  });

  test('a reference\'s ceiling of cdk8s-plus values is checked on pinned workloads', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const web = new kplus.Deployment(chart, 'web', {
      containers: [{ image: 'nginx', resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(900) } } }],
    });
    RuntimeClass.fromName('kata', { overhead: PodOverhead.of({ memory: Size.mebibytes(160) }), limits: { nodeAllocatable: { memory: Size.gibibytes(1) } } }).pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata") needs 1060Mi of memory per pod (requests 900Mi + overhead 160Mi), `
      + 'more than the 1Gi a node of RuntimeClass "kata" can give: lower the requests or raise limits.nodeAllocatable',
    ]);
  });

  test('limits.nodeAllocatable takes them too, and reports a bad one under its own name', () => {
    expect(errorsOf({ handler: 'kata-qemu', limits: { nodeAllocatable: { cpu: kplus.Cpu.units(2), memory: Size.gibibytes(4) } } })).toEqual([]);
    expect(errorsOf({ handler: 'kata-qemu', limits: { nodeAllocatable: { memory: Size.kibibytes(0.0001), cpu: '2 cores' } } })).toEqual([
      '[test/rc] RuntimeClass "kata-qemu": limits.nodeAllocatable.memory: a Size of 0.1024 bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string',
      `[test/rc] RuntimeClass "kata-qemu": limits.nodeAllocatable.cpu: "2 cores" ${NOT_A_QUANTITY}`,
    ]);
  });
});
