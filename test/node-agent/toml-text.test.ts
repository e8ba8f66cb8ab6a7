/**
 * The byte-level text edits of the node agent (`toml-text.ts`) on files as binary strings: our
 * blocks and `imports` entries come out again in any order, leaving every other byte; marker-like
 * lines inside a user's multi-line strings are the user's.
 */
import {
  addImport, appendBlock, bytesOf, extractBlock, hasImportsLine, importsOf, IMPORTS_TAG, markers, ourText, removeImport,
  rootVersion, stripAllBlocks, stripBlock, textOf,
} from '../../src/node-agent/toml-text';

/** All orders of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

const SETUPS = ['setup-a', 'setup-b', 'setup-c'];

/** A setup's block as the planner builds it (no final line end), with a non-ASCII character of ours. */
function blockOf(setup: string): string {
  const { begin, end } = markers(setup);
  return ourText([begin, `# handlers of ${setup} – ours`, `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${setup}]`, '  runtime_type = "io.containerd.runc.v2"', end].join('\n'));
}

const latin1 = (...parts: Array<string | number[]>) => textOf(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))));

const ORIGINALS: Array<[string, string]> = [
  ['empty', ''],
  ['LF, final newline', 'version = 2\n[a]\n  b = 1\n'],
  ['no final newline', 'version = 2\n[a]\n  b = 1'],
  ['CRLF, no final newline', 'version = 2\r\n[a]\r\n  b = 1'],
  ['a lone CR at the end', 'version = 2\r'],
  ['Latin-1 and NUL bytes, no final newline', latin1('version = 2\n# caf', [0xe9], ' ', [0x00], '\nname = "r', [0xe9, 0x73], '"')],
  ['a multi-line string with our marker lines, no final newline', `version = 2\nnote = """\n${markers('setup-a').begin}\nuser text\n${markers('setup-a').end}\n"""`],
];

describe('blocks: appended and stripped in any order, every byte of the original back', () => {
  test.each(ORIGINALS)('%s', (_name, original) => {
    let text = original;
    for (const setup of SETUPS) text = appendBlock(stripBlock(text, setup).text, blockOf(setup));
    // What is not ours is the original, whatever the order of the blocks.
    expect(stripAllBlocks(text)).toBe(original);
    for (const setup of SETUPS) expect(extractBlock(text, setup)).toContain(markers(setup).end);
    for (const order of permutations(SETUPS)) {
      let left = text;
      for (const setup of order) {
        const stripped = stripBlock(left, setup);
        expect(stripped.paired).toBe(true);
        left = stripped.text;
      }
      expect({ order, left }).toEqual({ order, left: original });
    }
  });

  test('a file without a final newline keeps ending without one: the block brings the line end before it', () => {
    const text = appendBlock('a = 1', blockOf('setup-a'));
    expect(text.startsWith('a = 1\n# BEGIN cdk8s-runtimeclass setup-a\n')).toBe(true);
    expect(text.endsWith('# END cdk8s-runtimeclass setup-a')).toBe(true);
    expect(appendBlock('a = 1\n', blockOf('setup-a')).endsWith('# END cdk8s-runtimeclass setup-a\n')).toBe(true);
  });

  test('our UTF-8 text and the file\'s Latin-1 bytes both come out as written', () => {
    const original = latin1('# caf', [0xe9], '\n');
    const bytes = bytesOf(appendBlock(original, blockOf('setup-a')));
    expect(bytes.subarray(0, 6).equals(Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9]))).toBe(true);
    expect(bytes.toString('latin1')).not.toContain('\uFFFD');
    expect(bytes.toString('utf8')).toContain('– ours');
  });
});

describe('a marker-like line inside a user\'s multi-line string is the user\'s', () => {
  const { begin, end } = markers('setup-a');
  test.each([
    ['basic', `note = """\n${begin}\nx\n${end}\n"""\n`],
    ['literal', `note = '''\n${begin}\nx\n${end}\n'''\n`],
    ['an escaped quote run inside', `note = """\nsay \\""" then\n${begin}\n${end}\n"""\n`],
    ['a closing run of five quotes', `note = """\nx""\n${begin}\n${end}\n"""""\n`],
    ['opened after a key on the same line as a string with quotes', `a = "\\"" ; note = """\n${begin}\n${end}\n"""\n`],
  ])('%s', (_name, user) => {
    const text = appendBlock(`version = 2\n${user}`, blockOf('setup-a'));
    expect(stripBlock(text, 'setup-a')).toEqual({ text: `version = 2\n${user}`, paired: true });
    expect(stripAllBlocks(text)).toBe(`version = 2\n${user}`);
    expect(extractBlock(text, 'setup-a')).toBe(`${blockOf('setup-a')}\n`);
  });

  test.each([
    ['a literal string holding """', 'a = \'"""\'\n'],
    ['a comment holding """', '# say """\n'],
    ['a basic string holding \'\'\'', 'a = "\'\'\'"\n'],
    ['a closed multi-line string on one line', 'a = """x"""\n'],
  ])('no multi-line string is opened by %s: a block after it is ours', (_name, user) => {
    const text = appendBlock(user, blockOf('setup-a'));
    expect(stripBlock(text, 'setup-a').text).toBe(user);
  });

  test('the root `version` and `imports` lines of a string do not count', () => {
    const text = 'note = """\nversion = 3\nimports = ["/x.toml"]\n"""\nversion = 2\n';
    expect(rootVersion(text)).toBe(2);
    expect(hasImportsLine(text)).toBe(false);
    expect(importsOf(text)).toEqual([]);
  });

  test('a UTF-8 byte order mark (as bytes) before the version line', () => {
    expect(rootVersion(latin1([0xef, 0xbb, 0xbf], 'version = 3\n'))).toBe(3);
  });
});

describe('`imports` entries of several setups: any order of removal gives the original back', () => {
  const path = (setup: string) => `/etc/containerd/conf.d/${setup}.toml`;
  test.each([
    ['no imports line', 'version = 3\n[grpc]\n  address = "x"\n'],
    ['no imports line, CRLF, no final newline', 'version = 3\r\n[grpc]'],
    ['`imports = []`', 'version = 3\nimports = []\n'],
    ['a list of the user\'s', 'version = 3\nimports = ["/etc/site.toml"]\n'],
    ['a multi-line list', 'version = 3\nimports = [\n  "/etc/site.toml",\n]\n'],
  ])('%s', (_name, original) => {
    let text = original;
    const hadLine: { [setup: string]: boolean } = {};
    for (const setup of SETUPS) {
      hadLine[setup] = hasImportsLine(text);
      text = addImport(text, path(setup));
    }
    expect(importsOf(text).slice(0, 3)).toEqual(SETUPS.map(path).reverse());
    for (const order of permutations(SETUPS)) {
      let left = text;
      for (const setup of order) left = removeImport(left, path(setup), hadLine[setup]);
      expect({ order, left }).toEqual({ order, left: original });
    }
  });

  test('the line we add says it is ours; one the file had gets no such comment', () => {
    expect(addImport('version = 3\n', '/x.toml')).toBe(`version = 3\nimports = ["/x.toml"]${IMPORTS_TAG}\n`);
    expect(addImport('version = 3\nimports = []\n', '/x.toml')).toBe('version = 3\nimports = ["/x.toml"]\n');
  });
});
