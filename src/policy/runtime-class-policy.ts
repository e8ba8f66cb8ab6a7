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
import { defaultsFor } from './defaults';
import { NamespaceSelector } from './namespace-selector';
import { EXCLUDE_KUBE_SYSTEM_HINT, resolveNamespaceSelector, selectorToJson, selectsEverything } from './selector';
import { registerAllowListRule } from './workload-rules';
import { dns1123SubdomainProblem } from '../core/names';
import { IRuntimeClass } from '../core/runtime-class';

const API_VERSION = 'admissionregistration.k8s.io/v1';

/**
 * Properties of a RuntimeClassPolicy.
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * const props: RuntimeClassPolicyProps = {
 *   namespaceSelector: kplus.Namespaces.select(chart, 'tenants', { labels: { 'tenancy.example.com/tenant': 'true' } }),
 *   allowed: [gvisor],
 *   requireRuntimeClass: false,                       // templates may leave the class to a RuntimeClassDefault
 *   actions: [PolicyAction.WARN, PolicyAction.AUDIT], // dry run first; then [PolicyAction.DENY]
 * };
 * new RuntimeClassPolicy(chart, 'sandboxed', props);
 */
export interface RuntimeClassPolicyProps {
  /**
   * Prefix of the policies' and bindings' names (`<name>-pods`, `<name>-workloads`,
   * `<name>-cronjobs`). They are cluster-wide: two policies of one app must not share it.
   * @default - `runtimeclass-` and the construct id, lowercased
   */
  readonly name?: string;
  /**
   * The namespaces whose pods are held to the allowed classes: a label selector
   * (`{ matchLabels: { tier: 'tenant' } }`), or what cdk8s-plus gives
   * (`kplus.Namespaces.select(...)`, a `kplus.Namespace`, `kplus.LabelSelector.of(...)`). An
   * empty selector is an error.
   */
  readonly namespaceSelector: NamespaceSelector | kplus.INamespaceSelector | kplus.LabelSelector;
  /** The runtime classes pods in those namespaces may use. At least one. */
  readonly allowed: IRuntimeClass[];
  /**
   * What the API server does with a pod or workload that breaks the policy. Roll a new policy
   * out as `[WARN, AUDIT]`, then switch to `[DENY]` (or `[DENY, AUDIT]`). DENY and WARN together
   * are rejected by the API server.
   * @default [PolicyAction.DENY]
   */
  readonly actions?: PolicyAction[];
  /** Pods that set no runtimeClassName break the policy too (otherwise they run with the node's default runtime). @default true */
  readonly requireRuntimeClass?: boolean;
  /**
   * Also check the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets,
   * ReplicationControllers, Jobs and CronJobs, so that a mistake is reported on the object the
   * user applied rather than as failed pod creations in controller events.
   * @default true
   */
  readonly workloadTemplates?: boolean;
  /** What the API server does when the policy cannot be evaluated. @default AdmissionFailurePolicy.FAIL */
  readonly failurePolicy?: AdmissionFailurePolicy;
}

/**
 * Holds the pods of some namespaces to a list of runtime classes (only sandboxed runtimes for
 * tenant namespaces, say). Renders a `ValidatingAdmissionPolicy` and its binding
 * (`admissionregistration.k8s.io/v1`, Kubernetes 1.30+) for Pods, and by default one pair for
 * workload templates and one for CronJobs. Pods are checked on CREATE; templates on CREATE and
 * on every UPDATE that changes the pod template.
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * const kata = new KataRuntime(chart, 'kata');
 * // Pods and workloads in tenant namespaces must use runsc or kata-qemu.
 * new RuntimeClassPolicy(chart, 'sandboxed', {
 *   namespaceSelector: { matchLabels: { 'tenancy.example.com/tenant': 'true' } },
 *   allowed: [gvisor, kata],
 * });
 */
export class RuntimeClassPolicy extends Construct {
  /** The prefix of the objects' names. */
  public readonly name: string;
  /** The binding's validation actions. */
  public readonly actions: PolicyAction[];
  /** The `ValidatingAdmissionPolicy` objects: Pods, then workload templates and CronJobs when checked. */
  public readonly policies: ApiObject[] = [];
  /** The `ValidatingAdmissionPolicyBinding` objects, in the order of `policies`. */
  public readonly bindings: ApiObject[] = [];
  private readonly allowedClasses: IRuntimeClass[];
  private readonly requireRuntimeClass: boolean;
  private readonly namespaceSelector: NamespaceSelector;

  public constructor(scope: Construct, id: string, props: RuntimeClassPolicyProps) {
    super(scope, id);
    this.name = props.name ?? defaultPolicyName(this);
    this.actions = [...(props.actions ?? [PolicyAction.DENY])];
    this.allowedClasses = [...props.allowed];
    this.requireRuntimeClass = props.requireRuntimeClass ?? true;
    const selection = resolveNamespaceSelector(props.namespaceSelector, 'namespaceSelector');
    this.namespaceSelector = selection.selector;
    const checkTemplates = props.workloadTemplates ?? true;
    const failurePolicy = props.failurePolicy ?? AdmissionFailurePolicy.FAIL;

    const shapes = checkTemplates ? [POD_SHAPE, TEMPLATE_SHAPE, CRON_JOB_SHAPE] : [POD_SHAPE];
    for (const s of shapes) {
      const holder = new Construct(this, s.constructId);
      const objectName = `${this.name}-${s.id}`;
      this.policies.push(clusterScopedObject(holder, 'Resource', API_VERSION, 'ValidatingAdmissionPolicy', objectName, Lazy.any({
        produce: () => ({
          failurePolicy,
          matchConstraints: { matchPolicy: 'Equivalent', resourceRules: resourceRulesOf(s) },
          matchConditions: shapeMatchConditions(s),
          validations: [this.validationFor(s, objectName)],
        }),
      })));
      this.bindings.push(clusterScopedObject(holder, 'Binding', API_VERSION, 'ValidatingAdmissionPolicyBinding', objectName, {
        policyName: objectName,
        validationActions: Lazy.any({ produce: () => [...this.actions] }),
        matchResources: { matchPolicy: 'Equivalent', namespaceSelector: selectorToJson(this.namespaceSelector) },
      }));
    }
    registerAdmissionObjects(this, () => [...this.policies, ...this.bindings]);
    registerAllowListRule(this, this.namespaceSelector, checkTemplates, () => this.allowedNames());

    this.node.addValidation({
      validate: () => {
        const problems = [
          ...objectNameProblems(this.policies.map((p) => p.name)),
          ...this.allowedProblems(),
          ...actionProblems(this.actions),
          ...selection.problems,
          ...(selectsEverything(this.namespaceSelector)
            ? [`namespaceSelector is empty, so it selects every namespace, kube-system included, whose pods run with the default runtime: add a label or a requirement, e.g. ${EXCLUDE_KUBE_SYSTEM_HINT}`]
            : []),
          ...this.defaultingProblems(checkTemplates),
          ...duplicateObjectProblems(this),
        ];
        return problems.map((p) => `RuntimeClassPolicy "${this.name}": ${p}`);
      },
    });
  }

  /** The runtime classes pods in the selected namespaces may use. */
  public get allowed(): IRuntimeClass[] {
    return [...this.allowedClasses];
  }

  /** Allows one more runtime class. */
  public allow(runtimeClass: IRuntimeClass): void {
    this.allowedClasses.push(runtimeClass);
  }

  private allowedNames(): string[] {
    return this.allowedClasses.map((c) => c.runtimeClassName);
  }

  private validationFor(s: PodSpecShape, policyName: string): any {
    const spec = s.podSpec;
    const names = this.allowedNames();
    const list = celList(names);
    const oneOf = names.join(', ');
    const fix = this.requireRuntimeClass ? `set ${s.field} to one of: ${oneOf}` : `set ${s.field} to one of: ${oneOf}, or leave it unset`;
    const expression = this.requireRuntimeClass
      ? `has(${spec}.runtimeClassName) && ${spec}.runtimeClassName in ${list}`
      : `!has(${spec}.runtimeClassName) || ${spec}.runtimeClassName in ${list}`;
    const messageExpression = `${OBJECT_REFERENCE} + (has(${spec}.runtimeClassName)`
      + ` ? ${celString(' uses RuntimeClass "')} + ${spec}.runtimeClassName + ${celString('", which is not allowed in namespace ')} + request.namespace`
      + ` : ${celString(' sets no runtimeClassName, which namespace ')} + request.namespace + ${celString(' requires')})`
      + ` + ${celString(` (ValidatingAdmissionPolicy "${policyName}"): ${fix}`)}`;
    return {
      expression,
      messageExpression,
      message: `${s.kinds.map((k) => `${k}s`).join(', ')} in this namespace must set ${s.field} to one of: ${oneOf}${this.requireRuntimeClass ? '' : ', or leave it unset'}`,
      reason: 'Forbidden',
    };
  }

  private allowedProblems(): string[] {
    if (this.allowedClasses.length === 0) {
      return ['allowed is empty, so every pod in the selected namespaces would be rejected: list the runtime classes these namespaces may use'];
    }
    const problems: string[] = [];
    const firstIndex = new Map<string, number>();
    this.allowedNames().forEach((name, index) => {
      const problem = dns1123SubdomainProblem(name);
      if (problem) problems.push(`allowed[${index}] "${name}" ${problem}, so no pod could name it: fix the RuntimeClass's name`);
      const first = firstIndex.get(name);
      if (first !== undefined) {
        problems.push(`allowed[${index}] repeats RuntimeClass "${name}" (already allowed[${first}]): list each class once`);
      } else {
        firstIndex.set(name, index);
      }
    });
    return problems;
  }

  /** Clashes with a RuntimeClassDefault of the app that covers exactly the same namespaces. */
  private defaultingProblems(checkTemplates: boolean): string[] {
    const problems: string[] = [];
    const selector = JSON.stringify(selectorToJson(this.namespaceSelector));
    for (const defaulting of defaultsFor(this, selector)) {
      if (this.requireRuntimeClass && checkTemplates) {
        problems.push(`requireRuntimeClass rejects every Deployment, Job and other workload whose template leaves runtimeClassName to RuntimeClassDefault "${defaulting.name}" (${defaulting.node.path}), which only sets it on their pods: set requireRuntimeClass: false (pods are still checked after the default is applied), or workloadTemplates: false`);
      }
      if (!this.allowedNames().includes(defaulting.runtimeClass.runtimeClassName)) {
        problems.push(`RuntimeClassDefault "${defaulting.name}" (${defaulting.node.path}) sets runtimeClassName "${defaulting.runtimeClass.runtimeClassName}" in the same namespaces, which this policy does not allow, so every defaulted pod would be rejected: allow it, or default to an allowed class`);
      }
    }
    return problems;
  }
}
