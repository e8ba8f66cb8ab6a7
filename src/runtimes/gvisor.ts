import { Construct } from 'constructs';
import { CrioRuntimeType, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';

/** How gVisor's Sentry intercepts system calls. */
export enum GvisorPlatform {
  /** seccomp-based; the default since 2023, works on any node (VMs included). */
  SYSTRAP = 'systrap',
  /** Hardware virtualization; needs `/dev/kvm` (bare metal or nested virtualization). */
  KVM = 'kvm',
  /** ptrace-based; the slowest, for nodes where neither of the others works. */
  PTRACE = 'ptrace',
}

/** Facts about gVisor on a node (gVisor's containerd shim and runsc). */
const GVISOR = {
  handler: 'runsc',
  runtimeType: 'io.containerd.runsc.v1',
  /** The shim reads `runsc.toml` when given this options type. */
  typeUrl: 'io.containerd.runsc.v1.options',
  runscPath: '/usr/local/bin/runsc',

} as const;

/** Properties of a gVisor runtime. */
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
}

/**
 * gVisor: an application kernel (the Sentry) between the pod and the host kernel. Handler
 * `runsc`, configured through a `runsc.toml` that this runtime renders.
 */
export class GvisorRuntime extends SandboxedRuntime {
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
    const handler = GVISOR.handler;
    const name = props.name ?? handler;
    // One runsc.toml per class, so a systrap class and a kvm class can live on one node.
    const configPath = name === handler ? '/etc/containerd/runsc.toml' : `/etc/containerd/runsc-${name}.toml`;
    const runscPath = props.runscPath ?? GVISOR.runscPath;
    super(scope, id, {
      ...props,
      displayName: `gVisor (${platform})`,
      // The handler carries the class's own runsc.toml, so a renamed class gets its own handler.
      handler: name,
      requiresKvm: platform === GvisorPlatform.KVM,
      containerd: {
        runtimeType: GVISOR.runtimeType,
        options: { TypeUrl: GVISOR.typeUrl, ConfigPath: configPath },
      },
      crio: {
        runtimePath: runscPath,
        runtimeType: CrioRuntimeType.OCI,
        runtimeRoot: '/run/runsc',
      },
      limits: {
        hostNetwork: props.hostNetworking ?? false,
        reason: 'gVisor gives each pod its own network stack unless the runtime is set up with hostNetworking: true',
      },
    });
    this.platform = platform;
    this.configPath = configPath;
    this.runscPath = runscPath;
    const typed: { [flag: string]: string } = { platform };
    if (props.hostNetworking) typed.network = 'host';
    const flags: { [flag: string]: string } = {};
    for (const key of Object.keys({ ...props.runscFlags, ...typed }).sort()) flags[key] = typed[key] ?? props.runscFlags![key];
    this.runscFlags = flags;

    const userFlags = props.runscFlags ?? {};
    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        for (const [flag, owner] of [['platform', 'platform: GvisorPlatform.*'], ['network', 'hostNetworking']]) {
          if (flag in userFlags) problems.push(`runscFlags.${flag} = "${userFlags[flag]}" repeats a typed option: set it with ${owner} instead`);
        }
        for (const flag of Object.keys(userFlags)) {
          if (flag.startsWith('-')) problems.push(`runscFlags key "${flag}" starts with "-": write flags without dashes (e.g. "debug-log")`);
          else if (!/^[a-z0-9][a-z0-9-]*$/.test(flag)) problems.push(`runscFlags key "${flag}" is not a runsc flag name (lowercase letters, digits and "-")`);
        }
        if (!runscPath.startsWith('/')) problems.push(`runscPath "${runscPath}" must be an absolute path on the node`);
        return problems.map((p) => `gVisor runtime "${this.runtimeClassName}": ${p}`);
      },
    });
  }
}

