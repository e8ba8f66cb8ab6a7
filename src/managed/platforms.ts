// What each managed platform provides: one row per class, read by the presets
// (ManagedRuntimeClass), the collision check (ManagedPlatform) and the docs.
import { K3sRuntimeClass, ManagedPlatformKind, NvidiaGpuOperatorClass } from './platform-kinds';
import { PodOverhead } from '../core/overhead';
import { RuntimeClassReferenceOptions, RuntimeLimits } from '../core/runtime-class';
import { TaintEffect, TolerationOperator } from '../core/scheduling';

/** A class a platform creates. */
export interface ProvidedClass {
  readonly name: string;
  /** What the class is known to have, for `RuntimeClass.fromName`. */
  readonly reference: RuntimeClassReferenceOptions;
  /** The code that refers to it, for messages. */
  readonly factory: string;
}

/** A platform and the classes it creates. */
export interface PlatformFacts {
  readonly displayName: string;
  /** The platform in a sentence ("the NVIDIA GPU operator"). */
  readonly subject: string;
  /** Why a class of the same name in the app would be a mistake. */
  readonly ownership: string;
  readonly classes: ProvidedClass[];
}

function vmLimits(reason: string): RuntimeLimits {
  return { allowHostNetwork: false, allowHostPid: false, allowHostIpc: false, reason };
}

const GKE_SANDBOX_LABEL = 'sandbox.gke.io/runtime';

export const GKE_SANDBOX: ProvidedClass = {
  name: 'gvisor',
  reference: {
    // GKE labels and taints the sandbox node pools; the class carries the matching selector and toleration.
    scheduling: {
      nodeSelector: { [GKE_SANDBOX_LABEL]: 'gvisor' },
      tolerations: [{ key: GKE_SANDBOX_LABEL, operator: TolerationOperator.EQUAL, value: 'gvisor', effect: TaintEffect.NO_SCHEDULE }],
    },
    limits: vmLimits('GKE Sandbox runs each pod on gVisor\'s application kernel, which has its own network, PID and IPC namespaces and cannot join the node\'s'),
  },
  factory: 'ManagedRuntimeClass.gkeSandbox()',
};

const AKS_LIMITS = vmLimits('AKS pod sandboxing runs each pod in its own Kata VM, which cannot join the node\'s namespaces');

export const AKS_POD_SANDBOXING: ProvidedClass = {
  name: 'kata-vm-isolation',
  reference: {
    // AKS documents 600Mi as the class's default overhead (the 512Mi pod VM plus host components).
    overhead: PodOverhead.of({ memory: '600Mi' }),
    scheduling: { nodeSelector: { 'kubernetes.azure.com/kata-vm-isolation': 'true' } },
    limits: AKS_LIMITS,
  },
  factory: 'ManagedRuntimeClass.aksPodSandboxing()',
};

export const AKS_POD_SANDBOXING_LEGACY: ProvidedClass = {
  name: 'kata-mshv-vm-isolation',
  reference: {
    scheduling: { nodeSelector: { 'kubernetes.azure.com/kata-mshv-vm-isolation': 'true' } },
    limits: AKS_LIMITS,
  },
  factory: 'ManagedRuntimeClass.aksPodSandboxing({ legacyClassName: true })',
};

const NVIDIA_FACTORIES: { [cls in NvidiaGpuOperatorClass]: string } = {
  [NvidiaGpuOperatorClass.NVIDIA]: 'ManagedRuntimeClass.nvidiaGpuOperator()',
  [NvidiaGpuOperatorClass.CDI]: 'ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.CDI })',
  [NvidiaGpuOperatorClass.LEGACY]: 'ManagedRuntimeClass.nvidiaGpuOperator({ runtimeClass: NvidiaGpuOperatorClass.LEGACY })',
};

/** The GPU operator's classes are plain runc-based handlers: no overhead, scheduling or limits. */
export function nvidiaClass(cls: NvidiaGpuOperatorClass, name: string = cls): ProvidedClass {
  return { name, reference: {}, factory: name === cls ? NVIDIA_FACTORIES[cls] : `ManagedRuntimeClass.nvidiaGpuOperator({ name: '${name}' })` };
}

/** k3s's classes carry nothing but a handler. */
export function k3sClass(cls: K3sRuntimeClass): ProvidedClass {
  const member = Object.entries(K3sRuntimeClass).find(([, value]) => value === cls)![0];
  return { name: cls, reference: {}, factory: `ManagedRuntimeClass.k3s(K3sRuntimeClass.${member})` };
}

export const PLATFORMS: { readonly [kind in ManagedPlatformKind]: PlatformFacts } = {
  [ManagedPlatformKind.GKE]: {
    displayName: 'GKE Sandbox',
    subject: 'GKE Sandbox',
    ownership: 'GKE creates and manages it on clusters with GKE Sandbox',
    classes: [GKE_SANDBOX],
  },
  [ManagedPlatformKind.AKS]: {
    displayName: 'AKS pod sandboxing',
    subject: 'AKS pod sandboxing',
    ownership: 'AKS creates it and its addon manager keeps reconciling it',
    classes: [AKS_POD_SANDBOXING, AKS_POD_SANDBOXING_LEGACY],
  },
  [ManagedPlatformKind.NVIDIA_GPU_OPERATOR]: {
    displayName: 'NVIDIA GPU operator',
    subject: 'the NVIDIA GPU operator',
    ownership: 'the operator owns it and rewrites it on every reconcile',
    classes: Object.values(NvidiaGpuOperatorClass).map((cls) => nvidiaClass(cls)),
  },
  [ManagedPlatformKind.K3S]: {
    displayName: 'k3s',
    subject: 'k3s',
    ownership: 'k3s deploys it from its packaged manifests every time a server starts',
    classes: Object.values(K3sRuntimeClass).map(k3sClass),
  },
};
