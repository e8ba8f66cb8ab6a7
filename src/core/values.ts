// Values users give as props, as the checks see them: cdk8s `Lazy` values resolved first (a check
// of the produced value, not of the object that will produce it), and any value named readably
// in messages.
import { Lazy } from 'cdk8s';

/** A produced value, or why it could not be produced. */
export type Resolved = { readonly value: unknown; readonly problem?: undefined } | { readonly value?: undefined; readonly problem: string };

/** True for a cdk8s `Lazy` (by shape, so that any copy of cdk8s counts). */
export function isLazy(value: unknown): boolean {
  if (value instanceof Lazy) return true;
  return value !== null && typeof value === 'object' && typeof (value as { produce?: unknown }).produce === 'function'
    && (value as object).constructor?.name === 'Lazy';
}

/** `value`, with `Lazy` values produced (a Lazy that produces a Lazy is produced again). */
export function resolveValue(value: unknown): Resolved {
  let current = value;
  for (let depth = 0; isLazy(current); depth++) {
    if (depth === 10) return { problem: 'a Lazy value that keeps producing Lazy values' };
    try {
      current = (current as Lazy).produce();
    } catch (e: any) {
      return { problem: `a Lazy value that cannot be produced yet (${e?.message ?? e})` };
    }
  }
  return { value: current };
}

/** A value as messages name it: strings quoted, objects by their class, Lazy values by what they produce. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (isLazy(value)) {
    const resolved = resolveValue(value);
    return resolved.problem ?? `a Lazy value producing ${describeValue(resolved.value)}`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return `${typeof value} ${JSON.stringify(value)}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `an object (${name})` : `an object ${safeJson(value)}`;
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return '(not JSON)';
  }
}

/** A name as checks and messages use it: the string it is or produces, else how it reads (`describeValue`). */
export function nameText(value: unknown): string {
  const resolved = resolveValue(value);
  return typeof resolved.value === 'string' ? resolved.value : describeValue(value);
}

/**
 * What is wrong with `value` as a member of `members` (an enum's object), for JavaScript callers
 * who can pass anything: undefined when it is one. `enumName` names the enum in the fix.
 */
export function enumProblem(members: { [key: string]: string }, value: unknown, field: string, enumName: string): string | undefined {
  if (Object.values(members).includes(value as string)) return undefined;
  const choices = Object.keys(members).map((k) => `${enumName}.${k}`).join(', ');
  return `${field} is ${describeValue(value)}, which is not a ${enumName}: use one of ${choices}`;
}
