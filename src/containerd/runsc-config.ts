import { tomlKeyValue, tomlTableHeader } from './toml';
import { assertAbsolutePath, assertToken, withContext } from './validation';

/** What goes into gVisor's containerd shim configuration file (`runsc.toml`). */
export interface RunscTomlOptions {
  /** `binary_name`: the runsc binary the shim runs (a name on the shim's PATH or an absolute path). @default the shim's default */
  readonly binaryName?: string;
  /** `root`: runsc's root directory for container state (absolute). @default the shim's default */
  readonly root?: string;
  /** `log_path`: where the shim logs; `%ID%` is replaced with the container ID (absolute). @default no shim log file */
  readonly logPath?: string;
  /** `log_level`: the shim's log level, e.g. `debug`, `info`, `warning`. @default the shim's default */
  readonly logLevel?: string;
  /** `[runsc_config]`: runsc flags without the leading `--`, e.g. `{ platform: 'systrap' }` becomes `--platform=systrap`. */
  readonly runscFlags: { readonly [flag: string]: string };
}

// Flag names as runsc spells them (lowercase words joined by "-"), see `runsc flags`.
const RUNSC_FLAG_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Renders `runsc.toml`, the file containerd passes to `containerd-shim-runsc-v1` through the
 * handler's `ConfigPath` option.
 *
 * Top-level keys `binary_name`, `root`, `log_path` and `log_level` are written when set, then a
 * `[runsc_config]` table with each flag, sorted by name so the output is deterministic. Flag
 * values are written as TOML strings because the shim reads `runsc_config` as a map of strings
 * (gVisor `pkg/shim/options.go`: `RunscConfig map[string]string`). The table is left out when
 * there are no flags; an empty result is the empty string.
 *
 * @throws Error for a flag name outside `^[a-z0-9][a-z0-9-]*$`, a flag value that is not a
 *   string, relative `root`/`logPath`, or empty `binaryName`/`logLevel`.
 */
export function renderRunscToml(options: RunscTomlOptions): string {
  const context = 'runsc.toml';
  if (options === null || typeof options !== 'object') {
    throw new Error(`${context}: options expected, got ${JSON.stringify(options)}`);
  }
  const flags = options.runscFlags;
  if (flags === null || typeof flags !== 'object' || Array.isArray(flags)) {
    throw new Error(`${context}: runscFlags must be an object of flag name to value, got ${JSON.stringify(flags)}`);
  }

  // Key names from gVisor pkg/shim/options.go (toml tags binary_name, root, log_path, log_level).
  const topLevel: string[] = [];
  if (options.binaryName !== undefined) {
    assertToken(options.binaryName, 'binaryName (binary_name)', context);
    topLevel.push(tomlKeyValue('binary_name', options.binaryName));
  }
  if (options.root !== undefined) {
    assertAbsolutePath(options.root, 'root', context);
    topLevel.push(tomlKeyValue('root', options.root));
  }
  if (options.logPath !== undefined) {
    assertAbsolutePath(options.logPath, 'logPath (log_path)', context);
    topLevel.push(tomlKeyValue('log_path', options.logPath));
  }
  if (options.logLevel !== undefined) {
    assertToken(options.logLevel, 'logLevel (log_level)', context);
    topLevel.push(tomlKeyValue('log_level', options.logLevel));
  }

  // Plain code-unit order, not localeCompare: the same bytes whatever the machine's locale.
  const flagNames = Object.keys(flags).sort();
  const flagLines = flagNames.map((flag) => {
    if (!RUNSC_FLAG_NAME.test(flag)) {
      throw new Error(
        `${context}: runsc flag name ${JSON.stringify(flag)} is invalid: use lowercase letters, digits and "-", `
        + 'starting with a letter or digit, without the leading "--" (e.g. "platform", "overlay2")',
      );
    }
    const value: unknown = flags[flag];
    if (typeof value !== 'string') {
      throw new Error(`${context}: runsc flag ${JSON.stringify(flag)} must have a string value (the shim reads strings), got ${JSON.stringify(value)}`);
    }
    return withContext(`${context}: runsc flag ${JSON.stringify(flag)}`, () => tomlKeyValue(flag, value));
  });

  const sections: string[] = [];
  if (topLevel.length > 0) {
    sections.push(topLevel.join('\n') + '\n');
  }
  if (flagLines.length > 0) {
    sections.push([tomlTableHeader(['runsc_config']), ...flagLines].join('\n') + '\n');
  }
  return sections.join('\n');
}
