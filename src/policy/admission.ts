// What the admission constructs share: the pod-spec shapes they check, the match conditions
// every policy needs, object naming, and the checks on names and actions.
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { PolicyAction } from './admission-options';
import { hasPath } from './cel';
import { dns1123SubdomainProblem } from '../core/names';
import { podSpecPointer } from '../core/pod-spec';

/** The API group and resource of each kind a policy matches. */
const RESOURCES: { [kind: string]: { readonly group: string; readonly resource: string } } = {
  Pod: { group: '', resource: 'pods' },
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

/**
 * Kinds whose pod spec sits at the same path. Each shape gets its own policy: the API server
 * type-checks every expression of a policy against every kind it matches, and
 * `object.spec.jobTemplate` on a Deployment would fill the policy's status with warnings.
 */
export interface PodSpecShape {
  /** Suffix of the object names. */
  readonly id: string;
  /** Id of the construct holding the shape's objects. */
  readonly constructId: string;
  readonly kinds: string[];
  /** CEL path of the pod spec, under `object`. */
  readonly podSpec: string;
  /** The field a user sets, for messages. */
  readonly field: string;
  /** CEL path of the pod template under `object`/`oldObject`, compared on UPDATE; none for Pods. */
  readonly podTemplate?: string;
}

function shape(id: string, constructId: string, kinds: string[]): PodSpecShape {
  const pointers = new Set(kinds.map((kind) => podSpecPointer(kind)));
  const pointer = [...pointers][0];
  if (pointers.size !== 1 || pointer === undefined) throw new Error(`internal: kinds ${kinds.join(', ')} do not share one pod spec path`);
  const path = pointer.split('/').slice(1);
  return {
    id,
    constructId,
    kinds,
    podSpec: ['object', ...path].join('.'),
    field: [...path, 'runtimeClassName'].join('.'),
    // The template is the pod spec's parent (`.../template`); a Pod has none.
    podTemplate: path.length > 1 ? path.slice(0, -1).join('.') : undefined,
  };
}

/** Pods; the templates of Deployments and the other controllers; CronJobs' job templates. */
export const POD_SHAPE = shape('pods', 'Pods', ['Pod']);
export const TEMPLATE_SHAPE = shape('workloads', 'Workloads', ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']);
export const CRON_JOB_SHAPE = shape('cronjobs', 'CronJobs', ['CronJob']);

/** The `resourceRules` of a shape: Pods on CREATE only (runtimeClassName is immutable), templates on CREATE and UPDATE. */
export function resourceRulesOf(s: PodSpecShape): any[] {
  const operations = s.podTemplate ? ['CREATE', 'UPDATE'] : ['CREATE'];
  const byGroup = new Map<string, string[]>();
  for (const kind of s.kinds) {
    const { group, resource } = RESOURCES[kind];
    byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  return [...byGroup.entries()].map(([group, resources]) => ({ apiGroups: [group], apiVersions: ['v1'], operations, resources }));
}

/** A CEL match condition. */
export interface MatchCondition {
  readonly name: string;
  readonly expression: string;
}

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * Conditions every policy on a shape needs: the pod spec is there (a missing field skips the
 * policy rather than failing the request); mirror pods are left alone (the kubelet runs a
 * static pod whatever the API says, so denying its mirror would only hide it); and an UPDATE
 * is checked only when it changes the pod template, so that deleting, scaling or relabelling
 * an object created before the policy is never blocked.
 */
export function shapeMatchConditions(s: PodSpecShape): MatchCondition[] {
  const conditions: MatchCondition[] = [{ name: 'has-pod-spec', expression: hasPath(s.podSpec) }];
  if (s.podTemplate) {
    conditions.push({
      name: 'pod-template-created-or-changed',
      expression: `oldObject == null || !(${hasPath(`oldObject.${s.podTemplate}`)}) || object.${s.podTemplate} != oldObject.${s.podTemplate}`,
    });
  } else {
    conditions.push({
      name: 'not-a-mirror-pod',
      expression: `!has(object.metadata.annotations) || !("${MIRROR_POD_ANNOTATION}" in object.metadata.annotations)`,
    });
  }
  return conditions;
}

/** CEL for `Kind namespace/name` of the object under admission; a name still to be generated shows as `prefix*`. */
export const OBJECT_REFERENCE = 'request.kind.kind + " " + request.namespace + "/" + '
  + '(has(object.metadata.name) && object.metadata.name != "" ? object.metadata.name'
  + ' : (has(object.metadata.generateName) ? object.metadata.generateName + "*" : "(unnamed)"))';

/**
 * A cluster-scoped admission object. The chart's namespace is stamped on every object,
 * cluster-scoped ones included, so it is removed again.
 */
export function clusterScopedObject(scope: Construct, id: string, apiVersion: string, kind: string, name: string, spec: any): ApiObject {
  const object = new ApiObject(scope, id, { apiVersion, kind, metadata: { name }, spec });
  if (Chart.of(scope).namespace) object.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return object;
}

/** The default name prefix of a policy construct: `runtimeclass-` and its id, lowercased, as a DNS label. */
export function defaultPolicyName(construct: IConstruct): string {
  const slug = construct.node.id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return slug.length > 0 ? `runtimeclass-${slug}` : 'runtimeclass';
}

/** Problems with the object names a construct renders. */
export function objectNameProblems(names: string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const problem = dns1123SubdomainProblem(name);
    if (problem) problems.push(`object name "${name}" ${problem}: choose another \`name\``);
  }
  return problems;
}

/** Problems with a binding's `validationActions`, as the API server would report them, with the fix. */
export function actionProblems(actions: PolicyAction[]): string[] {
  const problems: string[] = [];
  if (actions.length === 0) {
    problems.push('actions is empty: the binding would do nothing; use [PolicyAction.DENY] to enforce, or [PolicyAction.WARN, PolicyAction.AUDIT] for a dry run');
  }
  const seen = new Set<PolicyAction>();
  for (const action of actions) {
    if (seen.has(action)) problems.push(`actions lists ${action} more than once: list each action once`);
    seen.add(action);
  }
  if (seen.has(PolicyAction.DENY) && seen.has(PolicyAction.WARN)) {
    problems.push('actions has both DENY and WARN, which the API server rejects (a denied request already carries the message): keep DENY to enforce, or use WARN with AUDIT for a dry run');
  }
  return problems;
}

const ADMISSION_OBJECTS = Symbol.for('cdk8s-runtimeclass.AdmissionObjects');

/** Marks a construct as rendering the given cluster-scoped `kind/name` objects. */
export function registerAdmissionObjects(construct: IConstruct, objects: () => ApiObject[]): void {
  Object.defineProperty(construct, ADMISSION_OBJECTS, { value: objects });
}

/** Objects of this construct whose kind and name another admission construct of the app also renders. */
export function duplicateObjectProblems(construct: IConstruct): string[] {
  const own = ((construct as any)[ADMISSION_OBJECTS] as () => ApiObject[])();
  const problems: string[] = [];
  for (const other of construct.node.root.node.findAll()) {
    if (other === construct || !(ADMISSION_OBJECTS in other)) continue;
    const theirs = ((other as any)[ADMISSION_OBJECTS] as () => ApiObject[])();
    for (const mine of own) {
      const clash = theirs.find((o) => o.kind === mine.kind && o.name === mine.name);
      if (clash) {
        problems.push(`${mine.kind} "${mine.name}" is also rendered by ${other.node.path}: names are cluster-wide; give one of them another \`name\``);
      }
    }
  }
  return problems;
}
