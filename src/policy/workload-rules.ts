// What the admission policies of an app would do to its pinned workloads, checked at synth time
// (see core/app-checks.ts): a namespace's labels, as far as the app defines them, against each
// policy's namespace selector.
import { IConstruct } from 'constructs';
import { CRON_JOB_SHAPE, POD_SHAPE, PodSpecShape, TEMPLATE_SHAPE } from './admission';
import { PolicyAction } from './admission-options';
import { NamespaceSelector, NamespaceSelectorOperator } from './namespace-selector';
import { describeSelector, selectsEverything } from './selector';
import { PinnedWorkload, registerWorkloadRule, RuleFindings, WorkloadNamespace } from '../core/app-checks';

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const NOTHING: RuleFindings = { problems: [], notes: [] };

/** A policy construct as the rules read it: its public state, read at each check. */
interface PolicyConstruct extends IConstruct {
  readonly name: string;
  readonly actions: PolicyAction[];
}

/** What a RuntimeClassPolicy checks: the namespaces it selects may use only `allowed()`. */
export function registerAllowListRule(policy: PolicyConstruct, selector: NamespaceSelector, checkTemplates: boolean, allowed: () => string[]): void {
  registerWorkloadRule(policy, {
    check: (workload) => {
      const names = allowed();
      if (names.length === 0 || selectsEverything(selector) || policy.actions.length === 0) return NOTHING; // the policy reports these itself
      if (names.includes(workload.runtimeClassName)) return NOTHING;
      const selected = selects(selector, workload.namespace);
      if (selected === false) return NOTHING;
      const policyName = `RuntimeClassPolicy "${policy.name}" (${policy.node.path})`;
      const fixes = `pin it to ${oneOf(names)}, run it in a namespace the policy does not select, or allow "${workload.runtimeClassName}" in the policy`;
      if (selected === undefined) {
        return unchecked(workload, `${policyName}, which allows only RuntimeClass ${quotedList(names)} in namespaces matching ${describeSelector(selector)}`, fixes);
      }
      const where = `is in namespace "${workload.namespace.name}" (${labelsText(workload.namespace, selector)}), where ${policyName} allows only RuntimeClass ${quotedList(names)} `
        + `(its namespaceSelector ${describeSelector(selector)} matches)`;
      return verdict(policy, workload, checkTemplates, where, fixes);
    },
  });
}

/** What a RuntimeClassRestriction checks: `reserved()` classes only in the namespaces it selects. */
export function registerReservationRule(
  restriction: PolicyConstruct, selector: NamespaceSelector, checkTemplates: boolean, reserved: () => string[],
): void {
  registerWorkloadRule(restriction, {
    check: (workload) => {
      if (!reserved().includes(workload.runtimeClassName)) return NOTHING;
      if (selectsEverything(selector) || restriction.actions.length === 0) return NOTHING; // reported by the restriction
      const selected = selects(selector, workload.namespace);
      if (selected === true) return NOTHING;
      const restrictionName = `RuntimeClassRestriction "${restriction.name}" (${restriction.node.path})`;
      const reserves = `reserves RuntimeClass "${workload.runtimeClassName}" for namespaces matching ${describeSelector(selector)}`;
      const relabel = workload.namespace.name === undefined ? '' : `, label namespace "${workload.namespace.name}" to match`;
      const fixes = `run it in a namespace that matches${relabel}, or pin it to a class that is not reserved`;
      if (selected === undefined) return unchecked(workload, `${restrictionName}, which ${reserves}`, fixes);
      const where = `is in namespace "${workload.namespace.name}" (${labelsText(workload.namespace, selector)}), but ${restrictionName} ${reserves}`;
      return verdict(restriction, workload, checkTemplates, where, fixes);
    },
  });
}

/** A denial is a problem; a policy that only warns or audits gets a note. */
function verdict(policy: PolicyConstruct, workload: PinnedWorkload, checkTemplates: boolean, where: string, fixes: string): RuleFindings {
  const shape = shapeOf(workload.kind, checkTemplates);
  const objectName = `${policy.name}-${shape.id}`;
  const checksTheObject = shape === POD_SHAPE ? workload.kind === 'Pod' : true;
  const denied = policy.actions.includes(PolicyAction.DENY);
  if (denied) {
    const consequence = checksTheObject
      ? `the API server denies the ${workload.kind} when it is applied (ValidatingAdmissionPolicy "${objectName}")`
      : `the API server rejects each of its pods when they are created (ValidatingAdmissionPolicy "${objectName}"), so none ever runs`;
    return { problems: [`${where}: ${consequence}; ${fixes}`], notes: [] };
  }
  const warned = policy.actions.includes(PolicyAction.WARN);
  const consequence = warned
    ? `the API server admits it with a warning (ValidatingAdmissionPolicy "${objectName}" has actions [${policy.actions.join(', ')}]), and denies it once the policy is switched to DENY`
    : `the audit log records a failure of ValidatingAdmissionPolicy "${objectName}" (actions [${policy.actions.join(', ')}]), and the API server denies it once the policy is switched to DENY`;
  return { problems: [], notes: [`${where}: ${consequence}; ${fixes}`] };
}

/** The note for a namespace the app does not define, whose labels the policy's selector reads. */
function unchecked(workload: PinnedWorkload, what: string, fixes: string): RuleFindings {
  const namespace = workload.namespace.name;
  const where = namespace === undefined
    ? 'has no metadata.namespace (it goes to kubectl\'s current namespace)'
    : `is in namespace "${namespace}", which this app does not define`;
  const define = namespace === undefined
    ? 'set its namespace (the chart\'s `namespace`, or metadata.namespace) and define that Namespace in the app'
    : `define namespace "${namespace}" in the app (a kplus.Namespace, or an ApiObject of kind Namespace) with its labels`;
  return {
    problems: [],
    notes: [`${where}, so it was not checked against ${what}: ${define} so that the synth checks it; if the policy applies there, ${fixes}`],
  };
}

/** The policy of `kind`: its own shape, or the Pods' when workload templates are not checked. */
function shapeOf(kind: string, checkTemplates: boolean): PodSpecShape {
  if (checkTemplates) {
    for (const shape of [TEMPLATE_SHAPE, CRON_JOB_SHAPE]) if (shape.kinds.includes(kind)) return shape;
  }
  return POD_SHAPE;
}

/**
 * Whether the selector selects the namespace: true or false when its labels decide, undefined
 * when they are unknown (a namespace the app does not define has only its name label known).
 */
export function selects(selector: NamespaceSelector, namespace: WorkloadNamespace): boolean | undefined {
  const label = (key: string): string | null | undefined => {
    if (namespace.labels) return key in namespace.labels ? namespace.labels[key] : null;
    if (key === NAMESPACE_NAME_LABEL && namespace.name !== undefined) return namespace.name;
    return undefined; // unknown
  };
  const results: Array<boolean | undefined> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const actual = label(key);
    results.push(actual === undefined ? undefined : actual === String(value));
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const actual = label(requirement.key);
    if (actual === undefined) {
      results.push(undefined);
      continue;
    }
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case NamespaceSelectorOperator.IN: results.push(actual !== null && values.includes(actual)); break;
      case NamespaceSelectorOperator.NOT_IN: results.push(actual === null || !values.includes(actual)); break;
      case NamespaceSelectorOperator.EXISTS: results.push(actual !== null); break;
      case NamespaceSelectorOperator.DOES_NOT_EXIST: results.push(actual === null); break;
      default: results.push(undefined);
    }
  }
  if (results.includes(false)) return false;
  return results.includes(undefined) ? undefined : true;
}

/** The namespace's labels that the selector reads, for messages. */
function labelsText(namespace: WorkloadNamespace, selector: NamespaceSelector): string {
  if (!namespace.labels) return `not defined in this app; its ${NAMESPACE_NAME_LABEL} label decides`;
  const labels = namespace.labels;
  const keys = [...new Set([...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)])].sort();
  const parts = keys.map((key) => (key in labels ? `${key}=${labels[key]}` : `no ${key}`));
  return `labels: ${parts.join(', ')}`;
}

function quotedList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function oneOf(names: string[]): string {
  return names.length === 1 ? `"${names[0]}"` : `one of ${quotedList(names)}`;
}
