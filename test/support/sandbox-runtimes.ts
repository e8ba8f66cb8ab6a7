/**
 * What the gVisor and crun tests need beyond containerd, and how they are gated: on a machine
 * without it the suite is skipped with the reason; under `CI` a missing prerequisite fails it.
 *
 * - gVisor: Debian's `runsc` (`apt-get install runsc`) and gVisor's containerd shim
 *   `containerd-shim-runsc-v1`, which Debian does not package: a build of it lies in
 *   `../shared/tools/gvisor/` beside the repository (`GVISOR_SHIM` names another one).
 * - crun: Debian's `crun` (`apt-get install crun`).
 *
 * Also the hand-written containerd tables and `runsc.toml` the tests and benchmarks use, as in
 * `../shared/tools/gvisor/README.md`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inCi } from './ci';
import { containerdUnavailableReason, CRI_PLUGIN_V1 } from './containerd';

/** gVisor's containerd shim used by the tests. */
export const GVISOR_SHIM = process.env.GVISOR_SHIM
  ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'gvisor', 'containerd-shim-runsc-v1');

/** Debian's runsc. */
export const RUNSC = '/usr/bin/runsc';

/** Where a node keeps the shim (containerd finds it on its PATH by the runtime type's name). */
export const NODE_GVISOR_SHIM_PATH = '/usr/local/bin/containerd-shim-runsc-v1';

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(bin: string): string | undefined {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').map(d => path.join(d, bin)).find(executable);
}

/** Why gVisor pods cannot run here, or `undefined`. */
export function gvisorUnavailableReason(): string | undefined {
  const containerd = containerdUnavailableReason();
  if (containerd) return containerd;
  if (!executable(RUNSC)) return `${RUNSC} is missing (apt-get install -y runsc)`;
  if (!executable(GVISOR_SHIM)) {
    return `gVisor's containerd shim is missing at ${GVISOR_SHIM} (Debian does not package it: `
      + 'see ../shared/tools/gvisor/README.md beside the repository, or set GVISOR_SHIM to a build of it)';
  }
  return undefined;
}

/** Why runsc cannot be run here (it needs root), or `undefined`. */
export function runscUnavailableReason(): string | undefined {
  if (!executable(RUNSC)) return `${RUNSC} is missing (apt-get install -y runsc)`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (runsc do needs root)';
  return undefined;
}

/** Why crun pods cannot run here, or `undefined`. */
export function crunUnavailableReason(): string | undefined {
  return containerdUnavailableReason() ?? (onPath('crun') ? undefined : 'crun is missing (apt-get install -y crun)');
}

/**
 * `describe` gated on `reason()`: skipped with a console message when it gives a reason, unless
 * `CI` is set (then the suite runs, and `assertAvailable(reason)` in `beforeAll` fails it with
 * the reason).
 */
export function describeIfAvailable(name: string, reason: () => string | undefined, fn: () => void): void {
  const why = reason();
  if (why && !inCi()) {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": ${why}. Set CI=1 to make this a failure.`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}

/** Throw with the reason if `reason()` gives one. */
export function assertAvailable(reason: () => string | undefined): void {
  const why = reason();
  if (why) throw new Error(`prerequisite missing: ${why}`);
}

const CRI = `plugins."${CRI_PLUGIN_V1}"`;

/** A handler table for gVisor's shim reading `configPath` (a `runsc.toml` path on the node). */
export function gvisorHandlerTable(handler: string, configPath: string): string {
  return [
    `[${CRI}.containerd.runtimes.${handler}]`,
    '  runtime_type = "io.containerd.runsc.v1"',
    `[${CRI}.containerd.runtimes.${handler}.options]`,
    '  TypeUrl = "io.containerd.runsc.v1.options"',
    `  ConfigPath = ${JSON.stringify(configPath)}`,
    '',
  ].join('\n');
}

/** A runc-shim handler table running `binaryName` (crun, a wrapper...). */
export function runcShimHandlerTable(handler: string, binaryName: string): string {
  return [
    `[${CRI}.containerd.runtimes.${handler}]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${CRI}.containerd.runtimes.${handler}.options]`,
    `  BinaryName = ${JSON.stringify(binaryName)}`,
    '  SystemdCgroup = false',
    '',
  ].join('\n');
}

/**
 * A `runsc.toml` for the shim: Debian's runsc, `ptrace` (the platform it knows that runs without
 * KVM) and no sandbox network (host-network pods fail with the default one: "cannot run with
 * network enabled in root network namespace").
 */
export function runscToml(flags: Record<string, string> = {}): string {
  const all: Record<string, string> = { network: 'none', platform: 'ptrace', ...flags };
  return [
    `binary_name = ${JSON.stringify(RUNSC)}`,
    '[runsc_config]',
    ...Object.keys(all).sort().map(k => `  ${k} = ${JSON.stringify(all[k])}`),
    '',
  ].join('\n');
}
