import { qualifiedNameProblem } from './names';
import { isByteResource, Quantity } from './quantity';

const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

/**
 * Why `name` cannot be a container resource (a key of `overhead.podFixed` or of container
 * requests), or undefined. Mirrors the API server: standard container resources,
 * `hugepages-<size>`, or extended resources (`<domain>/<name>`, outside kubernetes.io).
 */
export function resourceNameProblem(name: string): string | undefined {
  if (STANDARD_CONTAINER_RESOURCES.includes(name)) return undefined;
  if (name.startsWith('hugepages-')) {
    const size = Quantity.parse(name.slice('hugepages-'.length));
    if (!size || size.nanos <= 0n) return 'is a hugepages resource with an invalid page size (e.g. use "hugepages-2Mi" or "hugepages-1Gi")';
    return undefined;
  }
  if (!name.includes('/')) {
    return `is not a standard container resource (${STANDARD_CONTAINER_RESOURCES.join(', ')}, hugepages-<size>) nor an extended resource "<domain>/<name>"`;
  }
  if (name.startsWith('requests.')) {
    return 'starts with "requests.", which the API server reserves for quota names: drop the prefix';
  }
  const domain = name.split('/')[0];
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io')) {
    return 'is in the reserved kubernetes.io domain: extended resources need a domain of their own (e.g. "example.com/foo")';
  }
  // The API server also requires `requests.<name>` to be a qualified name (for quotas).
  const problem = qualifiedNameProblem(name) ?? qualifiedNameProblem(`requests.${name}`);
  if (problem) return `is not a valid extended resource name: it ${problem}`;
  return undefined;
}

/** Why `text` is rejected as a quantity, with the fix. */
export function notAQuantity(text: unknown): string {
  return `"${text}" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)`;
}

/** Extended resources (and hugepages page counts aside) must be whole numbers. */
export function isExtendedResource(name: string): boolean {
  return name.includes('/');
}

/** A set of resource amounts: overhead, requests, footprints. Internal, exact arithmetic. */
export class ResourceList {
  /** Parses `{ name: quantityText }`; values Kubernetes would reject are reported, not kept. */
  public static parse(amounts: { readonly [name: string]: string } | undefined): { list: ResourceList; problems: string[] } {
    const problems: string[] = [];
    const parsed = new Map<string, Quantity>();
    for (const [name, text] of Object.entries(amounts ?? {})) {
      const quantity = Quantity.parse(String(text));
      if (!quantity) {
        problems.push(`${name}: ${notAQuantity(text)}`);
      } else {
        parsed.set(name, quantity);
      }
    }
    return { list: new ResourceList(parsed), problems };
  }

  public static empty(): ResourceList {
    return new ResourceList(new Map());
  }

  private constructor(private readonly amounts: Map<string, Quantity>) {}

  public get names(): string[] {
    return [...this.amounts.keys()].sort();
  }

  public get isEmpty(): boolean {
    return this.amounts.size === 0;
  }

  public get(name: string): Quantity | undefined {
    return this.amounts.get(name);
  }

  public plus(other: ResourceList): ResourceList {
    const sum = new Map(this.amounts);
    for (const [name, quantity] of other.amounts) {
      const mine = sum.get(name);
      sum.set(name, mine ? mine.plus(quantity) : quantity);
    }
    return new ResourceList(sum);
  }

  /** Per resource, the larger of the two. */
  public max(other: ResourceList): ResourceList {
    const result = new Map(this.amounts);
    for (const [name, quantity] of other.amounts) {
      const mine = result.get(name);
      if (!mine || quantity.compare(mine) > 0) result.set(name, quantity);
    }
    return new ResourceList(result);
  }

  public times(factor: number): ResourceList {
    const result = new Map<string, Quantity>();
    for (const [name, quantity] of this.amounts) result.set(name, quantity.times(factor));
    return new ResourceList(result);
  }

  /** Resources where this list asks for more than `limit` offers (limit's missing names are unlimited). */
  public exceeding(limit: ResourceList): string[] {
    return this.names.filter((name) => {
      const cap = limit.get(name);
      return cap !== undefined && this.get(name)!.compare(cap) > 0;
    });
  }

  /** `{ name: canonicalText }`, keys sorted. */
  public toStrings(): { [name: string]: string } {
    const result: { [name: string]: string } = {};
    for (const name of this.names) result[name] = this.amounts.get(name)!.canonical(isByteResource(name));
    return result;
  }

  /** `{ name: text as written }`, keys sorted (for output of user-given values). */
  public toOriginalStrings(): { [name: string]: string } {
    const result: { [name: string]: string } = {};
    for (const name of this.names) result[name] = this.amounts.get(name)!.toString();
    return result;
  }
}
