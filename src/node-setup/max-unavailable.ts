// The node setup's rollout parallelism (`maxUnavailable`): a cdk8s-plus PercentOrAbsolute or a
// string, checked and rendered as the API server reads an IntOrString.
import * as kplus from 'cdk8s-plus-27';

const COUNT = /^[1-9]\d*$/;
const PERCENT = /^([1-9]\d?|100)%$/;

/**
 * The DaemonSet's `rollingUpdate.maxUnavailable`: a count as an integer, a percentage as a
 * string. The API server rejects a count written as a string ("5"), so it is rendered as 5.
 */
export function maxUnavailableValue(value: string | kplus.PercentOrAbsolute | undefined): number | string {
  const raw = rawValue(value ?? '10%');
  return typeof raw === 'string' && COUNT.test(raw) ? Number(raw) : raw as number | string;
}

/** Why `value` is no positive count or percentage from 1% to 100%, if it is not. */
export function maxUnavailableProblems(value: string | kplus.PercentOrAbsolute | undefined): string[] {
  if (value === undefined) return [];
  const raw = rawValue(value);
  const valid = typeof raw === 'number'
    ? Number.isSafeInteger(raw) && raw >= 1
    : typeof raw === 'string' && (PERCENT.test(raw) || (typeof value === 'string' && COUNT.test(raw)));
  if (valid) return [];
  return [`maxUnavailable ${describe(value)} must be a positive count (PercentOrAbsolute.absolute(5) or "5") or a percentage from 1% to 100% (PercentOrAbsolute.percent(10) or "10%")`];
}

/** A string as written, or a PercentOrAbsolute's value (`"10%"` for percent(10), 5 for absolute(5)). */
function rawValue(value: string | kplus.PercentOrAbsolute): unknown {
  return typeof value === 'string' ? value : (value as { value?: unknown } | null)?.value;
}

function describe(value: string | kplus.PercentOrAbsolute): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const raw = rawValue(value);
  if (typeof raw === 'number') return `PercentOrAbsolute.absolute(${raw})`;
  if (typeof raw === 'string' && raw.endsWith('%')) return `PercentOrAbsolute.percent(${raw.slice(0, -1)})`;
  return JSON.stringify(raw ?? value);
}
