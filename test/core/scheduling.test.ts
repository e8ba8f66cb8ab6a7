import { RuntimeScheduling, TaintEffect, TolerationOperator } from '../../src/core';
import { mergeScheduling, schedulingProblems, schedulingToJson } from '../../src/core/scheduling';

describe('schedulingProblems', () => {
  test('a valid scheduling has no problem', () => {
    expect(schedulingProblems({
      nodeSelector: { 'katacontainers.io/kata-runtime': 'true', 'zone': '' },
      tolerations: [
        { operator: TolerationOperator.EXISTS },
        { key: 'sandbox', operator: TolerationOperator.EQUAL, value: 'kata', effect: TaintEffect.NO_SCHEDULE },
        { key: 'sandbox', operator: TolerationOperator.EQUAL, value: 'kata', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 30 },
        { key: 'sandbox', operator: TolerationOperator.EXISTS, value: '' },
      ],
    })).toEqual([]);
    expect(schedulingProblems(undefined)).toEqual([]);
  });

  test('tolerations that differ only by effect are not duplicates', () => {
    expect(schedulingProblems({
      tolerations: [
        { key: 'sandbox', value: 'kata', effect: TaintEffect.NO_SCHEDULE },
        { key: 'sandbox', value: 'kata', effect: TaintEffect.PREFER_NO_SCHEDULE },
        { key: 'sandbox', value: 'kata', effect: TaintEffect.NO_EXECUTE },
        { key: 'sandbox', value: 'kata' },
      ],
    })).toEqual([]);
  });

  test('the toleration identity ignores tolerationSeconds', () => {
    expect(schedulingProblems({
      tolerations: [
        { key: 'k', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 30 },
        { key: 'k', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 60 },
      ],
    })).toEqual([
      'scheduling.tolerations[1] duplicates the toleration at index 0 (same key, operator, value and effect): remove one',
    ]);
  });

  test('every problem is reported, in order', () => {
    expect(schedulingProblems({
      nodeSelector: { '-bad': 'has space' },
      tolerations: [{}, { key: 'k', operator: TolerationOperator.EXISTS, value: 'v', tolerationSeconds: 1.5 }],
    })).toEqual([
      'scheduling.nodeSelector key "-bad" must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      'scheduling.nodeSelector["-bad"] value "has space" must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      'scheduling.tolerations[0] has an empty key with operator Equal: an empty key matches every taint only with operator: TolerationOperator.EXISTS; set a key or use EXISTS',
      'scheduling.tolerations[1].value "v" is set with operator EXISTS, which matches any value: remove the value or use EQUAL',
      'scheduling.tolerations[1].tolerationSeconds (1.5) is set but effect is unset: tolerationSeconds only applies with effect: TaintEffect.NO_EXECUTE',
      'scheduling.tolerations[1].tolerationSeconds (1.5) must be a whole number of seconds',
    ]);
  });
});

describe('mergeScheduling', () => {
  const base: RuntimeScheduling = {
    nodeSelector: { zone: 'a' },
    tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }],
  };

  test('adds new keys and tolerations, drops repeated tolerations', () => {
    const { scheduling, problems } = mergeScheduling(base, {
      nodeSelector: { zone: 'a', ready: 'true' },
      tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }, { key: 'gpu', operator: TolerationOperator.EXISTS }],
    }, 'the node setup');
    expect(problems).toEqual([]);
    expect(scheduling).toEqual({
      nodeSelector: { zone: 'a', ready: 'true' },
      tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }, { key: 'gpu', operator: TolerationOperator.EXISTS }],
    });
  });

  test('a key with another value is a conflict naming both values and the source, and keeps the first', () => {
    const { scheduling, problems } = mergeScheduling(base, { nodeSelector: { zone: 'b' } }, 'the node setup');
    expect(problems).toEqual([
      'scheduling.nodeSelector["zone"] = "b" (required by the node setup) conflicts with "a" set earlier: no node can have both; use the same value or another key',
    ]);
    expect(scheduling.nodeSelector).toEqual({ zone: 'a' });
  });

  test('does not modify its inputs', () => {
    mergeScheduling(base, { nodeSelector: { other: 'x' }, tolerations: [{ key: 'x', operator: TolerationOperator.EXISTS }] }, 'x');
    expect(base).toEqual({ nodeSelector: { zone: 'a' }, tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }] });
  });
});

describe('schedulingToJson', () => {
  test('undefined when empty', () => {
    expect(schedulingToJson(undefined)).toBeUndefined();
    expect(schedulingToJson({ nodeSelector: {}, tolerations: [] })).toBeUndefined();
  });

  test('sorts the node selector and keeps toleration order and fields', () => {
    expect(schedulingToJson({
      nodeSelector: { z: '1', a: '2' },
      tolerations: [
        { key: 'k', operator: TolerationOperator.EQUAL, value: 'v', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 10 },
        { operator: TolerationOperator.EXISTS },
      ],
    })).toEqual({
      nodeSelector: { a: '2', z: '1' },
      tolerations: [
        { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 10 },
        { key: undefined, operator: 'Exists', value: undefined, effect: undefined, tolerationSeconds: undefined },
      ],
    });
    // toEqual ignores key order: the order is checked here.
    expect(Object.keys(schedulingToJson({ nodeSelector: { z: '1', m: '3', a: '2' } }).nodeSelector)).toEqual(['a', 'm', 'z']);
  });
});
