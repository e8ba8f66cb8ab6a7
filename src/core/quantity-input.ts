// Quantities as users give them: Kubernetes quantity strings, cdk8s-plus `Cpu` values and cdk8s
// `Size` values, turned into the one exact text the rest of the library works with.
import { Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Quantity } from './quantity';
import { describeValue, resolveValue } from './values';

/** A quantity's text, or why the value has none. */
export type QuantityText = { readonly text: string; readonly problem?: undefined } | { readonly text?: undefined; readonly problem: string };

/**
 * The quantity text of a CPU amount: a string as written, or a `kplus.Cpu`'s amount
 * (`Cpu.millis(250)` is `250m`). `field` names the prop in the problem.
 */
export function cpuQuantityText(field: string, given: string | kplus.Cpu): QuantityText {
  const resolved = resolveValue(given);
  if (resolved.problem !== undefined) return { problem: `${field}: ${resolved.problem}` };
  const value = resolved.value;
  if (typeof value === 'string') return { text: value };
  if (isCpu(value)) return { text: value.amount };
  return { problem: `${field}: ${describeValue(value)} is neither a quantity string (e.g. "250m") nor a cdk8s-plus Cpu (e.g. Cpu.millis(250))` };
}

/**
 * The quantity text of an amount of bytes: a string as written, or a `Size` in binary units
 * (`Size.mebibytes(320)` is `320Mi`, `Size.gibibytes(1.5)` is `1536Mi`). `field` names the prop.
 */
export function byteQuantityText(field: string, given: string | Size): QuantityText {
  const resolved = resolveValue(given);
  if (resolved.problem !== undefined) return { problem: `${field}: ${resolved.problem}` };
  const value = resolved.value;
  if (typeof value === 'string') return { text: value };
  if (!isSize(value)) {
    return { problem: `${field}: ${describeValue(value)} is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))` };
  }
  const bytes = value.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    return { problem: `${field}: a Size of ${bytes} bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string` };
  }
  return { text: Quantity.fromNanos(BigInt(bytes) * 1_000_000_000n).canonical(true) };
}

/** True for a cdk8s-plus `Cpu` (by shape, so that any copy of cdk8s-plus is accepted). */
function isCpu(value: unknown): value is kplus.Cpu {
  return value !== null && typeof value === 'object' && typeof (value as kplus.Cpu).amount === 'string';
}

/** True for a cdk8s `Size` (by shape). */
function isSize(value: unknown): value is Size {
  return value !== null && typeof value === 'object' && typeof (value as Size).toKibibytes === 'function';
}
