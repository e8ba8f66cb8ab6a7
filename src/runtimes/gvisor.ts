import { Construct } from 'constructs';
import { GVISOR_HANDLERS, GVISOR_HOST_NETWORK_ANNOTATION, familyLimits } from './handler-limits';
import { preinstalled } from './preinstalled';
import { runscFlagProblem } from './runsc-flags';
import { presetArtifacts, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';
import { renderRunscToml } from '../containerd/runsc-config';
import { PodOverhead } from '../core/overhead';
import { describeValue, enumProblem } from '../core/values';
import { CpuArchitecture, RuntimeArtifacts } from '../node-setup/artifacts';

/** How gVisor's Sentry intercepts system calls. */
export enum GvisorPlatform {
  /** seccomp-based; gVisor's default since release-20230621.0, works on any node (VMs included); runsc knows it from release-20230227.0 on. */
  SYSTRAP = 'systrap',
  /** Hardware virtualization; needs `/dev/kvm` (bare metal or nested virtualization). */
  KVM = 'kvm',
  /** ptrace-based; the slowest, for nodes whose runsc predates systrap (e.g. Debian 12's) and have no KVM. */
  PTRACE = 'ptrace',
}

/** The sha512 of each file of a gVisor release, per architecture (from `<file>.sha512`). */
export interface GvisorReleaseChecksums {
  /** sha512 of `x86_64/runsc`. @default - no amd64 artifacts */
  readonly runscAmd64?: string;
  /** sha512 of `x86_64/containerd-shim-runsc-v1`. @default - no amd64 artifacts */
  readonly shimAmd64?: string;
  /** sha512 of `aarch64/runsc`. @default - no arm64 artifacts */
  readonly runscArm64?: string;
  /** sha512 of `aarch64/containerd-shim-runsc-v1`. @default - no arm64 artifacts */
  readonly shimArm64?: string;
}

/** Facts about gVisor on a node (gVisor's containerd shim and runsc). */
const GVISOR = {
  handler: 'runsc',
  runtimeType: 'io.containerd.runsc.v1',
  /** The shim reads `runsc.toml` when given this options type. */
  typeUrl: 'io.containerd.runsc.v1.options',
  runscPath: '/usr/local/bin/runsc',
  /** containerd finds the shim on its PATH from the runtime type's name. */
  shimPath: '/usr/local/bin/containerd-shim-runsc-v1',
  /**
   * Per-pod overhead, also the least accepted without `allowOverheadBelowMinimum`. Measured by
   * benchmark/gvisor-overhead.ts (README, gVisor): a pod took at most 19.8 MiB (p95) over what its
   * one container uses under runc, 25.9 MiB with a second, idle container, and under 1 millicore
   * idle. The memory keeps 2.5x margin for what was not measured (gVisor's own network stack,
   * systrap, more containers); the CPU is a floor for scheduling.
   */
  overhead: { cpu: '10m', memory: '64Mi' },
  /**
   * Seen with CRI-O 1.34.11 running runsc as a plain OCI runtime (test/support/README.md): pod
   * sandboxes ran, app containers never started, with runsc 20221219 and 20240729 alike.
   */
  crioUnsupported: 'CRI-O runs runsc as a plain OCI runtime (no gVisor shim, no runsc.toml, so none of the class\'s runsc flags), '
    + 'and under CRI-O 1.34 with runsc 20221219 and 20240729 the pod sandbox started but app containers did not '
    + '(StartContainer hung; runsc reported "failed to load /bin/busybox" for the sub-container). '
    + 'Run gVisor on containerd nodes with gVisor\'s shim: a NodeSetup with distribution KubernetesDistribution.CONTAINERD (or AUTO) there',
} as const;

/**
 * Properties of a gVisor runtime.
 *
 * @example
 * const props: GvisorRuntimeProps = {
 *   name: 'gvisor-kvm',
 *   platform: GvisorPlatform.KVM,
 *   runscFlags: { overlay2: 'root:self' },
 * };
 * new GvisorRuntime(chart, 'gvisor-kvm', props);
 */
export interface GvisorRuntimeProps extends RuntimePresetOptions {
  /** The syscall interception platform. @default GvisorPlatform.SYSTRAP */
  readonly platform?: GvisorPlatform;
  /**
   * Use the host's network stack instead of gVisor's netstack (runsc `--network=host`). Only then
   * may pinned pods set `hostNetwork: true`.
   * @default false
   */
  readonly hostNetworking?: boolean;
  /**
   * Other runsc flags, without the leading dashes (e.g. `{ 'overlay2': 'root:self' }`). `platform`
   * and `network` are set by the typed options above and may not be repeated here.
   * @default - none
   */
  readonly runscFlags?: { [flag: string]: string };
  /** Absolute path of the `runsc` binary on the node. @default /usr/local/bin/runsc */
  readonly runscPath?: string;
  /**
   * Accept `runscFlags` names this library does not know (a flag of a runsc newer than the
   * releases it knows) and deprecated ones. Values of known flags are checked all the same.
   * @default false
   */
  readonly allowUncheckedRunscFlags?: boolean;
}

/**
 * gVisor: an application kernel (the Sentry) between the pod and the host kernel. Handler
 * `runsc`, configured through a `runsc.toml` that this runtime renders.
 *
 * @example
 * // A RuntimeClass "runsc" and the DaemonSet that installs gVisor and its runsc.toml.
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * gvisor.pin(new kplus.Deployment(chart, 'renderer', { containers: [{ image: 'ghcr.io/example/renderer:1.0' }] }));
 */
export class GvisorRuntime extends SandboxedRuntime {
  /**
   * Artifacts that download a gVisor release (runsc and its containerd shim) for each
   * architecture given, each checked against its sha512 (gVisor publishes `<file>.sha512`
   * next to each file).
   * @param release the release, e.g. "20251110.0"
   */
  public static releaseArtifacts(release: string, checksums: GvisorReleaseChecksums): RuntimeArtifacts[] {
    const base = `https://storage.googleapis.com/gvisor/releases/release/${release}`;
    const artifacts: RuntimeArtifacts[] = [];
    const add = (arch: CpuArchitecture, folder: string, runsc: string | undefined, shim: string | undefined) => {
      if (runsc === undefined || shim === undefined) return;
      artifacts.push(RuntimeArtifacts.fromUrl(`${base}/${folder}/runsc`, runsc, { destination: GVISOR.runscPath, architecture: arch }));
      artifacts.push(RuntimeArtifacts.fromUrl(`${base}/${folder}/containerd-shim-runsc-v1`, shim, { destination: GVISOR.shimPath, architecture: arch }));
    };
    add(CpuArchitecture.AMD64, 'x86_64', checksums.runscAmd64, checksums.shimAmd64);
    add(CpuArchitecture.ARM64, 'aarch64', checksums.runscArm64, checksums.shimArm64);
    if (artifacts.length === 0) {
      throw new Error(`GvisorRuntime.releaseArtifacts("${release}"): give the sha512 of runsc and of the shim for at least one architecture`);
    }
    return artifacts;
  }

  /** The default overhead, measured with real gVisor pods (see the README), and the least this library accepts without an opt-out. */
  public static defaultOverhead(): PodOverhead {
    return PodOverhead.of(GVISOR.overhead);
  }

  /** The platform. */
  public readonly platform: GvisorPlatform;
  /** The runsc flags written to `runsc.toml` (typed options and `runscFlags`), keys sorted. */
  public readonly runscFlags: { [flag: string]: string };
  /** Absolute path of the shim configuration (`runsc.toml`) on the node. */
  public readonly configPath: string;
  /** Absolute path of the `runsc` binary on the node. */
  public readonly runscPath: string;


  public constructor(scope: Construct, id: string, props: GvisorRuntimeProps = {}) {
    const platform = props.platform ?? GvisorPlatform.SYSTRAP;
    const name = props.name ?? props.metadata?.name ?? GVISOR.handler;
    // One runsc.toml per class, so a systrap class and a kvm class can live on one node.
    const configPath = name === GVISOR.handler ? '/etc/containerd/runsc.toml' : `/etc/containerd/runsc-${name}.toml`;
    const runscPath = props.runscPath ?? GVISOR.runscPath;
    const runscFlags = mergeFlags(platform, props);
    super(scope, id, {
      ...props,
      displayName: `gVisor (${platform})`,
      // The handler carries the class's own runsc.toml, so a renamed class gets its own handler.
      handler: name,
      minimumOverhead: GvisorRuntime.defaultOverhead(),
      requiresKvm: platform === GvisorPlatform.KVM,
      artifacts: presetArtifacts(props, () => preinstalled(runscPath, GVISOR.shimPath)),
      hostFiles: runscTomlFor(configPath, runscPath, runscFlags),
      containerd: {
        runtimeType: GVISOR.runtimeType,
        options: { TypeUrl: GVISOR.typeUrl, ConfigPath: configPath },
      },
      // No CRI-O table: see GVISOR.crioUnsupported.
      limits: { ...familyLimits(GVISOR_HANDLERS), allowHostNetwork: props.hostNetworking ?? false },
      // Tells readers of the YAML (the report) that this class's pods may use the node's network.
      metadata: props.hostNetworking
        ? { ...props.metadata, annotations: { ...props.metadata?.annotations, [GVISOR_HOST_NETWORK_ANNOTATION]: 'true' } }
        : props.metadata,
    });
    if (name !== GVISOR.handler) {
      this.runtimeClass._handlerSource = `${props.name !== undefined ? 'name' : 'metadata.name'}: a renamed gVisor class uses its name as its handler; choose a name without dots`;
    }
    this.nodeSetup?._addRunscCheck(name, { binary: runscPath, flags: runscFlags });
    this.platform = platform;
    this.configPath = configPath;
    this.runscPath = runscPath;
    this.runscFlags = runscFlags;

    const userFlags = props.runscFlags ?? {};
    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        for (const [flag, owner] of [['platform', 'platform: GvisorPlatform.*'], ['network', 'hostNetworking']]) {
          if (flag in userFlags) problems.push(`runscFlags.${flag} = "${userFlags[flag]}" repeats a typed option: set it with ${owner} instead`);
        }
        const wrongPlatform = enumProblem(GvisorPlatform, platform, 'platform', 'GvisorPlatform');
        if (wrongPlatform) problems.push(wrongPlatform);
        for (const [flag, value] of Object.entries(userFlags)) {
          if (flag.startsWith('-')) {problems.push(`runscFlags key "${flag}" starts with "-": write flags without dashes (e.g. "debug-log")`);} else if (!/^[a-z0-9][a-z0-9-]*$/.test(flag)) {problems.push(`runscFlags key "${flag}" is not a runsc flag name (lowercase letters, digits and "-")`);} else if (flag !== 'platform' && flag !== 'network') {
            const problem = typeof value === 'string'
              ? runscFlagProblem(flag, value, !props.allowUncheckedRunscFlags)
              : `its value is ${describeValue(value)}: runsc.toml takes every flag as a string (e.g. "true")`;
            if (problem) problems.push(`runscFlags.${problem.startsWith('"') ? problem.replace(/^"[^"]*"/, flag) : `${flag}: ${problem}`}`);
          }
        }
        if (!runscPath.startsWith('/')) problems.push(`runscPath "${runscPath}" must be an absolute path on the node`);
        return problems.map((p) => `${this.displayName} runtime "${this.runtimeClassName}": ${p}`);
      },
    });
  }

  /** @internal */
  public _crioUnsupported(): string {
    return GVISOR.crioUnsupported;
  }
}

/** runsc flags from the typed options and the free-form ones, keys sorted; typed ones win (clashes are reported). */
function mergeFlags(platform: GvisorPlatform, props: GvisorRuntimeProps): { [flag: string]: string } {
  const typed: { [flag: string]: string } = { platform };
  if (props.hostNetworking) typed.network = 'host';
  const all: { [flag: string]: string } = { ...props.runscFlags, ...typed };
  const sorted: { [flag: string]: string } = {};
  for (const key of Object.keys(all).sort()) sorted[key] = all[key];
  return sorted;
}

/** The class's runsc.toml; none while its flags are invalid (the runtime reports them). */
function runscTomlFor(configPath: string, runscPath: string, runscFlags: { [flag: string]: string }): { [path: string]: string } {
  try {
    return { [configPath]: renderRunscToml({ binaryName: runscPath, runscFlags }) };
  } catch {
    return {};
  }
}
