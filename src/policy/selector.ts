// Namespace selectors: what the policy constructs accept (this library's struct, cdk8s-plus
// selectors), validation, rendering, a kubectl-style description, and a CEL translation for
// policies that must test the complement of a selector (a binding can only select namespaces
// that match one).
import * as kplus from 'cdk8s-plus-27';
import { celList, celString } from './cel';
import { NamespaceSelector, NamespaceSelectorOperator, NamespaceSelectorRequirement } from './namespace-selector';
import { dns1123LabelProblem, labelValueProblem, qualifiedNameProblem } from '../core/names';

/** The label Kubernetes puts on every namespace with its name (1.22+); cdk8s-plus selects names by it. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What the policy constructs take as `namespaceSelector`. */
export type NamespaceSelection = NamespaceSelector | kplus.INamespaceSelector | kplus.LabelSelector;

/** The words of a selector's parts in the form the user wrote it. */
interface SelectorFields {
  readonly labels: string;
  readonly expressions: string;
}

const STRUCT_FIELDS: SelectorFields = { labels: 'matchLabels', expressions: 'matchExpressions' };
const KPLUS_FIELDS: SelectorFields = { labels: 'labels', expressions: 'expressions' };

/** A namespace selection as a label selector, with the problems of the form it was given in. */
export interface ResolvedSelector {
  readonly selector: NamespaceSelector;
  readonly problems: string[];
}

/**
 * A label selector for what the user gave as `field`: this library's `NamespaceSelector`, a
 * cdk8s-plus `LabelSelector`, or a cdk8s-plus namespace selector (`Namespaces.select(...)`, a
 * `Namespace`), whose names become a requirement on the `kubernetes.io/metadata.name` label.
 */
export function resolveNamespaceSelector(selection: NamespaceSelection, field: string): ResolvedSelector {
  if (isNamespaceSelector(selection)) {
    const config = selection.toNamespaceSelectorConfig();
    const fromLabels = config.labelSelector ? fromLabelSelector(config.labelSelector) : {};
    const names = config.names;
    if (names === undefined) return { selector: fromLabels, problems: selectorProblems(fromLabels, field, KPLUS_FIELDS) };
    const problems = selectorProblems(fromLabels, field, KPLUS_FIELDS);
    if (names.length === 0) problems.push(`${field}.names is empty, so it selects no namespace: give at least one name, or select by labels alone`);
    names.forEach((name, index) => {
      const problem = dns1123LabelProblem(name);
      if (problem) problems.push(`${field}.names[${index}] "${name}" is not a namespace name: it ${problem}`);
    });
    const byName: NamespaceSelectorRequirement = { key: NAMESPACE_NAME_LABEL, operator: NamespaceSelectorOperator.IN, values: [...names] };
    return {
      selector: { matchLabels: fromLabels.matchLabels, matchExpressions: [...(fromLabels.matchExpressions ?? []), byName] },
      problems,
    };
  }
  if (isLabelSelector(selection)) {
    const selector = fromLabelSelector(selection);
    return { selector, problems: selectorProblems(selector, field, KPLUS_FIELDS) };
  }
  return { selector: selection, problems: selectorProblems(selection, field) };
}

function isNamespaceSelector(selection: NamespaceSelection): selection is kplus.INamespaceSelector {
  return typeof (selection as kplus.INamespaceSelector).toNamespaceSelectorConfig === 'function';
}

function isLabelSelector(selection: NamespaceSelection): selection is kplus.LabelSelector {
  return typeof (selection as kplus.LabelSelector)._toKube === 'function' && typeof (selection as kplus.LabelSelector).isEmpty === 'function';
}

/** A cdk8s-plus LabelSelector's labels and expressions, as cdk8s-plus renders them. */
function fromLabelSelector(selector: kplus.LabelSelector): NamespaceSelector {
  const kube = selector._toKube();
  return {
    matchLabels: kube.matchLabels,
    matchExpressions: kube.matchExpressions?.map((e) => ({ key: e.key, operator: e.operator as NamespaceSelectorOperator, values: e.values })),
  };
}

const OPERATORS: string[] = Object.values(NamespaceSelectorOperator);

/** The hint every empty-selector message gives: a requirement, inside its `matchExpressions` wrapper. */
export const EXCLUDE_KUBE_SYSTEM_HINT = `{ matchExpressions: [{ key: '${NAMESPACE_NAME_LABEL}', operator: NamespaceSelectorOperator.NOT_IN, values: ['kube-system'] }] }`;

/** Problems the API server would report for this selector, each naming the field under `field`. */
export function selectorProblems(selector: NamespaceSelector, field: string, fields: SelectorFields = STRUCT_FIELDS): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push(`${field}.${fields.labels} key "${key}" ${keyProblem}`);
    const valueProblem = labelValueProblem(String(value));
    if (valueProblem) problems.push(`${field}.${fields.labels}["${key}"] value "${value}" ${valueProblem}`);
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const at = `${field}.${fields.expressions}[${index}]`;
    const keyProblem = qualifiedNameProblem(requirement.key);
    if (keyProblem) problems.push(`${at}.key "${requirement.key}" ${keyProblem}`);
    if (!OPERATORS.includes(requirement.operator)) {
      problems.push(`${at} (key "${requirement.key}") has operator "${requirement.operator}", which label selectors do not have: use NamespaceSelectorOperator.IN, NOT_IN, EXISTS or DOES_NOT_EXIST`);
      return;
    }
    const values = requirement.values ?? [];
    const takesValues = requirement.operator === NamespaceSelectorOperator.IN || requirement.operator === NamespaceSelectorOperator.NOT_IN;
    if (takesValues && values.length === 0) {
      problems.push(`${at} (key "${requirement.key}") has operator ${requirement.operator} but no values: give at least one value, or use EXISTS / DOES_NOT_EXIST`);
    }
    if (!takesValues && values.length > 0) {
      problems.push(`${at} (key "${requirement.key}") has operator ${requirement.operator} with values [${values.join(', ')}]: ${requirement.operator} takes no values; remove them or use IN / NOT_IN`);
    }
    values.forEach((value, valueIndex) => {
      const valueProblem = labelValueProblem(value);
      if (valueProblem) problems.push(`${at}.values[${valueIndex}] "${value}" ${valueProblem}`);
    });
  });
  return problems;
}

/** True when the selector has no label and no requirement: it selects every namespace. */
export function selectsEverything(selector: NamespaceSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** The selector as Kubernetes JSON (a `LabelSelector`), with sorted labels for stable output. */
export function selectorToJson(selector: NamespaceSelector): any {
  const labels = sortedLabels(selector);
  const expressions = selector.matchExpressions ?? [];
  return {
    matchLabels: labels.length > 0 ? Object.fromEntries(labels) : undefined,
    matchExpressions: expressions.length > 0
      ? expressions.map((e) => ({ key: e.key, operator: e.operator, values: e.values && e.values.length > 0 ? [...e.values] : undefined }))
      : undefined,
  };
}

/** The selector as kubectl writes it: `tier=gold,env in (prod,staging),!legacy`. */
export function describeSelector(selector: NamespaceSelector): string {
  const parts = sortedLabels(selector).map(([key, value]) => `${key}=${value}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case NamespaceSelectorOperator.IN: parts.push(`${e.key} in (${values})`); break;
      case NamespaceSelectorOperator.NOT_IN: parts.push(`${e.key} notin (${values})`); break;
      case NamespaceSelectorOperator.EXISTS: parts.push(e.key); break;
      case NamespaceSelectorOperator.DOES_NOT_EXIST: parts.push(`!${e.key}`); break;
    }
  }
  return parts.join(',');
}

/**
 * A CEL expression, true when the namespace of the request matches the selector. It reads
 * `namespaceObject` (null for cluster-scoped objects, which never match) and treats a
 * namespace without labels as having none, as the API server's selectors do.
 */
export function selectorToCel(selector: NamespaceSelector): string {
  const labels = 'namespaceObject.metadata.labels';
  const hasLabels = `has(${labels})`;
  const terms = ['namespaceObject != null'];
  for (const [key, value] of sortedLabels(selector)) {
    terms.push(`(${hasLabels} && ${celString(key)} in ${labels} && ${labels}[${celString(key)}] == ${celString(value)})`);
  }
  for (const e of selector.matchExpressions ?? []) {
    const key = celString(e.key);
    const values = celList(e.values ?? []);
    switch (e.operator) {
      case NamespaceSelectorOperator.IN:
        terms.push(`(${hasLabels} && ${key} in ${labels} && ${labels}[${key}] in ${values})`);
        break;
      case NamespaceSelectorOperator.NOT_IN:
        terms.push(`(!${hasLabels} || !(${key} in ${labels}) || !(${labels}[${key}] in ${values}))`);
        break;
      case NamespaceSelectorOperator.EXISTS:
        terms.push(`(${hasLabels} && ${key} in ${labels})`);
        break;
      case NamespaceSelectorOperator.DOES_NOT_EXIST:
        terms.push(`(!${hasLabels} || !(${key} in ${labels}))`);
        break;
    }
  }
  return terms.join(' && ');
}

function sortedLabels(selector: NamespaceSelector): Array<[string, string]> {
  return Object.keys(selector.matchLabels ?? {}).sort().map((key) => [key, String(selector.matchLabels![key])]);
}
