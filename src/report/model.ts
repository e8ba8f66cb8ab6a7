// Stage 2 of the footprint report: Kubernetes objects out of YAML documents, and their footprints.
// Input is anything YAML can hold: every field is checked for its type before it is used, and a
// value of the wrong type becomes a problem or a note, never an exception.
import { ownerIdentityOf, OwnerIdentity, topOwners } from './owners';
import { detached, InputDocument, SourceLocation } from './read';
import { effectiveRequests, podSpecPointer, readPointer, replicasOf } from '../core/pod-spec';
import { Quantity } from '../core/quantity';
import { ResourceList } from '../core/resources';
import { readyLabelFor } from '../node-setup/ready-label';

/** A document that is not a Kubernetes object and was skipped. */
export interface ReportNote {
  readonly location: SourceLocation;
  readonly message: string;
}

/** A RuntimeClass defined in the input. */
export interface RuntimeClassEntry {
  readonly name: string;
  /** The handler, when it is a string (the API server requires one). */
  readonly handler?: string;
  /** `metadata.annotations`, string values only. */
  readonly annotations: { readonly [key: string]: string };
  /** `overhead.podFixed`, valid amounts only. */
  readonly overhead: ResourceList;
  /** `scheduling.nodeSelector`. */
  readonly nodeSelector: { readonly [key: string]: string };
  readonly location: SourceLocation;
  /** Values the API server would reject (bad quantities, wrong types). */
  readonly invalid: string[];
}

/** A workload (an object with a pod spec) found in the input. */
export interface WorkloadEntry {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly location: SourceLocation;
  readonly runtimeClassName?: string;
  /** Pods at once; undefined for a DaemonSet (one per node) or when unreadable. */
  readonly replicas?: number;
  /** True for a DaemonSet: one pod on each node it selects. */
  readonly perNode: boolean;
  /** Effective requests of one pod, without overhead. */
  readonly requests: ResourceList;
  /** `overhead` written in the pod spec by hand, if any. */
  readonly podOverhead?: unknown;
  readonly nodeSelector: { readonly [key: string]: string };
  /** The host namespaces the pod spec asks for (`hostNetwork`, `hostPID`, `hostIPC` set to true). */
  readonly hostNamespaces: HostNamespace[];
  /** Read from a cluster (`metadata.uid` set), not a manifest: admission has already run on it. */
  readonly live: boolean;
  /** A Pod's node (`spec.nodeName`); undefined until it is scheduled, and for other kinds. */
  readonly nodeName?: string;
  /** A live Pod's `spec.overhead`, as admission set it from its class (valid amounts only). */
  readonly admittedOverhead?: ResourceList;
  /** Quantities the API server would reject. */
  readonly invalidQuantities: string[];
  /** Fields of the wrong shape (the API server would reject the object). */
  readonly malformed: string[];
}

/** A host namespace a pod can ask to share, by its pod spec field. */
export enum HostNamespace {
  NETWORK = 'hostNetwork',
  PID = 'hostPID',
  IPC = 'hostIPC',
}

/** One entry of a Node's `status.runtimeHandlers` (Kubernetes 1.30+). */
export interface NodeRuntimeHandler {
  /** The handler's name; "" is the default handler. */
  readonly name: string;
  /** `features` (`recursiveReadOnlyMounts`, `userNamespaces`), booleans only. */
  readonly features: { readonly [feature: string]: boolean };
}

/** A Node in the input (a live cluster's `kubectl get nodes -o yaml`). */
export interface NodeEntry {
  readonly name: string;
  readonly location: SourceLocation;
  readonly labels: { readonly [key: string]: string };
  /** `status.runtimeHandlers`; undefined when the node does not report them (kubelet before 1.30, or the container runtime does not tell). */
  readonly runtimeHandlers?: NodeRuntimeHandler[];
}

/** Where a RuntimeClass can run in a live cluster, and where its pods are. */
export interface ClassNodes {
  /** The node label the node setup sets to `ready` for the class's handler; undefined without a handler. */
  readonly readyLabel?: string;
  /** Nodes labelled ready for the handler, sorted. */
  readonly readyNodes: string[];
  /** Nodes whose `status.runtimeHandlers` list the handler, sorted; undefined when no node reports runtime handlers. */
  readonly handlerNodes?: string[];
  /** Nodes whose labels match the class's `scheduling.nodeSelector` (every node when it has none), sorted. */
  readonly matchingNodes: string[];
  /** The class's Pods by node, nodes sorted, then the Pods not scheduled yet (`node` undefined). */
  readonly podsByNode: Array<{ readonly node?: string; readonly pods: WorkloadEntry[] }>;
}

/** The value of the ready label on a node where the node setup verified the handler (see NodeSetup). */
export const NODE_READY_VALUE = 'ready';

/** How a workload's overhead is known. */
export enum OverheadStatus {
  /** The pod names no RuntimeClass: no overhead. */
  NONE = 'none',
  /** The class is defined in the input: its `overhead.podFixed`. */
  KNOWN = 'known',
  /** The class is not in the input: its overhead cannot be known. */
  UNKNOWN = 'unknown',
}

/** A workload with its footprint. */
export interface WorkloadFootprintRow {
  readonly workload: WorkloadEntry;
  readonly overheadStatus: OverheadStatus;
  /** The class's overhead (empty unless KNOWN). */
  readonly overhead: ResourceList;
  /** requests + overhead: what the scheduler reserves for one pod (a lower bound when the overhead is unknown). */
  readonly perPod: ResourceList;
  /** perPod x replicas; undefined for a DaemonSet, unreadable replicas, or when counted in another workload. */
  readonly total?: ResourceList;
  /**
   * The workload of the input that made this one and whose pods count for it (a Deployment for
   * its ReplicaSets and their Pods, a CronJob for its Jobs and theirs): this one is not in the totals.
   */
  readonly countedIn?: WorkloadEntry;
}

/** Totals for one RuntimeClass (or for pods without one). */
export interface ClassTotals {
  /** The class; undefined for pods without runtimeClassName. */
  readonly name?: string;
  /** The first definition in the input, if any. */
  readonly definition?: RuntimeClassEntry;
  readonly workloads: number;
  /** Pods of workloads with a fixed number of replicas. */
  readonly pods: number;
  /** Sum of the totals of those workloads. */
  readonly total: ResourceList;
  readonly daemonSets: number;
  /** Sum of the per-pod footprints of the DaemonSets: what they take on a node that runs them all. */
  readonly perNode: ResourceList;
  /** Workloads whose replicas could not be read (not in the totals). */
  readonly unknownReplicas: number;
  /** Where the class can run and where its pods are, when the input has Nodes; undefined otherwise and for pods without a class. */
  readonly nodes?: ClassNodes;
}

/** Everything the report knows about its input. */
export interface ReportModel {
  readonly files: number;
  readonly documents: number;
  readonly runtimeClasses: RuntimeClassEntry[];
  readonly workloads: WorkloadFootprintRow[];
  readonly totals: ClassTotals[];
  /** Nodes in the input; when there are any, the report shows the live cluster's view per class. */
  readonly nodes: NodeEntry[];
  readonly notes: ReportNote[];
}

/** API groups of the workload kinds (core, apps, batch, and the older extensions group). */
const WORKLOAD_GROUPS: { [kind: string]: string[] } = {
  Pod: [''],
  ReplicationController: [''],
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  Job: ['batch'],
  CronJob: ['batch'],
};

/** Builds the model from parsed documents. */
export function buildModel(documents: readonly InputDocument[], files: number): ReportModel {
  const builder = new ModelBuilder();
  for (const document of documents) builder.document(document.value, document.location, document.itemLines);
  return builder.build(files);
}

/**
 * Builds the model one document, or one item of a streamed list, at a time (a YamlSink without
 * errors): only what the report needs of each object is kept.
 */
export class ModelBuilder {
  private readonly notes: ReportNote[] = [];
  private readonly runtimeClasses: RuntimeClassEntry[] = [];
  private readonly workloads: WorkloadEntry[] = [];
  private readonly identities: OwnerIdentity[] = [];
  private readonly nodes: NodeEntry[] = [];
  private documents = 0;
  /** While a list is streamed: the sizes before its first item, and its items that are not objects. */
  private listStart?: { notes: number; runtimeClasses: number; workloads: number; nodes: number };
  private listNotes: Array<{ location: SourceLocation; index: number; value: unknown }> = [];

  public document(value: unknown, location: SourceLocation, itemLines?: number[]): void {
    this.documents++;
    for (const { object, location: where } of kubernetesObjects(value, location, this.notes, itemLines)) this.object(object, where);
  }

  public listItem(value: unknown, index: number, location: SourceLocation): void {
    this.listStart ??= {
      notes: this.notes.length, runtimeClasses: this.runtimeClasses.length, workloads: this.workloads.length, nodes: this.nodes.length,
    };
    if (value === undefined) return; // could not be parsed: reported as an error
    const objects = kubernetesObjects(value, location, []);
    if (objects.length === 0) this.listNotes.push({ location, index, value: isMapping(value) ? {} : value });
    for (const { object, location: where } of objects) this.object(object, where);
  }

  public listEnd(rest: unknown, location: SourceLocation): void {
    const start = this.listStart;
    const pending = this.listNotes;
    this.listStart = undefined;
    this.listNotes = [];
    if (isMapping(rest) && typeof rest.apiVersion === 'string' && rest.apiVersion !== '' && typeof rest.kind === 'string' && rest.kind.endsWith('List')) {
      this.documents++;
      for (const { location: where, index, value } of pending) {
        this.notes.push({ location: where, message: `${rest.kind} items[${index}] is not a Kubernetes object (${describeValue(value)}): skipped` });
      }
      return;
    }
    // Not a list after all: what its items gave is taken back, and the document is read as any other.
    if (start) {
      this.notes.length = start.notes;
      this.runtimeClasses.length = start.runtimeClasses;
      this.workloads.length = start.workloads;
      this.identities.length = start.workloads;
      this.nodes.length = start.nodes;
    }
    if (rest !== undefined) this.document(isMapping(rest) ? rest : {}, location);
  }

  public build(files: number): ReportModel {
    const byName = new Map<string, RuntimeClassEntry>();
    for (const entry of this.runtimeClasses) if (!byName.has(entry.name)) byName.set(entry.name, entry);
    const owners = topOwners(this.identities);
    const workloads = this.workloads;
    const rows = workloads.map((w, index) => footprintRow(w, byName, owners[index] === undefined ? undefined : workloads[owners[index]!]));
    const { runtimeClasses, nodes, notes } = this;
    return { files, documents: this.documents, runtimeClasses, workloads: rows, totals: classTotals(rows, byName, nodes), nodes, notes };
  }

  private object(object: KubernetesObject, location: SourceLocation): void {
    const kind = object.kind as string;
    const group = apiGroup(object.apiVersion as string);
    if (kind === 'RuntimeClass' && group === 'node.k8s.io') {
      const entry = readRuntimeClass(object, location, this.notes);
      if (entry) this.runtimeClasses.push(entry);
    } else if (kind === 'Node' && group === '') {
      const entry = readNode(object, location, this.notes);
      if (entry) this.nodes.push(entry);
    } else if (Object.prototype.hasOwnProperty.call(WORKLOAD_GROUPS, kind) && WORKLOAD_GROUPS[kind].includes(group)) {
      const workload = readWorkload(object, location);
      this.workloads.push(workload);
      this.identities.push(ownerIdentityOf(object, workload));
    }
  }
}

type KubernetesObject = { [key: string]: unknown };

/** The Kubernetes objects in a document: itself, or the items of a `List` (each at its own line). Anything else is noted. */
function kubernetesObjects(
  value: unknown, location: SourceLocation, notes: ReportNote[], itemLines?: number[],
): Array<{ object: KubernetesObject; location: SourceLocation }> {
  if (!isMapping(value)) {
    notes.push({ location, message: `document is ${describeValue(value)}, not a Kubernetes object: skipped` });
    return [];
  }
  const missing = ['apiVersion', 'kind'].filter((field) => typeof value[field] !== 'string' || value[field] === '');
  if (missing.length > 0) {
    notes.push({ location, message: `document has no ${missing.join(' and ')}, so it is not a Kubernetes object: skipped` });
    return [];
  }
  if ((value.kind as string).endsWith('List') && Array.isArray(value.items)) {
    return value.items.flatMap((item, index) => {
      const itemLocation = { file: location.file, line: itemLines?.[index] ?? location.line };
      const objects = kubernetesObjects(item, itemLocation, []);
      if (objects.length === 0) notes.push({ location: itemLocation, message: `${value.kind} items[${index}] is not a Kubernetes object (${describeValue(item)}): skipped` });
      return objects;
    });
  }
  return [{ object: value, location }];
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

function readRuntimeClass(object: { [key: string]: unknown }, location: SourceLocation, notes: ReportNote[]): RuntimeClassEntry | undefined {
  const metadata = isMapping(object.metadata) ? object.metadata : {};
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    notes.push({ location, message: 'RuntimeClass has no metadata.name: skipped' });
    return undefined;
  }
  const name = metadata.name;
  // node.k8s.io/v1alpha1 kept the class's fields under `spec`; v1beta1 and v1 at the top level.
  const body = object.apiVersion === 'node.k8s.io/v1alpha1' && isMapping(object.spec) ? object.spec : object;
  const invalid: string[] = [];
  const handlerValue = body.handler ?? body.runtimeHandler;
  const handler = typeof handlerValue === 'string' ? handlerValue : undefined;
  const overheadField = isMapping(body.overhead) ? body.overhead.podFixed : undefined;
  const podFixed = cleanAmounts(overheadField, 'overhead.podFixed', invalid, invalid);
  const scheduling = isMapping(body.scheduling) ? body.scheduling : {};
  return {
    name,
    handler,
    annotations: stringMap(metadata.annotations),
    overhead: ResourceList.parse(podFixed).list,
    nodeSelector: stringMap(scheduling.nodeSelector),
    location,
    invalid: invalid.map((p) => `RuntimeClass "${name}" ${p}`),
  };
}

function readNode(object: KubernetesObject, location: SourceLocation, notes: ReportNote[]): NodeEntry | undefined {
  const metadata = isMapping(object.metadata) ? object.metadata : {};
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    notes.push({ location, message: 'Node has no metadata.name: skipped' });
    return undefined;
  }
  const status = isMapping(object.status) ? object.status : {};
  let runtimeHandlers: NodeRuntimeHandler[] | undefined;
  if (Array.isArray(status.runtimeHandlers)) {
    runtimeHandlers = status.runtimeHandlers.filter(isMapping).filter((h) => typeof h.name === 'string').map((h) => {
      const features: { [feature: string]: boolean } = {};
      if (isMapping(h.features)) for (const [feature, on] of Object.entries(h.features)) if (typeof on === 'boolean') features[feature] = on;
      return { name: h.name as string, features };
    });
  }
  return { name: metadata.name, location, labels: stringMap(metadata.labels), runtimeHandlers };
}

function readWorkload(object: { [key: string]: unknown }, location: SourceLocation): WorkloadEntry {
  const kind = object.kind as string;
  const metadata = isMapping(object.metadata) ? object.metadata : {};
  const name = detached(scalarText(metadata.name) ?? (typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '(no name)'));
  const namespace = detachedOrUndefined(scalarText(metadata.namespace));
  const malformed: string[] = [];
  const invalidQuantities: string[] = [];
  const pointer = podSpecPointer(kind)!;
  const field = memo(FIELDS, pointer, () => pointer.slice(1).replace(/\//g, '.'));
  const rawSpec = readPointer(object, pointer);
  const podSpec = isMapping(rawSpec) ? rawSpec : {};
  if (rawSpec === undefined || rawSpec === null) malformed.push(`has no pod spec at ${field}: it creates no pods the report can count`);
  else if (!isMapping(rawSpec)) malformed.push(`${field} is ${describeValue(rawSpec)}, not a pod spec: it creates no pods the report can count`);

  let runtimeClassName: string | undefined;
  if (typeof podSpec.runtimeClassName === 'string' && podSpec.runtimeClassName !== '') {runtimeClassName = detached(podSpec.runtimeClassName);} else if (podSpec.runtimeClassName !== undefined && podSpec.runtimeClassName !== null) {
    malformed.push(`${field}.runtimeClassName is ${describeValue(podSpec.runtimeClassName)}, not a RuntimeClass name`);
  }

  // Most pod specs of a large input repeat a few resource shapes: each is checked and summed once.
  const { requests, malformed: containerProblems, invalid } = memo(REQUESTS, `${field}\u0000${containersKey(podSpec.containers)}\u0000${containersKey(podSpec.initContainers)}`, () => {
    const problems: string[] = [];
    const invalidAmounts: string[] = [];
    const containers = cleanContainers(podSpec.containers, `${field}.containers`, problems, invalidAmounts);
    const initContainers = cleanContainers(podSpec.initContainers, `${field}.initContainers`, problems, invalidAmounts);
    // Only validated values reach the library's formula, so it cannot meet a value it would reject.
    return { requests: effectiveRequests({ containers, initContainers }).requests, malformed: problems, invalid: invalidAmounts };
  });
  malformed.push(...containerProblems);
  invalidQuantities.push(...invalid);

  const { replicas, problems: replicaProblems } = readReplicas(object);
  malformed.push(...replicaProblems);
  const hasOverhead = podSpec.overhead !== undefined && podSpec.overhead !== null;
  const live = typeof metadata.uid === 'string' && metadata.uid !== '';
  // A live Pod carries the overhead admission copied from its class: what the scheduler counts for it.
  let admittedOverhead: ResourceList | undefined;
  if (live && kind === 'Pod' && hasOverhead) {
    const admitted = memo(OVERHEADS, JSON.stringify(podSpec.overhead), () => {
      const problems: string[] = [];
      const invalidAmounts: string[] = [];
      return { list: ResourceList.parse(cleanAmounts(podSpec.overhead, `${field}.overhead`, problems, invalidAmounts)).list, malformed: problems, invalid: invalidAmounts };
    });
    admittedOverhead = admitted.list;
    malformed.push(...admitted.malformed);
    invalidQuantities.push(...admitted.invalid);
  }
  const nodeName = kind === 'Pod' && typeof podSpec.nodeName === 'string' && podSpec.nodeName !== '' ? detached(podSpec.nodeName) : undefined;
  return {
    kind,
    name,
    namespace,
    location,
    runtimeClassName,
    replicas,
    perNode: kind === 'DaemonSet',
    requests,
    // A copy, shared by the pods that set the same: the parsed document is not kept.
    podOverhead: hasOverhead ? memo(OVERHEAD_COPIES, JSON.stringify(podSpec.overhead), (text) => JSON.parse(text)) : undefined,
    nodeSelector: stringMap(podSpec.nodeSelector),
    hostNamespaces: podSpec.hostNetwork === true || podSpec.hostPID === true || podSpec.hostIPC === true
      ? HOST_NAMESPACES.filter((hostField) => podSpec[hostField] === true) : NOTHING,
    live,
    nodeName,
    admittedOverhead,
    invalidQuantities: shared(invalidQuantities),
    malformed: shared(malformed),
  };
}

/**
 * What cleanContainers and the footprint read of a list of containers, as text: the key of the
 * cache of requests. Images, ports and the rest are left out, so that the pod specs of a cluster
 * dump, which differ mostly by image, share their entry.
 */
export function containersKey(list: unknown): string {
  if (list === undefined || list === null) return '';
  if (!Array.isArray(list)) return `!${describeValue(list)}`;
  let key = '[';
  for (const container of list) {
    if (!isMapping(container)) {
      key += `!${describeValue(container)},`;
      continue;
    }
    key += `${typeof container.name === 'string' ? JSON.stringify(container.name) : '#'}${container.restartPolicy === 'Always' ? 'A' : ''}`;
    const resources = container.resources;
    if (isMapping(resources)) key += `{${amountsKey(resources.requests)}${amountsKey(resources.limits)}},`;
    else key += resources === undefined || resources === null ? '{},' : `!${describeValue(resources)},`;
  }
  return `${key}]`;
}

/** What cleanAmounts reads of a value. */
function amountsKey(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (!isMapping(value)) return `!${describeValue(value)};`;
  let key = '(';
  for (const name of Object.keys(value)) {
    const amount = value[name];
    key += JSON.stringify(name);
    key += typeof amount === 'string' ? JSON.stringify(amount) : typeof amount === 'number' ? `n${amount}` : `!${describeValue(amount)};`;
  }
  return `${key})`;
}

/** Containers reduced to what the footprint needs, every value checked. */
function cleanContainers(list: unknown, field: string, malformed: string[], invalidQuantities: string[]): any[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    malformed.push(`${field} is ${describeValue(list)}, not a list of containers: their requests are not counted`);
    return [];
  }
  return list.flatMap((container, index) => {
    if (!isMapping(container)) {
      malformed.push(`${field}[${index}] is ${describeValue(container)}, not a container: not counted`);
      return [];
    }
    const name = typeof container.name === 'string' ? container.name : `#${index}`;
    const where = `container "${name}" resources`;
    const resources = isMapping(container.resources) ? container.resources : {};
    if (container.resources !== undefined && container.resources !== null && !isMapping(container.resources)) {
      malformed.push(`${where} is ${describeValue(container.resources)}, not a mapping: not counted`);
    }
    return [{
      name,
      restartPolicy: container.restartPolicy,
      resources: {
        requests: cleanAmounts(resources.requests, `${where}.requests`, malformed, invalidQuantities),
        limits: cleanAmounts(resources.limits, `${where}.limits`, malformed, invalidQuantities),
      },
    }];
  });
}

/**
 * `{ resource: quantity }` keeping only values Kubernetes accepts; YAML numbers (`cpu: 1`)
 * are quantities too. Every rejected value is reported.
 */
function cleanAmounts(value: unknown, field: string, malformed: string[], invalidQuantities: string[]): { [name: string]: string } {
  const result: { [name: string]: string } = {};
  if (value === undefined || value === null) return result;
  if (!isMapping(value)) {
    malformed.push(`${field} is ${describeValue(value)}, not a mapping of resources: not counted`);
    return result;
  }
  for (const [name, amount] of Object.entries(value)) {
    if (typeof amount !== 'string' && !(typeof amount === 'number' && Number.isFinite(amount))) {
      invalidQuantities.push(`${field}.${name} is ${describeValue(amount)}, not a Kubernetes quantity: not counted`);
      continue;
    }
    const text = String(amount);
    const { problems } = ResourceList.parse({ [name]: text });
    if (problems.length > 0) {
      invalidQuantities.push(...problems.map((p) => `${field}.${p}: not counted`));
    } else if (Quantity.parse(text)!.isNegative) {
      invalidQuantities.push(`${field}.${name}: "${text}" is negative: amounts must be zero or more; not counted`);
    } else {
      result[name] = text;
    }
  }
  return result;
}

/** Replicas through the library's `replicasOf`, fed only whole numbers. */
function readReplicas(object: { [key: string]: unknown }): { replicas?: number; problems: string[] } {
  const kind = object.kind as string;
  if (kind === 'DaemonSet') return { replicas: undefined, problems: [] };
  const problems: string[] = [];
  const counts = (spec: unknown, path: string, fields: string[]) => {
    const clean: { [field: string]: number } = {};
    const source = isMapping(spec) ? spec : {};
    for (const field of fields) {
      const value = source[field];
      if (value === undefined || value === null) continue;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) clean[field] = value;
      else problems.push(`${path}.${field} is ${describeValue(value)}, not a whole number of pods: the total is not counted`);
    }
    return clean;
  };
  const spec = isMapping(object.spec) ? object.spec : {};
  let manifest: any;
  if (kind === 'Job') {manifest = { kind, spec: counts(spec, 'spec', ['parallelism', 'completions']) };} else if (kind === 'CronJob') {
    const jobTemplate = isMapping(spec.jobTemplate) ? spec.jobTemplate : {};
    manifest = { kind, spec: { jobTemplate: { spec: counts(jobTemplate.spec, 'spec.jobTemplate.spec', ['parallelism', 'completions']) } } };
  } else if (kind === 'Pod') {manifest = { kind };} else {manifest = { kind, spec: counts(spec, 'spec', ['replicas']) };}
  if (problems.length > 0) return { replicas: undefined, problems };
  return { replicas: replicasOf(manifest), problems };
}

const NOTHING: never[] = [];
Object.freeze(NOTHING);

/** One empty list for every workload that has none: a cluster dump has 100,000 workloads. */
function shared<T>(list: T[]): T[] {
  return list.length === 0 ? NOTHING : list;
}

function detachedOrUndefined(text: string | undefined): string | undefined {
  return text === undefined ? undefined : detached(text);
}

const HOST_NAMESPACES = Object.values(HostNamespace);
/** The pod spec's field in messages (`spec.template.spec`), by pointer. */
const FIELDS = new Map<string, string>();
const REQUESTS = new Map<string, { requests: ResourceList; malformed: string[]; invalid: string[] }>();
const OVERHEADS = new Map<string, { list: ResourceList; malformed: string[]; invalid: string[] }>();
const OVERHEAD_COPIES = new Map<string, unknown>();
const PER_POD = new Map<ResourceList, Map<ResourceList, ResourceList>>();
const TOTALS = new Map<ResourceList, Map<number, ResourceList>>();

/** The value of `key` in a cache of at most 10,000 entries (emptied when full). */
function memo<K, V>(cache: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= 10_000) cache.clear();
    value = make(key);
    cache.set(key, value);
  }
  return value;
}

/** The overhead of a pod without one: one list, so that the per-pod cache finds the workloads that share their requests. */
const NO_OVERHEAD = ResourceList.empty();

function footprintRow(workload: WorkloadEntry, classes: Map<string, RuntimeClassEntry>, countedIn: WorkloadEntry | undefined): WorkloadFootprintRow {
  const name = workload.runtimeClassName;
  const definition = name === undefined ? undefined : classes.get(name);
  const admitted = workload.admittedOverhead;
  const overheadStatus = name === undefined && !admitted ? OverheadStatus.NONE
    : definition || admitted ? OverheadStatus.KNOWN : OverheadStatus.UNKNOWN;
  const overhead = admitted ?? definition?.overhead ?? NO_OVERHEAD;
  // The same arithmetic as WorkloadFootprint: requests + overhead per pod, times the pods.
  const perPod = memo(memo(PER_POD, workload.requests, () => new Map()), overhead, () => workload.requests.plus(overhead));
  const replicas = workload.replicas;
  const total = replicas === undefined || countedIn ? undefined : memo(memo(TOTALS, perPod, () => new Map()), replicas, () => perPod.times(replicas));
  return { workload, overheadStatus, overhead, perPod, total, countedIn };
}

function classTotals(rows: WorkloadFootprintRow[], classes: Map<string, RuntimeClassEntry>, nodes: NodeEntry[]): ClassTotals[] {
  const names = new Set<string>(classes.keys());
  for (const row of rows) if (row.workload.runtimeClassName !== undefined) names.add(row.workload.runtimeClassName);
  const keys: Array<string | undefined> = [...names].sort();
  if (rows.some((r) => r.workload.runtimeClassName === undefined)) keys.push(undefined);
  return keys.map((name) => {
    // Objects another workload of the input made are counted in that one.
    const mine = rows.filter((r) => r.workload.runtimeClassName === name && r.countedIn === undefined);
    let total = ResourceList.empty();
    let perNode = ResourceList.empty();
    let pods = 0;
    for (const row of mine) {
      if (row.workload.perNode) {perNode = perNode.plus(row.perPod);} else if (row.total) {
        total = total.plus(row.total);
        pods += row.workload.replicas!;
      }
    }
    return {
      name,
      definition: name === undefined ? undefined : classes.get(name),
      workloads: mine.length,
      pods,
      total,
      daemonSets: mine.filter((r) => r.workload.perNode).length,
      perNode,
      unknownReplicas: mine.filter((r) => !r.workload.perNode && r.total === undefined).length,
      nodes: name !== undefined && nodes.length > 0
        ? classNodes(classes.get(name), rows.filter((r) => r.workload.runtimeClassName === name).map((r) => r.workload), nodes) : undefined,
    };
  });
}

function classNodes(definition: RuntimeClassEntry | undefined, workloads: WorkloadEntry[], nodes: NodeEntry[]): ClassNodes {
  const handler = definition?.handler;
  const readyLabel = handler === undefined ? undefined : readyLabelFor(handler);
  const names = (list: NodeEntry[]) => list.map((n) => n.name).sort();
  const readyNodes = readyLabel === undefined ? [] : names(nodes.filter((n) => n.labels[readyLabel] === NODE_READY_VALUE));
  const reporting = nodes.some((n) => n.runtimeHandlers !== undefined);
  const handlerNodes = !reporting ? undefined
    : handler === undefined ? [] : names(nodes.filter((n) => n.runtimeHandlers?.some((h) => h.name === handler)));
  const selector = definition?.nodeSelector ?? {};
  const matchingNodes = names(nodes.filter((n) => Object.entries(selector).every(([key, value]) => n.labels[key] === value)));
  const byNode = new Map<string | undefined, WorkloadEntry[]>();
  for (const pod of workloads) if (pod.kind === 'Pod') appendTo(byNode, pod.nodeName, pod);
  const scheduled = [...byNode.keys()].filter((k): k is string => k !== undefined).sort();
  const podsByNode = [...scheduled, ...(byNode.has(undefined) ? [undefined] : [])].map((node) => ({ node, pods: byNode.get(node)! }));
  return { readyLabel, readyNodes, handlerNodes, matchingNodes, podsByNode };
}

/** Adds `value` to the list of `key` (in place: rebuilding the list each time is quadratic in a cluster dump). */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** `{ key: value }` from a YAML mapping, values as text; anything else is empty. */
const NO_STRINGS: { [key: string]: string } = Object.freeze({}) as { [key: string]: string };

function stringMap(value: unknown): { [key: string]: string } {
  if (!isMapping(value)) return NO_STRINGS;
  const result: { [key: string]: string } = {};
  for (const [key, item] of Object.entries(value)) {
    const text = scalarText(item);
    if (text !== undefined) result[detached(key)] = detached(text);
  }
  return result;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A YAML mapping (a plain object, not a list). */
export function isMapping(value: unknown): value is { [key: string]: unknown } {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** What a value is, for messages: `a list`, `a number (5)`, `null`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return `a date (${value.toISOString()})`;
  switch (typeof value) {
    case 'string': return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`;
    case 'number': return `a number (${value})`;
    case 'boolean': return `a boolean (${value})`;
    case 'bigint': return `a number (${value})`;
    case 'object': return 'a mapping';
    default: return typeof value;
  }
}
