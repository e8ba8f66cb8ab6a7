import { describeManifest, effectiveRequests, podSpecOf, podSpecPointer, readPointer, replicasOf, WORKLOAD_KINDS } from '../../src/core/pod-spec';

/** A container with requests (and optionally limits). */
type Amounts = { [name: string]: string | number };

function container(name: string, requests?: Amounts, limits?: Amounts, restartPolicy?: string) {
  return { name, image: 'x', restartPolicy, resources: { requests, limits } };
}

/** effectiveRequests of a pod spec, canonical strings; fails the test on any parse problem. */
function effective(podSpec: any): { [name: string]: string } {
  const { requests, problems } = effectiveRequests(podSpec);
  expect(problems).toEqual([]);
  return requests.toStrings();
}

describe('podSpecPointer', () => {
  test.each<[string, string]>([
    ['Pod', '/spec'],
    ['Deployment', '/spec/template/spec'],
    ['StatefulSet', '/spec/template/spec'],
    ['DaemonSet', '/spec/template/spec'],
    ['ReplicaSet', '/spec/template/spec'],
    ['ReplicationController', '/spec/template/spec'],
    ['Job', '/spec/template/spec'],
    ['CronJob', '/spec/jobTemplate/spec/template/spec'],
    ['PodTemplate', '/template/spec'],
  ])('%s: %s', (kind, pointer) => {
    expect(podSpecPointer(kind)).toBe(pointer);
  });

  test.each(['Service', 'ConfigMap', 'RuntimeClass', 'deployment', ''])('%p has no pod spec', (kind) => {
    expect(podSpecPointer(kind)).toBeUndefined();
  });

  // Inherited properties of a plain object must not answer for kinds: an Include'd manifest of
  // kind "constructor" or "toString" is no workload (see pinning.test.ts).
  test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('the inherited property %p is not a kind with a pod spec', (kind) => {
    expect(podSpecPointer(kind)).toBeUndefined();
  });

  test('WORKLOAD_KINDS lists every kind with a pod spec', () => {
    expect(WORKLOAD_KINDS).toEqual(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'PodTemplate']);
  });
});

describe('readPointer and podSpecOf', () => {
  const cronJob = { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [], runtimeClassName: 'kata' } } } } } };

  test('reads nested values and unescapes ~1 and ~0', () => {
    expect(readPointer(cronJob, '/spec/jobTemplate/spec/template/spec/runtimeClassName')).toBe('kata');
    expect(readPointer({ a: { 'b/c': { 'd~e': 1 } } }, '/a/b~1c/d~0e')).toBe(1);
    expect(readPointer({ a: [10, 20] }, '/a/1')).toBe(20);
  });

  test('undefined for missing paths and through scalars', () => {
    expect(readPointer(cronJob, '/spec/template/spec')).toBeUndefined();
    expect(readPointer({ a: 'x' }, '/a/b/c')).toBeUndefined();
    expect(readPointer({ a: null }, '/a/b')).toBeUndefined();
  });

  test('podSpecOf follows the kind', () => {
    expect(podSpecOf(cronJob)).toEqual({ containers: [], runtimeClassName: 'kata' });
    expect(podSpecOf({ kind: 'Pod', spec: { hostPID: true } })).toEqual({ hostPID: true });
    expect(podSpecOf({ kind: 'Service', spec: { ports: [] } })).toBeUndefined();
    expect(podSpecOf(undefined)).toBeUndefined();
  });

  test('describeManifest', () => {
    expect(describeManifest({ kind: 'Deployment', metadata: { name: 'web' } })).toBe('Deployment "web"');
    expect(describeManifest({})).toBe('object "?"');
    expect([describeManifest(null), describeManifest(undefined)]).toEqual(['object "?"', 'object "?"']);
  });
});

describe('replicasOf', () => {
  test.each<[string, any, number | undefined]>([
    ['Deployment with replicas', { kind: 'Deployment', spec: { replicas: 3 } }, 3],
    ['Deployment without replicas', { kind: 'Deployment', spec: {} }, 1],
    ['Deployment with 0 replicas', { kind: 'Deployment', spec: { replicas: 0 } }, 0],
    ['StatefulSet', { kind: 'StatefulSet', spec: { replicas: 2 } }, 2],
    ['ReplicaSet', { kind: 'ReplicaSet', spec: { replicas: 4 } }, 4],
    ['ReplicationController', { kind: 'ReplicationController', spec: { replicas: 5 } }, 5],
    ['DaemonSet (one per node)', { kind: 'DaemonSet', spec: { replicas: 7 } }, undefined],
    ['Job with parallelism', { kind: 'Job', spec: { parallelism: 5, completions: 10 } }, 5],
    ['Job without parallelism', { kind: 'Job', spec: { completions: 10 } }, 1],
    ['CronJob with parallelism', { kind: 'CronJob', spec: { jobTemplate: { spec: { parallelism: 3 } } } }, 3],
    ['CronJob without parallelism', { kind: 'CronJob', spec: { jobTemplate: { spec: {} } } }, 1],
    ['CronJob without jobTemplate', { kind: 'CronJob', spec: {} }, 1],
    ['Pod', { kind: 'Pod', spec: { replicas: 9 } }, 1],
    ['Deployment without spec', { kind: 'Deployment' }, 1],
  ])('%s: %p', (_title, manifest, replicas) => {
    expect(replicasOf(manifest)).toBe(replicas);
  });

  test('an empty YAML document (null) asks for one pod, not a TypeError', () => {
    expect([replicasOf(null), replicasOf(undefined)]).toEqual([1, 1]);
  });
});

describe('effectiveRequests', () => {
  test('an empty or missing pod spec requests nothing', () => {
    expect(effective({})).toEqual({});
    expect(effective(undefined)).toEqual({});
    expect(effective({ containers: [{ name: 'a', image: 'x' }] })).toEqual({});
  });

  test('sums the containers per resource', () => {
    expect(effective({
      containers: [
        container('a', { cpu: '250m', memory: '100Mi' }),
        container('b', { 'cpu': '500m', 'memory': '200Mi', 'example.com/foo': '1' }),
        container('c', { cpu: '1' }),
      ],
    })).toEqual({ 'cpu': '1750m', 'example.com/foo': '1', 'memory': '300Mi' });
  });

  test('a limit stands in for a missing request, resource by resource', () => {
    expect(effective({
      containers: [
        container('a', { cpu: '500m' }, { cpu: '1', memory: '1Gi' }),
        container('b', undefined, { memory: '512Mi' }),
      ],
    })).toEqual({ cpu: '500m', memory: '1536Mi' });
  });

  test('numbers (as in YAML) are quantities', () => {
    expect(effective({ containers: [container('a', { cpu: 1, memory: 1048576 }), container('b', { cpu: 0.5 })] }))
      .toEqual({ cpu: '1500m', memory: '1Mi' });
  });

  test('an init container larger than the sum of the containers wins, per resource', () => {
    expect(effective({
      initContainers: [container('migrate', { cpu: '2', memory: '50Mi' })],
      containers: [container('a', { cpu: '250m', memory: '100Mi' }), container('b', { cpu: '500m', memory: '200Mi' })],
    })).toEqual({ cpu: '2', memory: '300Mi' });
  });

  test('init containers run one at a time: the largest counts, not their sum', () => {
    expect(effective({
      initContainers: [container('one', { cpu: '1' }), container('two', { cpu: '1500m' })],
      containers: [container('app', { cpu: '100m' })],
    })).toEqual({ cpu: '1500m' });
  });

  test('sidecars add to the containers and to the init containers started after them', () => {
    expect(effective({
      initContainers: [
        container('proxy', { cpu: '100m', memory: '64Mi' }, undefined, 'Always'),
        container('migrate', { cpu: '1', memory: '128Mi' }),
      ],
      containers: [container('app', { cpu: '500m', memory: '256Mi' })],
    })).toEqual({ cpu: '1100m', memory: '320Mi' });
  });

  test('a sidecar started after an init container does not add to it', () => {
    expect(effective({
      initContainers: [
        container('migrate', { cpu: '1' }),
        container('proxy', { cpu: '500m' }, undefined, 'Always'),
      ],
      containers: [container('app', { cpu: '200m' })],
    })).toEqual({ cpu: '1' });
  });

  test('several sidecars accumulate', () => {
    expect(effective({
      initContainers: [
        container('s1', { memory: '100Mi' }, undefined, 'Always'),
        container('s2', { memory: '200Mi' }, undefined, 'Always'),
        container('init', { memory: '1Gi' }),
      ],
      containers: [container('app', { memory: '10Mi' })],
    })).toEqual({ memory: '1324Mi' });
  });

  test('bad quantities are reported with the container name, and the rest still counts', () => {
    const { requests, problems } = effectiveRequests({
      containers: [container('web', { cpu: '1.5.0', memory: '100Mi' }), { image: 'x', resources: { limits: { memory: '1GB' } } }],
    });
    expect(problems).toEqual([
      'container "web" resources: cpu: "1.5.0" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
      'container "?" resources: memory: "1GB" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
    ]);
    expect(requests.toStrings()).toEqual({ memory: '100Mi' });
  });

  test('empty list items (`- ` in YAML, read as null) request nothing, not a TypeError', () => {
    expect(effective({ initContainers: [null], containers: [null, container('web', { cpu: '1' })] })).toEqual({ cpu: '1' });
  });
});
