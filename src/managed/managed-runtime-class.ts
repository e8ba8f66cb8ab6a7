import { K3sRuntimeClass, NvidiaGpuOperatorClass } from './platform-kinds';
import { AKS_POD_SANDBOXING, AKS_POD_SANDBOXING_LEGACY, GKE_SANDBOX, k3sClass, nvidiaClass, ProvidedClass } from './platforms';
import { PodOverhead } from '../core/overhead';
import { IRuntimeClass, RuntimeClass } from '../core/runtime-class';

/** Options for AKS pod sandboxing's class. */
export interface AksPodSandboxingOptions {
  /**
   * Refer to `kata-mshv-vm-isolation`, the class of node pools created with the older
   * `KataMshvVmIsolation` workload runtime, instead of `kata-vm-isolation`.
   * @default false
   */
  readonly legacyClassName?: boolean;
  /**
   * The class's overhead, when your cluster's differs from AKS's default.
   * @default - 600Mi of memory for `kata-vm-isolation` (AKS's documented default); none for the legacy class
   */
  readonly overhead?: PodOverhead;
}

/** Options for the NVIDIA GPU operator's classes. */
export interface NvidiaGpuOperatorOptions {
  /** Which of the operator's classes. @default NvidiaGpuOperatorClass.NVIDIA */
  readonly runtimeClass?: NvidiaGpuOperatorClass;
  /**
   * The name of the `NVIDIA` class, when the ClusterPolicy renames it (`operator.runtimeClass`).
   * @default "nvidia"
   */
  readonly name?: string;
}

/**
 * RuntimeClasses that a managed platform or an operator already created in the cluster, with
 * what each is known to have (overhead, scheduling, the pod features its runtime cannot give).
 * Nothing is synthesized for them and no node setup is needed: pin workloads to them as to any
 * class, and the synth-time checks run against these facts.
 *
 * @example
 * const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27' }] });
 * // AKS pod sandboxing's class "kata-vm-isolation": footprints include its 600Mi overhead.
 * ManagedRuntimeClass.aksPodSandboxing().pin(web);
 */
export class ManagedRuntimeClass {
  /**
   * GKE Sandbox's `gvisor` class. Its scheduling selects the sandbox node pools
   * (`sandbox.gke.io/runtime: gvisor`) and tolerates their taint
   * (`sandbox.gke.io/runtime=gvisor:NoSchedule`); pods cannot use the node's network, PID or
   * IPC namespaces.
   */
  public static gkeSandbox(): IRuntimeClass {
    return reference(GKE_SANDBOX);
  }

  /**
   * AKS pod sandboxing's class, `kata-vm-isolation`: each pod in its own Kata VM on node pools
   * with the `KataVmIsolation` workload runtime (label `kubernetes.azure.com/kata-vm-isolation`).
   * Pods cannot use the node's network, PID or IPC namespaces.
   */
  public static aksPodSandboxing(options: AksPodSandboxingOptions = {}): IRuntimeClass {
    const facts = options.legacyClassName ? AKS_POD_SANDBOXING_LEGACY : AKS_POD_SANDBOXING;
    return RuntimeClass.fromName(facts.name, { ...facts.reference, overhead: options.overhead ?? facts.reference.overhead });
  }

  /** A class of the NVIDIA GPU operator (`nvidia` by default): a runc-based handler, no overhead or scheduling. */
  public static nvidiaGpuOperator(options: NvidiaGpuOperatorOptions = {}): IRuntimeClass {
    const cls = options.runtimeClass ?? NvidiaGpuOperatorClass.NVIDIA;
    if (options.name !== undefined && cls !== NvidiaGpuOperatorClass.NVIDIA) {
      throw new Error(`ManagedRuntimeClass.nvidiaGpuOperator: name "${options.name}" renames only the NVIDIA class (the ClusterPolicy's operator.runtimeClass); the operator names ${cls} itself: remove name`);
    }
    return reference(nvidiaClass(cls, options.name ?? cls));
  }

  /**
   * A class k3s creates. k3s creates every one of them, but a node has the handler only if
   * k3s found the runtime's binary there: schedule pods to such nodes yourself.
   */
  public static k3s(runtimeClass: K3sRuntimeClass): IRuntimeClass {
    return reference(k3sClass(runtimeClass));
  }

  private constructor() {}
}

function reference(facts: ProvidedClass): IRuntimeClass {
  return RuntimeClass.fromName(facts.name, facts.reference);
}
