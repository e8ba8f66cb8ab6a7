import { Construct } from 'constructs';
import { preinstalled } from './preinstalled';
import { CrioRuntimeType, presetArtifacts, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';

/**
 * Properties of a crun runtime.
 *
 * @example
 * const props: CrunRuntimeProps = {
 *   binaryPath: '/usr/local/bin/crun', // where the node image installs it
 *   nodeSetup: false,                  // the nodes' containerd has the handler configured already
 * };
 * new CrunRuntime(chart, 'crun', props);
 */
export interface CrunRuntimeProps extends RuntimePresetOptions {
  /** Absolute path of the `crun` binary on the node. @default /usr/bin/crun */
  readonly binaryPath?: string;
}

/**
 * crun: a fast, small OCI runtime in C, run through containerd's runc shim (`BinaryName`).
 * Handler `crun`; no overhead and no limits beyond runc's.
 *
 * @example
 * // crun is on the node image already: a RuntimeClass "crun" and a node setup that configures it.
 * const crun = new CrunRuntime(chart, 'crun');
 * new SandboxedJob(chart, 'report', { runtime: crun, containers: [{ image: 'ghcr.io/example/report:1.0' }] });
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
