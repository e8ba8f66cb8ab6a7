import { IConstruct } from 'constructs';
import { overheadOf, pinsOf, workloadObjectsOf } from '../core/pinning';
import { describeManifest, effectiveRequests, podSpecOf, replicasOf } from '../core/pod-spec';
import { ResourceList } from '../core/resources';
import { IRuntimeClass } from '../core/runtime-class';

/**
 * What a workload costs the cluster: per-pod requests, the RuntimeClass overhead, the
 * effective footprint the scheduler reserves per pod, and the total over its replicas.
 * Computed from the final manifest, as the scheduler would.
 */
export class WorkloadFootprint {
  /**
   * The footprint of a workload with one pod spec (a cdk8s-plus workload, a `Kube*` object).
   * @param workload the workload
   * @param runtime the class its pods run with @default - the class it is pinned to, or none
   */
  public static of(workload: IConstruct, runtime?: IRuntimeClass): WorkloadFootprint {
    const objects = workloadObjectsOf(workload);
    if (objects.length !== 1) {
      throw new Error(`WorkloadFootprint.of(${workload.node.path}): expected one workload object, found ${objects.length}; pass each workload on its own`);
    }
    const object = objects[0];
    const runtimeClass = runtime ?? pinsOf(object)[0];
    const manifest = object.toJson();
    const { requests, problems } = effectiveRequests(podSpecOf(manifest));
    if (problems.length > 0) throw new Error(`WorkloadFootprint.of(${workload.node.path}): ${describeManifest(manifest)} has invalid requests: ${problems.join('; ')}`);
    const overhead = runtimeClass ? overheadOf(runtimeClass) : ResourceList.empty();
    return new WorkloadFootprint(runtimeClass?.runtimeClassName, requests, overhead, replicasOf(manifest));
  }

  /** The RuntimeClass the pods run with, if any. */
  public readonly runtimeClassName?: string;
  /** Effective requests of one pod without overhead: max(largest init container, sum of containers). */
  public readonly podRequests: { [resource: string]: string };
  /** The class's `overhead.podFixed`. */
  public readonly overhead: { [resource: string]: string };
  /** What the scheduler reserves per pod: requests + overhead. */
  public readonly perPod: { [resource: string]: string };
  /** Pods at once (replicas, Job parallelism); undefined for a DaemonSet (one per node). */
  public readonly replicas?: number;
  /** perPod × replicas; undefined for a DaemonSet (use `forPods`). */
  public readonly total?: { [resource: string]: string };
  private readonly perPodList: ResourceList;

  private constructor(runtimeClassName: string | undefined, requests: ResourceList, overhead: ResourceList, replicas: number | undefined) {
    this.runtimeClassName = runtimeClassName;
    this.perPodList = requests.plus(overhead);
    this.podRequests = requests.toStrings();
    this.overhead = overhead.toStrings();
    this.perPod = this.perPodList.toStrings();
    this.replicas = replicas;
    this.total = replicas === undefined ? undefined : this.perPodList.times(replicas).toStrings();
  }

  /** The footprint of `pods` pods (e.g. a DaemonSet on that many nodes). */
  public forPods(pods: number): { [resource: string]: string } {
    if (!Number.isInteger(pods) || pods < 0) throw new Error(`WorkloadFootprint.forPods(${pods}): give a whole number of pods, 0 or more`);
    return this.perPodList.times(pods).toStrings();
  }
}
