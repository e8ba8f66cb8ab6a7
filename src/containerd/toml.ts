/**
 * Minimal TOML 1.0 value writers for the renderers in this folder.
 *
 * We only ever write TOML (never read it back), so a writer for the handful of value kinds
 * containerd, CRI-O and the gVisor shim take is smaller and more predictable than a
 * serializer library: no float formatting surprises, no key reordering, same bytes every time.
 */

/** A value the renderers can write: TOML basic string, boolean, integer or array of strings. */
export type TomlValue = string | boolean | number | readonly string[];

// Keys that TOML allows without quotes (TOML 1.0, "Keys": bare keys).
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Escapes with a short form in TOML 1.0; every other control character uses \uXXXX.
const SHORT_ESCAPES: { readonly [char: string]: string } = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
  '"': '\\"',
  '\\': '\\\\',
};

/**
 * Writes `value` as a TOML basic string (`"..."`).
 *
 * Escapes `\`, `"`, the control characters U+0000 to U+001F (as `\b \t \n \f \r` where TOML has
 * a short form, otherwise `\uXXXX`) and DEL (`\u007F`), which TOML forbids raw in basic strings.
 *
 * @throws Error if `value` is not a string or holds a lone UTF-16 surrogate (not valid Unicode,
 *   so it cannot be written as UTF-8).
 */
export function tomlString(value: string): string {
  if (typeof value !== 'string') {
    throw new Error(`TOML string expected, got ${describe(value)}`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw new Error(`TOML string ${JSON.stringify(value)} contains a lone UTF-16 surrogate, which is not valid Unicode`);
  }
  const escaped = value.replace(/[\u0000-\u001F\u007F"\\]/g, (char) =>
    SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return `"${escaped}"`;
}

/**
 * Writes `key` as a TOML key: bare when it only holds `A-Za-z0-9_-`, otherwise quoted
 * (so `io.containerd.grpc.v1.cri` becomes one key, `"io.containerd.grpc.v1.cri"`, not three).
 *
 * @throws Error if `key` is empty (legal TOML, but always a mistake in our output).
 */
export function tomlKey(key: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new Error(`TOML key must be a non-empty string, got ${describe(key)}`);
  }
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/**
 * Writes a TOML value: a basic string, `true`/`false`, an integer, or an array of strings.
 *
 * Numbers must be safe integers: the configurations we write have no float settings, and a
 * float written as `1` would silently change its TOML type.
 *
 * @throws Error for non-integer, non-finite or unsafe numbers, arrays holding non-strings,
 *   and any other kind of value.
 */
export function tomlValue(value: TomlValue): string {
  if (typeof value === 'string') {
    return tomlString(value);
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new Error(`TOML integer expected, got ${describe(value)}: only whole numbers between -(2^53-1) and 2^53-1 are written`);
    }
    // String(-0) is "0", which is what we want.
    return String(value);
  }
  if (Array.isArray(value)) {
    const items = value.map((item: unknown, index) => {
      if (typeof item !== 'string') {
        throw new Error(`TOML array of strings expected, element ${index} is ${describe(item)}`);
      }
      return tomlString(item);
    });
    return `[${items.join(', ')}]`;
  }
  throw new Error(`Cannot write ${describe(value)} as a TOML value: expected a string, boolean, integer or array of strings`);
}

/**
 * Writes a standard table header, e.g. `['plugins', 'io.containerd.grpc.v1.cri']` becomes
 * `[plugins."io.containerd.grpc.v1.cri"]`.
 *
 * @throws Error if `path` is empty or holds an empty key.
 */
export function tomlTableHeader(path: readonly string[]): string {
  if (!Array.isArray(path) || path.length === 0) {
    throw new Error('TOML table header needs at least one key');
  }
  return `[${path.map(tomlKey).join('.')}]`;
}

/** Writes one `key = value` line (without the newline). */
export function tomlKeyValue(key: string, value: TomlValue): string {
  return `${tomlKey(key)} = ${tomlValue(value)}`;
}

/** A short description of an unexpected value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return `a value of type ${typeof value}`;
}
