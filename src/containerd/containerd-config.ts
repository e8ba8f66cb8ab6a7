import { HandlerConfig, SYSTEMD_CGROUP_PLACEHOLDER } from './handler-config';
import { tomlKeyValue, tomlTableHeader, TomlValue } from './toml';
import {
  assertAbsolutePath, assertBoolean, assertHandlerName, assertStringArray, assertToken, assertUniqueHandlers, withContext,
} from './validation';

/**
 * Which CRI plugin layout a containerd configuration uses:
 *
 * - `1`: config `version = 1` (containerd 1.x), CRI plugin `cri`;
 * - `2`: config `version = 2` (containerd 1.x, still read by 2.x), CRI plugin `io.containerd.grpc.v1.cri`;
 * - `3`: config `version = 3` (containerd 2.0 to 2.2) and `version = 4` (2.3): the runtimes live in
 *   the `io.containerd.cri.v1.runtime` plugin.
 */
export type ContainerdSchema = 1 | 2 | 3;

/** A schema that has a standalone drop-in file (containerd 2.x merges imports per key; 1.x does not). */
export type ContainerdDropInSchema = 2 | 3;

/**
 * The table path that holds the CRI runtimes for `schema`, e.g.
 * `['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']` for schema 2.
 *
 * @throws Error if `schema` is not 1, 2 or 3.
 */
export function criRuntimesPath(schema: ContainerdSchema): string[] {
  // Plugin names from containerd's CRI config docs: `cri` (version 1), `io.containerd.grpc.v1.cri`
  // (version 2); containerd 2.x split the CRI plugin and keeps runtimes in `io.containerd.cri.v1.runtime`.
  switch (schema) {
    case 1:
      return ['plugins', 'cri', 'containerd', 'runtimes'];
    case 2:
      return ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes'];
    case 3:
      return ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes'];
    default:
      throw new Error(`Unknown containerd config schema ${JSON.stringify(schema)}: expected 1, 2 or 3 (use 3 for config version 4)`);
  }
}

/**
 * Renders one `[<runtimes>.<handler>]` table (and its `.options` table) per handler, for the
 * CRI plugin layout of `schema`. Only the tables: no `version` line, so the installer can
 * place them inside marker comments of a containerd 1.x `config.toml`.
 *
 * Output is deterministic: handlers in the given order, keys in a fixed order, options in
 * their given order, one blank line between tables and exactly one trailing newline.
 *
 * @throws Error if the list is empty, a handler name repeats, or a handler is invalid
 *   (handler not a DNS-1123 label, empty `runtimeType`, relative `runtimePath`, an option
 *   value that is not a string, boolean or integer, ...).
 */
export function renderContainerdRuntimeTables(handlers: readonly HandlerConfig[], schema: ContainerdSchema, options: RenderOptions = {}): string {
  const runtimesPath = criRuntimesPath(schema);
  if (!Array.isArray(handlers) || handlers.length === 0) {
    throw new Error('containerd runtime tables: at least one handler is required');
  }
  handlers.forEach(validateHandler);
  assertUniqueHandlers(handlers.map((h) => h.handler), 'containerd runtime tables');

  const tables = handlers.flatMap((handler) => renderHandler(handler, runtimesPath, options.systemdCgroup));
  return tables.join('\n');
}

/**
 * Renders a complete standalone containerd configuration file: `version = 2` (or `3`) followed
 * by the runtime tables. The installer writes it as a drop-in on containerd 2.x nodes.
 *
 * Never use it as a drop-in on containerd 1.x: 1.x imports replace a plugin's whole table, so
 * a file holding only the new runtimes would drop runc (see DESIGN.md, "Traps").
 *
 * @throws Error if `schema` is not 2 or 3, or for the reasons of {@link renderContainerdRuntimeTables}.
 */
export function renderContainerdDropIn(handlers: readonly HandlerConfig[], schema: ContainerdDropInSchema, options: RenderOptions = {}): string {
  if (schema !== 2 && schema !== 3) {
    throw new Error(`containerd drop-in: schema must be 2 or 3, got ${JSON.stringify(schema)} (version 1 files cannot be drop-ins)`);
  }
  return `version = ${schema}\n\n${renderContainerdRuntimeTables(handlers, schema, options)}`;
}

function validateHandler(config: HandlerConfig): void {
  if (config === null || typeof config !== 'object') {
    throw new Error(`containerd runtime tables: handler config expected, got ${JSON.stringify(config)}`);
  }
  assertHandlerName(config.handler, 'containerd handler');
  const context = `containerd handler ${JSON.stringify(config.handler)}`;
  assertToken(config.runtimeType, 'runtimeType (containerd runtime_type)', context);
  if (config.runtimePath !== undefined) {
    assertAbsolutePath(config.runtimePath, 'runtimePath (containerd runtime_path)', context);
  }
  if (config.privilegedWithoutHostDevices !== undefined) {
    assertBoolean(config.privilegedWithoutHostDevices, 'privilegedWithoutHostDevices', context);
  }
  if (config.podAnnotations !== undefined) {
    assertStringArray(config.podAnnotations, 'podAnnotations', context);
  }
  if (config.containerAnnotations !== undefined) {
    assertStringArray(config.containerAnnotations, 'containerAnnotations', context);
  }
  if (config.snapshotter !== undefined) {
    assertToken(config.snapshotter, 'snapshotter', context);
  }
  if (config.systemdCgroupFromNode !== undefined) {
    assertBoolean(config.systemdCgroupFromNode, 'systemdCgroupFromNode', context);
  }
  if (config.options !== undefined && (config.options === null || typeof config.options !== 'object' || Array.isArray(config.options))) {
    throw new Error(`${context}: options must be an object of option name to value, got ${JSON.stringify(config.options)}`);
  }
  for (const [key, value] of Object.entries(config.options ?? {})) {
    if (key.trim() === '') {
      throw new Error(`${context}: option names must not be empty or blank`);
    }
    // containerd decodes `options` into the shim's typed options struct: scalars only.
    const kind: string = typeof value;
    if (kind !== 'string' && kind !== 'boolean' && kind !== 'number') {
      throw new Error(`${context} option ${JSON.stringify(key)}: must be a string, boolean or integer, got ${JSON.stringify(value)}`);
    }
    // Two `SystemdCgroup` keys in one table is invalid TOML: the node's value wins, so refuse ours.
    if (config.systemdCgroupFromNode && key === 'SystemdCgroup') {
      throw new Error(`${context}: set either options.SystemdCgroup or systemdCgroupFromNode, not both`);
    }
  }
}

/** Options of the renderers. */
export interface RenderOptions {
  /**
   * The node's runc `SystemdCgroup`, written for handlers with `systemdCgroupFromNode`. The node
   * setup renders both values and the node agent picks one; left out, the placeholder is written.
   */
  readonly systemdCgroup?: boolean;
}

/** The handler's tables, each ending with a newline. */
function renderHandler(config: HandlerConfig, runtimesPath: readonly string[], systemdCgroup: boolean | undefined): string[] {
  const context = `containerd handler ${JSON.stringify(config.handler)}`;
  const tablePath = [...runtimesPath, config.handler];

  const lines = [tomlTableHeader(tablePath), keyValue('runtime_type', config.runtimeType, context)];
  if (config.runtimePath !== undefined) {
    lines.push(keyValue('runtime_path', config.runtimePath, context));
  }
  if (config.privilegedWithoutHostDevices !== undefined) {
    lines.push(keyValue('privileged_without_host_devices', config.privilegedWithoutHostDevices, context));
  }
  if (config.podAnnotations !== undefined) {
    lines.push(keyValue('pod_annotations', config.podAnnotations, context));
  }
  if (config.containerAnnotations !== undefined) {
    lines.push(keyValue('container_annotations', config.containerAnnotations, context));
  }
  if (config.snapshotter !== undefined) {
    lines.push(keyValue('snapshotter', config.snapshotter, context));
  }
  const tables = [lines.join('\n') + '\n'];

  const optionLines = Object.entries(config.options ?? {}).map(([key, value]) => keyValue(key, value, `${context} option`));
  if (config.systemdCgroupFromNode) {
    optionLines.push(`SystemdCgroup = ${systemdCgroup ?? SYSTEMD_CGROUP_PLACEHOLDER}`);
  }
  if (optionLines.length > 0) {
    tables.push([tomlTableHeader([...tablePath, 'options']), ...optionLines].join('\n') + '\n');
  }
  return tables;
}

/** `key = value`, with the handler and key named in any error. */
function keyValue(key: string, value: TomlValue, context: string): string {
  return withContext(`${context} ${JSON.stringify(key)}`, () => tomlKeyValue(key, value));
}
