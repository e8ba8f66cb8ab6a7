import * as util from 'util';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { CLEAN_YAML, GET_ALL_YAML, PROBLEMS_YAML } from './fixtures';
import { EXAMPLES } from '../../examples';
import { parseFastYaml, UNSURE } from '../../src/report/fast-yaml';
import { buildModel, ModelBuilder, ReportModel } from '../../src/report/model';
import { parseYamlDocuments, streamYamlDocuments, YamlSink } from '../../src/report/read';
import { renderReport, ReportFormat } from '../../src/report/render';

/** The yaml package's value of a document, or 'error'. */
function library(text: string): unknown {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [];
  if (list.length !== 1 || list[0].errors.length > 0) return 'error';
  return list[0].toJS();
}

function fast(text: string): unknown {
  const lines = text.split('\n');
  return parseFastYaml(lines, 0, lines.length);
}

describe('the fast reader', () => {
  const accepted = [
    'a: 1', 'a: "x\\ty \\u00e9\\x41 \\"q\\""', "a: 'it''s'", 'a: [1, 2, {b: c}]', 'a:\n- 1\n- 2\nb: x', 'a:\n  - x: 1\n    y: 2\n  - z',
    'a: |\n  line1\n\n  line2\nb: 1', 'a: |-\n  x\n\n', 'a: |+\n  x\n\n\nb: 2', 'a: 1.0', 'a: 1e3', 'a: -0', 'a: +12', 'a: 012', 'a: null', 'a: ~', 'a:',
    'a: yes', 'a: b # c', 'a: b#c', 'a: {x: }', 'a: {"x":1}', 'a: []', 'a: {}', '- a\n- b', '-\n  a: 1', 'a: http://x:8080/y', 'a: [a, b, ]',
    'a:\n  b:\n    c: 1\n  d: 2\ne: 3', '"q": 1', 'a: 2020-01-01', 'a: 1:2', 'a: -x', '# c\na: 1 # c\n# d', '- [a, b]\n- {a: 1}\n- "x"',
    'metadata:\n  labels: {app.kubernetes.io/name: web, "quoted key": "v"}\n  annotations:\n    example.com/x: "true"', 'a: True', 'a: FALSE', 'a: .5',
  ];
  test.each(accepted)('gives the yaml package\'s value: %j', (text) => {
    const value = fast(text);
    expect(value).not.toBe(UNSURE);
    expect(util.isDeepStrictEqual(value, library(text))).toBe(true);
  });

  const declined = [
    'a: 0o7', 'a: 0x1F', 'a: .inf', 'a: &x 1', 'a: *x', 'a: !!str 1', 'a: >\n  folded', 'a: |2\n   x', 'a: multi\n  line', 'a: "open\n  close"',
    'a: [x,\n  y]', 'a: - b', 'a: x: y', 'a: 1\na: 2', '- - a', 'a:\t1', '1: x', 'true: x', '? complex\n: key', '%YAML 1.2', '__proto__: x', 'a: [a, , b]',
    'a: "\\q"', 'plain scalar document', 'a: b\n  c',
  ];
  test.each(declined)('declines what it does not vouch for (the yaml package reads it): %j', (text) => {
    expect(fast(text)).toBe(UNSURE);
  });

  test('every document of the examples, the fixtures and a cluster dump reads as the yaml package reads it', () => {
    const texts: string[] = [PROBLEMS_YAML, CLEAN_YAML, GET_ALL_YAML];
    for (const build of Object.values(EXAMPLES)) {
      const app = new App();
      build(app);
      texts.push(app.synthYaml());
    }
    let documents = 0;
    for (const text of texts) {
      for (const document of text.split(/^---$/m)) {
        const expected = library(document);
        if (expected === 'error') continue;
        const value = fast(document);
        // Comments-only documents are null to both.
        expect(value === UNSURE ? 'unsure' : util.isDeepStrictEqual(value, expected)).toBe(true);
        documents++;
      }
    }
    expect(documents).toBeGreaterThan(50);
  });
});

/** The model as the command line builds it: streamed into a ModelBuilder. */
function streamedModel(text: string, file: string): ModelBuilder {
  const builder = new ModelBuilder();
  streamYamlDocuments([text], file, {
    document: (value, location, itemLines) => builder.document(value, location, itemLines),
    listItem: (value, index, location) => builder.listItem(value, index, location),
    listEnd: (rest, location) => builder.listEnd(rest, location),
    error: (error) => { throw new Error(error.message); },
  });
  return builder;
}

describe('streaming', () => {
  function recorded(chunks: string[]) {
    const events: string[] = [];
    const sink: YamlSink = {
      document: (value, location) => events.push(`document ${location.line} ${JSON.stringify(value)}`),
      listItem: (value, index, location) => events.push(`item ${index} ${location.line} ${JSON.stringify(value)}`),
      listEnd: (rest, location) => events.push(`end ${location.line} ${JSON.stringify(rest)}`),
      error: (error) => events.push(`error ${error.message}`),
    };
    const documents = streamYamlDocuments(chunks, 'f.yaml', sink);
    return { events, documents };
  }

  test('a List is given item by item with each item\'s line, and then the document without its items', () => {
    const text = 'apiVersion: v1\nitems:\n- a: 1\n  b: [x]\n\n# between\n- c: 2\nkind: List\n---\nd: 4\n';
    expect(recorded([text])).toEqual({
      events: ['item 0 3 {"a":1,"b":["x"]}', 'item 1 7 {"c":2}', 'end 1 {"apiVersion":"v1","kind":"List"}', 'document 10 {"d":4}'],
      documents: 2,
    });
  });

  test('chunks may split lines and characters anywhere: the same events', () => {
    const text = `${GET_ALL_YAML}---\n${PROBLEMS_YAML}`;
    const whole = recorded([text]);
    for (const size of [1, 7, 64, 1000]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(recorded(chunks)).toEqual(whole);
    }
  });

  test('an item with a YAML error is reported at its own line; the other items are kept', () => {
    const { events } = recorded(['items:\n- a: 1\n- b: [1\n- c: 3\nkind: List\napiVersion: v1\n']);
    expect(events).toEqual([
      'item 0 2 {"a":1}',
      'error f.yaml:3:8: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'item 1 3 undefined',
      'item 2 4 {"c":3}',
      'end 1 {"kind":"List","apiVersion":"v1"}',
    ]);
  });

  test('an error in the rest of a streamed List is reported at its line in the input, not in the rest', () => {
    const { events } = recorded(['# dump\napiVersion: v1\nitems:\n- a: 1\n\n- b: 2\nkind: List\napiVersion: v2\n']);
    expect(events).toEqual(['item 0 4 {"a":1}', 'item 1 6 {"b":2}', 'error f.yaml:8:1: invalid YAML: Map keys must be unique', 'end 2 undefined']);
  });

  test('directives and "--- value" go to the yaml package whole; indented items and "items" that are no sequence too', () => {
    expect(recorded(['%YAML 1.2\n---\na: 1\n--- {b: 2}\n...\nitems:\n  - x\n  - y\n---\nitems: 5\nkind: Thing\n']).events).toEqual([
      'document 3 {"a":1}', 'document 4 {"b":2}', 'item 0 7 "x"', 'item 1 8 "y"', 'end 6 null', 'document 10 {"items":5,"kind":"Thing"}',
    ]);
  });

  test('a streamed List reads as the whole one did: same model, same report, item lines kept', () => {
    const streamed = streamedModel(GET_ALL_YAML, 'all.yaml');
    const documents = parseAllDocuments(GET_ALL_YAML);
    const whole = buildModel([{ location: { file: 'all.yaml', line: 1 }, value: (documents as any)[0].toJS() }], 1);
    const render = (model: any) => renderReport(ReportFormat.JSON, { model, problems: [], errors: [] });
    const [a, b] = [JSON.parse(render(streamed.build(1))), JSON.parse(render(whole))];
    expect(a.workloads.map((w: any) => w.source)).toEqual(['all.yaml:8', 'all.yaml:19', 'all.yaml:35', 'all.yaml:51', ...a.workloads.slice(4).map((w: any) => w.source)]);
    const withoutSources = (json: any) => JSON.parse(JSON.stringify(json, (key, value) => (key === 'source' ? undefined : value)));
    expect(withoutSources(a)).toEqual(withoutSources(b));
  });

  /** What the report shows of a model: documents, objects and notes with their lines. */
  const summary = (model: ReportModel) => ({
    documents: model.documents,
    workloads: model.workloads.map((w) => `${w.workload.name}@${w.workload.location.line}`),
    runtimeClasses: model.runtimeClasses.map((c) => c.name),
    notes: model.notes.map((n) => `${n.location.line}: ${n.message}`),
  });
  const pod = (name: string) => `{apiVersion: v1, kind: Pod, metadata: {name: ${name}}, spec: {containers: []}}`;

  test.each([
    ['a typed list, and a second List, each with an item that is not an object', `apiVersion: v1\nkind: PodList\nitems:\n- ${pod('a')}\n- 42\n---\napiVersion: v1\nkind: List\nitems:\n- nginx\n- ${pod('b')}\n`,
      { documents: 2, workloads: ['a@4', 'b@11'], notes: ['5: PodList items[1] is not a Kubernetes object (a number (42)): skipped', '10: List items[0] is not a Kubernetes object (a string ("nginx")): skipped'] }],
    ['a List without apiVersion', `kind: List\nitems:\n- ${pod('a')}\n`,
      { documents: 1, workloads: [], notes: ['1: document has no apiVersion, so it is not a Kubernetes object: skipped'] }],
    ['a List with an empty apiVersion', `apiVersion: ""\nkind: List\nitems:\n- ${pod('a')}\n`,
      { documents: 1, workloads: [], notes: ['1: document has no apiVersion, so it is not a Kubernetes object: skipped'] }],
    ['a List whose kind is a number', `apiVersion: v1\nkind: 5\nitems:\n- ${pod('a')}\n`,
      { documents: 1, workloads: [], notes: ['1: document has no kind, so it is not a Kubernetes object: skipped'] }],
    ['an object of another kind with items', `apiVersion: example.com/v1\nkind: Thing\nitems:\n- ${pod('a')}\n- ${pod('b')}\n`,
      { documents: 1, workloads: [], notes: [] }],
    ['a document of items alone', `items:\n- ${pod('a')}\n`,
      { documents: 1, workloads: [], notes: ['1: document has no apiVersion and kind, so it is not a Kubernetes object: skipped'] }],
    ['a Pod with a stray top-level items sequence', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\nitems:\n- x\n',
      { documents: 1, workloads: ['p@1'], notes: [] }],
  ])('%s reads as the whole read reads it', (_, text, expected) => {
    const { documents, errors } = parseYamlDocuments(text, 'f.yaml');
    expect(errors).toEqual([]);
    const whole = summary(buildModel(documents, 1));
    expect(whole).toEqual({ runtimeClasses: [], ...expected });
    expect(summary(streamedModel(text, 'f.yaml').build(1))).toEqual(whole);
  });

  test('an item of a streamed List that could not be parsed is reported as an error only: not also noted as skipped', () => {
    const builder = new ModelBuilder();
    const errors: string[] = [];
    streamYamlDocuments([`apiVersion: v1\nkind: List\nitems:\n- ${pod('a')}\n- b: [1\n- ${pod('c')}\n`], 'f.yaml', {
      document: (value, location, itemLines) => builder.document(value, location, itemLines),
      listItem: (value, index, location) => builder.listItem(value, index, location),
      listEnd: (rest, location) => builder.listEnd(rest, location),
      error: (error) => errors.push(error.message),
    });
    const model = builder.build(1);
    expect(errors).toHaveLength(1);
    expect(summary(model)).toEqual({ documents: 1, workloads: ['a@4', 'c@6'], runtimeClasses: [], notes: [] });
  });

  test('a List whose other fields could not be parsed gives the error only: its items are not read, and nothing is noted', () => {
    const builder = new ModelBuilder();
    const errors: string[] = [];
    streamYamlDocuments([`apiVersion: v1\nitems:\n- ${pod('a')}\nkind: List\nkind: List\n`], 'f.yaml', {
      document: (value, location, itemLines) => builder.document(value, location, itemLines),
      listItem: (value, index, location) => builder.listItem(value, index, location),
      listEnd: (rest, location) => builder.listEnd(rest, location),
      error: (error) => errors.push(error.message),
    });
    expect(errors).toEqual(['f.yaml:5:1: invalid YAML: Map keys must be unique']);
    expect(summary(builder.build(1))).toEqual({ documents: 0, workloads: [], runtimeClasses: [], notes: [] });
  });

  test('a document with a top-level items sequence that turns out not to be a List: its items are taken back, as the whole read did', () => {
    const text = 'items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec: {containers: []}\nreplicaCount: 2\n';
    const { documents } = parseYamlDocuments(text, 'values.yaml');
    const model = buildModel(documents, 1);
    expect(model.workloads).toEqual([]);
    expect(model.notes.map((n) => n.message)).toEqual(['document has no apiVersion and kind, so it is not a Kubernetes object: skipped']);
    const streamed = streamedModel(text, 'values.yaml');
    const built = streamed.build(1);
    expect([built.workloads.length, built.documents, built.notes.map((n) => `${n.location.line} ${n.message}`)])
      .toEqual([0, 1, ['1 document has no apiVersion and kind, so it is not a Kubernetes object: skipped']]);
  });
});

describe('lines and document markers', () => {
  function events(text: string | string[]): string[] {
    const list: string[] = [];
    streamYamlDocuments(Array.isArray(text) ? text : [text], 'f.yaml', {
      document: (value, location, itemLines) => list.push(`document ${location.line} ${JSON.stringify(value)}${itemLines ? ` lines ${itemLines.join(',')}` : ''}`),
      listItem: (value, index, location) => list.push(`item ${index} ${location.line} ${JSON.stringify(value)}`),
      listEnd: (rest, location) => list.push(`end ${location.line} ${JSON.stringify(rest)}`),
      error: (error) => list.push(`error ${error.location?.line} ${error.message}`),
    });
    return list;
  }

  test('Windows line ends and a leading byte order mark are not part of any value, however the chunks split them', () => {
    const text = '\ufeffa: x\r\nb: "\ufeffy"\r\n---\r\nitems:\r\n- c\r\n- d\r\n';
    const expected = ['document 1 {"a":"x","b":"\ufeffy"}', 'item 0 5 "c"', 'item 1 6 "d"', 'end 4 null'];
    expect(events(text)).toEqual(expected);
    for (const size of [1, 2, 3]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(events(chunks)).toEqual(expected);
    }
  });

  test.each([
    ['"---" and "..." followed by a space, a tab or a comment are markers', '---\t# c\na: 1\n...\t\nb: 2\n... # end\n--- # next\nc: 3\n',
      ['document 2 {"a":1}', 'document 4 {"b":2}', 'document 7 {"c":3}']],
    ['"----", "---x" and "...x" are content, not markers', '----\n---\n---x\n---\n...x\n',
      ['document 1 "----"', 'document 3 "---x"', 'document 5 "...x"']],
    ['"--- value" starts a document on the marker\'s line', 'a: 1\n---\n\n--- |\n  text\n--- [1, 2]\n',
      ['document 1 {"a":1}', 'document 4 "text\\n"', 'document 6 [1,2]']],
    ['directives, comments and blank lines before the marker belong to the document after it', '%YAML 1.2\n# c\n\n---\na: 1\n---\n%TAG !e! tag:example.com,2000:\n--- !e!x\nc: 1\n',
      ['document 5 {"a":1}', 'document 9 {"c":1}']],
    ['an empty document, a null one and a directive with no document after it give nothing', '---\n# only a comment\n---\n~\n---\nnull\n--- ~\n--- null\n---\n%YAML 1.2\n---\n',
      []],
    ['a document starts at its first line that is not blank or a comment, however indented', '  # c\n\t# d\n \t \na: 1\n---\n\n    # e\nb: 2\n',
      ['document 4 {"a":1}', 'document 8 {"b":2}']],
  ])('%s', (_name, text, expected) => {
    expect(events(text)).toEqual(expected);
  });

  test('errors in documents read by the yaml package are reported at their line in the input, without the package\'s own position', () => {
    const tenKeys = Array.from({ length: 10 }, (_, i) => `k${i}: ${i}\n`).join('');
    expect(events(`a: 1\n---\n%YAML 1.2\n---\nb: [1\n--- {c: [2}\n---\n${tenKeys}k: [1\n--- {d: 1\n\n\n`)).toEqual([
      'document 1 {"a":1}',
      'error 5 f.yaml:5:6: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'error 6 f.yaml:6:11: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'error 6 f.yaml:6:11: invalid YAML: Flow map must end with a }',
      'error 18 f.yaml:18:6: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'error 21 f.yaml:21:1: invalid YAML: Flow map must end with a }',
    ]);
  });

  test.each([
    ['documents of both readers', 'a: 1\n---\n%YAML 1.2\n---\nb: 2\n--- {c: 3}\n', 3],
    ['a streamed List is one document; empty ones are not counted', 'items:\n- a\n---\n--- ~\n---\n# c\n', 1],
    ['a document with an error is not counted', 'a: [1\n---\n%YAML 1.2\n--- [2\n', 0],
  ])('the number returned counts the documents given: %s', (_name, text, count) => {
    const sink: YamlSink = { document: () => undefined, listItem: () => undefined, listEnd: () => undefined, error: () => undefined };
    expect(streamYamlDocuments([text], 'f.yaml', sink)).toBe(count);
  });

  test('an item or the rest of a List that cannot be parsed is given to the sink as undefined', () => {
    const given: unknown[] = [];
    const errors: string[] = [];
    streamYamlDocuments(['items:\n- a: [1\n- b\nkind: [\n'], 'f.yaml', {
      document: (value) => given.push(['document', value]),
      listItem: (value) => given.push(['item', value]),
      listEnd: (rest) => given.push(['end', rest]),
      error: (error) => errors.push(error.message),
    });
    expect(given).toStrictEqual([['item', undefined], ['item', 'b'], ['end', undefined]]);
    expect(errors.map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['f.yaml:2', 'f.yaml:4']);
  });

  test.each([
    ['only a top-level "items:" key is streamed, a comment after it allowed', 'x:\n  items:\n  - a\nitemsx:\n- b\nignoreditems:\n- c\n---\nitems:   # objects\n- d\n',
      ['document 1 {"x":{"items":["a"]},"itemsx":["b"],"ignoreditems":["c"]}', 'item 0 10 "d"', 'end 9 null']],
    ['indented items end at a key of the document, however indented', 'items:\n  - a\n  # c\n\n  - b\n    # in b\n kind: X\n',
      ['item 0 2 "a"', 'item 1 5 "b"', 'end 1 {"kind":"X"}']],
    ['items end at a line of the item column that is not an entry', 'kind: List\nitems:\n- a\n-\n  b: 1\n-\nz: 1\n',
      ['item 0 3 "a"', 'item 1 4 {"b":1}', 'item 2 6 null', 'end 1 {"kind":"List","z":1}']],
    ['an item the fast reader declines is read by the yaml package, alone', 'items:\n- - a\n  - b\n- &c c\n- >\n  folded\n',
      ['item 0 2 ["a","b"]', 'item 1 4 "c"', 'item 2 5 "folded\\n"', 'end 1 null']],
    ['a marker ends a List, even right after its first item', 'items:\n- a\n---\nb: 1\n',
      ['item 0 2 "a"', 'end 1 null', 'document 4 {"b":1}']],
    ['a List after a marker with a comment or trailing spaces is streamed too', '--- # dump\nitems:\n- a\n---  \nitems:\n- b\n',
      ['item 0 3 "a"', 'end 2 null', 'item 0 6 "b"', 'end 5 null']],
    ['"items:" holding a mapping or a scalar is an ordinary key', 'items:\n  a: 1\nkind: Thing\n---\nitems:\n  x y\n---\nitems:\n  -z\n',
      ['document 1 {"items":{"a":1},"kind":"Thing"}', 'document 5 {"items":"x y"}', 'document 8 {"items":"-z"}']],
    ['blank lines inside an item are the item\'s, a block scalar\'s blank lines too', 'items:\n- data:\n    run.sh: |\n      echo a\n\n      echo b\n- c\n',
      ['item 0 2 {"data":{"run.sh":"echo a\\n\\necho b\\n"}}', 'item 1 7 "c"', 'end 1 null']],
    ['lines of spaces and tabs between items are blank', 'items:\n- a\n\t\n  \t\n \t \n- b\n',
      ['item 0 2 "a"', 'item 1 6 "b"', 'end 1 null']],
    ['a comment and blank lines before the first item stay with the document', '# dump\napiVersion: v1\nitems:\n\n# first\n- a\nkind: List\n',
      ['item 0 6 "a"', 'end 2 {"apiVersion":"v1","kind":"List"}']],
  ])('%s', (_name, text, expected) => {
    expect(events(text)).toEqual(expected);
  });

  test('a List after a directive is read whole by the yaml package, with the line of each item', () => {
    expect(events('%YAML 1.2\n---\nkind: List\nitems:\n- a: 1\n-\n- {b: 2}\n--- {items: [x, y]}\n')).toEqual([
      'document 3 {"kind":"List","items":[{"a":1},null,{"b":2}]} lines 5,6,7',
      'document 8 {"items":["x","y"]} lines 8,8',
    ]);
  });
});
