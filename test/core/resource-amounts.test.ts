import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ResourceAmounts } from '../../src/core';

describe('ResourceAmounts', () => {
  const pod = ResourceAmounts.of({ cpu: kplus.Cpu.millis(500), memory: Size.mebibytes(512), ephemeralStorage: '1Gi', resources: { 'example.com/vf': '1' } });

  test('values in the units one compares them in', () => {
    expect(pod.cpuMillis).toBe(500);
    expect(pod.memoryBytes).toBe(512 * 1024 * 1024);
    expect(pod.ephemeralStorageBytes).toBe(1024 ** 3);
    expect(pod.amountOf('example.com/vf')).toBe(1);
    expect(pod.amountOf('cpu')).toBe(0.5);
    expect(pod.resourceNames).toEqual(['cpu', 'ephemeral-storage', 'example.com/vf', 'memory']);
  });

  test('quantity strings, canonical and sorted', () => {
    expect(pod.quantities).toEqual({ 'cpu': '500m', 'ephemeral-storage': '1Gi', 'example.com/vf': '1', 'memory': '512Mi' });
    expect(ResourceAmounts.of({ cpu: '0.25', memory: '0.5Gi' }).quantities).toEqual({ cpu: '250m', memory: '512Mi' });
  });

  test('a resource that is not held counts as zero', () => {
    const cpuOnly = ResourceAmounts.of({ cpu: kplus.Cpu.units(2) });
    expect([cpuOnly.cpuMillis, cpuOnly.memoryBytes, cpuOnly.ephemeralStorageBytes, cpuOnly.amountOf('nvidia.com/gpu')]).toEqual([2000, 0, 0, 0]);
    expect(ResourceAmounts.none().quantities).toEqual({});
  });

  test('fractions of a millicore and of a byte come out as fractions', () => {
    expect(ResourceAmounts.of({ cpu: '0.5m' }).cpuMillis).toBe(0.5);
    expect(ResourceAmounts.of({ memory: '500m' }).memoryBytes).toBe(0.5);
  });

  test('whole units convert exactly, even where floating point division would not', () => {
    // 961235309169000000 nano-units / 10^6 in floating point is 961235309168.9999
    expect(ResourceAmounts.of({ cpu: '961235309169m' }).cpuMillis).toBe(961235309169);
  });

  test('plus adds resource by resource, exactly', () => {
    const sidecar = ResourceAmounts.of({ cpu: '100m', memory: '100M' });
    const sum = pod.plus(sidecar);
    expect(sum.quantities).toEqual({ 'cpu': '600m', 'ephemeral-storage': '1Gi', 'example.com/vf': '1', 'memory': '636870912' });
    expect(sum.memoryBytes).toBe(512 * 1024 * 1024 + 100_000_000);
    expect(ResourceAmounts.none().plus(sidecar).isEqualTo(sidecar)).toBe(true);
  });

  test('times multiplies every resource', () => {
    expect(pod.times(3).quantities).toEqual({ 'cpu': '1500m', 'ephemeral-storage': '3Gi', 'example.com/vf': '3', 'memory': '1536Mi' });
    expect(pod.times(0).cpuMillis).toBe(0);
  });

  test.each([-1, 1.5, Number.NaN])('times(%p) throws', (factor) => {
    expect(() => pod.times(factor)).toThrow(`ResourceAmounts.times(${factor}): give a whole number, 0 or more`);
  });

  test('fitsWithin and resourcesExceeding compare with a budget; resources the budget does not name are not limited', () => {
    const budget = ResourceAmounts.of({ cpu: kplus.Cpu.units(1), memory: Size.gibibytes(1) });
    expect(pod.fitsWithin(budget)).toBe(true);
    expect(pod.times(2).fitsWithin(budget)).toBe(true); // exactly 1 CPU and 1Gi
    expect(pod.times(3).fitsWithin(budget)).toBe(false);
    expect(pod.times(3).resourcesExceeding(budget)).toEqual(['cpu', 'memory']);
    expect(pod.plus(ResourceAmounts.of({ memory: '600Mi' })).resourcesExceeding(budget)).toEqual(['memory']);
  });

  test('isEqualTo compares amounts, not the way they were written', () => {
    expect(ResourceAmounts.of({ memory: Size.gibibytes(1) }).isEqualTo(ResourceAmounts.of({ memory: '1024Mi' }))).toBe(true);
    expect(ResourceAmounts.of({ cpu: '0', memory: '1Gi' }).isEqualTo(ResourceAmounts.of({ memory: '1Gi' }))).toBe(true);
    expect(ResourceAmounts.of({ cpu: '1m' }).isEqualTo(ResourceAmounts.none())).toBe(false);
    expect(ResourceAmounts.none().isEqualTo(ResourceAmounts.of({ cpu: '1m' }))).toBe(false);
    expect(ResourceAmounts.of({ cpu: '1', memory: '1Gi' }).isEqualTo(ResourceAmounts.of({ cpu: '1', memory: '2Gi' }))).toBe(false);
  });

  test('invalid input throws every problem at once, naming the prop', () => {
    expect(() => ResourceAmounts.of({ cpu: 'abc', memory: Size.kibibytes(0.0001), resources: { gpu: '1' } })).toThrow(
      'ResourceAmounts.of: memory: a Size of 0.1024 bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string; '
      + 'resource "gpu" is not a standard container resource (cpu, memory, ephemeral-storage, hugepages-<size>) nor an extended resource "<domain>/<name>"; '
      + 'cpu: "abc" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
    );
    expect(() => ResourceAmounts.of({ cpu: '-1' })).toThrow('ResourceAmounts.of: cpu: "-1" is negative: an amount must be zero or more');
  });
});
