import { ApiObject, ApiObjectMetadata, Chart, JsonPatch, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './names';
import { PodOverhead, ResourceAmountsProps } from './overhead';
import { pinWorkload } from './pinning';
import { mergeScheduling, RuntimeScheduling, RuntimeToleration, schedulingProblems, schedulingToJson } from './scheduling';
import { validateOncePerSynth } from './written-manifests';

/**
 * What pods of a runtime cannot do, checked on every pinned workload at synth time.
 */
export interface RuntimeLimits {
  /** Pods may use the node's network namespace (`hostNetwork: true`). @default true */
  readonly hostNetwork?: boolean;
  /** Pods may use the node's PID namespace (`hostPID: true`). @default true */
  readonly hostPid?: boolean;
  /** Pods may use the node's IPC namespace (`hostIPC: true`). @default true */
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

/** Properties of a RuntimeClass. */
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
 */
export class RuntimeClass extends Construct implements IRuntimeClass {
  /** A class that already exists in the cluster (made by a cloud provider, kata-deploy, an operator). */
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
    this.limits = props.limits ?? {};
    this.schedulingState = { nodeSelector: { ...(props.scheduling?.nodeSelector ?? {}) }, tolerations: [...(props.scheduling?.tolerations ?? [])] };

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
      const nameProblem = dns1123SubdomainProblem(this.runtimeClassName);
      if (nameProblem) problems.push(`name "${this.runtimeClassName}" ${nameProblem} (it is the RuntimeClass's metadata.name)`);
      if (metadata?.name !== undefined && props.name !== undefined && metadata.name !== props.name) {
        problems.push(`metadata.name "${metadata.name}" differs from name "${props.name}": set the name once, with \`name\``);
      }
      if (metadata?.namespace !== undefined) {
        problems.push(`metadata.namespace "${metadata.namespace}" is set, but a RuntimeClass is cluster-scoped: remove the namespace`);
      }
      const handlerProblem = dns1123LabelProblem(this.handler);
      if (handlerProblem) problems.push(`handler "${this.handler}" ${handlerProblem}${this._handlerSource ? ` (it comes from ${this._handlerSource})` : ''}`);
      problems.push(...(this.overhead?.validate() ?? []));
      problems.push(...schedulingProblems(this.schedulingState));
      problems.push(...this.schedulingConflicts);
      problems.push(...nodeAllocatableProblems(this.limits, this._nodeAllocatableField));
      problems.push(...this.duplicateNameProblems());
      return problems.map((p) => `RuntimeClass "${this.runtimeClassName}": ${p}`);
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
  public addScheduling(scheduling: RuntimeScheduling, source: string = 'an earlier setting'): void {
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
    this.overhead = options.overhead;
    this.scheduling = options.scheduling ?? {};
    this.limits = options.limits ?? {};
  }

  public pin(workload: IConstruct): void {
    pinWorkload(this, workload);
  }
}
