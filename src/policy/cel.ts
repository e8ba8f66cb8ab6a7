// Small builders for the CEL text the admission policies carry.

/** A CEL string literal. JSON's escapes (\" \\ \n \uXXXX) are all valid CEL escapes. */
export function celString(value: string): string {
  return JSON.stringify(value);
}

/** A CEL list of string literals. */
export function celList(values: string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

/**
 * `has()` for every step of a field path, so a missing field anywhere makes the whole
 * expression false instead of an evaluation error: `has(a.b) && has(a.b.c)`.
 */
export function hasPath(path: string): string {
  const parts = path.split('.');
  const checks: string[] = [];
  for (let end = 2; end <= parts.length; end++) checks.push(`has(${parts.slice(0, end).join('.')})`);
  return checks.join(' && ');
}
