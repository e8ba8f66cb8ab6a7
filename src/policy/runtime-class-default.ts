import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  clusterScopedObject,
  defaultPolicyName,
  duplicateObjectProblems,
  MatchCondition,
  objectNameProblems,
  POD_SHAPE,
  registerAdmissionObjects,
  resourceRulesOf,
  shapeMatchConditions,
} from './admission';
import { AdmissionFailurePolicy } from './admission-options';
import { celString } from './cel';
import { defaultsFor, markDefault } from './defaults';
import { NamespaceSelector } from './namespace-selector';
import { resolveNamespaceSelector, selectorToJson, selectsEverything } from './selector';
import { hostNamespaceAllowed } from '../core/host-namespaces';
import { dns1123SubdomainProblem } from '../core/names';
import { IRuntimeClass } from '../core/runtime-class';

/** The API version of MutatingAdmissionPolicy the cluster serves. */
export enum MutatingAdmissionPolicyVersion {
  /**
   * `admissionregistration.k8s.io/v1beta1`: Kubernetes 1.34 and 1.35, where the API is off by
   * default (enable the `MutatingAdmissionPolicy` feature gate and
   * `--runtime-config=admissionregistration.k8s.io/v1beta1=true` on the API server).
   */
  V1BETA1 = 'admissionregistration.k8s.io/v1beta1',
  /** `admissionregistration.k8s.io/v1`: Kubernetes 1.36 and later. */
  V1 = 'admissionregistration.k8s.io/v1',
}

/**
 * Properties of a RuntimeClassDefault.
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * const props: RuntimeClassDefaultProps = {
 *   runtimeClass: gvisor,
 *   namespaceSelector: kplus.Namespaces.select(chart, 'tenants', { labels: { 'tenancy.example.com/tenant': 'true' } }),
 *   apiVersion: MutatingAdmissionPolicyVersion.V1BETA1, // Kubernetes 1.34 and 1.35 (feature gate + runtime-config)
 *   failurePolicy: AdmissionFailurePolicy.FAIL,          // rather no pod than an unsandboxed one
 * };
 * new RuntimeClassDefault(chart, 'tenant-default', props);
 */
export interface RuntimeClassDefaultProps {
  /** Name of the policy and of its binding (cluster-wide). @default - `runtimeclass-` and the construct id, lowercased */
  readonly name?: string;
  /** The class to set on pods that name none. */
  readonly runtimeClass: IRuntimeClass;
  /**
   * The namespaces whose pods get it: a label selector, or what cdk8s-plus gives
   * (`kplus.Namespaces.select(...)`, a `kplus.Namespace`, `kplus.LabelSelector.of(...)`). An
   * empty selector (every namespace) is an error.
   */
  readonly namespaceSelector: NamespaceSelector | kplus.INamespaceSelector | kplus.LabelSelector;
  /** The MutatingAdmissionPolicy API version the cluster serves (it depends on the Kubernetes version). */
  readonly apiVersion: MutatingAdmissionPolicyVersion;
  /** What the API server does when the policy cannot be evaluated: FAIL rejects the pod rather than run it unsandboxed. @default AdmissionFailurePolicy.FAIL */
  readonly failurePolicy?: AdmissionFailurePolicy;
}

/** The pod fields a class's limits forbid, as CEL conditions that hold when the pod does not set them. */
const LIMITED_FIELDS: Array<{ readonly limit: 'allowHostNetwork' | 'allowHostPid' | 'allowHostIpc'; readonly field: string; readonly condition: string }> = [
  { limit: 'allowHostNetwork', field: 'hostNetwork', condition: 'no-host-network' },
  { limit: 'allowHostPid', field: 'hostPID', condition: 'no-host-pid' },
  { limit: 'allowHostIpc', field: 'hostIPC', condition: 'no-host-ipc' },
];

/**
 * Sets `runtimeClassName` on pods created in some namespaces without one: a
 * `MutatingAdmissionPolicy` and its binding. Pods that name a class keep it; pods that ask for
 * what the class cannot give (from its limits, e.g. `hostNetwork` on Kata) and mirror pods are
 * left alone. Only Pods are changed, never workload templates, so GitOps tools see no drift.
 *
 * Setting the class in admission is enough for its overhead and scheduling: when a mutating
 * policy changes an object, the API server runs the built-in admission plugins again, the
 * RuntimeClass plugin among them.
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * // Pods created in tenant namespaces without a class get runsc.
 * new RuntimeClassDefault(chart, 'tenant-default', {
 *   runtimeClass: gvisor,
 *   namespaceSelector: { matchLabels: { 'tenancy.example.com/tenant': 'true' } },
 *   apiVersion: MutatingAdmissionPolicyVersion.V1,
 * });
 */
export class RuntimeClassDefault extends Construct {
  /** The name of the policy and of its binding. */
  public readonly name: string;
  /** The class set on pods. */
  public readonly runtimeClass: IRuntimeClass;
  /** The `MutatingAdmissionPolicy`. */
  public readonly policy: ApiObject;
  /** The `MutatingAdmissionPolicyBinding`. */
  public readonly binding: ApiObject;
  /** The namespaces whose pods get the class, as a label selector. */
  public readonly namespaceSelector: NamespaceSelector;

  public constructor(scope: Construct, id: string, props: RuntimeClassDefaultProps) {
    super(scope, id);
    markDefault(this);
    this.name = props.name ?? defaultPolicyName(this);
    this.runtimeClass = props.runtimeClass;
    const selection = resolveNamespaceSelector(props.namespaceSelector, 'namespaceSelector');
    this.namespaceSelector = selection.selector;
    const className = props.runtimeClass.runtimeClassName;

    const matchConditions: MatchCondition[] = [
      ...shapeMatchConditions(POD_SHAPE),
      { name: 'no-runtime-class-name', expression: '!has(object.spec.runtimeClassName)' },
      ...LIMITED_FIELDS
        .filter((f) => hostNamespaceAllowed(props.runtimeClass.limits, f.limit) === false)
        .map((f) => ({ name: f.condition, expression: `!has(object.spec.${f.field}) || !object.spec.${f.field}` })),
    ];
    this.policy = clusterScopedObject(this, 'Resource', props.apiVersion, 'MutatingAdmissionPolicy', this.name, {
      failurePolicy: props.failurePolicy ?? AdmissionFailurePolicy.FAIL,
      matchConstraints: { matchPolicy: 'Equivalent', resourceRules: resourceRulesOf(POD_SHAPE) },
      matchConditions,
      // The mutation is guarded by no-runtime-class-name: running it again could change nothing.
      reinvocationPolicy: 'Never',
      mutations: [{
        patchType: 'ApplyConfiguration',
        applyConfiguration: { expression: `Object{spec: Object.spec{runtimeClassName: ${celString(className)}}}` },
      }],
    });
    this.binding = clusterScopedObject(this, 'Binding', props.apiVersion, 'MutatingAdmissionPolicyBinding', this.name, {
      policyName: this.name,
      matchResources: { matchPolicy: 'Equivalent', namespaceSelector: selectorToJson(this.namespaceSelector) },
    });
    registerAdmissionObjects(this, () => [this.policy, this.binding]);

    this.node.addValidation({
      validate: () => {
        const classProblem = dns1123SubdomainProblem(className);
        const problems = [
          ...objectNameProblems([this.name]),
          ...(classProblem ? [`runtimeClass "${className}" ${classProblem}: fix the RuntimeClass's name`] : []),
          ...selection.problems,
          ...(selectsEverything(this.namespaceSelector)
            ? [`namespaceSelector is empty, so every pod of the cluster without a runtimeClassName, kube-system's included, would run with "${className}": select the namespaces by their labels`]
            : []),
          ...this.overlapProblems(),
          ...duplicateObjectProblems(this),
        ];
        return problems.map((p) => `RuntimeClassDefault "${this.name}": ${p}`);
      },
    });
  }

  private overlapProblems(): string[] {
    const selector = JSON.stringify(selectorToJson(this.namespaceSelector));
    return defaultsFor(this, selector)
      .filter((other) => other !== this && other.runtimeClass.runtimeClassName !== this.runtimeClass.runtimeClassName)
      .map((other) => `RuntimeClassDefault "${other.name}" (${other.node.path}) sets "${other.runtimeClass.runtimeClassName}" in the same namespaces: whichever runs first wins; keep one default per namespace`);
  }
}
