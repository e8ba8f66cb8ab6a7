import { Quantity } from './quantity';
import { isExtendedResource, resourceNameProblem, ResourceList } from './resources';

/**
 * Resources a runtime adds to every pod (`RuntimeClass.overhead.podFixed`), as Kubernetes
 * quantity strings.
 */
export interface PodOverheadProps {
  /** CPU, e.g. `250m`. @default - no CPU overhead */
  readonly cpu?: string;
  /** Memory, e.g. `160Mi`. @default - no memory overhead */
  readonly memory?: string;
  /** Ephemeral storage, e.g. `1Gi`. @default - no ephemeral-storage overhead */
  readonly ephemeralStorage?: string;
  /**
   * Other resources: `hugepages-<size>` and extended resources (`example.com/foo`, whole numbers).
   * @default - none
   */
  readonly resources?: { [name: string]: string };
}

/**
 * The fixed per-pod overhead of a runtime: validated quantities with exact arithmetic.
 */
export class PodOverhead {
  /** An overhead from quantity strings. Invalid values are reported when the app is validated. */
  public static of(props: PodOverheadProps): PodOverhead {
    return new PodOverhead(props);
  }

  /** CPU overhead as written. */
  public readonly cpu?: string;
  /** Memory overhead as written. */
  public readonly memory?: string;
  /** Ephemeral-storage overhead as written. */
  public readonly ephemeralStorage?: string;
  private readonly entries: { [name: string]: string };
  private readonly duplicated: string[];

  private constructor(props: PodOverheadProps) {
    this.cpu = props.cpu;
    this.memory = props.memory;
    this.ephemeralStorage = props.ephemeralStorage;
    const named: { [name: string]: string | undefined } = {
      'cpu': props.cpu,
      'memory': props.memory,
      'ephemeral-storage': props.ephemeralStorage,
    };
    this.entries = {};
    this.duplicated = [];
    for (const [name, value] of Object.entries(named)) {
      if (value !== undefined) this.entries[name] = value;
    }
    for (const [name, value] of Object.entries(props.resources ?? {})) {
      if (name in this.entries) this.duplicated.push(name);
      else this.entries[name] = value;
    }
  }

  /** Every resource of this overhead (`cpu`, `memory`, `ephemeral-storage`, others), keys sorted. */
  public get amounts(): { [name: string]: string } {
    const sorted: { [name: string]: string } = {};
    for (const name of Object.keys(this.entries).sort()) sorted[name] = this.entries[name];
    return sorted;
  }

  /** True when no resource is set. */
  public get isEmpty(): boolean {
    return Object.keys(this.entries).length === 0;
  }

  /**
   * Everything the Kubernetes API server would reject in this overhead, one message per
   * problem, each naming the field (`overhead.<resource>`), the value and the fix.
   */
  public validate(): string[] {
    const problems: string[] = [];
    for (const name of this.duplicated) {
      problems.push(`overhead.resources["${name}"] repeats a resource that has its own field: set it once, with the ${fieldOf(name)} field`);
    }
    for (const name of Object.keys(this.entries).sort()) {
      const nameProblem = resourceNameProblem(name);
      if (nameProblem) problems.push(`overhead resource "${name}" ${nameProblem}`);
    }
    const { list, problems: parseProblems } = ResourceList.parse(this.entries);
    problems.push(...parseProblems.map((p) => `overhead.${p}`));
    for (const name of list.names) {
      const quantity = list.get(name)!;
      if (quantity.isNegative) {problems.push(`overhead.${name}: "${quantity}" is negative: overhead must be zero or more`);} else if (isExtendedResource(name) && !quantity.isInteger) {
        problems.push(`overhead.${name}: "${quantity}" is not a whole number: extended resources are counted in whole units`);
      }
    }
    for (const name of list.names.filter((n) => n.startsWith('hugepages-'))) {
      const pageSize = Quantity.parse(name.slice('hugepages-'.length));
      const amount = list.get(name)!;
      if (pageSize && pageSize.nanos > 0n && amount.nanos % pageSize.nanos !== 0n) {
        problems.push(`overhead.${name}: "${amount}" is not a multiple of the ${name.slice('hugepages-'.length)} page size: use a whole number of pages`);
      }
    }
    const hasHugepages = Object.keys(this.entries).some((n) => n.startsWith('hugepages-'));
    if (hasHugepages && !('cpu' in this.entries) && !('memory' in this.entries)) {
      problems.push('overhead sets hugepages without cpu or memory: the API server rejects it ("HugePages require cpu or memory"); add a cpu or memory overhead');
    }
    return problems;
  }

  /** The overhead as exact amounts; throws if it is invalid. @internal */
  public _toResourceList(): ResourceList {
    const problems = this.validate();
    if (problems.length > 0) throw new Error(`Invalid pod overhead: ${problems.join('; ')}`);
    return ResourceList.parse(this.entries).list;
  }

  /** The `podFixed` map as written (keys sorted). @internal */
  public _toPodFixed(): { [name: string]: string } {
    return this.amounts;
  }
}

function fieldOf(resource: string): string {
  return resource === 'ephemeral-storage' ? '`ephemeralStorage`' : `\`${resource}\``;
}
