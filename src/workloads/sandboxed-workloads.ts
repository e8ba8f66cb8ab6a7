import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IRuntimeClass } from '../core/runtime-class';
import { describeValue } from '../core/values';

/** Properties of a Deployment pinned to a runtime. */
export interface SandboxedDeploymentProps extends kplus.DeploymentProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 Deployment whose pods run with `runtime` (checked at synth time). */
export class SandboxedDeployment extends kplus.Deployment {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedDeploymentProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** Properties of a StatefulSet pinned to a runtime. */
export interface SandboxedStatefulSetProps extends kplus.StatefulSetProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 StatefulSet whose pods run with `runtime` (checked at synth time). */
export class SandboxedStatefulSet extends kplus.StatefulSet {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedStatefulSetProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** Properties of a DaemonSet pinned to a runtime. */
export interface SandboxedDaemonSetProps extends kplus.DaemonSetProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 DaemonSet whose pods run with `runtime` (checked at synth time). */
export class SandboxedDaemonSet extends kplus.DaemonSet {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedDaemonSetProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** Properties of a Job pinned to a runtime. */
export interface SandboxedJobProps extends kplus.JobProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 Job whose pods run with `runtime` (checked at synth time). */
export class SandboxedJob extends kplus.Job {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedJobProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** Properties of a CronJob pinned to a runtime. */
export interface SandboxedCronJobProps extends kplus.CronJobProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 CronJob whose pods run with `runtime` (checked at synth time). */
export class SandboxedCronJob extends kplus.CronJob {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedCronJobProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** Properties of a Pod pinned to a runtime. */
export interface SandboxedPodProps extends kplus.PodProps {
  /** The RuntimeClass it runs with. */
  readonly runtime: IRuntimeClass;
}

/** A cdk8s-plus-27 Pod that runs with `runtime` (checked at synth time). */
export class SandboxedPod extends kplus.Pod {
  /** The RuntimeClass it runs with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedPodProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/** The runtime a sandboxed workload was given; a clear error when a JavaScript caller gave none. */
function requireRuntime(workload: Construct, props: { readonly runtime?: IRuntimeClass } | undefined): IRuntimeClass {
  const runtime = props?.runtime;
  if (runtime === undefined || runtime === null || typeof (runtime as IRuntimeClass).pin !== 'function') {
    throw new Error(`${workload.constructor.name} "${workload.node.path}": runtime is ${describeValue(runtime)}: `
      + 'give the RuntimeClass its pods run with (a runtime preset such as a GvisorRuntime, a RuntimeClass, or RuntimeClass.fromName("name"))');
  }
  return runtime;
}
