import { HandlerConfig } from '../containerd/handler-config';

/**
 * Everything the node-side installer needs, as plain data. The NodeSetup construct builds it
 * from its runtimes; `renderInstallerFiles()` turns it into the ConfigMap's files. Internal.
 */
export interface InstallerSpec {
  /** Name of the node setup (DNS label); used in marker comments, file names and the lock. */
  readonly setupName: string;
  /** Every handler this setup installs, in a stable order. */
  readonly handlers: HandlerConfig[];
  /** Node label set to `ready` for each handler once it is verified: handler -> label key. */
  readonly readyLabels: { readonly [handler: string]: string };
  /** Distribution to configure: `auto`, `containerd`, `k3s`, `rke2`, `k0s`, `microk8s`, `crio`. */
  readonly distribution: string;
  /**
   * The handlers that run virtual machines and need `/dev/kvm` on the host. On a node without
   * it the other handlers are still installed and labelled; with none left, nothing is installed.
   */
  readonly kvmHandlers: string[];
  /** Files the installer puts on the host (binaries, runtime configs). */
  readonly artifacts: InstallerArtifact[];
  /** Extra files written verbatim to absolute host paths (e.g. gVisor's runsc.toml). */
  readonly hostFiles: { readonly [hostPath: string]: string };
  /**
   * Name of the node-setup DaemonSet. On SIGTERM the installer uninstalls only when this
   * DaemonSet is gone (or being deleted) or no longer selects the node. Omitted: a pod that
   * stops never uninstalls (use `ACTION=uninstall`).
   */
  readonly daemonSetName?: string;
  /**
   * The DaemonSet's `nodeSelector`. On SIGTERM, a node that no longer matches it is uninstalled.
   * Omitted or empty: only the DaemonSet's deletion triggers an uninstall.
   */
  readonly nodeSelector?: { readonly [key: string]: string };
}

/** One artifact for one CPU architecture. */
export interface InstallerArtifact {
  /** `amd64`, `arm64`, or `any`. */
  readonly arch: string;
  /** `image` (copied by an init container into /artifacts/<index>), `url` (downloaded, sha512 checked), `preinstalled` (only checked). */
  readonly source: 'image' | 'url' | 'preinstalled';
  /** For `image`: the path inside the artifact volume; for `url`: the URL; for `preinstalled`: the host path. */
  readonly location: string;
  /** For `url`: the expected sha512 (128 lowercase hex digits). */
  readonly sha512?: string;
  /** For `image` and `url`: absolute host path to install to (a file, or a directory for a tree). */
  readonly destination?: string;
}
