// The flags runsc knows, as `runsc flags` of gVisor releases 20221219.0 (Debian 12's runsc) and
// 20240729.0 (Debian's newer package) print them: each flag's kind of value, the releases that
// have it when only one does, and runsc's own deprecation note. Used to check `runscFlags` at synth.
// (Go prints a flag whose usage quotes a word in backquotes with that word as its value name:
// net-raw, metric-server and nvproxy-docker were typed from their usage text.)

/** What a flag's value must be. */
type FlagKind = 'bool' | 'text' | 'int' | 'uint' | 'duration';

interface RunscFlag {
  readonly kind: FlagKind;
  /** The releases that have the flag, when not all of them do. */
  readonly releases?: readonly string[];
  /** runsc's own words, when it deprecates the flag. */
  readonly deprecated?: string;
}

/** The gVisor releases whose flags are known here. */
export const KNOWN_RUNSC_RELEASES = ['20221219.0', '20240729.0'];

const FLAGS: { readonly [name: string]: RunscFlag } = {
  'EXPERIMENTAL-afxdp': { kind: 'bool', releases: ['20221219.0'] },
  'EXPERIMENTAL-xdp': { kind: 'text', releases: ['20240729.0'] },
  'EXPERIMENTAL-xdp-need-wakeup': { kind: 'bool', releases: ['20240729.0'] },
  'TESTONLY-afs-syscall-panic': { kind: 'bool', releases: ['20240729.0'] },
  'TESTONLY-allow-packet-endpoint-write': { kind: 'bool' },
  'TESTONLY-autosave-image-path': { kind: 'text', releases: ['20240729.0'] },
  'TESTONLY-autosave-resume': { kind: 'bool', releases: ['20240729.0'] },
  'TESTONLY-test-name-env': { kind: 'text' },
  'TESTONLY-unsafe-nonroot': { kind: 'bool' },
  'allow-flag-override': { kind: 'bool' },
  'alsologtostderr': { kind: 'bool' },
  'app-huge-pages': { kind: 'bool', releases: ['20240729.0'] },
  'buffer-pooling': { kind: 'bool', deprecated: 'this flag has no effect. Buffer pooling is always enabled.' },
  'cgroupfs': { kind: 'bool' },
  'coverage-fd': { kind: 'int' },
  'coverage-report': { kind: 'text' },
  'cpu-num-from-quota': { kind: 'bool' },
  'dcache': { kind: 'int' },
  'debug': { kind: 'bool' },
  'debug-command': { kind: 'text' },
  'debug-log': { kind: 'text' },
  'debug-log-fd': { kind: 'int' },
  'debug-log-format': { kind: 'text' },
  'debug-to-user-log': { kind: 'bool', releases: ['20240729.0'] },
  'directfs': { kind: 'bool', releases: ['20240729.0'] },
  'enable-core-tags': { kind: 'bool' },
  'fdlimit': { kind: 'int' },
  'file-access': { kind: 'text' },
  'file-access-mounts': { kind: 'text' },
  'fsgofer-host-uds': { kind: 'bool', deprecated: 'use host-uds=all' },
  'fuse': { kind: 'bool', deprecated: 'this flag has no effect.' },
  'gso': { kind: 'bool' },
  'gvisor-gro': { kind: 'text' },
  'host-fifo': { kind: 'text' },
  'host-uds': { kind: 'text' },
  'ignore-cgroups': { kind: 'bool' },
  'iouring': { kind: 'bool', releases: ['20240729.0'] },
  'lisafs': { kind: 'bool', deprecated: 'this flag has no effect.' },
  'log': { kind: 'text' },
  'log-fd': { kind: 'int' },
  'log-format': { kind: 'text' },
  'log-packets': { kind: 'bool' },
  'metric-server': { kind: 'text', releases: ['20240729.0'] },
  'net-disconnect-ok': { kind: 'bool', releases: ['20240729.0'] },
  'net-raw': { kind: 'bool' },
  'network': { kind: 'text' },
  'network-processors-per-channel': { kind: 'int', releases: ['20240729.0'] },
  'num-network-channels': { kind: 'int' },
  'nvproxy': { kind: 'bool', releases: ['20240729.0'] },
  'nvproxy-docker': { kind: 'bool', releases: ['20240729.0'], deprecated: 'use nvidia-container-runtime or docker run --gpus directly. Or manually add nvidia-container-runtime-hook as a prestart hook and set up NVIDIA_VISIBLE_DEVICES container environment variable.' },
  'nvproxy-driver-version': { kind: 'text', releases: ['20240729.0'] },
  'oci-seccomp': { kind: 'bool' },
  'overlay': { kind: 'bool', deprecated: 'use --overlay2=all:memory to achieve the same effect' },
  'overlay2': { kind: 'text' },
  'panic-log': { kind: 'text' },
  'panic-log-fd': { kind: 'int' },
  'panic-signal': { kind: 'int' },
  'pcap-log': { kind: 'text' },
  'platform': { kind: 'text' },
  'platform_device_path': { kind: 'text' },
  'pod-init-config': { kind: 'text' },
  'profile': { kind: 'bool' },
  'profile-block': { kind: 'text' },
  'profile-cpu': { kind: 'text' },
  'profile-heap': { kind: 'text' },
  'profile-mutex': { kind: 'text' },
  'profiling-metrics': { kind: 'text', releases: ['20240729.0'] },
  'profiling-metrics-log': { kind: 'text', releases: ['20240729.0'] },
  'profiling-metrics-rate-us': { kind: 'int', releases: ['20240729.0'] },
  'qdisc': { kind: 'text' },
  'ref-leak-mode': { kind: 'text' },
  'reproduce-nat': { kind: 'bool', releases: ['20240729.0'] },
  'reproduce-nftables': { kind: 'bool', releases: ['20240729.0'] },
  'root': { kind: 'text' },
  'rootless': { kind: 'bool' },
  'rx-checksum-offload': { kind: 'bool' },
  'software-gso': { kind: 'bool' },
  'strace': { kind: 'bool' },
  'strace-event': { kind: 'bool' },
  'strace-log-size': { kind: 'uint' },
  'strace-syscalls': { kind: 'text' },
  'systemd-cgroup': { kind: 'bool' },
  'tpuproxy': { kind: 'bool', releases: ['20240729.0'] },
  'trace': { kind: 'text' },
  'traceback': { kind: 'text' },
  'tx-checksum-offload': { kind: 'bool' },
  'version': { kind: 'bool' },
  'vfs2': { kind: 'bool', deprecated: 'this flag has no effect.' },
  'watchdog-action': { kind: 'text' },
};

/**
 * What is wrong with setting runsc flag `name` to `value` (undefined: nothing). `checkNames`
 * false: an unknown or deprecated name passes (a newer runsc), its value is not checked.
 */
export function runscFlagProblem(name: string, value: string, checkNames: boolean): string | undefined {
  const flag = FLAGS[name];
  const releases = `runsc releases ${KNOWN_RUNSC_RELEASES.join(' and ')}`;
  const optOut = 'or, for a flag of a newer runsc, set allowUncheckedRunscFlags: true';
  if (flag === undefined) {
    if (!checkNames) return undefined;
    const near = nearestFlag(name);
    return `"${name}" is not a flag of ${releases}${near ? `: did you mean "${near}"?` : ''} Fix the name (\`runsc flags\` lists them), ${optOut}`;
  }
  if (flag.deprecated !== undefined && checkNames) {
    const replacement = /--?([a-z0-9-]+)/.exec(flag.deprecated)?.[1] ?? /use ([a-z0-9-]+)=/.exec(flag.deprecated)?.[1];
    return `"${name}" is deprecated in runsc ("${flag.deprecated}")${replacement ? `: did you mean "${replacement}"?` : ': remove it'} Fix the name, ${optOut}`;
  }
  const valueProblem = VALUE_CHECKS[flag.kind](value);
  if (valueProblem) return `"${name}" = "${value}": ${valueProblem} (runsc would refuse --${name}=${value} and no pod of the class would start)`;
  return undefined;
}

const VALUE_CHECKS: { readonly [kind in FlagKind]: (value: string) => string | undefined } = {
  bool: (v) => (/^(true|false|1|0|t|f|TRUE|FALSE|True|False|T|F)$/.test(v) ? undefined : 'it is a boolean flag: give "true" or "false"'),
  text: () => undefined,
  int: (v) => (/^[+-]?[0-9]+$/.test(v) ? undefined : 'it takes a whole number'),
  uint: (v) => (/^\+?[0-9]+$/.test(v) ? undefined : 'it takes a whole number of 0 or more'),
  duration: (v) => (/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$/.test(v) ? undefined : 'it takes a Go duration such as "30s"'),
};

/** The known flag nearest to `name` (at most 3 edits away), if any. */
function nearestFlag(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of Object.keys(FLAGS)) {
    // A deprecated flag is suggested only when it is much nearer than any other.
    const distance = editDistance(name, known) + (FLAGS[known].deprecated !== undefined ? 2 : 0);
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = row;
  }
  return previous[b.length];
}
