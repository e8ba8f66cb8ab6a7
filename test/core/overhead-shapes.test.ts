import { Lazy } from 'cdk8s';
import { PodOverhead } from '../../src/core';

const NOT_A_CONTAINER_RESOURCE = 'is not a standard container resource (cpu, memory, ephemeral-storage, hugepages-<size>) nor an extended resource "<domain>/<name>"';

describe('PodOverhead `resources` of the wrong shape', () => {
  test('`resources` that is no map (a string, an array, or a Lazy producing a number) is reported, not dropped', () => {
    const fix = 'is not a map of resource names to quantity strings (e.g. { "hugepages-2Mi": "4Mi" })';
    expect(PodOverhead.of({ cpu: '250m', resources: 'hugepages-2Mi=4Mi' as any }).validate()).toEqual([`overhead.resources: "hugepages-2Mi=4Mi" ${fix}`]);
    expect(PodOverhead.of({ cpu: '250m', resources: ['4Mi'] as any }).validate()).toEqual([`overhead.resources: an object (Array) ${fix}`]);
    expect(PodOverhead.of({ cpu: '250m', resources: Lazy.any({ produce: () => 4 }) as any }).validate()).toEqual([`overhead.resources: a Lazy value producing number 4 ${fix}`]);
  });

  test('a resource named like a member of every object ("toString", "constructor") is no container resource, not a repeat of a field', () => {
    expect(PodOverhead.of({ cpu: '250m', resources: { toString: '1', constructor: '1' } as any }).validate()).toEqual([
      `overhead resource "constructor" ${NOT_A_CONTAINER_RESOURCE}`,
      `overhead resource "toString" ${NOT_A_CONTAINER_RESOURCE}`,
    ]);
  });
});
