/**
 * Evaluates the admission policies this library renders the way the API server does, with a
 * real CEL implementation (@bufbuild/cel): resource rules and the binding's namespace selector
 * decide the scope, match conditions decide whether the policy runs, then validations (with
 * their message expressions) or mutations are evaluated against the request.
 *
 * Objects are bound as Kubernetes binds unstructured objects: maps, lists, strings, booleans,
 * and whole numbers as CEL ints. Every expression evaluated is recorded, so a test can check
 * that no expression the library emits went unevaluated.
 */
import { celEnv, isCelError, isCelList, isCelMap, parse, plan } from '@bufbuild/cel';
import { create, createFileRegistry, toJson } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

/** Every expression evaluated so far (the harness is per test file). */
export const evaluatedExpressions = new Set<string>();

/** JSON to a CEL input: objects as maps, whole numbers as ints. */
export function toCel(value: unknown): any {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'object') return new Map(Object.entries(value as object).map(([k, v]) => [k, toCel(v)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

/** A CEL value back to JSON. */
export function fromCel(value: any): any {
  if (isCelMap(value)) {
    const out: any = {};
    for (const [k, v] of (value as any).entries()) out[String(k)] = fromCel(v);
    return out;
  }
  if (isCelList(value)) return [...(value as any)].map(fromCel);
  if (typeof value === 'bigint') return Number(value);
  if (value && typeof value === 'object' && 'desc' in value && 'message' in value) return toJson((value as any).desc, (value as any).message);
  return value;
}

/**
 * The types a MutatingAdmissionPolicy's apply configuration may construct, as far as this
 * library uses them: `Object` (a Pod) and `Object.spec` with `runtimeClassName`. An
 * expression that constructs anything else fails to evaluate.
 */
const applyConfigurationTypes = createFileRegistry(create(FileDescriptorProtoSchema, {
  name: 'pod_apply_configuration.proto',
  syntax: 'proto3',
  messageType: [{
    name: 'Object',
    field: [{ name: 'spec', jsonName: 'spec', number: 1, label: 1, type: 11, typeName: '.Object.spec' }],
    nestedType: [{ name: 'spec', field: [{ name: 'runtimeClassName', jsonName: 'runtimeClassName', number: 1, label: 1, type: 9 }] }],
  }],
}), () => undefined);

const env = celEnv({ registry: applyConfigurationTypes });

/** Evaluates one expression; a CEL error is thrown, naming the expression. */
export function evaluate(expression: string, bindings: { [name: string]: unknown }): any {
  evaluatedExpressions.add(expression);
  const program = plan(env, parse(expression));
  const celBindings: { [name: string]: any } = {};
  for (const [name, value] of Object.entries(bindings)) celBindings[name] = toCel(value);
  const result = program(celBindings);
  if (isCelError(result)) throw new Error(`CEL error: ${result.message}\n  in: ${expression}`);
  return fromCel(result);
}

/** Evaluates, returning the error message instead of throwing. */
function tryEvaluate(expression: string, bindings: { [name: string]: unknown }): { value?: any; error?: string } {
  try {
    return { value: evaluate(expression, bindings) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Plural resource names, as the API server maps kinds (independent of the library's table). */
const RESOURCES: { [kind: string]: string } = {
  Pod: 'pods',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  ReplicationController: 'replicationcontrollers',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Service: 'services',
  ConfigMap: 'configmaps',
  Node: 'nodes',
};

/** An API request to admit. */
export interface Request {
  readonly operation: 'CREATE' | 'UPDATE';
  readonly object: any;
  readonly oldObject?: any;
  readonly namespace: string;
  /** Labels of the request's namespace (its `kubernetes.io/metadata.name` label is added, as the API server does). */
  readonly namespaceLabels?: { [key: string]: string };
  /** Overrides the namespace object entirely (e.g. one without labels). */
  readonly namespaceObject?: any;
  /** Who sends the request (`request.userInfo`). @default a cluster admin */
  readonly userInfo?: { readonly username: string; readonly groups?: string[]; readonly extra?: { [key: string]: string[] } };
}

function bindingsOf(request: Request): { [name: string]: unknown } {
  const [group, version] = String(request.object.apiVersion).includes('/') ? String(request.object.apiVersion).split('/') : ['', request.object.apiVersion];
  const kind = String(request.object.kind);
  return {
    object: request.object,
    oldObject: request.oldObject ?? null,
    request: {
      kind: { group, version, kind },
      resource: { group, version, resource: RESOURCES[kind] },
      operation: request.operation,
      namespace: request.namespace,
      name: request.object.metadata?.name ?? '',
      userInfo: request.userInfo ?? { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    },
    namespaceObject: request.namespaceObject !== undefined ? request.namespaceObject : {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: request.namespace, labels: { ...request.namespaceLabels, 'kubernetes.io/metadata.name': request.namespace } },
    },
  };
}

/** Does a Kubernetes label selector match these labels? (the API server's semantics, written independently) */
export function selectorMatches(selector: any, labels: { [key: string]: string }): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector?.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(labels, requirement.key);
    const values: string[] = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In': if (!present || !values.includes(labels[requirement.key])) return false; break;
      case 'NotIn': if (present && values.includes(labels[requirement.key])) return false; break;
      case 'Exists': if (!present) return false; break;
      case 'DoesNotExist': if (present) return false; break;
      default: throw new Error(`unknown operator ${requirement.operator}`);
    }
  }
  return true;
}

function inScope(policy: any, binding: any, request: Request, bindings: any): boolean {
  const { kind, resource } = bindings.request;
  const ruleMatches = (policy.spec.matchConstraints.resourceRules as any[]).some((rule) =>
    rule.apiGroups.includes(kind.group) && rule.apiVersions.includes(kind.version)
    && rule.resources.includes(resource.resource) && rule.operations.includes(request.operation));
  if (!ruleMatches) return false;
  const selector = binding.spec.matchResources?.namespaceSelector;
  return selector === undefined || selectorMatches(selector, bindings.namespaceObject?.metadata?.labels ?? {});
}

/** What happened to a request, policy by policy. */
export type Decision =
  | { readonly result: 'out-of-scope' }
  | { readonly result: 'skipped'; readonly falseConditions: string[] }
  | { readonly result: 'error'; readonly errors: string[] }
  | { readonly result: 'passed' }
  | { readonly result: 'failed'; readonly messages: string[]; readonly actions: string[] };

function runMatchConditions(policy: any, bindings: any): Decision | undefined {
  const falseConditions: string[] = [];
  const errors: string[] = [];
  for (const condition of policy.spec.matchConditions ?? []) {
    const { value, error } = tryEvaluate(condition.expression, bindings);
    if (error) errors.push(`${condition.name}: ${error}`);
    else if (typeof value !== 'boolean') errors.push(`${condition.name}: evaluated to ${typeof value}, not a bool`);
    else if (!value) falseConditions.push(condition.name);
  }
  // Any false condition skips the policy, whatever errors others raised.
  if (falseConditions.length > 0) return { result: 'skipped', falseConditions };
  if (errors.length > 0) return { result: 'error', errors };
  return undefined;
}

/** Admits a request through one ValidatingAdmissionPolicy and its binding. */
export function validate(policy: any, binding: any, request: Request): Decision {
  const bindings = bindingsOf(request);
  if (!inScope(policy, binding, request, bindings)) return { result: 'out-of-scope' };
  const skipped = runMatchConditions(policy, bindings);
  if (skipped) return skipped;
  const messages: string[] = [];
  const errors: string[] = [];
  for (const validation of policy.spec.validations) {
    const { value, error } = tryEvaluate(validation.expression, bindings);
    if (error) { errors.push(error); continue; }
    if (value === true) continue;
    if (value !== false) { errors.push(`validation evaluated to ${JSON.stringify(value)}, not a bool`); continue; }
    // The API server falls back to `message` when messageExpression fails or is empty or multi-line.
    const rendered = validation.messageExpression ? tryEvaluate(validation.messageExpression, bindings) : {};
    if (rendered.error) throw new Error(`messageExpression failed: ${rendered.error}`);
    const usable = typeof rendered.value === 'string' && rendered.value.trim() !== '' && !/[\r\n]/.test(rendered.value);
    if (validation.messageExpression && !usable) throw new Error(`messageExpression produced an unusable message: ${JSON.stringify(rendered.value)}`);
    messages.push(usable ? rendered.value : validation.message);
  }
  if (errors.length > 0) return { result: 'error', errors };
  return messages.length > 0 ? { result: 'failed', messages, actions: binding.spec.validationActions } : { result: 'passed' };
}

/** Admits a request through every policy/binding pair; the decisions of the pairs that acted. */
export function validateAll(policies: any[], bindings: any[], request: Request): Decision[] {
  return policies.map((policy, i) => validate(policy, bindings[i], request)).filter((d) => d.result !== 'out-of-scope');
}

/** Merges an apply configuration into an object (maps merge, scalars replace), as server-side apply does for granular fields. */
function mergeApplyConfiguration(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = { ...(target ?? {}) };
  for (const [key, value] of Object.entries(patch)) out[key] = mergeApplyConfiguration(out[key], value);
  return out;
}

/** Admits a request through a MutatingAdmissionPolicy: the mutated object, or why it was not mutated. */
export function mutate(policy: any, binding: any, request: Request): { result: 'mutated'; object: any } | Decision {
  const bindings = bindingsOf(request);
  if (!inScope(policy, binding, request, bindings)) return { result: 'out-of-scope' };
  const skipped = runMatchConditions(policy, bindings);
  if (skipped) return skipped;
  let object = request.object;
  for (const mutation of policy.spec.mutations) {
    if (mutation.patchType !== 'ApplyConfiguration') throw new Error(`the harness applies ApplyConfiguration mutations only, not ${mutation.patchType}`);
    const applyConfiguration = evaluate(mutation.applyConfiguration.expression, { ...bindings, object });
    object = mergeApplyConfiguration(object, applyConfiguration);
  }
  return { result: 'mutated', object };
}

/** Every CEL expression in a synthesized manifest (`expression`, `messageExpression`, under any key path). */
export function expressionsIn(document: any): string[] {
  if (document === null || typeof document !== 'object') return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    if ((key === 'expression' || key === 'messageExpression') && typeof value === 'string') found.push(value);
    else found.push(...expressionsIn(value));
  }
  return found;
}
