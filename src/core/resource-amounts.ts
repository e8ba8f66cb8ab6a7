import { PodOverhead, ResourceAmountsProps } from './overhead';
import { ResourceList } from './resources';

const NANOS_PER_MILLI = 1_000_000n;
const NANOS_PER_UNIT = 1_000_000_000n;

/**
 * Amounts of resources as exact values that can be added, multiplied and compared (a
 * footprint, a budget), each also available as its Kubernetes quantity string.
 *
 * `ResourceAmounts.of({ cpu: Cpu.units(8), memory: Size.gibibytes(32) })` makes a budget;
 * `footprint.totalAmounts.plus(other.totalAmounts).fitsWithin(budget)` checks two workloads
 * against it.
 */
export class ResourceAmounts {
  /**
   * Amounts from cdk8s-plus values or quantity strings. Throws when a value is not a valid
   * quantity or a resource name is not a container resource.
   */
  public static of(props: ResourceAmountsProps): ResourceAmounts {
    const problems = PodOverhead.of(props)._problems('', 'an amount');
    if (problems.length > 0) throw new Error(`ResourceAmounts.of: ${problems.join('; ')}`);
    return new ResourceAmounts(ResourceList.parse(PodOverhead.of(props).amounts).list);
  }

  /** No resources at all: the start of a sum. */
  public static none(): ResourceAmounts {
    return new ResourceAmounts(ResourceList.empty());
  }

  /** Amounts computed elsewhere in the library. @internal */
  public static _fromList(list: ResourceList): ResourceAmounts {
    return new ResourceAmounts(list);
  }

  private constructor(private readonly list: ResourceList) {}

  /** CPU in millicores (`250m` is 250, `2` is 2000); 0 when CPU is not among the resources. */
  public get cpuMillis(): number {
    return this.inUnitsOf('cpu', NANOS_PER_MILLI);
  }

  /** Memory in bytes; 0 when memory is not among the resources. */
  public get memoryBytes(): number {
    return this.inUnitsOf('memory', NANOS_PER_UNIT);
  }

  /** Ephemeral storage in bytes; 0 when it is not among the resources. */
  public get ephemeralStorageBytes(): number {
    return this.inUnitsOf('ephemeral-storage', NANOS_PER_UNIT);
  }

  /** The names of the resources held, sorted. */
  public get resourceNames(): string[] {
    return this.list.names;
  }

  /**
   * Every resource as a Kubernetes quantity string, keys sorted: `{ cpu: '500m', memory: '512Mi' }`.
   * Byte amounts take the largest exact binary suffix.
   */
  public get quantities(): { [resource: string]: string } {
    return this.list.toStrings();
  }

  /**
   * The amount of one resource in its own unit: cores for `cpu`, bytes for memory, storage and
   * hugepages, a count for extended resources; 0 when it is not among the resources.
   */
  public amountOf(resource: string): number {
    return this.inUnitsOf(resource, NANOS_PER_UNIT);
  }

  /** The sum of these amounts and `other`, resource by resource. */
  public plus(other: ResourceAmounts): ResourceAmounts {
    return new ResourceAmounts(this.list.plus(other.list));
  }

  /** These amounts `factor` times (e.g. per pod times replicas). */
  public times(factor: number): ResourceAmounts {
    if (!Number.isSafeInteger(factor) || factor < 0) throw new Error(`ResourceAmounts.times(${factor}): give a whole number, 0 or more`);
    return new ResourceAmounts(this.list.times(factor));
  }

  /**
   * True when no resource here is more than in `limit`. A resource that `limit` does not name
   * is not limited.
   */
  public fitsWithin(limit: ResourceAmounts): boolean {
    return this.resourcesExceeding(limit).length === 0;
  }

  /** The resources of which these amounts hold more than `limit` does (among those `limit` names), sorted. */
  public resourcesExceeding(limit: ResourceAmounts): string[] {
    return this.list.exceeding(limit.list);
  }

  /** True when both hold the same amount of every resource (a resource one of them lacks counts as zero). */
  public isEqualTo(other: ResourceAmounts): boolean {
    const names = new Set([...this.list.names, ...other.list.names]);
    return [...names].every((name) => (this.list.get(name)?.nanos ?? 0n) === (other.list.get(name)?.nanos ?? 0n));
  }

  /** The amounts as the library's exact list. @internal */
  public _toResourceList(): ResourceList {
    return this.list;
  }

  private inUnitsOf(resource: string, nanosPerUnit: bigint): number {
    const nanos = this.list.get(resource)?.nanos ?? 0n;
    // Whole units convert exactly; a fraction (e.g. 0.5m of CPU) goes through floating point.
    return nanos % nanosPerUnit === 0n ? Number(nanos / nanosPerUnit) : Number(nanos) / Number(nanosPerUnit);
  }
}
