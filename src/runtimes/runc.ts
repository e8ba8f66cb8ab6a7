import { Construct } from 'constructs';
import { preinstalled } from './preinstalled';
import { CrioRuntimeType, presetArtifacts, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';

/**
 * Properties of a runc runtime.
 *
 * @example
 * // A second runc handler that nodes are set up with (the default "runc" needs no node setup).
 * const props: RuncRuntimeProps = { handler: 'runc-debug', binaryPath: '/usr/bin/runc' };
 * new RuncRuntime(chart, 'runc-debug', props);
 */
export interface RuncRuntimeProps extends RuntimePresetOptions {
  /**
   * The handler name. `runc` is the handler every containerd node already has; another name
   * (e.g. `runc-audit`) adds a second runc-based handler through the node setup.
   * @default "runc"
   */
  readonly handler?: string;
  /** Absolute path of the runc binary for a handler other than `runc`. @default - the node's runc */
  readonly binaryPath?: string;
}

/**
 * The default runtime, runc, as an explicit RuntimeClass (handler `runc` unless given another).
 *
 * @example
 * // runc as an explicit RuntimeClass, e.g. the "from" of a migration or an allowed class of a policy.
 * const runc = new RuncRuntime(chart, 'runc');
 * runc.pin(new kplus.Deployment(chart, 'legacy', { containers: [{ image: 'ghcr.io/example/legacy:4.2' }] }));
 */
export class RuncRuntime extends SandboxedRuntime {
  public constructor(scope: Construct, id: string, props: RuncRuntimeProps = {}) {
    const handler = props.handler ?? 'runc';
    super(scope, id, {
      ...props,
      displayName: 'runc',
      handler,
      // Without a binaryPath the handler uses the runc on containerd's PATH: nothing to check.
      artifacts: presetArtifacts(props, () => (props.binaryPath ? preinstalled(props.binaryPath) : [])),
      containerd: {
        runtimeType: 'io.containerd.runc.v2',
        options: props.binaryPath ? { BinaryName: props.binaryPath } : undefined,
        systemdCgroupFromNode: true,
      },
      crio: { runtimePath: props.binaryPath ?? '/usr/bin/runc', runtimeType: CrioRuntimeType.OCI, runtimeRoot: '/run/runc' },
    });
    const binaryPath = props.binaryPath;
    this.node.addValidation({
      validate: () => (binaryPath !== undefined && !binaryPath.startsWith('/')
        ? [`${this.displayName} runtime "${this.runtimeClassName}": binaryPath "${binaryPath}" must be an absolute path on the node`]
        : []),
    });
  }
}
