import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listInputFiles, parseYamlDocuments, readInputFile, STDIN } from '../../src/report/read';

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

  test('"-" stands for standard input', () => {
    expect(listInputFiles(['-', '-']).files).toEqual([STDIN]);
    expect(readInputFile(STDIN, () => 'kind: X')).toEqual({ text: 'kind: X' });
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

  test('standard input is named <stdin>', () => {
    expect(parseYamlDocuments('a: [', STDIN).errors[0].message).toMatch(/^<stdin>:1:\d+: invalid YAML: /);
  });
});
