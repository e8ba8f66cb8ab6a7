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
   * it these are skipped (neither installed nor labelled) and the other handlers installed and
   * labelled as usual; with none left, nothing is installed.
   */
  readonly kvmHandlers: string[];
  /**
   * Where each handler's classes send their pods: handler -> the node selectors of its classes
   * (without the ready label; a node that carries every label of one of them can run the handler).
   * A handler absent here has a class without a node selector: any node of the setup runs it.
   * The agent installs a handler only on nodes one of its classes selects.
   */
  readonly classNodeSelectors?: { readonly [handler: string]: ReadonlyArray<{ readonly [key: string]: string }> };
  /** Files the installer puts on the host (binaries, runtime configs). */
  readonly artifacts: InstallerArtifact[];
  /** Extra files written verbatim to absolute host paths (e.g. gVisor's runsc.toml). */
  readonly hostFiles: { readonly [hostPath: string]: string };
  /**
   * Per host file, the handlers that need it: a node gets the file only when it runs one of them.
   * A file absent here is needed by every handler.
   */
  readonly hostFileHandlers?: { readonly [hostPath: string]: string[] };
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
  /** The handlers that need it: a node gets it only when it runs one of them. Absent: every handler. */
  readonly handlers?: string[];
}

/** The ConfigMap key of the spec. */
export const SPEC_FILE = 'spec.json';

/**
 * The fragments the agent assembles for the handlers it installs on a node: runtime tables to
 * append to a version 1 / 2 main file (or a k3s, rke2 or microk8s template), a complete version 3
 * drop-in for containerd 2.x, and the version 3 tables alone (for k3s' `config-v3.toml.tmpl`).
 */
export type FragmentName = 'containerd-v1' | 'containerd-v2' | 'containerd-v3' | 'containerd-v3-tables';

/** The per-handler parts a fragment is made of: one handler's runtime tables for one CRI plugin layout. */
export type TablesName = 'containerd-v1' | 'containerd-v2' | 'containerd-v3';

/**
 * The ConfigMap key of one handler's runtime tables. Handlers that follow the node's runc cgroup
 * driver have two: `<tables>.<handler>.toml` with `SystemdCgroup = false` and
 * `<tables>.<handler>.systemd.toml` with `true`, so the agent picks a file instead of editing
 * TOML text. (Handler names are DNS-1123 labels: no dots, so no two keys can collide.)
 */
export function handlerTablesKey(name: TablesName, handler: string, systemdCgroup: boolean): string {
  return systemdCgroup ? `${name}.${handler}.systemd.toml` : `${name}.${handler}.toml`;
}

/** The ConfigMap key of one handler's CRI-O table (only handlers with a CRI-O configuration have one). */
export function crioHandlerKey(handler: string): string {
  return `crio.${handler}.conf`;
}

/**
 * A fragment for `handlers` (in the spec's order), assembled from their per-handler tables the
 * way the renderers join them: tables separated by one blank line, the version 3 drop-in
 * prefixed with its `version` line. For every handler of a setup, the result is byte for byte
 * what the renderers give for the whole set. `read` returns a ConfigMap file, undefined when absent.
 *
 * @throws Error naming the missing key when a handler's tables are not in the ConfigMap
 */
export function assembleFragment(
  name: FragmentName, handlers: readonly string[], systemdCgroup: boolean, read: (key: string) => string | undefined,
): string {
  const tablesName: TablesName = name === 'containerd-v3-tables' ? 'containerd-v3' : name;
  const tables = handlers.map((handler) => {
    const systemd = systemdCgroup ? read(handlerTablesKey(tablesName, handler, true)) : undefined;
    return systemd ?? required(handlerTablesKey(tablesName, handler, false), read);
  }).join('\n');
  return name === 'containerd-v3' ? `version = 3\n\n${tables}` : tables;
}

/** The CRI-O drop-in's tables for the `handlers` that have a CRI-O configuration (the others have no key). */
export function assembleCrioFragment(handlers: readonly string[], read: (key: string) => string | undefined): string {
  return handlers.map((handler) => read(crioHandlerKey(handler))).filter((t): t is string => t !== undefined).join('\n');
}

function required(key: string, read: (key: string) => string | undefined): string {
  const text = read(key);
  if (text === undefined) throw new Error(`the ConfigMap has no ${key}: re-synthesize the node setup with this library version`);
  return text;
}

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
  if (spec?.classNodeSelectors !== undefined && (typeof spec.classNodeSelectors !== 'object' || spec.classNodeSelectors === null || !Object.values(spec.classNodeSelectors).every((s) => Array.isArray(s)))) {
    problems.push('classNodeSelectors must map handlers to lists of node selectors');
  }
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}: re-synthesize the node setup with this library version`);
  return spec as InstallerSpec;
}
