import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IRuntimeClass } from '../core/runtime-class';
import { describeValue } from '../core/values';

/**
 * Properties of a Deployment pinned to a runtime.
 *
 * @example
 * const props: SandboxedDeploymentProps = {
 *   runtime: ManagedRuntimeClass.gkeSandbox(), // GKE Sandbox's existing class
 *   containers: [{ image: 'ghcr.io/example/renderer:1.0' }],
 * };
 * new SandboxedDeployment(chart, 'renderer', props);
 */
export interface SandboxedDeploymentProps extends kplus.DeploymentProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 Deployment whose pods run with `runtime` (checked at synth time).
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * new SandboxedDeployment(chart, 'checkout', {
 *   runtime: kata,
 *   replicas: 2,
 *   containers: [{ image: 'ghcr.io/example/checkout:2.3', portNumber: 8080 }],
 * });
 */
export class SandboxedDeployment extends kplus.Deployment {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedDeploymentProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/**
 * Properties of a StatefulSet pinned to a runtime.
 *
 * @example
 * const props: SandboxedStatefulSetProps = {
 *   runtime: new KataRuntime(chart, 'kata'),
 *   service: new kplus.Service(chart, 'queue-headless', { clusterIP: 'None', ports: [{ port: 5672 }] }),
 *   replicas: 3,
 *   containers: [{ image: 'rabbitmq:3.13', portNumber: 5672 }],
 * };
 * new SandboxedStatefulSet(chart, 'queue', props);
 */
export interface SandboxedStatefulSetProps extends kplus.StatefulSetProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 StatefulSet whose pods run with `runtime` (checked at synth time).
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * const db = new SandboxedStatefulSet(chart, 'db', {
 *   runtime: gvisor,
 *   service: new kplus.Service(chart, 'db-headless', { clusterIP: 'None', ports: [{ port: 5432 }] }),
 *   containers: [{ image: 'postgres:16', portNumber: 5432 }],
 * });
 */
export class SandboxedStatefulSet extends kplus.StatefulSet {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedStatefulSetProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/**
 * Properties of a DaemonSet pinned to a runtime.
 *
 * @example
 * const props: SandboxedDaemonSetProps = {
 *   runtime: new CrunRuntime(chart, 'crun'),
 *   containers: [{ image: 'ghcr.io/example/node-exporter:1.8', portNumber: 9100 }],
 * };
 * new SandboxedDaemonSet(chart, 'exporter', props);
 */
export interface SandboxedDaemonSetProps extends kplus.DaemonSetProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 DaemonSet whose pods run with `runtime` (checked at synth time).
 *
 * @example
 * // A log shipper on every gVisor-ready node, itself sandboxed.
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * new SandboxedDaemonSet(chart, 'shipper', { runtime: gvisor, containers: [{ image: 'fluent/fluent-bit:3.1' }] });
 */
export class SandboxedDaemonSet extends kplus.DaemonSet {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedDaemonSetProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/**
 * Properties of a Job pinned to a runtime.
 *
 * @example
 * const props: SandboxedJobProps = {
 *   runtime: new GvisorRuntime(chart, 'gvisor'),
 *   backoffLimit: 2,
 *   ttlAfterFinished: Duration.hours(1),
 *   containers: [{ image: 'ghcr.io/example/convert:3.1' }],
 * };
 * new SandboxedJob(chart, 'convert', props);
 */
export interface SandboxedJobProps extends kplus.JobProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 Job whose pods run with `runtime` (checked at synth time).
 *
 * @example
 * // Untrusted user code, run once in a Kata VM.
 * const kata = new KataRuntime(chart, 'kata');
 * new SandboxedJob(chart, 'build', { runtime: kata, containers: [{ image: 'ghcr.io/example/builder:2.0' }] });
 */
export class SandboxedJob extends kplus.Job {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedJobProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/**
 * Properties of a CronJob pinned to a runtime.
 *
 * @example
 * const props: SandboxedCronJobProps = {
 *   runtime: new KataRuntime(chart, 'kata'),
 *   schedule: Cron.hourly(),
 *   containers: [{ image: 'ghcr.io/example/backup:5.0' }],
 * };
 * new SandboxedCronJob(chart, 'backup', props);
 */
export interface SandboxedCronJobProps extends kplus.CronJobProps {
  /** The RuntimeClass its pods run with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 CronJob whose pods run with `runtime` (checked at synth time).
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * new SandboxedCronJob(chart, 'scan', {
 *   runtime: gvisor,
 *   schedule: Cron.daily(),
 *   containers: [{ image: 'ghcr.io/example/scanner:1.4' }],
 * });
 */
export class SandboxedCronJob extends kplus.CronJob {
  /** The RuntimeClass its pods run with. */
  public readonly runtime: IRuntimeClass;
  public constructor(scope: Construct, id: string, props: SandboxedCronJobProps) {
    super(scope, id, props);
    this.runtime = requireRuntime(this, props);
    this.runtime.pin(this);
  }
}

/**
 * Properties of a Pod pinned to a runtime.
 *
 * @example
 * const props: SandboxedPodProps = {
 *   runtime: new GvisorRuntime(chart, 'gvisor'),
 *   containers: [{ image: 'ghcr.io/example/notebook:7.0', portNumber: 8888 }],
 * };
 * new SandboxedPod(chart, 'notebook', props);
 */
export interface SandboxedPodProps extends kplus.PodProps {
  /** The RuntimeClass it runs with. */
  readonly runtime: IRuntimeClass;
}

/**
 * A cdk8s-plus-27 Pod that runs with `runtime` (checked at synth time).
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * new SandboxedPod(chart, 'debug', { runtime: kata, containers: [{ image: 'busybox:1.36', command: ['sleep', '3600'] }] });
 */
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
