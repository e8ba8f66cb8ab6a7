// How the report's reader reads a List item by item: as the yaml package reads it whole, and invalid YAML reported, not read past.
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../src/report/cli';
import { parseYamlDocuments } from '../../src/report/read';

/** What the yaml package reads from a one-document text, and its errors. */
function whole(text: string): { value: unknown; errors: string[] } {
  const [document] = parseAllDocuments(text) as any[];
  return { value: document.toJS(), errors: document.errors.map((e: any) => e.message.split(' at line')[0]) };
}

describe('a streamed List reads as the yaml package reads it whole', () => {
  test.each([
    ['a comment line indented with a tab between items', 'apiVersion: v1\nkind: List\nitems:\n  - a: 1\n\t# the next one\n  - b: 2\n'],
    ['a comment line indented with a tab, items at column 0', 'kind: List\nitems:\n- a\n\t# c\n- b\n'],
    ['"items:" with nothing under it', 'kind: List\nitems:\n'],
  ])('%s', (_name, text) => {
    const { documents, errors } = parseYamlDocuments(text, 'f.yaml');
    expect(errors).toEqual([]);
    expect(documents.map((d) => d.value)).toEqual([whole(text).value]);
  });

  test('a Pod after a tab-indented comment in a kubectl List is reported, and the report has no error', () => {
    const pod = (name: string) => `  - apiVersion: v1\n    kind: Pod\n    metadata: {name: ${name}}\n    spec:\n      runtimeClassName: kata\n      containers: [{name: c, image: i}]\n`;
    const input = `apiVersion: v1\nkind: List\nitems:\n${pod('one')}\t# second\n${pod('two')}`;
    let stdout = '';
    let stderr = '';
    const status = runCli(['report', '--format', 'json', '-'], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => input });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout).workloads.map((w: any) => w.name)).toEqual(['one', 'two']);
  });

  test('a file holding only "items:" is a document, not an empty file', () => {
    expect(parseYamlDocuments('items:\n', 'f.yaml').documents.map((d) => d.value)).toEqual([{ items: null }]);
  });
});

describe('invalid YAML is reported, not read past', () => {
  test.each([
    ['content after "..."', 'a: 1\n... x\nb: 2\n'],
    ['a sequence entry less indented than the items before it', 'items:\n  - a\n- b\n'],
  ])('%s', (_name, text) => {
    expect(whole(text).errors.length).toBeGreaterThan(0);
    expect(parseYamlDocuments(text, 'f.yaml').errors.length).toBeGreaterThan(0);
  });

  test('a List whose other keys have a syntax error is left out (parseYamlDocuments\' own contract)', () => {
    const { documents, errors } = parseYamlDocuments('items:\n- a\nkind: [\n', 'f.yaml');
    expect(errors.length).toBe(1);
    expect(documents).toEqual([]);
  });
});
