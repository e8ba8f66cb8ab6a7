import { evaluate, selectorMatches } from './cel-harness';
import { NamespaceSelector, NamespaceSelectorOperator } from '../../src/policy';
import { describeSelector, selectorProblems, selectorToCel, selectorToJson, selectsEverything } from '../../src/policy/selector';

const { IN, NOT_IN, EXISTS, DOES_NOT_EXIST } = NamespaceSelectorOperator;

/** Selectors covering each operator alone and together. */
const SELECTORS: NamespaceSelector[] = [
  { matchLabels: { a: 'x' } },
  { matchLabels: { 'a': 'x', 'example.com/b': '' } },
  { matchExpressions: [{ key: 'a', operator: IN, values: ['x', 'y'] }] },
  { matchExpressions: [{ key: 'a', operator: NOT_IN, values: ['x'] }] },
  { matchExpressions: [{ key: 'example.com/b', operator: EXISTS }] },
  { matchExpressions: [{ key: 'a', operator: DOES_NOT_EXIST }] },
  { matchLabels: { a: 'y' }, matchExpressions: [{ key: 'example.com/b', operator: NOT_IN, values: ['', 'z'] }, { key: 'c', operator: EXISTS }] },
];

/** Label sets covering present, absent, empty and other values for each key. */
const LABEL_SETS: Array<{ [key: string]: string }> = [];
for (const a of [undefined, 'x', 'y', 'w']) {
  for (const b of [undefined, '', 'z']) {
    for (const c of [undefined, 'on']) {
      const labels: { [key: string]: string } = {};
      if (a !== undefined) labels.a = a;
      if (b !== undefined) labels['example.com/b'] = b;
      if (c !== undefined) labels.c = c;
      LABEL_SETS.push(labels);
    }
  }
}

describe('selectorToCel', () => {
  test.each(SELECTORS.map((s) => [describeSelector(s), s]))('%s: the CEL agrees with label selector semantics on every label set', (_, selector) => {
    const expression = selectorToCel(selector as NamespaceSelector);
    const outcomes = new Set<boolean>();
    for (const labels of LABEL_SETS) {
      const namespaceObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels } };
      const expected = selectorMatches(selectorToJson(selector as NamespaceSelector), labels);
      expect({ labels, matches: evaluate(expression, { namespaceObject }) }).toEqual({ labels, matches: expected });
      outcomes.add(expected);
    }
    // The label sets must tell matching from non-matching namespaces for every selector.
    expect([...outcomes].sort()).toEqual([false, true]);
  });

  test('a namespace without a labels field matches only requirements on absent labels', () => {
    const bare = { namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } } };
    expect(evaluate(selectorToCel({ matchLabels: { a: 'x' } }), bare)).toBe(false);
    expect(evaluate(selectorToCel({ matchExpressions: [{ key: 'a', operator: IN, values: ['x'] }] }), bare)).toBe(false);
    expect(evaluate(selectorToCel({ matchExpressions: [{ key: 'a', operator: EXISTS }] }), bare)).toBe(false);
    expect(evaluate(selectorToCel({ matchExpressions: [{ key: 'a', operator: NOT_IN, values: ['x'] }] }), bare)).toBe(true);
    expect(evaluate(selectorToCel({ matchExpressions: [{ key: 'a', operator: DOES_NOT_EXIST }] }), bare)).toBe(true);
  });

  test('a cluster-scoped object (namespaceObject null) never matches', () => {
    expect(evaluate(selectorToCel({ matchExpressions: [{ key: 'a', operator: DOES_NOT_EXIST }] }), { namespaceObject: null })).toBe(false);
  });

  test('keys and values are quoted as CEL strings', () => {
    expect(selectorToCel({ matchLabels: { 'example.com/b': 'v' } })).toBe(
      'namespaceObject != null && (has(namespaceObject.metadata.labels) && "example.com/b" in namespaceObject.metadata.labels && namespaceObject.metadata.labels["example.com/b"] == "v")',
    );
  });
});

describe('selector rendering', () => {
  test('JSON sorts labels and drops empty parts', () => {
    expect(selectorToJson({ matchLabels: { z: '1', a: '2' } })).toEqual({ matchLabels: { a: '2', z: '1' }, matchExpressions: undefined });
    expect(selectorToJson({ matchExpressions: [{ key: 'k', operator: EXISTS }, { key: 'j', operator: IN, values: ['v'] }] })).toEqual({
      matchLabels: undefined,
      matchExpressions: [{ key: 'k', operator: 'Exists', values: undefined }, { key: 'j', operator: 'In', values: ['v'] }],
    });
  });

  test('labels come out sorted by key, whatever order they were given in: in JSON, the description and CEL', () => {
    const selector = { matchLabels: { z: '1', a: '2' } };
    expect(Object.keys(selectorToJson(selector).matchLabels)).toEqual(['a', 'z']);
    expect(describeSelector(selector)).toBe('a=2,z=1');
    expect(selectorToCel(selector)).toBe(selectorToCel({ matchLabels: { a: '2', z: '1' } }));
  });

  test('a requirement given an empty values list renders without values, as one given none', () => {
    expect(selectorToJson({ matchExpressions: [{ key: 'k', operator: EXISTS, values: [] }] }).matchExpressions).toEqual([{ key: 'k', operator: 'Exists', values: undefined }]);
  });

  test('description follows kubectl', () => {
    expect(describeSelector(SELECTORS[6])).toBe('a=y,example.com/b notin (,z),c');
    expect(describeSelector({ matchExpressions: [{ key: 'a', operator: DOES_NOT_EXIST }, { key: 'b', operator: IN, values: ['1', '2'] }] })).toBe('!a,b in (1,2)');
  });

  test('selectsEverything', () => {
    expect(selectsEverything({})).toBe(true);
    expect(selectsEverything({ matchLabels: {}, matchExpressions: [] })).toBe(true);
    expect(selectsEverything({ matchLabels: { a: 'b' } })).toBe(false);
  });
});

describe('selectorProblems', () => {
  test('a valid selector has none', () => {
    for (const selector of SELECTORS) expect(selectorProblems(selector, 'namespaceSelector')).toEqual([]);
  });

  test('the values a requirement should not have are listed, comma-separated', () => {
    expect(selectorProblems({ matchExpressions: [{ key: 'c', operator: EXISTS, values: ['x', 'y'] }] }, 'namespaceSelector')).toEqual([
      'namespaceSelector.matchExpressions[0] (key "c") has operator Exists with values [x, y]: Exists takes no values; remove them or use IN / NOT_IN',
    ]);
  });

  test('each invalid input is reported with its field and the fix', () => {
    expect(selectorProblems({
      matchLabels: { 'bad key!': 'x', 'ok': 'bad value!' },
      matchExpressions: [
        { key: 'a', operator: IN, values: [] },
        { key: 'b', operator: NOT_IN },
        { key: 'c', operator: EXISTS, values: ['x'] },
        { key: 'd', operator: DOES_NOT_EXIST, values: ['y'] },
        { key: 'e', operator: IN, values: ['ok', '-bad'] },
        { key: 'Example.com/f', operator: EXISTS },
      ],
    }, 'namespaceSelector')).toEqual([
      'namespaceSelector.matchLabels key "bad key!" must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      'namespaceSelector.matchLabels["ok"] value "bad value!" must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      'namespaceSelector.matchExpressions[0] (key "a") has operator In but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST',
      'namespaceSelector.matchExpressions[1] (key "b") has operator NotIn but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST',
      'namespaceSelector.matchExpressions[2] (key "c") has operator Exists with values [x]: Exists takes no values; remove them or use IN / NOT_IN',
      'namespaceSelector.matchExpressions[3] (key "d") has operator DoesNotExist with values [y]: DoesNotExist takes no values; remove them or use IN / NOT_IN',
      'namespaceSelector.matchExpressions[4].values[1] "-bad" must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      'namespaceSelector.matchExpressions[5].key "Example.com/f" has a prefix "Example.com" that must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    ]);
  });
});
