import { parse } from 'smol-toml';
import { tomlKey, tomlKeyValue, tomlString, tomlTableHeader, tomlValue, TomlValue } from '../../src/containerd';

/** Parses `k = <written value>` and returns what a TOML 1.0 parser reads back. */
function readBack(written: string): unknown {
  return parse(`k = ${written}\n`).k;
}

describe('tomlString', () => {
  test('writes a plain string as a basic string', () => {
    expect(tomlString('io.containerd.runc.v2')).toBe('"io.containerd.runc.v2"');
    expect(tomlString('')).toBe('""');
  });

  test.each([
    ['backslash', 'C:\\path', '"C:\\\\path"'],
    ['double quote', 'say "hi"', '"say \\"hi\\""'],
    ['backspace', 'a\bb', '"a\\bb"'],
    ['tab', 'a\tb', '"a\\tb"'],
    ['newline', 'a\nb', '"a\\nb"'],
    ['form feed', 'a\fb', '"a\\fb"'],
    ['carriage return', 'a\rb', '"a\\rb"'],
    ['NUL', 'a\u0000b', '"a\\u0000b"'],
    ['escape (U+001B)', 'a\u001Bb', '"a\\u001Bb"'],
    ['unit separator (U+001F)', 'a\u001Fb', '"a\\u001Fb"'],
    ['DEL', 'a\u007Fb', '"a\\u007Fb"'],
  ])('escapes %s', (_name, input, expected) => {
    expect(tomlString(input)).toBe(expected);
  });

  test('leaves printable non-ASCII text as it is', () => {
    expect(tomlString('héllo wörld ✓ 日本 😀')).toBe('"héllo wörld ✓ 日本 😀"');
  });

  test.each([
    'plain',
    'quotes " and \' and """',
    'back\\slash\\\\ and \\n literally',
    'line one\nline two\r\n\ttabbed',
    'controls \u0000\u0001\u0008\u000B\u000C\u001F\u007F',
    'unicode é ✓ 日本 😀 \u00A0 \u2028',
    '#not a comment = [x]',
  ])('round-trips %j through a TOML parser', (input) => {
    expect(readBack(tomlString(input))).toBe(input);
  });

  test('rejects a lone surrogate, which is not valid Unicode', () => {
    expect(() => tomlString('a\uD800b')).toThrow('TOML string "a\\ud800b" contains a lone UTF-16 surrogate, which is not valid Unicode');
    expect(() => tomlString('\uDC00')).toThrow('contains a lone UTF-16 surrogate');
  });

  test('rejects a value that is not a string', () => {
    expect(() => tomlString(42 as unknown as string)).toThrow('TOML string expected, got 42');
    expect(() => tomlString(undefined as unknown as string)).toThrow('TOML string expected, got undefined');
    expect(() => tomlString(['a'] as unknown as string)).toThrow('TOML string expected, got an array');
  });
});

describe('tomlKey', () => {
  test.each(['runc', 'kata-qemu', 'runtime_type', 'SystemdCgroup', 'A-Z_0-9', '1234'])('writes %j bare', (key) => {
    expect(tomlKey(key)).toBe(key);
  });

  test.each([
    ['io.containerd.grpc.v1.cri', '"io.containerd.grpc.v1.cri"'],
    ['has space', '"has space"'],
    ['quote"d', '"quote\\"d"'],
    ['ünïcode', '"ünïcode"'],
    ['a/b', '"a/b"'],
  ])('quotes %j', (key, expected) => {
    expect(tomlKey(key)).toBe(expected);
  });

  test('quoted keys read back as one key', () => {
    const parsed = parse(`${tomlKey('io.containerd.grpc.v1.cri')} = 1\n${tomlKey('quote"d')} = 2\n`);
    expect(parsed).toEqual({ 'io.containerd.grpc.v1.cri': 1, 'quote"d': 2 });
  });

  test('rejects an empty key', () => {
    expect(() => tomlKey('')).toThrow('TOML key must be a non-empty string, got ""');
  });

  test('rejects a key that is not a string', () => {
    expect(() => tomlKey(undefined as unknown as string)).toThrow('TOML key must be a non-empty string, got undefined');
  });
});

describe('tomlValue', () => {
  test('writes strings as basic strings', () => {
    expect(tomlValue('x"y')).toBe('"x\\"y"');
  });

  test('writes booleans', () => {
    expect(tomlValue(true)).toBe('true');
    expect(tomlValue(false)).toBe('false');
  });

  test.each([
    [0, '0'],
    [-0, '0'],
    [42, '42'],
    [-7, '-7'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [Number.MIN_SAFE_INTEGER, '-9007199254740991'],
  ])('writes the integer %d as %s', (value, expected) => {
    expect(tomlValue(value)).toBe(expected);
  });

  test.each([
    [1.5, '1.5'],
    [0.1, '0.1'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [2 ** 53, '9007199254740992'],
  ])('rejects the non-integer or unsafe number %d', (value, shown) => {
    expect(() => tomlValue(value)).toThrow(
      `TOML integer expected, got ${shown}: only whole numbers between -(2^53-1) and 2^53-1 are written`,
    );
  });

  test('writes arrays of strings', () => {
    expect(tomlValue([])).toBe('[]');
    expect(tomlValue(['io.katacontainers.*'])).toBe('["io.katacontainers.*"]');
    expect(tomlValue(['a', 'b"c'])).toBe('["a", "b\\"c"]');
  });

  test.each<[string, TomlValue]>([
    ['string', 'a\\b\n"c"'],
    ['true', true],
    ['false', false],
    ['integer', -12345],
    ['empty array', []],
    ['array', ['x', 'y\nz', '😀']],
  ])('round-trips a %s', (_name, value) => {
    expect(readBack(tomlValue(value))).toEqual(value);
  });

  test('rejects an array holding something other than strings', () => {
    expect(() => tomlValue(['a', 1] as unknown as string[])).toThrow('TOML array of strings expected, element 1 is 1');
  });

  test.each<[string, unknown, string]>([
    ['null', null, 'Cannot write null as a TOML value: expected a string, boolean, integer or array of strings'],
    ['undefined', undefined, 'Cannot write undefined as a TOML value'],
    ['an object', { a: 1 }, 'Cannot write a value of type object as a TOML value'],
    ['a bigint', BigInt(1), 'Cannot write a value of type bigint as a TOML value'],
  ])('rejects %s', (_name, value, message) => {
    expect(() => tomlValue(value as TomlValue)).toThrow(message);
  });
});

describe('tomlTableHeader', () => {
  test('quotes only the keys that need it', () => {
    expect(tomlTableHeader(['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'kata-qemu']))
      .toBe('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu]');
    expect(tomlTableHeader(['runsc_config'])).toBe('[runsc_config]');
  });

  test('reads back as nested tables', () => {
    const text = `${tomlTableHeader(['plugins', 'io.containerd.cri.v1.runtime', 'x'])}\nk = 1\n`;
    expect(parse(text)).toEqual({ plugins: { 'io.containerd.cri.v1.runtime': { x: { k: 1 } } } });
  });

  test('rejects an empty path', () => {
    expect(() => tomlTableHeader([])).toThrow('TOML table header needs at least one key');
  });

  test('rejects an empty key in the path', () => {
    expect(() => tomlTableHeader(['plugins', ''])).toThrow('TOML key must be a non-empty string, got ""');
  });
});

describe('tomlKeyValue', () => {
  test('writes one key = value line', () => {
    expect(tomlKeyValue('runtime_type', 'io.containerd.runc.v2')).toBe('runtime_type = "io.containerd.runc.v2"');
    expect(tomlKeyValue('a.b', ['x'])).toBe('"a.b" = ["x"]');
  });

  test('passes on value errors', () => {
    expect(() => tomlKeyValue('IoUid', 0.5)).toThrow('TOML integer expected, got 0.5');
  });
});
