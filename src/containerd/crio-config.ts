import { HandlerConfig } from './handler-config';
import { tomlKeyValue, tomlTableHeader, TomlValue } from './toml';
import {
  assertAbsolutePath, assertBoolean, assertHandlerName, assertStringArray, assertUniqueHandlers, withContext,
} from './validation';

// The runtime types crio.conf(5) documents for `runtime_type` (cri-o docs/crio.conf.5.md).
const CRIO_RUNTIME_TYPES: readonly string[] = ['oci', 'vm'];

/**
 * Renders a CRI-O drop-in (for `/etc/crio/crio.conf.d/`) with one
 * `[crio.runtime.runtimes.<handler>]` table per handler that has a {@link HandlerConfig.crio} entry.
 *
 * Handlers without `crio` are skipped: whether that is an error is the caller's decision.
 * Returns an empty string when no handler has a `crio` entry. Keys follow crio.conf(5):
 * `runtime_path`, `runtime_type`, `runtime_root`, `runtime_config_path`,
 * `privileged_without_host_devices`, `allowed_annotations`. Output is deterministic, with one
 * blank line between tables and exactly one trailing newline.
 *
 * @throws Error if a handler name repeats or a CRI-O entry is invalid (handler not a DNS-1123
 *   label, relative paths, `runtimeType` other than `oci` or `vm`, ...).
 */
export function renderCrioDropIn(handlers: readonly HandlerConfig[]): string {
  if (!Array.isArray(handlers)) {
    throw new Error('CRI-O drop-in: a list of handlers is required');
  }
  const crioHandlers = handlers.filter((config) => config?.crio !== undefined);
  crioHandlers.forEach(validateCrioHandler);
  assertUniqueHandlers(crioHandlers.map((config) => config.handler), 'CRI-O drop-in');

  return crioHandlers.map(renderCrioHandler).join('\n');
}

function validateCrioHandler(config: HandlerConfig): void {
  assertHandlerName(config.handler, 'CRI-O handler');
  const context = `CRI-O handler ${JSON.stringify(config.handler)}`;
  const crio = config.crio;
  if (crio === null || typeof crio !== 'object') {
    throw new Error(`${context}: crio must be an object, got ${JSON.stringify(crio)}`);
  }
  assertAbsolutePath(crio.runtimePath, 'crio.runtimePath (runtime_path)', context);
  if (typeof crio.runtimeType !== 'string' || !CRIO_RUNTIME_TYPES.includes(crio.runtimeType)) {
    throw new Error(
      `${context}: crio.runtimeType (runtime_type) must be one of ${CRIO_RUNTIME_TYPES.map((t) => JSON.stringify(t)).join(', ')}, `
      + `got ${JSON.stringify(crio.runtimeType)}`,
    );
  }
  if (crio.runtimeRoot !== undefined) {
    assertAbsolutePath(crio.runtimeRoot, 'crio.runtimeRoot (runtime_root)', context);
  }
  if (crio.runtimeConfigPath !== undefined) {
    assertAbsolutePath(crio.runtimeConfigPath, 'crio.runtimeConfigPath (runtime_config_path)', context);
  }
  if (crio.privilegedWithoutHostDevices !== undefined) {
    assertBoolean(crio.privilegedWithoutHostDevices, 'crio.privilegedWithoutHostDevices', context);
  }
  if (crio.allowedAnnotations !== undefined) {
    assertStringArray(crio.allowedAnnotations, 'crio.allowedAnnotations', context);
  }
}

/** One handler's table, ending with a newline. */
function renderCrioHandler(config: HandlerConfig): string {
  const crio = config.crio!;
  const context = `CRI-O handler ${JSON.stringify(config.handler)}`;
  const entries: Array<[string, TomlValue | undefined]> = [
    ['runtime_path', crio.runtimePath],
    ['runtime_type', crio.runtimeType],
    ['runtime_root', crio.runtimeRoot],
    ['runtime_config_path', crio.runtimeConfigPath],
    ['privileged_without_host_devices', crio.privilegedWithoutHostDevices],
    ['allowed_annotations', crio.allowedAnnotations],
  ];
  const lines = [tomlTableHeader(['crio', 'runtime', 'runtimes', config.handler])];
  for (const [key, value] of entries) {
    if (value !== undefined) {
      lines.push(withContext(`${context} ${JSON.stringify(key)}`, () => tomlKeyValue(key, value)));
    }
  }
  return lines.join('\n') + '\n';
}
