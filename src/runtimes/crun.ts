import { Construct } from 'constructs';
import { preinstalled } from './preinstalled';
import { CrioRuntimeType, presetArtifacts, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';

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
    const crunPath = props.binaryPath ?? '/usr/bin/crun';
    super(scope, id, {
      ...props,
      displayName: 'crun',
      handler: 'crun',
      // crun comes from the node's distribution packages (or its image).
      artifacts: presetArtifacts(props, () => preinstalled(crunPath)),
      containerd: {
        runtimeType: 'io.containerd.runc.v2',
        options: { BinaryName: crunPath },
        systemdCgroupFromNode: true,
      },
      crio: { runtimePath: crunPath, runtimeType: CrioRuntimeType.OCI, runtimeRoot: '/run/crun' },
    });
    const binaryPath = props.binaryPath;
    this.node.addValidation({
      validate: () => (binaryPath !== undefined && !binaryPath.startsWith('/')
        ? [`${this.displayName} runtime "${this.runtimeClassName}": binaryPath "${binaryPath}" must be an absolute path on the node`]
        : []),
    });
  }
}
