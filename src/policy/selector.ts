// Namespace selectors: validation, rendering, a kubectl-style description, and a CEL
// translation for policies that must test the complement of a selector (a binding can only
// select namespaces that match one).
import { celList, celString } from './cel';
import { NamespaceSelector, NamespaceSelectorOperator } from './namespace-selector';
import { labelValueProblem, qualifiedNameProblem } from '../core/names';

/** Problems the API server would report for this selector, each naming the field under `field`. */
export function selectorProblems(selector: NamespaceSelector, field: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push(`${field}.matchLabels key "${key}" ${keyProblem}`);
    const valueProblem = labelValueProblem(String(value));
    if (valueProblem) problems.push(`${field}.matchLabels["${key}"] value "${value}" ${valueProblem}`);
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const at = `${field}.matchExpressions[${index}]`;
    const keyProblem = qualifiedNameProblem(requirement.key);
    if (keyProblem) problems.push(`${at}.key "${requirement.key}" ${keyProblem}`);
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
