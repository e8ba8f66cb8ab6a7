import { Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PodOverhead } from '../../src/core';
import { isExtendedResource, resourceNameProblem, ResourceList } from '../../src/core/resources';

const NOT_A_CONTAINER_RESOURCE = 'is not a standard container resource (cpu, memory, ephemeral-storage, hugepages-<size>) nor an extended resource "<domain>/<name>"';
const RESERVED_DOMAIN = 'is in the reserved kubernetes.io domain: extended resources need a domain of their own (e.g. "example.com/foo")';
const BAD_PAGE_SIZE = 'is a hugepages resource with an invalid page size (e.g. use "hugepages-2Mi" or "hugepages-1Gi")';

describe('resourceNameProblem', () => {
  test.each([
    'cpu', 'memory', 'ephemeral-storage', 'hugepages-2Mi', 'hugepages-1Gi', 'example.com/foo', 'nvidia.com/gpu', 'sub.example.com/a_b.c',
  ])('%p is a container resource', (name) => {
    expect(resourceNameProblem(name)).toBeUndefined();
  });

  test.each<[string, string]>([
    ['gpu', NOT_A_CONTAINER_RESOURCE],
    ['CPU', NOT_A_CONTAINER_RESOURCE],
    ['storage', NOT_A_CONTAINER_RESOURCE],
    ['pods', NOT_A_CONTAINER_RESOURCE],
    ['kubernetes.io/foo', RESERVED_DOMAIN],
    ['node.kubernetes.io/foo', RESERVED_DOMAIN],
    ['hugepages-xyz', BAD_PAGE_SIZE],
    ['hugepages-0', BAD_PAGE_SIZE],
    ['hugepages--2Mi', BAD_PAGE_SIZE],
    ['example.com/', 'is not a valid extended resource name: it must have a non-empty name part'],
    ['example.com/a/b', 'is not a valid extended resource name: it must be a qualified name: an optional DNS subdomain prefix and "/", then a name'],
    ['example.com/-foo', 'is not a valid extended resource name: it must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
  ])('%p %s', (name, problem) => {
    expect(resourceNameProblem(name)).toBe(problem);
  });

  // The API server's IsExtendedResourceName refuses names that start with "requests." (the
  // quota prefix), so an overhead with it is rejected ("doesn't follow extended resource name standard").
  test('an extended resource name starting with the quota prefix "requests." is rejected', () => {
    expect(resourceNameProblem('requests.example.com/foo')).toEqual(expect.stringContaining('requests.'));
  });

  test('a name valid alone but not under the quota prefix (a 250-character domain) is rejected, as the API server does', () => {
    const domain = ['a', 'b', 'c', 'd'].map((c) => c.repeat(61)).join('.') + '.io';
    expect(resourceNameProblem(`${domain}/gpu`)).toBe(`is not a valid extended resource name: it has a prefix "requests.${domain}" that must be at most 253 characters (it has 259)`);
    expect(resourceNameProblem(`${domain.slice(9)}/gpu`)).toBeUndefined();
  });

  test('extended resources are the names with a domain', () => {
    expect(isExtendedResource('example.com/foo')).toBe(true);
    expect(isExtendedResource('cpu')).toBe(false);
    expect(isExtendedResource('hugepages-2Mi')).toBe(false);
  });
});

describe('PodOverhead', () => {
  test('amounts holds every resource as written, keys sorted', () => {
    const overhead = PodOverhead.of({
      memory: '0.5Gi',
      cpu: '250m',
      ephemeralStorage: '1Gi',
      resources: { 'hugepages-2Mi': '4Mi', 'example.com/vf': '1' },
    });
    expect(overhead.amounts).toEqual({
      'cpu': '250m',
      'ephemeral-storage': '1Gi',
      'example.com/vf': '1',
      'hugepages-2Mi': '4Mi',
      'memory': '0.5Gi',
    });
    expect(Object.keys(overhead.amounts)).toEqual(['cpu', 'ephemeral-storage', 'example.com/vf', 'hugepages-2Mi', 'memory']);
    expect(overhead._toPodFixed()).toEqual(overhead.amounts);
    expect(overhead.cpu).toBe('250m');
    expect(overhead.memory).toBe('0.5Gi');
    expect(overhead.ephemeralStorage).toBe('1Gi');
    expect(overhead.isEmpty).toBe(false);
    expect(overhead.validate()).toEqual([]);
  });

  test('an overhead with nothing set is empty', () => {
    expect(PodOverhead.of({}).isEmpty).toBe(true);
    expect(PodOverhead.of({}).amounts).toEqual({});
    expect(PodOverhead.of({}).validate()).toEqual([]);
  });

  test('_toResourceList gives exact amounts', () => {
    const list = PodOverhead.of({ cpu: '0.25', memory: '320Mi' })._toResourceList();
    expect(list.toStrings()).toEqual({ cpu: '250m', memory: '320Mi' });
  });

  test('_toResourceList throws every problem of an invalid overhead', () => {
    expect(() => PodOverhead.of({ cpu: '-1', memory: '160MB' })._toResourceList()).toThrow(
      'Invalid pod overhead: overhead.memory: "160MB" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one); overhead.cpu: "-1" is negative: overhead must be zero or more',
    );
  });

  test('validate reports several problems at once, one message each', () => {
    expect(PodOverhead.of({ cpu: 'abc', memory: '-1Mi', resources: { 'gpu': '1', 'example.com/foo': '0.5' } }).validate()).toEqual([
      `overhead resource "gpu" ${NOT_A_CONTAINER_RESOURCE}`,
      'overhead.cpu: "abc" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
      'overhead.resources["example.com/foo"]: "0.5" is not a whole number: extended resources are counted in whole units',
      'overhead.memory: "-1Mi" is negative: overhead must be zero or more',
    ]);
  });

  test('a standard resource given only in `resources` is accepted', () => {
    const overhead = PodOverhead.of({ resources: { cpu: '100m' } });
    expect(overhead.validate()).toEqual([]);
    expect(overhead.amounts).toEqual({ cpu: '100m' });
  });

  test('a resource given both as a field and in `resources` keeps the field and is reported', () => {
    const overhead = PodOverhead.of({ ephemeralStorage: '1Gi', resources: { 'ephemeral-storage': '2Gi' } });
    expect(overhead.amounts).toEqual({ 'ephemeral-storage': '1Gi' });
    expect(overhead.validate()).toEqual([
      'overhead.resources["ephemeral-storage"] repeats a resource that has its own field: set it once, with the `ephemeralStorage` field',
    ]);
  });

  test('hugepages count with memory alone, with cpu alone, and not without either', () => {
    expect(PodOverhead.of({ memory: '1Gi', resources: { 'hugepages-2Mi': '4Mi' } }).validate()).toEqual([]);
    expect(PodOverhead.of({ cpu: '250m', resources: { 'hugepages-1Gi': '1Gi' } }).validate()).toEqual([]);
    expect(PodOverhead.of({ ephemeralStorage: '1Gi', resources: { 'hugepages-2Mi': '4Mi' } }).validate()).toEqual([
      'overhead sets hugepages without cpu or memory: the API server rejects it ("HugePages require cpu or memory"); add a cpu or memory overhead',
    ]);
  });

  // The API server validates overhead.podFixed with
  // ValidateResourceRequirements (AllowIndivisibleHugePagesValues false) and rejects
  // `hugepages-2Mi: 1Mi` ("must be a multiple of 2Mi").
  test('a hugepages amount that is not a multiple of the page size is rejected, naming the page size', () => {
    expect(PodOverhead.of({ memory: '1Gi', resources: { 'hugepages-2Mi': '1Mi' } }).validate()).toEqual([
      'overhead.resources["hugepages-2Mi"]: "1Mi" is not a multiple of the 2Mi page size: use a whole number of pages',
    ]);
  });

  test('a hugepages resource with an invalid page size is reported once, for its name, and not measured against that page size', () => {
    const overhead = PodOverhead.of({ memory: '1Gi', resources: { 'hugepages-xyz': '4Mi', 'hugepages-0': '4Mi', 'hugepages--2Mi': '3Mi' } });
    expect(overhead.validate()).toEqual([
      `overhead resource "hugepages--2Mi" ${BAD_PAGE_SIZE}`,
      `overhead resource "hugepages-0" ${BAD_PAGE_SIZE}`,
      `overhead resource "hugepages-xyz" ${BAD_PAGE_SIZE}`,
    ]);
  });

  test('only hugepages-<size> resources are measured against a page size: an extended resource whose name ends in a number is not', () => {
    expect(PodOverhead.of({ memory: '1Gi', resources: { 'vendor.io/2': '3' } }).validate()).toEqual([]);
  });

  test('resource names that are no container resource are reported in name order, whatever order `resources` lists them in', () => {
    expect(PodOverhead.of({ cpu: '250m', resources: { gpu: '1', fpga: '1' } }).validate()).toEqual([
      `overhead resource "fpga" ${NOT_A_CONTAINER_RESOURCE}`,
      `overhead resource "gpu" ${NOT_A_CONTAINER_RESOURCE}`,
    ]);
  });
});

describe('PodOverhead from cdk8s-plus values', () => {
  test.each<[string, kplus.Cpu, string]>([
    ['Cpu.millis(250)', kplus.Cpu.millis(250), '250m'],
    ['Cpu.units(2)', kplus.Cpu.units(2), '2'],
    ['Cpu.units(0.5)', kplus.Cpu.units(0.5), '0.5'],
  ])('cpu %s is the quantity %p', (_what, cpu, quantity) => {
    const overhead = PodOverhead.of({ cpu });
    expect(overhead.cpu).toBe(quantity);
    expect(overhead._toPodFixed()).toEqual({ cpu: quantity });
    expect(overhead.validate()).toEqual([]);
  });

  test.each<[string, Size, string]>([
    ['Size.mebibytes(320)', Size.mebibytes(320), '320Mi'],
    ['Size.gibibytes(1)', Size.gibibytes(1), '1Gi'],
    ['Size.gibibytes(1.5)', Size.gibibytes(1.5), '1536Mi'],
    ['Size.kibibytes(0.5)', Size.kibibytes(0.5), '512'],
    ['Size.tebibytes(2)', Size.tebibytes(2), '2Ti'],
  ])('memory and ephemeral storage %s are the quantity %p', (_what, size, quantity) => {
    const overhead = PodOverhead.of({ memory: size, ephemeralStorage: size, allowUnusualAmounts: true });
    expect([overhead.memory, overhead.ephemeralStorage]).toEqual([quantity, quantity]);
    expect(overhead._toPodFixed()).toEqual({ 'ephemeral-storage': quantity, 'memory': quantity });
    expect(overhead.validate()).toEqual([]);
  });

  test('values and strings mix; strings stay exactly as written', () => {
    const overhead = PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: '1.5Gi', resources: { 'hugepages-2Mi': '4Mi' } });
    expect(overhead.amounts).toEqual({ 'cpu': '250m', 'hugepages-2Mi': '4Mi', 'memory': '1.5Gi' });
    expect(overhead.validate()).toEqual([]);
  });

  test('a negative Cpu is reported like a negative string', () => {
    expect(PodOverhead.of({ cpu: kplus.Cpu.millis(-5) }).validate()).toEqual(['overhead.cpu: "-5m" is negative: overhead must be zero or more']);
  });

  test('a Size that is no whole number of bytes is reported, naming the prop', () => {
    expect(PodOverhead.of({ memory: Size.kibibytes(0.0001) }).validate()).toEqual([
      'overhead.memory: a Size of 0.1024 bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string',
    ]);
  });

  test('values of other types are reported, not dropped or turned into strings', () => {
    const overhead = PodOverhead.of({ cpu: 0.25 as any, memory: {} as any, ephemeralStorage: 1024 as any });
    expect(overhead.validate()).toEqual([
      'overhead.cpu: number 0.25 is neither a quantity string (e.g. "250m") nor a cdk8s-plus Cpu (e.g. Cpu.millis(250))',
      'overhead.memory: an object {} is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))',
      'overhead.ephemeralStorage: number 1024 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))',
    ]);
    expect(overhead.isEmpty).toBe(false);
  });

  test.each<[string, object, string, string]>([
    ['cpu', { cpu: 0.25 }, 'cpu', 'overhead.cpu: number 0.25 is neither a quantity string (e.g. "250m") nor a cdk8s-plus Cpu (e.g. Cpu.millis(250))'],
    ['memory', { memory: 320 }, 'memory', 'overhead.memory: number 320 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))'],
    ['ephemeralStorage', { ephemeralStorage: 1024 }, 'ephemeral-storage',
      'overhead.ephemeralStorage: number 1024 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))'],
  ])('a bad %s value and the same resource in `resources`: both are reported, and `resources` does not stand in for the field', (field, props, resource, problem) => {
    const overhead = PodOverhead.of({ ...props, resources: { [resource]: '1' } } as any);
    expect(overhead.validate()).toEqual([
      problem,
      `overhead.resources["${resource}"] repeats a resource that has its own field: set it once, with the \`${field}\` field`,
    ]);
    expect(overhead.amounts).toEqual({});
  });

  test('a bad value in one field does not make another standard resource in `resources` a repeat', () => {
    const overhead = PodOverhead.of({ memory: 320 as any, resources: { cpu: '250m' } });
    expect(overhead.validate()).toEqual([
      'overhead.memory: number 320 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))',
    ]);
    expect(overhead.amounts).toEqual({ cpu: '250m' });
  });

  test('a value in `resources` that is no quantity string is reported, naming the resource, and not written', () => {
    const overhead = PodOverhead.of({ memory: '1Gi', resources: { 'hugepages-2Mi': 4 as any, 'example.com/vf': Lazy.any({ produce: () => 1 }) as any } });
    expect(overhead.validate()).toEqual([
      'overhead.resources["hugepages-2Mi"]: number 4 is not a quantity string (e.g. "4Mi")',
      'overhead.resources["example.com/vf"]: a Lazy value producing number 1 is not a quantity string (e.g. "4Mi")',
    ]);
    expect(overhead.amounts).toEqual({ memory: '1Gi' });
  });

  test('a standard resource given as a value and in `resources` is reported', () => {
    expect(PodOverhead.of({ memory: Size.mebibytes(320), resources: { memory: '320Mi' } }).validate()).toEqual([
      'overhead.resources["memory"] repeats a resource that has its own field: set it once, with the `memory` field',
    ]);
  });
});

describe('PodOverhead with Lazy values', () => {
  test('a Lazy amount is produced once, when the overhead is first read: the amounts checked are the amounts written', () => {
    let produced = 0;
    const overhead = PodOverhead.of({ cpu: Lazy.any({ produce: () => (++produced === 1 ? '250m' : '-1') }), memory: '320Mi' });
    expect(produced).toBe(0);
    expect(overhead.validate()).toEqual([]);
    expect(overhead._toPodFixed()).toEqual({ cpu: '250m', memory: '320Mi' });
    expect(overhead.cpu).toBe('250m');
    expect(produced).toBe(1);
  });

  test('`resources` may be a Lazy: the map it produces is used; one that produces nothing adds nothing', () => {
    const hugepages = PodOverhead.of({ memory: '1Gi', resources: Lazy.any({ produce: () => ({ 'hugepages-2Mi': '4Mi' }) }) as any });
    expect(hugepages.amounts).toEqual({ 'hugepages-2Mi': '4Mi', 'memory': '1Gi' });
    expect(hugepages.validate()).toEqual([]);
    for (const nothing of [undefined, null]) {
      const overhead = PodOverhead.of({ memory: '1Gi', resources: Lazy.any({ produce: () => nothing }) as any });
      expect(overhead.amounts).toEqual({ memory: '1Gi' });
      expect(overhead.validate()).toEqual([]);
    }
  });

  test('a `resources` Lazy that cannot be produced is reported, naming `resources` and what it threw', () => {
    const overhead = PodOverhead.of({ memory: '1Gi', resources: Lazy.any({ produce: () => { throw new Error('the device plugin is not chosen yet'); } }) as any });
    expect(overhead.validate()).toEqual(['overhead.resources: a Lazy value that cannot be produced yet (the device plugin is not chosen yet)']);
    expect(overhead.amounts).toEqual({ memory: '1Gi' });
    expect(overhead.isEmpty).toBe(false);
  });
});

describe('ResourceList', () => {
  const list = (amounts: { [name: string]: string }) => {
    const { list: parsed, problems } = ResourceList.parse(amounts);
    expect(problems).toEqual([]);
    return parsed;
  };

  test('parse reports bad quantities and keeps the good ones', () => {
    const { list: parsed, problems } = ResourceList.parse({ cpu: '1.5.0', memory: '1Gi' });
    expect(problems).toEqual([
      'cpu: "1.5.0" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
    ]);
    expect(parsed.names).toEqual(['memory']);
  });

  test('plus adds per resource; max takes the larger per resource', () => {
    const a = list({ cpu: '250m', memory: '100Mi' });
    const b = list({ 'cpu': '1', 'example.com/foo': '2' });
    expect(a.plus(b).toStrings()).toEqual({ 'cpu': '1250m', 'example.com/foo': '2', 'memory': '100Mi' });
    expect(a.max(b).toStrings()).toEqual({ 'cpu': '1', 'example.com/foo': '2', 'memory': '100Mi' });
    expect(a.times(3).toStrings()).toEqual({ cpu: '750m', memory: '300Mi' });
    // Of two equal amounts, max keeps the first one's text.
    expect(list({ memory: '1Gi' }).max(list({ memory: '1024Mi' })).toStrings()).toEqual({ memory: '1Gi' });
    expect([list({}).isEmpty, a.isEmpty]).toEqual([true, false]);
  });

  test('exceeding names the resources above the limit; missing limits are unlimited', () => {
    const footprint = list({ 'cpu': '2', 'memory': '1120Mi', 'ephemeral-storage': '1Gi' });
    expect(footprint.exceeding(list({ memory: '1Gi', cpu: '2' }))).toEqual(['memory']);
    expect(footprint.exceeding(list({ memory: '2Gi' }))).toEqual([]);
  });

  test('toStrings is canonical, toOriginalStrings keeps the text; both sort keys', () => {
    const parsed = list({ memory: '0.5Gi', cpu: '0.25' });
    expect(parsed.toStrings()).toEqual({ cpu: '250m', memory: '512Mi' });
    expect(parsed.toOriginalStrings()).toEqual({ cpu: '0.25', memory: '0.5Gi' });
    expect(Object.keys(parsed.toStrings())).toEqual(['cpu', 'memory']);
  });

  test('empty', () => {
    expect(ResourceList.empty().isEmpty).toBe(true);
    expect(ResourceList.empty().toStrings()).toEqual({});
  });
});
