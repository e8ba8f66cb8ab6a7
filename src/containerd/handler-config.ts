/**
 * What the container runtime's configuration needs to know about one runtime handler.
 *
 * Produced from a runtime's facts table (src/runtimes) and read by the renderers in this
 * folder and by the node setup. Internal: not part of the jsii API.
 */
export interface HandlerConfig {
  /** The RuntimeClass handler: the runtime's name in containerd's / CRI-O's configuration. */
  readonly handler: string;
  /** containerd shim type, e.g. `io.containerd.runc.v2`, `io.containerd.kata-qemu.v2`, `io.containerd.runsc.v1`. */
  readonly runtimeType: string;
  /** Absolute host path of the shim binary (containerd `runtime_path`). Omitted: containerd finds the shim on its PATH. */
  readonly runtimePath?: string;
  /**
   * The handler's `options` table, in output order (`BinaryName`, `ConfigPath`, `TypeUrl`, ...).
   * Values are TOML strings, booleans or integers.
   */
  readonly options?: { readonly [key: string]: string | boolean | number };
  /**
   * runc-based handlers: the `SystemdCgroup` option is decided on the node (copied from the
   * node's runc handler): the node setup renders the tables once per value and the node agent
   * picks the one that matches the node.
   */
  readonly systemdCgroupFromNode?: boolean;
  /** containerd `privileged_without_host_devices`. */
  readonly privilegedWithoutHostDevices?: boolean;
  /** containerd `pod_annotations`: annotation patterns passed to the runtime. */
  readonly podAnnotations?: string[];
  /** containerd `container_annotations`. */
  readonly containerAnnotations?: string[];
  /** containerd `snapshotter` for this handler (Firecracker needs `devmapper`). */
  readonly snapshotter?: string;
  /** CRI-O's view of the same handler; omitted when the runtime cannot run under CRI-O. */
  readonly crio?: CrioHandlerConfig;
}

/** One `[crio.runtime.runtimes.<handler>]` table. */
export interface CrioHandlerConfig {
  /** `runtime_path`: absolute path of the OCI runtime or shim binary. */
  readonly runtimePath: string;
  /** `runtime_type`: `oci` or `vm`. */
  readonly runtimeType: string;
  /** `runtime_root`. */
  readonly runtimeRoot?: string;
  /** `runtime_config_path`. */
  readonly runtimeConfigPath?: string;
  /** `privileged_without_host_devices`. */
  readonly privilegedWithoutHostDevices?: boolean;
  /** `allowed_annotations`. */
  readonly allowedAnnotations?: string[];
}

/** What the renderers write for `SystemdCgroup` when the node's value is not given (standalone use). */
export const SYSTEMD_CGROUP_PLACEHOLDER = '@SYSTEMD_CGROUP@';
