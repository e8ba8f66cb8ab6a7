import { ApiObject, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  actionProblems,
  clusterScopedObject,
  CRON_JOB_SHAPE,
  defaultPolicyName,
  duplicateObjectProblems,
  objectNameProblems,
  OBJECT_REFERENCE,
  POD_SHAPE,
  PodSpecShape,
  registerAdmissionObjects,
  resourceRulesOf,
  shapeMatchConditions,
  TEMPLATE_SHAPE,
} from './admission';
import { AdmissionFailurePolicy, PolicyAction } from './admission-options';
import { celList, celString } from './cel';
import { NamespaceSelector } from './namespace-selector';
import { describeSelector, resolveNamespaceSelector, selectorToCel, selectsEverything } from './selector';
import { registerReservationRule } from './workload-rules';
import { dns1123SubdomainProblem } from '../core/names';
import { IRuntimeClass } from '../core/runtime-class';

const API_VERSION = 'admissionregistration.k8s.io/v1';

/**
 * Properties of a RuntimeClassRestriction.
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * const props: RuntimeClassRestrictionProps = {
 *   runtimeClasses: [kata],
 *   namespaceSelector: { matchLabels: { 'compliance.example.com/regulated': 'true' } },
 *   actions: [PolicyAction.DENY, PolicyAction.AUDIT],
 *   workloadTemplates: true, // refuse Deployments and the like too, not only their pods
 * };
 * new RuntimeClassRestriction(chart, 'kata-regulated', props);
 */
export interface RuntimeClassRestrictionProps {
  /**
   * Prefix of the policies' and bindings' names (`<name>-pods`, `<name>-workloads`,
   * `<name>-cronjobs`). They are cluster-wide.
   * @default - `runtimeclass-` and the construct id, lowercased
   */
  readonly name?: string;
  /** The runtime classes to reserve. At least one. */
  readonly runtimeClasses: IRuntimeClass[];
  /**
   * The namespaces that may use them: a label selector, or what cdk8s-plus gives
   * (`kplus.Namespaces.select(...)`, a `kplus.Namespace`, `kplus.LabelSelector.of(...)`). An
   * empty selector (every namespace) is an error.
   */
  readonly namespaceSelector: NamespaceSelector | kplus.INamespaceSelector | kplus.LabelSelector;
  /** What the API server does with a pod or workload outside those namespaces that names a reserved class. @default [PolicyAction.DENY] */
  readonly actions?: PolicyAction[];
  /** Also check the pod templates of workloads and CronJobs (see `RuntimeClassPolicyProps.workloadTemplates`). @default true */
  readonly workloadTemplates?: boolean;
  /** What the API server does when the policy cannot be evaluated. @default AdmissionFailurePolicy.FAIL */
  readonly failurePolicy?: AdmissionFailurePolicy;
}

/**
 * Reserves runtime classes for some namespaces (only regulated tenants may use `kata-qemu`,
 * whose VMs cost 320Mi a pod): a pod or workload template in any other namespace that names
 * one of them is rejected. The inverse of `RuntimeClassPolicy`.
 *
 * The bindings match every namespace and the policies test the namespace's labels in CEL
 * (`namespaceObject`): the complement of a label selector is not a label selector.
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * // Only regulated namespaces may use kata-qemu (a VM per pod, 320Mi each).
 * new RuntimeClassRestriction(chart, 'kata-regulated', {
 *   runtimeClasses: [kata],
 *   namespaceSelector: { matchLabels: { 'compliance.example.com/regulated': 'true' } },
 * });
 */
export class RuntimeClassRestriction extends Construct {
  /** The prefix of the objects' names. */
  public readonly name: string;
  /** The binding's validation actions. */
  public readonly actions: PolicyAction[];
  /** The reserved runtime classes. */
  public readonly runtimeClasses: IRuntimeClass[];
  /** The `ValidatingAdmissionPolicy` objects: Pods, then workload templates and CronJobs when checked. */
  public readonly policies: ApiObject[] = [];
  /** The `ValidatingAdmissionPolicyBinding` objects, in the order of `policies`. */
  public readonly bindings: ApiObject[] = [];

  public constructor(scope: Construct, id: string, props: RuntimeClassRestrictionProps) {
    super(scope, id);
    this.name = props.name ?? defaultPolicyName(this);
    this.actions = [...(props.actions ?? [PolicyAction.DENY])];
    this.runtimeClasses = [...props.runtimeClasses];
    const checkTemplates = props.workloadTemplates ?? true;
    const failurePolicy = props.failurePolicy ?? AdmissionFailurePolicy.FAIL;
    const selection = resolveNamespaceSelector(props.namespaceSelector, 'namespaceSelector');
    const selector = selection.selector;

    const shapes = checkTemplates ? [POD_SHAPE, TEMPLATE_SHAPE, CRON_JOB_SHAPE] : [POD_SHAPE];
    for (const s of shapes) {
      const holder = new Construct(this, s.constructId);
      const objectName = `${this.name}-${s.id}`;
      this.policies.push(clusterScopedObject(holder, 'Resource', API_VERSION, 'ValidatingAdmissionPolicy', objectName, Lazy.any({
        produce: () => ({
          failurePolicy,
          matchConstraints: { matchPolicy: 'Equivalent', resourceRules: resourceRulesOf(s) },
          matchConditions: [
            ...shapeMatchConditions(s),
            { name: 'uses-reserved-runtime-class', expression: `has(${s.podSpec}.runtimeClassName) && ${s.podSpec}.runtimeClassName in ${celList(this.classNames())}` },
          ],
          validations: [validationFor(s, objectName, selector)],
        }),
      })));
      this.bindings.push(clusterScopedObject(holder, 'Binding', API_VERSION, 'ValidatingAdmissionPolicyBinding', objectName, {
        policyName: objectName,
        validationActions: Lazy.any({ produce: () => [...this.actions] }),
      }));
    }
    registerAdmissionObjects(this, () => [...this.policies, ...this.bindings]);
    registerReservationRule(this, selector, checkTemplates, () => this.classNames());

    this.node.addValidation({
      validate: () => {
        const problems = [
          ...objectNameProblems(this.policies.map((p) => p.name)),
          ...this.classProblems(),
          ...actionProblems(this.actions),
          ...selection.problems,
          ...(selectsEverything(selector)
            ? ['namespaceSelector is empty, so every namespace may use the classes and the restriction does nothing: select the namespaces that may use them by their labels']
            : []),
          ...duplicateObjectProblems(this),
        ];
        return problems.map((p) => `RuntimeClassRestriction "${this.name}": ${p}`);
      },
    });
  }

  private classNames(): string[] {
    return this.runtimeClasses.map((c) => c.runtimeClassName);
  }

  private classProblems(): string[] {
    if (this.runtimeClasses.length === 0) return ['runtimeClasses is empty, so the restriction reserves nothing: list the classes to reserve'];
    const problems: string[] = [];
    const firstIndex = new Map<string, number>();
    this.classNames().forEach((name, index) => {
      const problem = dns1123SubdomainProblem(name);
      if (problem) problems.push(`runtimeClasses[${index}] "${name}" ${problem}: fix the RuntimeClass's name`);
      const first = firstIndex.get(name);
      if (first !== undefined) {
        problems.push(`runtimeClasses[${index}] repeats RuntimeClass "${name}" (already runtimeClasses[${first}]): list each class once`);
      } else {
        firstIndex.set(name, index);
      }
    });
    return problems;
  }
}

function validationFor(s: PodSpecShape, policyName: string, selector: NamespaceSelector): any {
  const description = describeSelector(selector);
  return {
    expression: selectorToCel(selector),
    messageExpression: `${OBJECT_REFERENCE} + ${celString(' uses RuntimeClass "')} + ${s.podSpec}.runtimeClassName`
      + ` + ${celString(`", which only namespaces matching ${description} may use, and namespace `)} + request.namespace`
      + ` + ${celString(` does not match (ValidatingAdmissionPolicy "${policyName}"): run it in such a namespace, or set ${s.field} to another class`)}`,
    message: `the runtime class in ${s.field} is reserved for namespaces matching ${description}`,
    reason: 'Forbidden',
  };
}
