import { IConstruct } from 'constructs';
import { overheadOf, pinsOf, workloadObjectsOf } from '../core/pinning';
import { describeManifest, effectiveRequests, podSpecOf, replicasOf } from '../core/pod-spec';
import { ResourceAmounts } from '../core/resource-amounts';
import { ResourceList } from '../core/resources';
import { IRuntimeClass } from '../core/runtime-class';

/**
 * What a workload costs the cluster: per-pod requests, the RuntimeClass overhead, the
 * effective footprint the scheduler reserves per pod, and the total over its replicas.
 * Computed from the final manifest, as the scheduler would.
 *
 * Each figure comes twice: as Kubernetes quantity strings (`perPod`: `{ cpu: '500m', memory:
 * '512Mi' }`) and as `ResourceAmounts` values to add up and compare (`perPodAmounts.cpuMillis`,
 * `totalAmounts.plus(...)`, `totalAmounts.fitsWithin(budget)`).
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * const web = new SandboxedDeployment(chart, 'web', {
 *   runtime: kata,
 *   replicas: 3,
 *   containers: [{ image: 'nginx:1.27', resources: { cpu: { request: kplus.Cpu.millis(250) }, memory: { request: Size.mebibytes(192) } } }],
 * });
 * const footprint = WorkloadFootprint.of(web);
 * footprint.perPod; // { cpu: '500m', memory: '512Mi' }: requests plus Kata's overhead
 * footprint.total;  // { cpu: '1500m', memory: '1536Mi' }
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
  /** `podRequests` as values. */
  public readonly podRequestAmounts: ResourceAmounts;
  /** `overhead` as values. */
  public readonly overheadAmounts: ResourceAmounts;
  /** `perPod` as values: what the scheduler reserves per pod. */
  public readonly perPodAmounts: ResourceAmounts;
  /** `total` as values; undefined for a DaemonSet (use `amountsForPods`). */
  public readonly totalAmounts?: ResourceAmounts;

  private constructor(runtimeClassName: string | undefined, requests: ResourceList, overhead: ResourceList, replicas: number | undefined) {
    this.runtimeClassName = runtimeClassName;
    this.podRequestAmounts = ResourceAmounts._fromList(requests);
    this.overheadAmounts = ResourceAmounts._fromList(overhead);
    this.perPodAmounts = ResourceAmounts._fromList(requests.plus(overhead));
    this.totalAmounts = replicas === undefined ? undefined : this.perPodAmounts.times(replicas);
    this.podRequests = this.podRequestAmounts.quantities;
    this.overhead = this.overheadAmounts.quantities;
    this.perPod = this.perPodAmounts.quantities;
    this.replicas = replicas;
    this.total = this.totalAmounts?.quantities;
  }

  /** The footprint of `pods` pods (e.g. a DaemonSet on that many nodes), as quantity strings. */
  public forPods(pods: number): { [resource: string]: string } {
    return this.perPodAmounts.times(checkedPods('forPods', pods)).quantities;
  }

  /** The footprint of `pods` pods (e.g. a DaemonSet on that many nodes), as values. */
  public amountsForPods(pods: number): ResourceAmounts {
    return this.perPodAmounts.times(checkedPods('amountsForPods', pods));
  }
}

function checkedPods(method: string, pods: number): number {
  if (!Number.isSafeInteger(pods) || pods < 0) throw new Error(`WorkloadFootprint.${method}(${pods}): give a whole number of pods, 0 or more`);
  return pods;
}
