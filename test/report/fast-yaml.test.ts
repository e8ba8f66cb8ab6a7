// The fast YAML reader on its own: for each shape of input it either gives exactly the yaml
// package's value or declines (UNSURE), and it declines only what it must.
import * as util from 'util';
import { parseAllDocuments } from 'yaml';
import { parseFastYaml, UNSURE } from '../../src/report/fast-yaml';
import { parseYamlDocuments } from '../../src/report/read';

/** The lines of `text` as the report's reader gives them: each one ended by a line break. */
function fast(text: string): unknown {
  const lines = text.split('\n');
  return parseFastYaml(lines, 0, lines.length);
}

/** The yaml package's value of `text` (its lines each ended by a line break), or 'error'. */
function library(text: string): unknown {
  const documents = parseAllDocuments(`${text}\n`);
  const list = Array.isArray(documents) ? documents : [];
  if (list.length !== 1 || list[0].errors.length > 0) return 'error';
  return list[0].toJS();
}

function expectRead(text: string): void {
  const value = fast(text);
  expect(value).not.toBe(UNSURE);
  const expected = library(text);
  expect(expected).not.toBe('error');
  expect({ text, value }).toEqual({ text, value: expected });
  expect(util.isDeepStrictEqual(value, expected)).toBe(true);
}

describe('the fast reader gives the yaml package\'s value', () => {
  test.each([
    'a: 9', 'a: 10', 'a: 19', 'a: -5', 'a: +5', 'a: 0.', 'a: 1.', 'a: -1.5', 'a: +.5', 'a: 1.5e-3', 'a: .5E+2', 'a: -1e3', 'a: 1.e3',
    'a: .25', 'a: 12.5', 'a: .25e3', 'a: 12e3', 'a: 1e10',
  ])('numbers of the core schema: %j', expectRead);

  test.each([
    'a: 2e', 'a: 1e', 'a: 12a', 'a: 1.2.3', 'a: 1_000', 'a: 1-2', 'a: e3', 'a: 0o8', 'a: 0o7x', 'a: 0x', 'a: 0xG1', 'a: -.nan', 'a: .infinity',
    'a: +inf', 'a: .nanx', 'a: x.inf', 'a: -0o7', 'a: +0x1F', 'a: 0x1Fg', 'a: 0.inf', 'a: v1e3',
  ])('what only looks like a number is a string: %j', expectRead);

  test.each([
    'a: ~', 'a: null', 'a: Null', 'a: NULL', 'a: true', 'a: True', 'a: TRUE', 'a: false', 'a: False', 'a: FALSE',
    'a: nulls', 'a: tRUE', 'a: truex', 'a: ~x', 'a: yes', 'a: on',
  ])('null and booleans, in each spelling the core schema has, and the words that only look like them: %j', expectRead);

  test.each([
    'a: b[c], {d}', 'a: x&y', 'a: 50%', 'a: b?c', 'a: -x:y', 'a: x-', 'a: b#c', 'a: b   # c', 'a: b #c # d', '- x # c', 'a:\n  x # c',
  ])('plain strings with indicators inside them, and comments after them: %j', expectRead);

  test.each([
    'a: b\t', 'a: b  ', '- x\t', 'a:\t\n  b: 1', 'a: |- \n  x', 'a: "x"\t', 'a: [1] ',
  ])('blanks and tabs at the end of a line: %j', expectRead);

  test.each([
    'a: "\\0\\a\\b\\t\\\t\\n\\v\\f\\r\\e\\ \\"\\/\\\\\\N\\_\\L\\P"', 'a: "\\x41\\x7e \\u00e9\\u00E9 \\U0001F600"', 'a: "x" # c', 'a: "x"  # c',
    'a: "x" #', 'a: ""', "a: ''", "a: 'a''b''c'", "a: '\\n'", 'a: "a#b"', "a: 'x' # c", "- ''",
  ])('quoted strings: every escape, doubled single quotes, comments after them: %j', expectRead);

  test.each([
    '.a: 1', '/a: 1', '1a: x', '-x: 1', 'a:b: 1', 'a b: 1', 'http://x: 1', '"q": 1', "'q': 1", '"q":\n  b: 1', '"a b":  1', '"": 1',
    'truex: 1', 'Nulls: x', 'é: 1', 'a  b: 1', 'a:b:\n  c: 1', 'a:b c: 1', 'a[b]: 1', 'a: {éab: 1}\nb: {ǩ: 2}',
  ])('keys: unusual first characters, colons and blanks inside, quoted keys: %j', expectRead);

  test.each([
    'a:\n  x', 'a: # c\n  b: 1', '- # c\n  x: 1', '-\n- x', '- a\n-', 'a:\nb: 1', '-   a: 1\n    b: 2', 'a:\n  b:\n  - 1\n  c: 2',
    'a:\n- 1\n# c\n- 2', '- a: 1\n\n  b: 2', '  # c\na: 1', 'a: 1\n   # c\nb: 2', 'a:\n  b:\n    c: 1\n  # c\n  d: [2]', '- b:\n- x',
  ])('block mappings and sequences: values on the next line, empty items, comments between: %j', expectRead);

  test.each([
    'a: | # c\n  x', 'a: |\n\n  x', 'a: |\n  x\n  \n  y', 'a: |\n  x\n    y', 'a: |-\n  x\n  y', 'a: |+\n  x\n\n', 'a: |\nb: 1',
    'a: |+\n\nb: 1', 'a: |-\nb: 1', 'a: |\n\nb: 1', 'a:\n  b: |\n    x\n  c: 1', 'a: |\n  x\n\n\n', '- |\n  x\n- y', 'a: |\n  # not a comment', 'a: |  # c\n  x',
  ])('literal block scalars: blank lines, more indented lines, each chomping, empty bodies: %j', expectRead);

  test.each([
    'a: [ ]', 'a: { }', 'a: [~, null]', "a: {'a':1}", 'a: {a: , b: 1}', 'a: {a:, b: 1}', 'a: {a:}', 'a: [a#b]', 'a: [a , b ]',
    'a: [http://x, a:b]', 'a: {a: b:c}', 'a: {a: [1, {b: [2]}]}', 'a: ["x", \'y\']', 'a: [1.5, true, null, "s"]', 'a: {"a b": 1}',
    'ix: 1\nb: {é: 2, ié: 3}', "a: ['', '']",
  ])('flow collections: empty values, quoted and plain keys, colons and "#" inside scalars: %j', expectRead);

  test('flow collections nest 100 deep, and a flow sequence holds any number of collections side by side', () => {
    expectRead(`a: ${'['.repeat(100)}1${']'.repeat(100)}`);
    expectRead(`a: ${'{a: '.repeat(100)}1${'}'.repeat(100)}`);
    expectRead(`a: [${Array.from({ length: 150 }, (_, i) => `[${i}]`).join(', ')}]`);
    expectRead(`a: [${Array.from({ length: 150 }, (_, i) => `{k: ${i}}`).join(', ')}]`);
  });

  test('an empty or comments-only document is null', () => {
    expect(fast('')).toBeNull();
    expect(fast('# only\n\n  # comments')).toBeNull();
  });

  test('reads only lines[from..to): the lines around them do not count', () => {
    const lines = ['x: 0', 'a: 1', 'b: |', '  text', '  more', 'c: 3'];
    expect(parseFastYaml(lines, 1, 4)).toEqual({ a: 1, b: 'text\n' });
    expect(parseFastYaml(lines, 5, 6)).toEqual({ c: 3 });
    expect(parseFastYaml(lines, 2, 2)).toBeNull();
    expect(parseFastYaml(['x: 0', '- a: 1', '  b: 2', '- c'], 1, 4)).toEqual([{ a: 1, b: 2 }, 'c']);
  });
});

describe('the fast reader declines what it does not vouch for', () => {
  test.each([
    'true: x', 'True: x', 'TRUE: x', 'false: x', 'False: x', 'FALSE: x', 'null: x', 'Null: x', 'NULL: x', '~: x', '9: x', '-1: x', '.5: x',
    '"q" x', '"q":x', '? x', '&a b: 1', '!t a: 1', '*a : 1', 'a : 1', 'a #b: 1',
  ])('keys the core schema reads as something else than a string, and keys it cannot tell: %j', (text) => {
    expect(fast(text)).toBe(UNSURE);
  });

  test.each([
    'a: -', 'a: b:', 'a: @x', 'a: `x', 'a: %x', 'a: |x', 'a: >-\n  x', 'a: b\t# c', 'a: b\tc', 'a: "x"y', 'a: "x"y # c', 'a: "x" y', 'a: [1] x',
    "a: 'open", "- 'open", "'open: 1", 'a: "open', 'a: "x\\', 'a: "\\x4g"', 'a: "\\u0g41"', 'a: "\\x4"', 'a: "\\UFFFFFFFF"', 'a: "\\U0011FFFF"', 'a: "\\c00000041"',
    'a: -.inf', 'a: +.Inf', 'a: .INF', 'a: .nan', 'a: .NaN', 'a: .NAN', 'a: 0x1f', 'a: 0o17',
  ])('values that are errors, or that the core schema reads as infinities, NaN, octal or hexadecimal: %j', (text) => {
    expect(fast(text)).toBe(UNSURE);
  });

  test.each([
    '  a: 1\nb: 2', 'a:\n    b: 1\n  c: 2', 'a:\n  - x\n- y', 'a: 1\nb', '\ta: 1', 'a:\n\t- x', 'a:\n  \tb: 1', 'a: |\n  \n  x', 'a: |\n  x\n     \n  y',
    'a:\n  b: |\n      x\n    y', 'a: |\n  x\n\ty', 'a: |\n  \tx',
  ])('indentation it does not follow: less indented lines after a node, tabs, spaces-only lines in literal blocks: %j', (text) => {
    expect(fast(text)).toBe(UNSURE);
  });

  test.each([
    'a: [a: 1]', 'a: {1: x}', 'a: {true: x}', 'a: {a}', 'a: {a:[1]}', 'a: {a: 1, a: 2}', 'a: {__proto__: 1}', 'a: ["a" "b"]', 'a: [a #c]',
    'a: [a, b', 'a: {a: 1', "a: {'a': 1 'b': 2}", "a: {'a' 'b'}", 'a: {"a" 1}',
  ])('flow collections it does not vouch for: %j', (text) => {
    expect(fast(text)).toBe(UNSURE);
  });

  test('flow collections nested deeper than 100 are left to the yaml package', () => {
    expect(fast(`a: ${'['.repeat(101)}1${']'.repeat(101)}`)).toBe(UNSURE);
    expect(fast(`a: ${'{a: '.repeat(101)}1${'}'.repeat(101)}`)).toBe(UNSURE);
  });
});

describe('white space is the blank and the tab only', () => {
  test.each(['a: b\u00a0', 'a: b\ufeff', 'a: b\f', 'a: b\u3000', 'a:\n- x\n- y\u00a0'])(
    'a trailing character that YAML does not count as white space (no-break space, BOM, form feed) is kept: %j', (text) => {
      const lines = text.split('\n');
      const value = parseFastYaml(lines, 0, lines.length);
      const expected = (parseAllDocuments(`${text}\n`) as any)[0].toJS();
      expect(value === UNSURE ? expected : value).toEqual(expected);
    });

  test.each(['a:\n\t\nb: 2', 'b:\n  c:\n\t\n  d: 1', 'a:\n  b:\n \t\n  c: 1'])(
    'a blank line with a tab in its indentation after an empty value, which the yaml package rejects, is declined: %j', (text) => {
      const lines = text.split('\n');
      expect(parseAllDocuments(`${text}\n`)[0].errors.map((e: any) => e.code)).toEqual(['TAB_AS_INDENT']);
      expect(parseFastYaml(lines, 0, lines.length)).toBe(UNSURE);
    });

  test('a quoted value followed by a no-break space is an error, as the yaml package reports it', () => {
    const { documents, errors } = parseYamlDocuments('a: "x"\u00a0\n', 'f.yaml');
    expect({ documents: documents.length, errors: errors.length }).toEqual({ documents: 0, errors: 1 });
  });
});
