// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), held exactly as a
// BigInt count of nano-units so that sums and comparisons never round.

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$/;
const NANO = 1_000_000_000n;
const BINARY: { [suffix: string]: bigint } = {
  Ki: 1024n, Mi: 1024n ** 2n, Gi: 1024n ** 3n, Ti: 1024n ** 4n, Pi: 1024n ** 5n, Ei: 1024n ** 6n,
};
const DECIMAL_EXPONENT: { [suffix: string]: number } = {
  n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};

/** An exact, validated quantity. */
export class Quantity {
  /** Parses a quantity string; returns undefined when Kubernetes would reject it. */
  public static parse(text: string): Quantity | undefined {
    const match = QUANTITY.exec(text);
    if (!match) return undefined;
    const [, sign, number, suffix = ''] = match;
    // Kubernetes keeps quantities in 64 bits: anything this far out is no real amount, and an
    // unbounded exponent would make BigInt arithmetic run away.
    if (number.replace('.', '').replace(/^0+/, '').length > 40) return undefined;
    if (/^[eE]/.test(suffix) && Math.abs(Number(suffix.slice(1))) > 40) return undefined;
    const [whole, fraction = ''] = number.split('.');
    const digits = BigInt((whole || '0') + fraction);
    let exponent = -fraction.length; // decimal exponent applied to `digits`
    let binary = 1n;
    if (suffix in BINARY) binary = BINARY[suffix];
    else if (suffix in DECIMAL_EXPONENT) exponent += DECIMAL_EXPONENT[suffix];
    else if (suffix.length > 0) exponent += Number(suffix.slice(1));
    // Convert digits * 10^exponent * binary into nano-units, rounding up as Kubernetes does.
    let nanos = digits * binary;
    const shift = exponent + 9;
    if (shift >= 0) {
      nanos *= 10n ** BigInt(shift);
    } else {
      const divisor = 10n ** BigInt(-shift);
      nanos = (nanos + divisor - 1n) / divisor;
    }
    return new Quantity(sign === '-' ? -nanos : nanos, text);
  }

  /** A quantity from a count of nano-units. */
  public static fromNanos(nanos: bigint): Quantity {
    return new Quantity(nanos, undefined);
  }

  private constructor(public readonly nanos: bigint, private readonly text: string | undefined) {}

  public get isNegative(): boolean {
    return this.nanos < 0n;
  }

  public get isInteger(): boolean {
    return this.nanos % NANO === 0n;
  }

  public plus(other: Quantity): Quantity {
    return Quantity.fromNanos(this.nanos + other.nanos);
  }

  public times(factor: number): Quantity {
    return Quantity.fromNanos(this.nanos * BigInt(factor));
  }

  public compare(other: Quantity): number {
    return this.nanos < other.nanos ? -1 : this.nanos > other.nanos ? 1 : 0;
  }

  /** The text it was parsed from, or a canonical form for computed values. */
  public toString(): string {
    return this.text ?? this.canonical(false);
  }

  /**
   * Canonical text: whole numbers with the largest exact suffix; binary suffixes
   * (Ki..Ei) for memory-like resources, millis or nanos for fractions.
   */
  public canonical(binary: boolean): string {
    const sign = this.nanos < 0n ? '-' : '';
    const nanos = this.nanos < 0n ? -this.nanos : this.nanos;
    if (nanos % NANO !== 0n) {
      return nanos % 1_000_000n === 0n ? `${sign}${nanos / 1_000_000n}m` : `${sign}${nanos}n`;
    }
    const units = nanos / NANO;
    if (units === 0n) return '0';
    if (binary) {
      for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
        if (units % BINARY[suffix] === 0n) return `${sign}${units / BINARY[suffix]}${suffix}`;
      }
    }
    for (const suffix of ['E', 'P', 'T', 'G', 'M', 'k']) {
      const factor = 10n ** BigInt(DECIMAL_EXPONENT[suffix]);
      if (units % factor === 0n) return `${sign}${units / factor}${suffix}`;
    }
    return `${sign}${units}`;
  }
}

/** Resources whose amounts are bytes, shown with binary suffixes. */
export function isByteResource(name: string): boolean {
  return name === 'memory' || name === 'ephemeral-storage' || name === 'storage' || name.startsWith('hugepages-');
}
