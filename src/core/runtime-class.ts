import { ApiObject, ApiObjectMetadata, Chart, JsonPatch, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { normalizedLimits } from './host-namespaces';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './names';
import { PodOverhead, ResourceAmountsProps } from './overhead';
import { pinWorkload } from './pinning';
import { mergeScheduling, RuntimeScheduling, RuntimeToleration, schedulingProblems, schedulingToJson, tolerationsOf } from './scheduling';
import { describeValue, resolveValue } from './values';
import { validateOncePerSynth } from './written-manifests';

/**
 * What pods of a runtime cannot do, checked on every pinned workload at synth time.
 *
 * @example
 * // A VM handler set up outside this library: its pods cannot join the node's namespaces,
 * // and no pod may need more than the 4Gi of the VM.
 * const limits: RuntimeLimits = {
 *   allowHostNetwork: false,
 *   allowHostPid: false,
 *   allowHostIpc: false,
 *   reason: 'each pod runs in its own VM',
 *   nodeAllocatable: { memory: Size.gibibytes(4) },
 * };
 * new RuntimeClass(chart, 'vm', { handler: 'kata-clh', limits });
 */
export interface RuntimeLimits {
  /** Whether pods of the class may set `hostNetwork: true` (use the node's network namespace). @default true */
  readonly allowHostNetwork?: boolean;
  /** Whether pods of the class may set `hostPID: true` (use the node's PID namespace). @default true */
  readonly allowHostPid?: boolean;
  /** Whether pods of the class may set `hostIPC: true` (use the node's IPC namespace). @default true */
  readonly allowHostIpc?: boolean;
  /**
   * Pods may use the node's network namespace. @default true
   * @deprecated use `allowHostNetwork` (same meaning; `hostNetwork: false` read as "pods run without host networking").
   *   Giving both with different values is an error.
   */
  readonly hostNetwork?: boolean;
  /**
   * Pods may use the node's PID namespace. @default true
   * @deprecated use `allowHostPid` (same meaning). Giving both with different values is an error.
   */
  readonly hostPid?: boolean;
  /**
   * Pods may use the node's IPC namespace. @default true
   * @deprecated use `allowHostIpc` (same meaning). Giving both with different values is an error.
   */
  readonly hostIpc?: boolean;
  /** Why the runtime refuses what it refuses; shown in error messages. @default - no explanation */
  readonly reason?: string;
  /**
   * The most one pod of this class can be given, overhead included (e.g. the memory of the
   * nodes or VMs that run it): `{ memory: Size.gibibytes(2) }`. A pinned workload whose pod
   * footprint exceeds it is an error.
   * @default - no ceiling
   */
  readonly nodeAllocatable?: ResourceAmountsProps;
}

/**
 * A RuntimeClass as a workload sees it: its name, overhead, scheduling and limits. Implemented
 * by the `RuntimeClass` construct, by `RuntimeClass.fromName()` references and by every runtime.
 */
export interface IRuntimeClass {
  /** `metadata.name` of the RuntimeClass: the value pods put in `runtimeClassName`. */
  readonly runtimeClassName: string;
  /** The class's `overhead.podFixed`, if any. */
  readonly overhead?: PodOverhead;
  /** The class's scheduling (node selector and tolerations), as it will be synthesized. */
  readonly scheduling: RuntimeScheduling;
  /** What pods of this class cannot do. */
  readonly limits: RuntimeLimits;

  /**
   * Pins a workload to this class: sets `runtimeClassName` in its pod spec and checks, when the
   * app is synthesized, that the pod can run with this class. Accepts cdk8s-plus-27 workloads,
   * raw `Kube*` objects and `Include`d manifests (every workload object inside is pinned).
   */
  pin(workload: IConstruct): void;
}

/** Options for a reference to a RuntimeClass that already exists in the cluster. */
export interface RuntimeClassReferenceOptions {
  /** The class's overhead, as defined in the cluster, so footprints include it. @default - no overhead */
  readonly overhead?: PodOverhead;
  /** The class's scheduling, as defined in the cluster, so conflicts are caught. @default - none */
  readonly scheduling?: RuntimeScheduling;
  /** What pods of the class cannot do. @default - no limits */
  readonly limits?: RuntimeLimits;
}

/**
 * Properties of a RuntimeClass.
 *
 * @example
 * const props: RuntimeClassProps = {
 *   name: 'kata-fc',
 *   handler: 'kata-fc',
 *   overhead: PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: Size.mebibytes(130) }),
 *   scheduling: { nodeSelector: { pool: 'vm' } },
 *   limits: { allowHostNetwork: false, allowHostPid: false, allowHostIpc: false, reason: 'each pod runs in its own VM' },
 * };
 * new RuntimeClass(chart, 'firecracker', props);
 */
export interface RuntimeClassProps {
  /** `metadata.name`: the name pods use in `runtimeClassName` (a DNS-1123 subdomain). @default - the handler */
  readonly name?: string;
  /** The handler configured in containerd or CRI-O on the nodes (a DNS-1123 label). */
  readonly handler: string;
  /** Resources added to every pod of this class (`overhead.podFixed`). @default - no overhead */
  readonly overhead?: PodOverhead;
  /** Node selector and tolerations for pods of this class. @default - no constraint */
  readonly scheduling?: RuntimeScheduling;
  /** Labels and annotations. A RuntimeClass is cluster-scoped: a namespace is an error. @default - none */
  readonly metadata?: ApiObjectMetadata;
  /** What pods of this class cannot do. @default - no limits */
  readonly limits?: RuntimeLimits;
}

const RUNTIME_CLASS = Symbol.for('cdk8s-runtimeclass.RuntimeClass');
/** Where a tree's root keeps every RuntimeClass constructed in it (shared by every copy of this library). */
const CLASSES = Symbol.for('cdk8s-runtimeclass.RuntimeClasses');

/** The RuntimeClass constructs created in the tree of `root` (some may have been removed since). */
function classesIn(root: IConstruct): RuntimeClass[] {
  const holder = root as unknown as { [CLASSES]?: RuntimeClass[] };
  if (!holder[CLASSES]) Object.defineProperty(holder, CLASSES, { value: [] });
  return holder[CLASSES]!;
}

/**
 * A `node.k8s.io/v1` RuntimeClass. Always cluster-scoped (no `metadata.namespace`, whatever
 * the chart's namespace) and always with an explicit name.
 *
 * @example
 * // A class for a handler the nodes already have (here kata-deploy's QEMU handler with hugepages).
 * const hugepages = new RuntimeClass(chart, 'kata-hugepages', {
 *   handler: 'kata-qemu',
 *   overhead: PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: Size.mebibytes(320) }),
 *   scheduling: { nodeSelector: { 'example.com/hugepages': 'true' } },
 * });
 * hugepages.pin(new kplus.Deployment(chart, 'db', { containers: [{ image: 'postgres:16' }] }));
 */
export class RuntimeClass extends Construct implements IRuntimeClass {
  /**
   * A class that already exists in the cluster (made by a cloud provider, kata-deploy, an operator).
   *
   * @example
   * // GKE Sandbox's class exists in the cluster already: nothing is synthesized for it,
   * // but pinned workloads are checked against what it is known to have.
   * const gvisor = RuntimeClass.fromName('gvisor', {
   *   scheduling: { nodeSelector: { 'sandbox.gke.io/runtime': 'gvisor' } },
   *   limits: { allowHostNetwork: false, reason: 'gVisor gives each pod its own network stack' },
   * });
   * gvisor.pin(new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27' }] }));
   */
  public static fromName(name: string, options: RuntimeClassReferenceOptions = {}): IRuntimeClass {
    return new RuntimeClassReference(name, options);
  }

  /** True when `x` is a RuntimeClass construct (works across copies of this library). */
  public static isRuntimeClass(x: any): x is RuntimeClass {
    return x !== null && typeof x === 'object' && RUNTIME_CLASS in x;
  }

  public readonly runtimeClassName: string;
  /** The handler configured on the nodes. */
  public readonly handler: string;
  public readonly overhead?: PodOverhead;
  public readonly limits: RuntimeLimits;
  /** The underlying `RuntimeClass` object. */
  public readonly apiObject: ApiObject;
  /**
   * The prop through which the user gave `limits.nodeAllocatable`, for messages (a runtime
   * preset takes it as `nodeAllocatable`). @internal
   */
  public _nodeAllocatableField: string = 'limits.nodeAllocatable';
  /**
   * Where the handler comes from when the user did not set it as `handler` (a renamed gVisor
   * class takes its name), for messages. @internal
   */
  public _handlerSource?: string;
  private schedulingState: RuntimeScheduling;
  private readonly schedulingConflicts: string[] = [];

  public constructor(scope: Construct, id: string, props: RuntimeClassProps) {
    super(scope, id);
    Object.defineProperty(this, RUNTIME_CLASS, { value: true });
    classesIn(this.node.root).push(this);
    this.handler = props.handler;
    this.runtimeClassName = props.name ?? props.metadata?.name ?? props.handler;
    this.overhead = props.overhead;
    const limits = normalizedLimits(props.limits ?? {}, 'limits');
    this.limits = limits.limits;
    const tolerations = tolerationsOf(props.scheduling);
    this.schedulingState = { nodeSelector: { ...(props.scheduling?.nodeSelector ?? {}) }, tolerations: tolerations.tolerations };
    const inputProblems = [...limits.problems, ...tolerations.problems];

    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { ...props.metadata, name: this.runtimeClassName, namespace: undefined },
      handler: this.handler,
      overhead: Lazy.any({ produce: () => (this.overhead && !this.overhead.isEmpty ? { podFixed: this.overhead._toPodFixed() } : undefined) }),
      scheduling: Lazy.any({ produce: () => schedulingToJson(this.schedulingState) }),
    });
    // A chart's namespace is stamped on every object, cluster-scoped ones included.
    if (Chart.of(this).namespace) this.apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    const metadata = props.metadata;
    // Props and the tree only: cdk8s's per-chart validation passes need not repeat it.
    validateOncePerSynth(this, () => {
      const problems: string[] = [];
      const name = resolveValue(this.runtimeClassName);
      if (typeof name.value !== 'string') {
        problems.push(`name is ${describeValue(this.runtimeClassName)}, not a string: give the RuntimeClass's metadata.name as a string (or a Lazy that produces one)`);
      } else {
        const nameProblem = dns1123SubdomainProblem(name.value);
        if (nameProblem) problems.push(`name "${name.value}" ${nameProblem} (it is the RuntimeClass's metadata.name)`);
      }
      if (metadata?.name !== undefined && props.name !== undefined && metadata.name !== props.name) {
        problems.push(`metadata.name "${metadata.name}" differs from name "${props.name}": set the name once, with \`name\``);
      }
      if (metadata?.namespace !== undefined) {
        problems.push(`metadata.namespace "${metadata.namespace}" is set, but a RuntimeClass is cluster-scoped: remove the namespace`);
      }
      const handler = resolveValue(this.handler);
      if (typeof handler.value !== 'string') {
        problems.push(`handler is ${describeValue(this.handler)}, not a string: give the handler configured on the nodes as a string`);
      } else {
        const handlerProblem = dns1123LabelProblem(handler.value);
        if (handlerProblem) problems.push(`handler "${handler.value}" ${handlerProblem}${this._handlerSource ? ` (it comes from ${this._handlerSource})` : ''}`);
      }
      problems.push(...(this.overhead?.validate() ?? []));
      problems.push(...inputProblems);
      problems.push(...schedulingProblems(this.schedulingState));
      problems.push(...this.schedulingConflicts);
      problems.push(...nodeAllocatableProblems(this.limits, this._nodeAllocatableField));
      problems.push(...this.duplicateNameProblems());
      const shown = typeof name.value === 'string' ? `"${name.value}"` : `at ${this.node.path}`;
      return problems.map((p) => `RuntimeClass ${shown}: ${p}`);
    });
  }

  public get scheduling(): RuntimeScheduling {
    return this.schedulingState;
  }

  /**
   * Adds node selector labels and tolerations. A label already required with another value
   * is reported as a conflict when the app is validated.
   * @param scheduling what to add
   * @param source who requires it, for error messages (e.g. "the node setup")
   */
  public addScheduling(scheduling: RuntimeScheduling, source: string = 'a later setting'): void {
    const { scheduling: merged, problems } = mergeScheduling(this.schedulingState, scheduling, source);
    this.schedulingState = merged;
    this.schedulingConflicts.push(...problems);
  }

  /** Adds one node selector label (see `addScheduling`). */
  public addNodeSelector(key: string, value: string, source?: string): void {
    this.addScheduling({ nodeSelector: { [key]: value } }, source);
  }

  /** Adds one toleration (see `addScheduling`). */
  public addToleration(toleration: RuntimeToleration): void {
    this.addScheduling({ tolerations: [toleration] });
  }

  public pin(workload: IConstruct): void {
    pinWorkload(this, workload);
  }

  private duplicateNameProblems(): string[] {
    // Only a class that may have a twin pays for a walk of the tree.
    if (!classesIn(this.node.root).some((c) => c !== this && c.runtimeClassName === this.runtimeClassName)) return [];
    const same = this.node.root.node.findAll().filter((c) => RuntimeClass.isRuntimeClass(c) && c.runtimeClassName === this.runtimeClassName);
    if (same.length < 2) return [];
    const others = same.filter((c) => c !== this).map((c) => c.node.path);
    return [`another RuntimeClass in this app has the same name (${others.join(', ')}): names are cluster-wide, give each class its own \`name\``];
  }
}

/** Problems with a declared node allocatable (its resource names and quantities), under the prop `field`. */
function nodeAllocatableProblems(limits: RuntimeLimits, field: string): string[] {
  if (!limits.nodeAllocatable) return [];
  return PodOverhead.of(limits.nodeAllocatable)._problems(field, field);
}

/** A class that exists in the cluster already: nothing is synthesized for it. */
class RuntimeClassReference implements IRuntimeClass {
  public readonly overhead?: PodOverhead;
  public readonly scheduling: RuntimeScheduling;
  public readonly limits: RuntimeLimits;

  public constructor(public readonly runtimeClassName: string, options: RuntimeClassReferenceOptions) {
    const nameProblem = dns1123SubdomainProblem(runtimeClassName);
    if (nameProblem) {
      throw new Error(`RuntimeClass.fromName("${runtimeClassName}"): the name ${nameProblem}`);
    }
    // Values that are no quantity would be dropped from the checks of pinned workloads: refuse them now.
    const inputProblems = options.limits?.nodeAllocatable ? PodOverhead.of(options.limits.nodeAllocatable)._inputProblems('limits.nodeAllocatable') : [];
    if (inputProblems.length > 0) {
      throw new Error(`RuntimeClass.fromName("${runtimeClassName}"): ${inputProblems.join('; ')}`);
    }
    const limits = normalizedLimits(options.limits ?? {}, 'limits');
    const tolerations = tolerationsOf(options.scheduling);
    const problems = [...limits.problems, ...tolerations.problems];
    if (problems.length > 0) {
      throw new Error(`RuntimeClass.fromName("${runtimeClassName}"): ${problems.join('; ')}`);
    }
    this.overhead = options.overhead;
    // cdk8s-plus queries read back as tolerations, as on a RuntimeClass construct.
    this.scheduling = options.scheduling?.toleratedTaints?.length
      ? { nodeSelector: options.scheduling.nodeSelector, tolerations: tolerations.tolerations }
      : options.scheduling ?? {};
    this.limits = limits.limits;
  }

  public pin(workload: IConstruct): void {
    pinWorkload(this, workload);
  }
}
