/** A platform or operator that creates RuntimeClasses of its own in the cluster. */
export enum ManagedPlatformKind {
  /** GKE with GKE Sandbox: the `gvisor` class. */
  GKE = 'gke',
  /** AKS with pod sandboxing: `kata-vm-isolation` (`kata-mshv-vm-isolation` on older node pools). */
  AKS = 'aks',
  /** The NVIDIA GPU operator: `nvidia`, and `nvidia-cdi` and `nvidia-legacy` when CDI is enabled. */
  NVIDIA_GPU_OPERATOR = 'nvidia-gpu-operator',
  /** k3s: `crun`, `nvidia`, `nvidia-experimental` and the WebAssembly shims' classes. */
  K3S = 'k3s',
}

/**
 * A RuntimeClass k3s creates from its packaged manifests. k3s creates all of them; a node has
 * the handler only when k3s found the runtime's binary there when it started.
 */
export enum K3sRuntimeClass {
  /** `crun` (containerd's runc shim with the crun binary). */
  CRUN = 'crun',
  /** `nvidia` (the NVIDIA container runtime). */
  NVIDIA = 'nvidia',
  /** `nvidia-experimental`. */
  NVIDIA_EXPERIMENTAL = 'nvidia-experimental',
  /** `lunatic` (WebAssembly shim). */
  LUNATIC = 'lunatic',
  /** `slight` (WebAssembly shim). */
  SLIGHT = 'slight',
  /** `spin` (WebAssembly shim). */
  SPIN = 'spin',
  /** `wws` (Wasm Workers Server shim). */
  WWS = 'wws',
  /** `wasmedge` (WebAssembly shim). */
  WASMEDGE = 'wasmedge',
  /** `wasmer` (WebAssembly shim). */
  WASMER = 'wasmer',
  /** `wasmtime` (WebAssembly shim). */
  WASMTIME = 'wasmtime',
}

/** A RuntimeClass the NVIDIA GPU operator creates. */
export enum NvidiaGpuOperatorClass {
  /** `nvidia`, or the name set in the ClusterPolicy's `operator.runtimeClass`. */
  NVIDIA = 'nvidia',
  /** `nvidia-cdi`: devices injected through CDI (only when CDI is enabled). */
  CDI = 'nvidia-cdi',
  /** `nvidia-legacy`: the legacy runtime hook (only when CDI is enabled). */
  LEGACY = 'nvidia-legacy',
}
