// Stage 3 of the footprint report: what Kubernetes would reject or get wrong, found in the model.
import { appendTo, ClassTotals, NODE_READY_VALUE, NodeEntry, ReportModel, RuntimeClassEntry, WorkloadEntry } from './model';
import { SourceLocation } from './read';
import { hostNamespaceProblems } from '../core/host-namespaces';
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../core/names';
import type { RuntimeLimits } from '../core/runtime-class';
import { familyLimits, GVISOR_HANDLERS, GVISOR_HOST_NETWORK_ANNOTATION, handlerFamilyOf } from '../runtimes/handler-limits';

/** What kind of problem; the values are part of the JSON output's stable schema. */
export enum ProblemCode {
  /** A workload names a RuntimeClass that no document in the input defines. */
  UNDEFINED_RUNTIME_CLASS = 'undefined-runtime-class',
  /** A pod's nodeSelector sets a key of the class's nodeSelector to another value. */
  NODE_SELECTOR_CONFLICT = 'node-selector-conflict',
  /** A pod spec sets `overhead` by hand. */
  POD_OVERHEAD_SET = 'pod-overhead-set',
  /** Two RuntimeClasses in the input have the same name. */
  DUPLICATE_RUNTIME_CLASS = 'duplicate-runtime-class',
  /** A request, limit or overhead that is not a valid, non-negative quantity. */
  INVALID_QUANTITY = 'invalid-quantity',
  /** A field of the wrong type (the API server would reject the object). */
  MALFORMED = 'malformed',
  /** A RuntimeClass name or handler, or a pod's runtimeClassName, that the API server rejects. */
  INVALID_NAME = 'invalid-name',
  /** A pod asks for a host namespace (hostNetwork, hostPID, hostIPC) that its class's handler cannot give. */
  HOST_NAMESPACE_NOT_GIVEN = 'host-namespace-not-given',
  /** Live cluster: no node can run the class (none labelled ready, or none matching its nodeSelector): its pods stay Pending. */
  NO_READY_NODE = 'no-ready-node',
  /** Live cluster: pods of a class run on a node that is not labelled ready for its handler (or no longer matches its nodeSelector). */
  POD_ON_UNREADY_NODE = 'pod-on-unready-node',
  /** Live cluster: nodes report their runtime handlers and none (or not a node labelled ready) lists the class's handler. */
  HANDLER_NOT_REPORTED = 'handler-not-reported',
}

/** One problem, with where it is. */
export interface ReportProblem {
  readonly code: ProblemCode;
  readonly location: SourceLocation;
  readonly message: string;
}

/** Options of the problem search. */
export interface ProblemOptions {
  /** RuntimeClasses that exist in the cluster although the input does not define them. */
  readonly knownClasses?: readonly string[];
}

/** How many workloads (or pods) a message names before it says "and N more". */
const NAMED_WORKLOADS = 5;

/** Every problem in the model, in input order. */
export function findProblems(model: ReportModel, options: ProblemOptions = {}): ReportProblem[] {
  const problems: ReportProblem[] = [];
  const known = new Set(options.knownClasses ?? []);
  const definitions = new Map<string, RuntimeClassEntry[]>();
  for (const entry of model.runtimeClasses) {
    appendTo(definitions, entry.name, entry);
    for (const message of entry.invalid) problems.push({ code: ProblemCode.INVALID_QUANTITY, location: entry.location, message });
    problems.push(...runtimeClassNameProblems(entry));
  }

  for (const [name, entries] of definitions) {
    if (entries.length < 2) continue;
    const same = entries.every((e) => sameDefinition(e, entries[0]));
    const where = entries.map((e) => `${e.location.file}:${e.location.line}`).join(', ');
    for (const entry of entries.slice(1)) {
      problems.push({
        code: ProblemCode.DUPLICATE_RUNTIME_CLASS,
        location: entry.location,
        message: `RuntimeClass "${name}" is defined ${entries.length} times (${where})${same ? '' : ' with different handlers, overheads or node selectors'}: `
          + 'a cluster holds one class per name and the last one applied wins (this report uses the first); keep one definition or rename the others',
      });
    }
  }

  const undefinedUsers = new Map<string, WorkloadEntry[]>();
  for (const { workload } of model.workloads) {
    const subject = describeWorkload(workload);
    const name = workload.runtimeClassName;
    for (const message of workload.malformed) problems.push({ code: ProblemCode.MALFORMED, location: workload.location, message: `${subject} ${message}` });
    for (const message of workload.invalidQuantities) problems.push({ code: ProblemCode.INVALID_QUANTITY, location: workload.location, message: `${subject} ${message}` });
    // On a live pod, admission has set the overhead from the class itself.
    if (workload.podOverhead !== undefined && !workload.live) {
      problems.push({
        code: ProblemCode.POD_OVERHEAD_SET,
        location: workload.location,
        message: `${subject} sets overhead ${JSON.stringify(workload.podOverhead)} in its pod spec: RuntimeClass admission sets it from the class and rejects pods `
          + 'that set their own ("Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead"); remove it',
      });
    }
    if (name === undefined) continue;
    const nameProblem = dns1123SubdomainProblem(name);
    if (nameProblem) {
      // No class can have this name, so it is neither defined nor undefined: the workload itself is rejected.
      problems.push({
        code: ProblemCode.INVALID_NAME,
        location: workload.location,
        message: `${subject} has runtimeClassName "${name}", which the API server rejects: a RuntimeClass name ${nameProblem}; use the name of an existing RuntimeClass`,
      });
      continue;
    }
    const definition = definitions.get(name)?.[0];
    if (!definition) {
      if (!known.has(name)) appendTo(undefinedUsers, name, workload);
      continue;
    }
    // RuntimeClass admission merges the class's nodeSelector into the pod's and rejects a conflict.
    for (const [key, value] of Object.entries(definition.nodeSelector)) {
      const podValue = workload.nodeSelector[key];
      if (podValue !== undefined && podValue !== value) {
        problems.push({
          code: ProblemCode.NODE_SELECTOR_CONFLICT,
          location: workload.location,
          message: `${subject} (RuntimeClass "${name}") conflict: runtimeClass.scheduling.nodeSelector[${key}] = ${value}; pod.nodeSelector[${key}] = ${podValue}: `
            + 'the pods would be rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value',
        });
      }
    }
    const limits = definition.handler === undefined ? undefined : handlerLimits(definition);
    if (limits) {
      const podSpec = Object.fromEntries(workload.hostNamespaces.map((field) => [field, true]));
      for (const message of hostNamespaceProblems(podSpec, name, limits)) {
        problems.push({ code: ProblemCode.HOST_NAMESPACE_NOT_GIVEN, location: workload.location, message: `${subject} (RuntimeClass "${name}", handler "${definition.handler}") ${message}` });
      }
    }
  }

  for (const [name, users] of undefinedUsers) {
    const named = users.slice(0, NAMED_WORKLOADS).map((w) => describeWorkload(w)).join(', ');
    const more = users.length > NAMED_WORKLOADS ? ` and ${users.length - NAMED_WORKLOADS} more` : '';
    problems.push({
      code: ProblemCode.UNDEFINED_RUNTIME_CLASS,
      location: users[0].location,
      message: `RuntimeClass "${name}" is used by ${named}${more} but not defined in the input: its overhead is unknown, and in a cluster without it every pod `
        + `is rejected (pod rejected: RuntimeClass "${name}" not found); add the RuntimeClass to the input, or pass --known-class ${name} if the cluster has it`,
    });
  }
  for (const totals of model.totals) problems.push(...liveClusterProblems(totals, model.nodes));
  return sortByLocation(problems);
}

/** A class's name and handler as the API server validates them (name: DNS-1123 subdomain; handler: required DNS-1123 label). */
function runtimeClassNameProblems(entry: RuntimeClassEntry): ReportProblem[] {
  const problems: ReportProblem[] = [];
  const add = (message: string) => problems.push({ code: ProblemCode.INVALID_NAME, location: entry.location, message });
  const nameProblem = dns1123SubdomainProblem(entry.name);
  if (nameProblem) add(`RuntimeClass "${entry.name}": metadata.name ${nameProblem}; the API server rejects the class, so no pod can use it: rename it`);
  if (entry.handler === undefined) {
    add(`RuntimeClass "${entry.name}" has no handler: the API server requires one (handler: Required value); set the handler configured in the nodes' container runtime`);
  } else {
    const handlerProblem = dns1123LabelProblem(entry.handler);
    if (handlerProblem) add(`RuntimeClass "${entry.name}": handler "${entry.handler}" ${handlerProblem}; the API server rejects the class: use the handler's name as configured in containerd or CRI-O`);
  }
  return problems;
}

/**
 * What a class's handler cannot give its pods, from the table the presets use. A gVisor class
 * annotated for host networking (GvisorRuntime with hostNetworking: true) allows hostNetwork.
 */
export function handlerLimits(definition: RuntimeClassEntry): RuntimeLimits | undefined {
  const family = definition.handler === undefined ? undefined : handlerFamilyOf(definition.handler);
  if (!family) return undefined;
  const limits = familyLimits(family);
  if (family === GVISOR_HANDLERS && definition.annotations[GVISOR_HOST_NETWORK_ANNOTATION] === 'true') return { ...limits, allowHostNetwork: true };
  return limits;
}

/** A live cluster's problems for one class: nowhere to run, pods where the handler is not ready, a handler no node has. */
function liveClusterProblems(totals: ClassTotals, nodes: NodeEntry[]): ReportProblem[] {
  const view = totals.nodes;
  const definition = totals.definition;
  if (!view || !definition || definition.handler === undefined) return [];
  const problems: ReportProblem[] = [];
  const name = totals.name!;
  const handler = definition.handler;
  const readyLabel = `${view.readyLabel}=${NODE_READY_VALUE}`;
  const gated = definition.nodeSelector[view.readyLabel!] === NODE_READY_VALUE;
  const pending = view.podsByNode.find((entry) => entry.node === undefined)?.pods.length ?? 0;
  const podCount = pending === 0 ? '' : ` (${pending === 1 ? '1 pod is' : `${pending} pods are`} Pending now)`;
  const selector = Object.entries(definition.nodeSelector).map(([k, v]) => `${k}=${v}`).join(', ');
  if (gated && view.readyNodes.length === 0) {
    problems.push({
      code: ProblemCode.NO_READY_NODE,
      location: definition.location,
      message: `RuntimeClass "${name}": no node is labelled ${readyLabel}, so its pods stay Pending${podCount}: the node setup labels a node only after it has verified handler "${handler}" there; `
        + 'check the node-setup DaemonSet\'s pods on the nodes that should run this class',
    });
  } else if (selector !== '' && view.matchingNodes.length === 0) {
    problems.push({
      code: ProblemCode.NO_READY_NODE,
      location: definition.location,
      message: `RuntimeClass "${name}": no node matches its scheduling.nodeSelector (${selector}), so its pods stay Pending${podCount}: label the nodes that have handler "${handler}", or fix the selector`,
    });
  }

  // The node setup manages this handler when the class selects its label or some node carries it.
  const labelled = gated || view.readyNodes.length > 0;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const { node, pods: here } of view.podsByNode) {
    const entry = node === undefined ? undefined : byName.get(node);
    if (!entry) continue; // not scheduled, or a node outside the input
    const notReady = labelled && entry.labels[view.readyLabel!] !== NODE_READY_VALUE;
    const unmatched = Object.entries(definition.nodeSelector).filter(([k, v]) => entry.labels[k] !== v).map(([k, v]) => `${k}=${v}`);
    if (!notReady && unmatched.length === 0) continue;
    const why = notReady ? `is not labelled ${readyLabel}` : `no longer matches the class's nodeSelector (${unmatched.join(', ')})`;
    problems.push({
      code: ProblemCode.POD_ON_UNREADY_NODE,
      location: here[0].location,
      message: `${namedPods(here)} of RuntimeClass "${name}" ${here.length === 1 ? 'runs' : 'run'} on node "${node}", which ${why}: the handler may be missing or being removed there `
        + `(its label was taken away, or ${here.length === 1 ? 'the pod was' : 'the pods were'} placed with spec.nodeName); `
        + `${here.length === 1 ? 'delete the pod so that it is' : 'delete the pods so that they are'} scheduled again, or set the node up again`,
    });
  }

  if (view.handlerNodes !== undefined) {
    const reporting = nodes.filter((n) => n.runtimeHandlers !== undefined).length;
    if (view.handlerNodes.length === 0) {
      const where = reporting === nodes.length
        ? `no node lists handler "${handler}" in status.runtimeHandlers, so its pods cannot start anywhere`
        : `none of the ${reporting} nodes that report status.runtimeHandlers lists handler "${handler}" (${nodes.length - reporting} more do not report them), so its pods cannot start on those`;
      problems.push({
        code: ProblemCode.HANDLER_NOT_REPORTED,
        location: definition.location,
        message: `RuntimeClass "${name}": ${where} (no runtime for "${handler}" is configured); configure the handler on the nodes (the node setup does) or fix the class's handler`,
      });
    }
    for (const nodeName of view.readyNodes) {
      const node = byName.get(nodeName)!;
      if (node.runtimeHandlers === undefined || node.runtimeHandlers.some((h) => h.name === handler)) continue;
      problems.push({
        code: ProblemCode.HANDLER_NOT_REPORTED,
        location: node.location,
        message: `node "${nodeName}" is labelled ${readyLabel} but its status.runtimeHandlers do not list "${handler}": pods of RuntimeClass "${name}" `
          + 'scheduled there fail at sandbox creation; restart the node-setup pod on that node, or remove the label',
      });
    }
  }
  return problems;
}

/** `Pod "a/x"`, `3 pods (a/x, a/y, a/z)`, naming at most NAMED_WORKLOADS. */
function namedPods(pods: WorkloadEntry[]): string {
  if (pods.length === 1) return describeWorkload(pods[0]);
  const names = pods.slice(0, NAMED_WORKLOADS).map((p) => `${p.namespace === undefined ? '' : `${p.namespace}/`}${p.name}`).join(', ');
  const more = pods.length > NAMED_WORKLOADS ? ` and ${pods.length - NAMED_WORKLOADS} more` : '';
  return `${pods.length} pods (${names}${more})`;
}

/** `Deployment "namespace/name"`, or `Deployment "name"` without a namespace; unquoted for tables. */
export function describeWorkload(workload: WorkloadEntry, quoted: boolean = true): string {
  const name = `${workload.namespace === undefined ? '' : `${workload.namespace}/`}${workload.name}`;
  return `${workload.kind} ${quoted ? `"${name}"` : name}`;
}

function sameDefinition(a: RuntimeClassEntry, b: RuntimeClassEntry): boolean {
  return a.handler === b.handler
    && JSON.stringify(a.overhead.toStrings()) === JSON.stringify(b.overhead.toStrings())
    && JSON.stringify(sorted(a.nodeSelector)) === JSON.stringify(sorted(b.nodeSelector));
}

function sorted(map: { readonly [key: string]: string }): Array<[string, string]> {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Stable sort by file, then line; problems at one place keep their order. */
export function sortByLocation<T extends { readonly location: SourceLocation }>(items: T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => {
      const fa = a.item.location.file;
      const fb = b.item.location.file;
      if (fa !== fb) return fa < fb ? -1 : 1;
      if (a.item.location.line !== b.item.location.line) return a.item.location.line - b.item.location.line;
      return a.index - b.index;
    })
    .map(({ item }) => item);
}
