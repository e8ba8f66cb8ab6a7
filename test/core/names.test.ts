import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from '../../src/core/names';

const LABEL_RULE = 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots';
const SUBDOMAIN_RULE = 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
const NAME_PART_RULE = 'must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
const LABEL_VALUE_RULE = 'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit';

describe('dns1123LabelProblem', () => {
  test.each(['kata', 'kata-qemu', 'runsc', 'a', '0', 'a'.repeat(63)])('%p is a label', (value) => {
    expect(dns1123LabelProblem(value)).toBeUndefined();
  });

  test.each<[string, string]>([
    ['', 'must not be empty'],
    ['a'.repeat(64), 'must be at most 63 characters (it has 64)'],
    ['kata.qemu', LABEL_RULE],
    ['Kata', LABEL_RULE],
    ['kata_qemu', LABEL_RULE],
    ['-kata', LABEL_RULE],
    ['kata-', LABEL_RULE],
  ])('%p: %s', (value, problem) => {
    expect(dns1123LabelProblem(value)).toBe(problem);
  });
});

describe('dns1123SubdomainProblem', () => {
  test.each(['kata', 'kata.qemu', 'sandbox.example.com', 'a'.repeat(253)])('%p is a subdomain', (value) => {
    expect(dns1123SubdomainProblem(value)).toBeUndefined();
  });

  test.each<[string, string]>([
    ['', 'must not be empty'],
    ['a'.repeat(254), 'must be at most 253 characters (it has 254)'],
    ['Bad_Name', SUBDOMAIN_RULE],
    ['kata_qemu', SUBDOMAIN_RULE],
    ['kata..qemu', SUBDOMAIN_RULE],
    ['.kata', SUBDOMAIN_RULE],
    ['kata.', SUBDOMAIN_RULE],
  ])('%p: %s', (value, problem) => {
    expect(dns1123SubdomainProblem(value)).toBe(problem);
  });
});

describe('qualifiedNameProblem', () => {
  test.each(['zone', 'Zone_1.a-b', 'example.com/sandbox', 'node.kubernetes.io/instance-type', `x/${'a'.repeat(63)}`])('%p is a qualified name', (value) => {
    expect(qualifiedNameProblem(value)).toBeUndefined();
  });

  test.each<[string, string]>([
    ['-bad', NAME_PART_RULE],
    ['bad-', NAME_PART_RULE],
    ['has space', NAME_PART_RULE],
    ['a/b/c', 'must be a qualified name: an optional DNS subdomain prefix and "/", then a name'],
    ['a'.repeat(64), 'must have a name part of at most 63 characters (it has 64)'],
    ['example.com/', 'must have a non-empty name part'],
    ['', 'must have a non-empty name part'],
    ['/foo', 'has a prefix "" that must not be empty'],
    ['Example.com/foo', `has a prefix "Example.com" that ${SUBDOMAIN_RULE}`],
  ])('%p: %s', (value, problem) => {
    expect(qualifiedNameProblem(value)).toBe(problem);
  });
});

describe('labelValueProblem', () => {
  test.each(['', 'true', 'Kata_1.0-rc', 'a'.repeat(63)])('%p is a label value', (value) => {
    expect(labelValueProblem(value)).toBeUndefined();
  });

  test.each<[string, string]>([
    ['has space', LABEL_VALUE_RULE],
    ['-x', LABEL_VALUE_RULE],
    ['x/y', LABEL_VALUE_RULE],
    ['a'.repeat(64), 'must be at most 63 characters (it has 64)'],
  ])('%p: %s', (value, problem) => {
    expect(labelValueProblem(value)).toBe(problem);
  });
});
