import type { HandlerConfig } from '../containerd/handler-config';

/**
 * Everything the node agent needs, as plain data: the NodeSetup construct builds it from its
 * runtimes and ships it in its ConfigMap as `spec.json`, next to the rendered configuration
 * fragments and the agent's code. Internal: not part of the jsii API.
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
  /**
   * gVisor handlers: the runsc binary (host path) and the flags of the handler's `runsc.toml`.
   * Before labelling, the agent makes that runsc run a sandbox with those flags.
   */
  readonly runscChecks?: { readonly [handler: string]: RunscCheck };
}

/** What a gVisor handler's runsc must be able to run on the node. */
export interface RunscCheck {
  /** Host path of the runsc binary. */
  readonly binary: string;
  /** The `[runsc_config]` flags (without dashes). */
  readonly flags: { readonly [flag: string]: string };
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

/** The ConfigMap key of the spec. */
export const SPEC_FILE = 'spec.json';

/**
 * The ConfigMap key of a rendered containerd fragment. Handlers that follow the node's runc
 * cgroup driver are rendered twice, so the agent picks a file instead of editing TOML text:
 * `<name>.toml` with `SystemdCgroup = false`, `<name>.systemd.toml` with `true`.
 */
export function fragmentKey(name: FragmentName, systemdCgroup: boolean): string {
  return systemdCgroup ? `${name}.systemd.toml` : `${name}.toml`;
}

/**
 * The fragments: runtime tables to append to a version 1 / 2 main file (or a k3s, rke2 or
 * microk8s template), a complete version 3 drop-in for containerd 2.x, and the version 3 tables
 * alone (for k3s' `config-v3.toml.tmpl`).
 */
export type FragmentName = 'containerd-v1' | 'containerd-v2' | 'containerd-v3' | 'containerd-v3-tables';

/** The ConfigMap key of the CRI-O drop-in. */
export const CRIO_FRAGMENT = 'crio.conf';

/** Reads and checks the shape of a spec (the agent's first step on the node). */
export function parseSpec(text: string, source: string): InstallerSpec {
  let spec: any;
  try {
    spec = JSON.parse(text);
  } catch (e: any) {
    throw new Error(`${source} is not valid JSON: ${e.message}`);
  }
  const problems: string[] = [];
  if (typeof spec?.setupName !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.setupName)) problems.push('setupName must be a DNS-1123 label');
  if (!Array.isArray(spec?.handlers)) problems.push('handlers must be a list');
  if (typeof spec?.readyLabels !== 'object' || spec.readyLabels === null) problems.push('readyLabels must be an object');
  if (!Array.isArray(spec?.artifacts)) problems.push('artifacts must be a list');
  if (typeof spec?.hostFiles !== 'object' || spec.hostFiles === null) problems.push('hostFiles must be an object');
  if (!Array.isArray(spec?.kvmHandlers)) problems.push('kvmHandlers must be a list');
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}: re-synthesize the node setup with this library version`);
  return spec as InstallerSpec;
}
