import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { descriptorChunks, detached, fileChunks, listInputFiles, parseYamlDocuments, readError, readInputFile, STDIN } from '../../src/report/read';

/** The fs module itself (the source reads its functions through it at each call), for spying. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs: typeof fs = require('fs');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'report-read-'));
}

function write(root: string, file: string, text: string): string {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
}

describe('listInputFiles', () => {
  test('walks directories for *.yaml and *.yml, sorted, and keeps explicit files whatever their extension', () => {
    const root = tempDir();
    write(root, 'b.yaml', '');
    write(root, 'a/z.yml', '');
    write(root, 'a/y.YAML', '');
    write(root, 'a/notes.txt', '');
    write(root, 'manifest.json', '{}');
    const { files, errors } = listInputFiles([root, path.join(root, 'manifest.json'), path.join(root, 'b.yaml')]);
    expect(errors).toEqual([]);
    expect(files.map((f) => path.relative(root, f))).toEqual([path.join('a', 'y.YAML'), path.join('a', 'z.yml'), 'b.yaml', 'manifest.json']);
  });

  test('a missing path and a directory without YAML are errors naming the path', () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'empty'));
    const missing = path.join(root, 'missing.yaml');
    const { files, errors } = listInputFiles([missing, path.join(root, 'empty')]);
    expect(files).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([
      `cannot read "${missing}": no such file or directory`,
      `no *.yaml or *.yml file under "${path.join(root, 'empty')}"`,
    ]);
  });

  test('a symbolic link loop is followed once', () => {
    const root = tempDir();
    write(root, 'dir/app.yaml', '');
    fs.symlinkSync(path.join(root, 'dir'), path.join(root, 'dir', 'loop'));
    const { files, errors } = listInputFiles([root]);
    expect(errors).toEqual([]);
    expect(files.map((f) => path.relative(root, f))).toEqual([path.join('dir', 'app.yaml')]);
  });

  test('the files of a directory are listed in the order of their names\' UTF-16 code units, whatever order the file system gives', () => {
    const root = tempDir();
    const names = ['b.yaml', 'a.yml', 'B.yaml', '_.yaml', 'a0.yaml', 'a.yaml', 'é.yaml', 'Z.yml', 'ｆ.yaml', '😀.yaml'];
    for (const name of names) write(root, name, '');
    write(root, 'sub/b.yaml', '');
    write(root, 'sub/a.yaml', '');
    const sorted = ['B.yaml', 'Z.yml', '_.yaml', 'a.yaml', 'a.yml', 'a0.yaml', 'b.yaml', path.join('sub', 'a.yaml'), path.join('sub', 'b.yaml'), 'é.yaml', '😀.yaml', 'ｆ.yaml'];
    // Some file systems list a directory in creation order, or in an order of their own: here, backwards.
    const readdirSync = fs.readdirSync;
    const spy = jest.spyOn(nodeFs, 'readdirSync').mockImplementation(((dir: fs.PathLike, options: any) => (readdirSync(dir, options) as unknown[]).reverse()) as typeof fs.readdirSync);
    try {
      expect(listInputFiles([root]).files.map((f) => path.relative(root, f))).toEqual(sorted);
    } finally {
      spy.mockRestore();
    }
  });

  test('only names ending in .yaml or .yml, in any case, are found in a directory', () => {
    const root = tempDir();
    for (const name of ['a.YML', 'b.Yaml', 'c.yaml.bak', 'yaml', 'd.xyaml.txt', 'e.ymlx', 'f.json']) write(root, name, '');
    expect(listInputFiles([root]).files.map((f) => path.basename(f))).toEqual(['a.YML', 'b.Yaml']);
  });

  test('symbolic links to files and directories are followed; dangling links and link loops are skipped; a file is listed once', () => {
    const root = tempDir();
    const app = write(root, 'real/app.yaml', '');
    write(root, 'other/svc.yaml', '');
    fs.symlinkSync(path.join(root, 'other'), path.join(root, 'real', 'linked-dir'));
    fs.symlinkSync(path.join(root, 'other', 'svc.yaml'), path.join(root, 'real', 'linked.yaml'));
    fs.symlinkSync(path.join(root, 'missing.yaml'), path.join(root, 'real', 'dangling.yaml'));
    fs.symlinkSync(path.join(root, 'real', 'loop-b.yaml'), path.join(root, 'real', 'loop-a.yaml'));
    fs.symlinkSync(path.join(root, 'real', 'loop-a.yaml'), path.join(root, 'real', 'loop-b.yaml'));
    const { files, errors } = listInputFiles([app, path.join(root, 'real')]);
    expect(errors).toEqual([]);
    expect(files.map((f) => path.relative(root, f))).toEqual([
      path.join('real', 'app.yaml'), path.join('real', 'linked-dir', 'svc.yaml'), path.join('real', 'linked.yaml'),
    ]);
  });

  test('a path that is a symbolic link loop, or goes through a file, is an error naming it', () => {
    const root = tempDir();
    const [a, b] = [path.join(root, 'a.yaml'), path.join(root, 'b.yaml')];
    fs.symlinkSync(b, a);
    fs.symlinkSync(a, b);
    const file = write(root, 'file.yaml', '');
    const through = path.join(file, 'x.yaml');
    const { files, errors } = listInputFiles([a, through]);
    expect(files).toEqual([]);
    expect(errors).toEqual([
      { file: a, message: `cannot read "${a}": too many symbolic links` },
      { file: through, message: `cannot read "${through}": ENOTDIR: not a directory, stat '${through}'` },
    ]);
  });

  test('a directory that cannot be listed is an error naming it; the rest of the walk goes on', () => {
    const root = tempDir();
    write(root, 'a/app.yaml', '');
    write(root, 'locked/secret.yaml', '');
    write(root, 'z.yaml', '');
    const locked = path.join(root, 'locked');
    const readdirSync = fs.readdirSync;
    const spy = jest.spyOn(nodeFs, 'readdirSync').mockImplementation(((dir: fs.PathLike, options: any) => {
      if (dir === locked) throw Object.assign(new Error(`EACCES: permission denied, scandir '${locked}'`), { code: 'EACCES' });
      return readdirSync(dir, options);
    }) as typeof fs.readdirSync);
    try {
      const { files, errors } = listInputFiles([root]);
      expect(files.map((f) => path.relative(root, f))).toEqual([path.join('a', 'app.yaml'), 'z.yaml']);
      expect(errors).toEqual([{ file: locked, message: `cannot read directory "${locked}": permission denied` }]);
    } finally {
      spy.mockRestore();
    }
  });

  test('"-" stands for standard input', () => {
    expect(listInputFiles(['-', '-']).files).toEqual([STDIN]);
    expect(readInputFile(STDIN, () => 'kind: X')).toEqual({ text: 'kind: X' });
  });

  test('a file is read as UTF-8 text', () => {
    const file = write(tempDir(), 'app.yaml', 'name: café\n');
    expect(readInputFile(file, () => '')).toEqual({ text: 'name: café\n' });
  });

  test('an unreadable file is an error, not an exception', () => {
    const root = tempDir();
    expect(readInputFile(root, () => '').error?.message).toBe(`cannot read "${root}": is a directory`);
  });
});

describe('parseYamlDocuments', () => {
  test('every document with the line it starts on; empty documents are dropped', () => {
    const text = 'a: 1\n---\n# comment\n\nb: 2\n---\n---\n- x\n';
    const { documents, errors } = parseYamlDocuments(text, 'f.yaml');
    expect(errors).toEqual([]);
    expect(documents).toEqual([
      { location: { file: 'f.yaml', line: 1 }, value: { a: 1 } },
      { location: { file: 'f.yaml', line: 5 }, value: { b: 2 } },
      { location: { file: 'f.yaml', line: 8 }, value: ['x'] },
    ]);
  });

  test('a document with a syntax error is reported with its line and left out; the others are kept', () => {
    const { documents, errors } = parseYamlDocuments('a: 1\n---\nb: [1\n---\nc: {x: 1, x: 2}\n---\nd: 4\n', 'f.yaml');
    expect(documents.map((d) => d.value)).toEqual([{ a: 1 }, { d: 4 }]);
    expect(errors.map((e) => e.message)).toEqual([
      'f.yaml:3:6: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'f.yaml:5:11: invalid YAML: Map keys must be unique',
    ]);
  });

  test('an alias bomb and a binary file are errors, not crashes', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghij'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`)].join('\n');
    const result = parseYamlDocuments(bomb, 'bomb.yaml');
    expect(result.documents).toEqual([]);
    expect(result.errors[0].message).toMatch(/^bomb\.yaml:1: cannot be read: /);
    expect(parseYamlDocuments('a\u0000b', 'x.bin').errors.map((e) => e.message)).toEqual(['x.bin: is a binary file, not YAML']);
  });

  test('a List streamed item by item comes back whole, with the line of each item; an item that cannot be parsed is reported and left out', () => {
    const { documents, errors } = parseYamlDocuments('# dump\napiVersion: v1\nitems:\n- a: 1\n- b: [1\n- c: 3\nkind: List\n---\nitems:\n- d\n', 'f.yaml');
    expect(documents).toEqual([
      { location: { file: 'f.yaml', line: 2 }, value: { apiVersion: 'v1', kind: 'List', items: [{ a: 1 }, { c: 3 }] }, itemLines: [4, 6] },
      { location: { file: 'f.yaml', line: 9 }, value: { items: ['d'] }, itemLines: [10] },
    ]);
    const message = 'f.yaml:5:8: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]';
    expect(errors).toEqual([{ file: 'f.yaml', location: { file: 'f.yaml', line: 5 }, message }]);
  });

  test('a List read whole by the yaml package comes back with the line of each item', () => {
    expect(parseYamlDocuments('%YAML 1.2\n---\nkind: List\nitems:\n- a: 1\n\n- b: 2\n', 'f.yaml')).toEqual({
      documents: [{ location: { file: 'f.yaml', line: 3 }, value: { kind: 'List', items: [{ a: 1 }, { b: 2 }] }, itemLines: [5, 7] }],
      errors: [],
    });
  });

  test('standard input is named <stdin>', () => {
    expect(parseYamlDocuments('a: [', STDIN).errors[0].message).toMatch(/^<stdin>:1:\d+: invalid YAML: /);
  });
});

describe('readError', () => {
  test.each([
    ['ENOENT', { code: 'ENOENT' }, 'no such file or directory'],
    ['EACCES', { code: 'EACCES', message: 'EACCES: permission denied, open' }, 'permission denied'],
    ['EPERM', { code: 'EPERM' }, 'permission denied'],
    ['EISDIR', { code: 'EISDIR' }, 'is a directory'],
    ['ELOOP', { code: 'ELOOP' }, 'too many symbolic links'],
    ['another code: its message', { code: 'EIO', message: 'EIO: i/o error, read' }, 'EIO: i/o error, read'],
    ['a thrown string', 'stream closed', 'stream closed'],
    ['nothing', undefined, 'undefined'],
  ])('names the file and says why in words: %s', (_name, error, why) => {
    expect(readError('app.yaml', error)).toEqual({ file: 'app.yaml', message: `cannot read "app.yaml": ${why}` });
  });

  test('standard input is named <stdin> in the message', () => {
    expect(readError(STDIN, { code: 'EISDIR' })).toEqual({ file: STDIN, message: 'cannot read "<stdin>": is a directory' });
  });
});

describe('reading in chunks', () => {
  const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;
  const linux = fs.existsSync('/proc/self/fd') ? test : test.skip;

  test('characters cut by the chunk boundary (64 KiB) are read whole; a file cut inside a character ends in U+FFFD', () => {
    const root = tempDir();
    // Each character starts 1, 2 or 3 bytes before the end of a chunk.
    const parts = ['a: "'];
    let bytes = 4;
    for (const [char, offset] of [['é', 65535], ['€', 131070], ['😀', 196605]] as const) {
      parts.push('x'.repeat(offset - bytes), char);
      bytes = offset + Buffer.byteLength(char);
    }
    const text = `${parts.join('')}"\n`;
    expect(Buffer.from(text).subarray(196605, 196609).toString()).toBe('😀');
    const whole = write(root, 'whole.yaml', text);
    expect([...fileChunks(whole, () => [])].join('')).toBe(text);
    const cut = path.join(root, 'cut.yaml');
    fs.writeFileSync(cut, Buffer.concat([Buffer.from('a: b'), Buffer.from('😀').subarray(0, 2)]));
    expect([...fileChunks(cut, () => [])]).toEqual(['a: b', '\ufffd']);
  });

  test('a small file is one chunk, an empty one none', () => {
    const root = tempDir();
    expect([...fileChunks(write(root, 'small.yaml', 'a: 1\n'), () => [])]).toEqual(['a: 1\n']);
    expect([...fileChunks(write(root, 'empty.yaml', ''), () => [])]).toEqual([]);
  });

  test('standard input is read through the function given for it', () => {
    expect([...fileChunks(STDIN, () => ['a: 1\n', 'b: 2\n'])]).toEqual(['a: 1\n', 'b: 2\n']);
  });

  linux('the file is closed when read to its end, and when the reader stops early', () => {
    const root = tempDir();
    const file = write(root, 'app.yaml', 'x'.repeat(200 * 1024));
    const before = openDescriptors();
    expect([...fileChunks(file, () => [])].join('').length).toBe(200 * 1024);
    expect(openDescriptors()).toBe(before);
    for (const chunk of fileChunks(file, () => [])) {
      expect(openDescriptors()).toBe(before + 1);
      expect(chunk.length).toBe(64 * 1024);
      break;
    }
    expect(openDescriptors()).toBe(before);
  });

  test('a descriptor with nothing to read yet (EAGAIN, a non-blocking pipe) is waited on; EOF ends it; other errors are thrown', () => {
    const results: Array<number | Error> = [Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' }), 5, Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' }), 3, 0];
    const readSync = jest.spyOn(nodeFs, 'readSync').mockImplementation(((_fd: number, buffer: Buffer) => {
      const next = results.shift()!;
      if (next instanceof Error) throw next;
      buffer.write('a: 1\nb: 2'.slice(next === 5 ? 0 : 5, next === 5 ? 5 : 8));
      return next;
    }) as any);
    try {
      expect([...descriptorChunks(99)]).toEqual(['a: 1\n', 'b: ']);
      expect(results).toEqual([]);
      readSync.mockImplementationOnce(() => { throw Object.assign(new Error('EOF'), { code: 'EOF' }); });
      expect([...descriptorChunks(99)]).toEqual([]);
      readSync.mockImplementationOnce(() => { throw Object.assign(new Error('EBADF: bad file descriptor, read'), { code: 'EBADF' }); });
      expect(() => [...descriptorChunks(99)]).toThrow('EBADF: bad file descriptor, read');
    } finally {
      readSync.mockRestore();
    }
  });
});

describe('detached', () => {
  test.each(['', 'a', 'twelve chars', 'thirteen char', 'a-much-longer-container-name'])('gives back the same text: %j', (text) => {
    const copy = detached(text);
    expect(copy).toBe(text);
  });
});
