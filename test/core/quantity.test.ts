import { PodOverhead } from '../../src/core';
import { isByteResource, Quantity } from '../../src/core/quantity';

const NANO = 1_000_000_000n;
const MI = 1024n * 1024n;
const GI = 1024n * MI;

describe('Quantity.parse', () => {
  test.each<[string, bigint]>([
    ['1', NANO],
    ['0', 0n],
    ['0.5', 500_000_000n],
    ['.5', 500_000_000n],
    ['1.', NANO],
    ['+1', NANO],
    ['250m', 250_000_000n],
    ['1u', 1_000n],
    ['1n', 1n],
    ['1k', 1_000n * NANO],
    ['1M', 1_000_000n * NANO],
    ['1G', 1_000_000_000n * NANO],
    // "E" alone is the exa suffix; "E" followed by digits is a decimal exponent.
    ['1E', 10n ** 18n * NANO],
    ['1e3', 1_000n * NANO],
    ['1E-3', 1_000_000n],
    ['1e+3', 1_000n * NANO],
    ['1Ki', 1024n * NANO],
    ['1.5Ki', 1536n * NANO],
    ['160Mi', 160n * MI * NANO],
    ['2Gi', 2n * GI * NANO],
    ['0.5Gi', 512n * MI * NANO],
    // Below one nano-unit rounds up, as the API server does.
    ['0.1n', 1n],
    ['-1', -NANO],
    ['-250m', -250_000_000n],
  ])('%s is %p nano-units', (text, nanos) => {
    expect(Quantity.parse(text)?.nanos).toBe(nanos);
  });

  test.each([
    '160MB', '1.5.0', 'abc', '', '1K', '1mi', '1e', 'Mi', '.', '+', '--1', ' 1', '1 ', '1e3m', '1.5e3.2', '1,5',
  ])('%p is not a quantity', (text) => {
    expect(Quantity.parse(text)).toBeUndefined();
  });

  test('keeps the text it was parsed from', () => {
    expect(Quantity.parse('0.5Gi')!.toString()).toBe('0.5Gi');
    expect(Quantity.parse('1e3')!.toString()).toBe('1e3');
  });

  test('isNegative and isInteger', () => {
    expect(Quantity.parse('-1')!.isNegative).toBe(true);
    expect(Quantity.parse('-0')!.isNegative).toBe(false);
    expect(Quantity.parse('0')!.isNegative).toBe(false);
    expect(Quantity.parse('3')!.isInteger).toBe(true);
    expect(Quantity.parse('3000m')!.isInteger).toBe(true);
    expect(Quantity.parse('1.5')!.isInteger).toBe(false);
    expect(Quantity.parse('500m')!.isInteger).toBe(false);
  });

  // An absurd exponent is reported like any other bad quantity, not computed: "1e2147483648"
  // would exceed BigInt's size and "1e999999999" would take half a minute.
  test('an absurd exponent is reported as a bad quantity, not thrown as a RangeError', () => {
    expect(() => PodOverhead.of({ cpu: '1e2147483648' }).validate()).not.toThrow();
    expect(PodOverhead.of({ cpu: '1e2147483648' }).validate()).toEqual([
      expect.stringContaining('overhead.cpu: "1e2147483648"'),
    ]);
  });
});

describe('Quantity.parse bounds and rounding', () => {
  test('up to 40 significant digits are read exactly; a 41st is refused (leading zeros and the point do not count)', () => {
    const forty = '9'.repeat(40);
    expect(Quantity.parse(forty)?.nanos).toBe(BigInt(forty) * NANO);
    expect(Quantity.parse(`${forty}9`)).toBeUndefined();
    expect(Quantity.parse(`${'0'.repeat(10)}${forty}`)?.nanos).toBe(BigInt(forty) * NANO);
    expect(Quantity.parse(`${forty.slice(0, 20)}.${forty.slice(20)}m`)?.nanos).toBe(BigInt(forty.slice(0, 26)) + 1n); // rounded up
  });

  test('a decimal exponent up to 40 either way is read; beyond it is refused', () => {
    expect(Quantity.parse('1e40')?.nanos).toBe(10n ** 49n);
    expect(Quantity.parse('1E-40')?.nanos).toBe(1n); // a positive amount below a nano-unit rounds up to one
    expect(Quantity.parse('1e41')).toBeUndefined();
    expect(Quantity.parse('1e-41')).toBeUndefined();
  });

  test('amounts finer than a nano-unit round up to the next one, and exact ones are not rounded', () => {
    expect(Quantity.parse('1.5n')?.nanos).toBe(2n);
    expect(Quantity.parse('10e-10')?.nanos).toBe(1n);
    expect(Quantity.parse('11e-10')?.nanos).toBe(2n);
    expect(Quantity.parse('-1.5n')?.nanos).toBe(-2n);
  });
});

describe('Quantity arithmetic', () => {
  test('plus, times and compare are exact', () => {
    const a = Quantity.parse('100m')!;
    const b = Quantity.parse('200m')!;
    expect(a.plus(b).nanos).toBe(300_000_000n);
    expect(a.times(3).nanos).toBe(300_000_000n);
    expect(a.compare(b)).toBe(-1);
    expect(b.compare(a)).toBe(1);
    expect(a.plus(b).compare(Quantity.parse('0.3')!)).toBe(0);
  });

  test('a computed quantity prints in decimal canonical form (it does not know its resource)', () => {
    expect(Quantity.parse('160Mi')!.plus(Quantity.parse('320Mi')!).toString()).toBe('503316480');
    expect(Quantity.parse('1')!.plus(Quantity.parse('250m')!).toString()).toBe('1250m');
  });
});

describe('Quantity.canonical', () => {
  test.each<[bigint, boolean, string]>([
    [1_250_000_000n, false, '1250m'],
    [2n * NANO, false, '2'],
    [0n, false, '0'],
    [0n, true, '0'],
    [1_000n * NANO, false, '1k'],
    [1_500n * NANO, false, '1500'],
    [2_000_000n * NANO, false, '2M'],
    [-250_000_000n, false, '-250m'],
    [1_500n, false, '1500n'],
    [1024n * NANO, true, '1Ki'],
    [480n * MI * NANO, true, '480Mi'],
    [1536n * MI * NANO, true, '1536Mi'],
    [2n * GI * NANO, true, '2Gi'],
    [1_000_000_000n * NANO, true, '1G'],
    [-2n * GI * NANO, true, '-2Gi'],
  ])('%p nano-units (binary: %p) is %p', (nanos, binary, text) => {
    expect(Quantity.fromNanos(nanos).canonical(binary)).toBe(text);
  });

  test('sums come out in canonical form', () => {
    expect(Quantity.parse('1')!.plus(Quantity.parse('250m')!).canonical(false)).toBe('1250m');
    expect(Quantity.parse('160Mi')!.plus(Quantity.parse('320Mi')!).canonical(true)).toBe('480Mi');
    expect(Quantity.parse('1.5Gi')!.canonical(true)).toBe('1536Mi');
    expect(Quantity.parse('1Gi')!.plus(Quantity.parse('512Mi')!).canonical(true)).toBe('1536Mi');
  });
});

describe('isByteResource', () => {
  test.each<[string, boolean]>([
    ['memory', true],
    ['ephemeral-storage', true],
    ['storage', true],
    ['hugepages-2Mi', true],
    ['cpu', false],
    ['example.com/foo', false],
  ])('%s: %p', (name, expected) => {
    expect(isByteResource(name)).toBe(expected);
  });
});
