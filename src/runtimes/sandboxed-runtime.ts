import { ApiObjectMetadata } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { CrioHandlerConfig, HandlerConfig } from '../containerd/handler-config';
import { checkNodeSetupPlacement } from '../core/app-checks';
import { PodOverhead, ResourceAmountsProps } from '../core/overhead';
import { IRuntimeClass, RuntimeClass, RuntimeLimits } from '../core/runtime-class';
import { RuntimeScheduling } from '../core/scheduling';
import { RuntimeArtifacts } from '../node-setup/artifacts';
import { NodeSetup } from '../node-setup/node-setup';

/** How containerd's CRI plugin runs this handler (`[...containerd.runtimes.<handler>]`). */
export interface ContainerdHandlerOptions {
  /** The shim type, e.g. `io.containerd.runc.v2`, `io.containerd.kata-qemu.v2`, `io.containerd.runsc.v1`. */
  readonly runtimeType: string;
  /** Absolute path of the shim binary on the node (`runtime_path`). @default - containerd finds the shim on its PATH */
  readonly runtimePath?: string;
  /**
   * The handler's `options` table (`BinaryName`, `ConfigPath`, `TypeUrl`, ...): strings,
   * booleans or integers.
   * @default - no options
   */
  readonly options?: { [key: string]: any };
  /** Copy the node's runc `SystemdCgroup` setting into this handler (runc-based handlers). @default false */
  readonly systemdCgroupFromNode?: boolean;
  /** Do not pass host devices to privileged containers (`privileged_without_host_devices`). @default false */
  readonly privilegedWithoutHostDevices?: boolean;
  /** Pod annotations passed to the runtime (`pod_annotations`). @default - none */
  readonly podAnnotations?: string[];
  /** Container annotations passed to the runtime (`container_annotations`). @default - none */
  readonly containerAnnotations?: string[];
  /** Snapshotter for this handler's images (`snapshotter`), e.g. `devmapper`. @default - the node's default snapshotter */
  readonly snapshotter?: string;
}

/** The kind of runtime CRI-O runs. */
export enum CrioRuntimeType {
  /** An OCI runtime binary (runc, crun, runsc). */
  OCI = 'oci',
  /** A VM runtime driven through a containerd shim (Kata Containers). */
  VM = 'vm',
}

/** How CRI-O runs this handler (`[crio.runtime.runtimes.<handler>]`). */
export interface CrioHandlerOptions {
  /** Absolute path of the runtime or shim binary on the node. */
  readonly runtimePath: string;
  /** `runtime_type`. @default CrioRuntimeType.OCI */
  readonly runtimeType?: CrioRuntimeType;
  /** `runtime_root`. @default - CRI-O's default */
  readonly runtimeRoot?: string;
  /** `runtime_config_path`. @default - none */
  readonly runtimeConfigPath?: string;
  /** `privileged_without_host_devices`. @default false */
  readonly privilegedWithoutHostDevices?: boolean;
  /** `allowed_annotations`. @default - none */
  readonly allowedAnnotations?: string[];
}

/** Options every runtime preset accepts. */
export interface RuntimePresetOptions {
  /** The RuntimeClass name. @default - the handler name */
  readonly name?: string;
  /** Overrides the preset's overhead. @default - the preset's default overhead */
  readonly overhead?: PodOverhead;
  /**
   * Accept an overhead below the runtime's safe minimum (you measured your guest's footprint).
   * @default false
   */
  readonly allowOverheadBelowMinimum?: boolean;
  /** Extra scheduling, merged with the preset's; a conflicting node selector value is an error. @default - none */
  readonly scheduling?: RuntimeScheduling;
  /**
   * The most one pod of this class can be given, overhead included (e.g. the memory of the
   * nodes or VMs that run it): `{ memory: Size.gibibytes(2) }`. A pinned workload whose pod
   * footprint exceeds it is an error.
   * @default - no ceiling
   */
  readonly nodeAllocatable?: ResourceAmountsProps;
  /** Labels and annotations for the RuntimeClass. @default - none */
  readonly metadata?: ApiObjectMetadata;
  /**
   * Where the runtime is installed on nodes: `true` creates a NodeSetup for this runtime alone,
   * a NodeSetup shares one with other runtimes (one containerd restart per node), `false`
   * installs nothing (the nodes already have the handler: managed clusters, node images).
   * @default true (false for the `runc` handler, which every node has)
   */
  readonly nodeSetup?: NodeSetup | boolean;
  /** The runtime's files and where the node setup gets them. @default - the preset's artifacts */
  readonly artifacts?: RuntimeArtifacts[];
}

/**
 * Properties of a generic runtime.
 *
 * @example
 * const props: SandboxedRuntimeProps = {
 *   handler: 'kata-remote',
 *   displayName: 'Kata Containers with peer pods',
 *   containerd: { runtimeType: 'io.containerd.kata.v2' },
 *   artifacts: [RuntimeArtifacts.preinstalled('/opt/kata/bin/containerd-shim-kata-v2')],
 *   overhead: PodOverhead.of({ memory: Size.mebibytes(120) }),
 *   limits: { allowHostNetwork: false, allowHostPid: false, allowHostIpc: false, reason: 'each pod runs in its own cloud VM' },
 * };
 * new SandboxedRuntime(chart, 'peer-pods', props);
 */
export interface SandboxedRuntimeProps extends RuntimePresetOptions {
  /** The handler name in containerd's / CRI-O's configuration (a DNS-1123 label). */
  readonly handler: string;
  /** containerd configuration of the handler. */
  readonly containerd: ContainerdHandlerOptions;
  /** CRI-O configuration of the handler. @default - the runtime cannot be set up on CRI-O nodes */
  readonly crio?: CrioHandlerOptions;
  /** The smallest overhead that is safe for this runtime; a lower one is an error. @default - no minimum */
  readonly minimumOverhead?: PodOverhead;
  /** What pods of this runtime cannot do. @default - no limits */
  readonly limits?: RuntimeLimits;
  /** The runtime needs hardware virtualization (`/dev/kvm`) on the node. @default false */
  readonly requiresKvm?: boolean;
  /** What the runtime is, for messages and docs (e.g. "Kata Containers with QEMU"). @default - the handler */
  readonly displayName?: string;
  /** Files the node setup writes on each node: absolute path -> content. @default - none */
  readonly hostFiles?: { [path: string]: string };
}

/**
 * A container runtime for some pods: a RuntimeClass plus the facts the node setup needs to
 * configure its handler in containerd or CRI-O. The presets (`KataRuntime`, `GvisorRuntime`,
 * `CrunRuntime`, `RuncRuntime`) fill in the facts; use this class directly for others.
 *
 * @example
 * // youki, an OCI runtime the node image already has, run through containerd's runc shim.
 * const youki = new SandboxedRuntime(chart, 'youki', {
 *   handler: 'youki',
 *   containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/local/bin/youki' }, systemdCgroupFromNode: true },
 *   crio: { runtimePath: '/usr/local/bin/youki' },
 *   artifacts: [RuntimeArtifacts.preinstalled('/usr/local/bin/youki')],
 * });
 * youki.pin(new kplus.Job(chart, 'batch', { containers: [{ image: 'ghcr.io/example/batch:1.0' }] }));
 */
export class SandboxedRuntime extends Construct implements IRuntimeClass {
  /** The RuntimeClass of this runtime. */
  public readonly runtimeClass: RuntimeClass;
  /** The handler name configured on the nodes. */
  public readonly handler: string;
  /** True when the runtime needs `/dev/kvm` on the node. */
  public readonly requiresKvm: boolean;
  /** What the runtime is, for messages. */
  public readonly displayName: string;
  /** The node setup that installs this runtime, if any. */
  public readonly nodeSetup?: NodeSetup;
  private readonly containerd: ContainerdHandlerOptions;
  private readonly crio?: CrioHandlerOptions;

  public constructor(scope: Construct, id: string, props: SandboxedRuntimeProps) {
    super(scope, id);
    this.handler = props.handler;
    this.requiresKvm = props.requiresKvm ?? false;
    this.displayName = props.displayName ?? props.handler;
    this.containerd = props.containerd;
    this.crio = props.crio;
    const limits: RuntimeLimits = { ...props.limits, nodeAllocatable: props.nodeAllocatable ?? props.limits?.nodeAllocatable };
    this.runtimeClass = new RuntimeClass(this, 'Default', {
      name: props.name,
      handler: props.handler,
      overhead: props.overhead ?? props.minimumOverhead,
      scheduling: props.scheduling,
      metadata: props.metadata,
      limits,
    });
    if (props.nodeAllocatable !== undefined) this.runtimeClass._nodeAllocatableField = 'nodeAllocatable';

    this.nodeSetup = this.attachNodeSetup(props);

    const minimum = props.minimumOverhead;
    const allowBelow = props.allowOverheadBelowMinimum ?? false;
    // Presets fill the handler options from their own typed props and check those themselves.
    const checkHandlerOptions = new.target === SandboxedRuntime;
    this.node.addValidation({
      validate: () => {
        const problemsFound = checkHandlerOptions ? this.handlerOptionProblems() : [];
        if (props.nodeAllocatable !== undefined && props.limits?.nodeAllocatable !== undefined) {
          problemsFound.push('nodeAllocatable and limits.nodeAllocatable are both set: set the ceiling once, with nodeAllocatable');
        }
        if (minimum && !allowBelow && this.overhead) problemsFound.push(...belowMinimum(this.overhead, minimum, this.displayName));
        return problemsFound.map((p) => `${this.displayName} runtime "${this.runtimeClassName}": ${p}`);
      },
    });
  }

  public get runtimeClassName(): string {
    return this.runtimeClass.runtimeClassName;
  }

  public get overhead(): PodOverhead | undefined {
    return this.runtimeClass.overhead;
  }

  public get scheduling(): RuntimeScheduling {
    return this.runtimeClass.scheduling;
  }

  public get limits(): RuntimeLimits {
    return this.runtimeClass.limits;
  }

  public pin(workload: IConstruct): void {
    this.runtimeClass.pin(workload);
  }

  /** The handler's configuration for containerd and CRI-O renderers. @internal */
  public _handlerConfig(): HandlerConfig {
    const c = this.containerd;
    const crio: CrioHandlerConfig | undefined = this.crio ? {
      runtimePath: this.crio.runtimePath,
      runtimeType: this.crio.runtimeType ?? CrioRuntimeType.OCI,
      runtimeRoot: this.crio.runtimeRoot,
      runtimeConfigPath: this.crio.runtimeConfigPath,
      privilegedWithoutHostDevices: this.crio.privilegedWithoutHostDevices,
      allowedAnnotations: this.crio.allowedAnnotations,
    } : undefined;
    return {
      handler: this.handler,
      runtimeType: c.runtimeType,
      runtimePath: c.runtimePath,
      options: c.options,
      systemdCgroupFromNode: c.systemdCgroupFromNode,
      privilegedWithoutHostDevices: c.privilegedWithoutHostDevices,
      podAnnotations: c.podAnnotations,
      containerAnnotations: c.containerAnnotations,
      snapshotter: c.snapshotter,
      crio,
    };
  }

  private attachNodeSetup(props: SandboxedRuntimeProps): NodeSetup | undefined {
    const choice = props.nodeSetup ?? props.handler !== 'runc';
    if (choice === false) {
      if (props.artifacts !== undefined && props.artifacts.length > 0) {
        this.node.addValidation({ validate: () => [`runtime "${this.runtimeClassName}": artifacts are given but nodeSetup is false, so nothing would install them: remove the artifacts or the nodeSetup: false`] });
      }
      return undefined;
    }
    // A runtime's own setup installs where its class can run: its node selector and tolerations.
    const nodeSetup = NodeSetup.isNodeSetup(choice) ? choice : NodeSetup._implicitFor(this, props.handler, {
      nodeSelector: props.scheduling?.nodeSelector,
      tolerations: this.runtimeClass.scheduling.tolerations?.length ? [...this.runtimeClass.scheduling.tolerations] : undefined,
    });
    const readyLabel = nodeSetup._register({
      handler: this._handlerConfig(),
      artifacts: props.artifacts ?? [],
      requiresKvm: this.requiresKvm,
      hostFiles: props.hostFiles ?? {},
      displayName: this.displayName,
      hasProblems: () => this.node.validate().length > 0 || this.runtimeClass.node.validate().length > 0,
      crioUnsupported: this._crioUnsupported(),
      classNodeSelector: () => ({ ...this.runtimeClass.scheduling.nodeSelector }),
    });
    // Pods of this class only go to nodes where the node setup verified the handler.
    this.runtimeClass.addNodeSelector(readyLabel, 'ready', `the node setup "${nodeSetup.name}"`);
    checkNodeSetupPlacement(nodeSetup.daemonSet, nodeSetup.name, {
      runtimeClass: this.runtimeClass,
      path: this.node.path,
      handler: props.handler,
      readyLabel,
      snapshotter: props.containerd.snapshotter,
    });
    return nodeSetup;
  }

  /** Why this runtime has no CRI-O configuration, for the node setup's message (a preset that knows says). @internal */
  public _crioUnsupported(): string | undefined {
    return undefined;
  }

  private handlerOptionProblems(): string[] {
    const problems: string[] = [];
    const c = this.containerd;
    if (!/^[A-Za-z0-9_.-]+$/.test(c.runtimeType)) {
      problems.push(`containerd.runtimeType "${c.runtimeType}" is not a shim type: use a name like "io.containerd.runc.v2"`);
    }
    for (const [field, value] of [['containerd.runtimePath', c.runtimePath], ['crio.runtimePath', this.crio?.runtimePath], ['crio.runtimeConfigPath', this.crio?.runtimeConfigPath]]) {
      if (value !== undefined && !value.startsWith('/')) problems.push(`${field} "${value}" must be an absolute path on the node`);
    }
    for (const [key, value] of Object.entries(c.options ?? {})) {
      const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value));
      if (!ok) problems.push(`containerd.options.${key} = ${JSON.stringify(value)}: option values must be strings, booleans or integers`);
      if (key === 'SystemdCgroup' && c.systemdCgroupFromNode) {
        problems.push('containerd.options.SystemdCgroup is set together with systemdCgroupFromNode: keep one (systemdCgroupFromNode copies the node\'s runc setting)');
      }
    }
    return problems;
  }
}

/** A preset's artifacts: the user's, else its defaults, none when nothing installs them. @internal */
export function presetArtifacts(props: RuntimePresetOptions, defaults: () => RuntimeArtifacts[]): RuntimeArtifacts[] | undefined {
  if (props.artifacts !== undefined) return props.artifacts;
  return props.nodeSetup === false ? undefined : defaults();
}

/** Messages for each resource where `overhead` is below `minimum`. */
function belowMinimum(overhead: PodOverhead, minimum: PodOverhead, displayName: string): string[] {
  if (overhead.validate().length > 0 || minimum.validate().length > 0) return []; // reported by the RuntimeClass
  const given = overhead._toResourceList();
  const floor = minimum._toResourceList();
  return floor.names
    .filter((name) => { const q = given.get(name); return q === undefined || q.compare(floor.get(name)!) < 0; })
    .map((name) => {
      const value = given.get(name);
      return `overhead.${name} ${value ? `"${value}"` : 'is unset, which'} is below the ${floor.get(name)} that ${displayName} needs per pod: `
        + 'the scheduler would under-count each pod and nodes would overcommit memory until pods are OOM-killed; '
        + `raise overhead.${name} to at least ${floor.get(name)}, or set allowOverheadBelowMinimum: true if you measured a smaller guest`;
    });
}
