import { Construct } from 'constructs';
import { CrioRuntimeType, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';

/** Properties of a crun runtime. */
export interface CrunRuntimeProps extends RuntimePresetOptions {
  /** Absolute path of the `crun` binary on the node. @default /usr/bin/crun */
  readonly binaryPath?: string;
}

/**
 * crun: a fast, small OCI runtime in C, run through containerd's runc shim (`BinaryName`).
 * Handler `crun`; no overhead and no limits beyond runc's.
 */
export class CrunRuntime extends SandboxedRuntime {
  public constructor(scope: Construct, id: string, props: CrunRuntimeProps = {}) {
    const binaryPath = props.binaryPath ?? '/usr/bin/crun';
    super(scope, id, {
      ...props,
      displayName: 'crun',
      handler: 'crun',
      containerd: {
        runtimeType: 'io.containerd.runc.v2',
        options: { BinaryName: binaryPath },
        systemdCgroupFromNode: true,
      },
      crio: { runtimePath: binaryPath, runtimeType: CrioRuntimeType.OCI, runtimeRoot: '/run/crun' },
    });
  }
}
