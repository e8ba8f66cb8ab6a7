import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Quantity } from './quantity';
import { byteQuantityText, cpuQuantityText, QuantityText } from './quantity-input';
import { isExtendedResource, notAQuantity, resourceNameProblem, ResourceList } from './resources';

/**
 * Amounts of resources for one pod: cdk8s-plus values (`Cpu.millis(250)`, `Size.mebibytes(320)`)
 * or Kubernetes quantity strings (`"250m"`, `"1.5Gi"`) where an exact quantity is wanted.
 */
export interface ResourceAmountsProps {
  /** CPU: `Cpu.millis(250)`, `Cpu.units(2)` or a quantity string such as `"250m"`. @default - no CPU */
  readonly cpu?: string | kplus.Cpu;
  /** Memory: `Size.mebibytes(160)` or a quantity string such as `"160Mi"`. @default - no memory */
  readonly memory?: string | Size;
  /** Ephemeral storage: `Size.gibibytes(1)` or a quantity string such as `"1Gi"`. @default - no ephemeral storage */
  readonly ephemeralStorage?: string | Size;
  /**
   * Other resources as quantity strings: `hugepages-<size>` (e.g. `{ 'hugepages-2Mi': '4Mi' }`)
   * and extended resources (`example.com/foo`, whole numbers).
   * @default - none
   */
  readonly resources?: { [name: string]: string };
}

/** Resources a runtime adds to every pod (`RuntimeClass.overhead.podFixed`). */
export interface PodOverheadProps extends ResourceAmountsProps {}

/**
 * The fixed per-pod overhead of a runtime: validated quantities with exact arithmetic.
 */
export class PodOverhead {
  /**
   * An overhead from cdk8s-plus values or quantity strings, e.g.
   * `PodOverhead.of({ cpu: Cpu.millis(250), memory: Size.mebibytes(320) })`. Invalid values are
   * reported when the app is validated.
   */
  public static of(props: PodOverheadProps): PodOverhead {
    return new PodOverhead(props);
  }

  /** CPU overhead as a quantity string (a `Cpu` as its amount, e.g. `250m`). */
  public readonly cpu?: string;
  /** Memory overhead as a quantity string (a `Size` in binary units, e.g. `320Mi`). */
  public readonly memory?: string;
  /** Ephemeral-storage overhead as a quantity string. */
  public readonly ephemeralStorage?: string;
  private readonly entries: { [name: string]: string };
  /** The prop each entry was given with (`ephemeralStorage`, `resources["hugepages-2Mi"]`), for messages. */
  private readonly props: { [name: string]: string };
  private readonly duplicated: string[];
  /** Values that are no quantity at all, by the prop that holds them. */
  private readonly inputProblems: Array<{ readonly prop: string; readonly problem: string }>;

  private constructor(props: PodOverheadProps) {
    this.inputProblems = [];
    const text = (prop: string, converted: QuantityText | undefined): string | undefined => {
      if (converted?.problem !== undefined) this.inputProblems.push({ prop, problem: converted.problem });
      return converted?.text;
    };
    this.cpu = text('cpu', props.cpu === undefined ? undefined : cpuQuantityText('cpu', props.cpu));
    this.memory = text('memory', props.memory === undefined ? undefined : byteQuantityText('memory', props.memory));
    this.ephemeralStorage = text('ephemeralStorage', props.ephemeralStorage === undefined ? undefined : byteQuantityText('ephemeralStorage', props.ephemeralStorage));
    const named: { [name: string]: string | undefined } = {
      'cpu': this.cpu,
      'memory': this.memory,
      'ephemeral-storage': this.ephemeralStorage,
    };
    this.entries = {};
    this.props = {};
    this.duplicated = [];
    for (const [name, value] of Object.entries(named)) {
      if (value !== undefined) {
        this.entries[name] = value;
        this.props[name] = fieldOf(name);
      }
    }
    for (const [name, value] of Object.entries(props.resources ?? {})) {
      if (name in named && (named[name] !== undefined || this.inputProblems.some((p) => p.prop === fieldOf(name)))) {
        this.duplicated.push(name);
      } else {
        this.entries[name] = value;
        this.props[name] = `resources["${name}"]`;
      }
    }
  }

  /** Every resource of this overhead (`cpu`, `memory`, `ephemeral-storage`, others) as quantity strings, keys sorted. */
  public get amounts(): { [name: string]: string } {
    const sorted: { [name: string]: string } = {};
    for (const name of Object.keys(this.entries).sort()) sorted[name] = this.entries[name];
    return sorted;
  }

  /** True when no resource is set. */
  public get isEmpty(): boolean {
    return Object.keys(this.entries).length === 0 && this.inputProblems.length === 0;
  }

  /**
   * Everything the Kubernetes API server would reject in this overhead, one message per
   * problem, each naming the field (`overhead.<resource>`), the value and the fix.
   */
  public validate(): string[] {
    return [
      ...this._problems('overhead', 'overhead'),
      ...this.hugepagesProblems(),
    ];
  }

  /**
   * Problems with these amounts as the prop `field` of a construct (`overhead`, `nodeAllocatable`,
   * `limits.nodeAllocatable`; empty for none). `what` names the amounts in the message about a
   * negative value.
   * @internal
   */
  public _problems(field: string, what: string): string[] {
    const at = (sub: string) => (field ? `${field}.${sub}` : sub);
    const resource = field ? `${field} resource` : 'resource';
    const problems: string[] = [];
    for (const { problem } of this.inputProblems) problems.push(at(problem));
    for (const name of this.duplicated) {
      problems.push(`${at(`resources["${name}"]`)} repeats a resource that has its own field: set it once, with the \`${fieldOf(name)}\` field`);
    }
    for (const name of Object.keys(this.entries).sort()) {
      const nameProblem = resourceNameProblem(name);
      if (nameProblem) problems.push(`${resource} "${name}" ${nameProblem}`);
    }
    const { list } = ResourceList.parse(this.entries);
    for (const name of Object.keys(this.entries)) {
      if (!list.get(name)) problems.push(`${at(this.props[name])}: ${notAQuantity(this.entries[name])}`);
    }
    for (const name of list.names) {
      const quantity = list.get(name)!;
      if (quantity.isNegative) {
        problems.push(`${at(this.props[name])}: "${quantity}" is negative: ${what} must be zero or more`);
      } else if (isExtendedResource(name) && !quantity.isInteger) {
        problems.push(`${at(this.props[name])}: "${quantity}" is not a whole number: extended resources are counted in whole units`);
      }
    }
    for (const name of list.names.filter((n) => n.startsWith('hugepages-'))) {
      const pageSize = Quantity.parse(name.slice('hugepages-'.length));
      const amount = list.get(name)!;
      if (pageSize && pageSize.nanos > 0n && amount.nanos % pageSize.nanos !== 0n) {
        problems.push(`${at(this.props[name])}: "${amount}" is not a multiple of the ${name.slice('hugepages-'.length)} page size: use a whole number of pages`);
      }
    }
    return problems;
  }

  /** Values given that are no quantity at all (neither a string nor a Cpu or Size), under `field`. @internal */
  public _inputProblems(field: string): string[] {
    return this.inputProblems.map(({ problem }) => `${field}.${problem}`);
  }

  /** The overhead as exact amounts; throws if it is invalid. @internal */
  public _toResourceList(): ResourceList {
    const problems = this.validate();
    if (problems.length > 0) throw new Error(`Invalid pod overhead: ${problems.join('; ')}`);
    return ResourceList.parse(this.entries).list;
  }

  /** The `podFixed` map (keys sorted). @internal */
  public _toPodFixed(): { [name: string]: string } {
    return this.amounts;
  }

  /** The API server's rule for pod resources: hugepages need cpu or memory next to them. */
  private hugepagesProblems(): string[] {
    const hasHugepages = Object.keys(this.entries).some((n) => n.startsWith('hugepages-'));
    if (hasHugepages && !('cpu' in this.entries) && !('memory' in this.entries)) {
      return ['overhead sets hugepages without cpu or memory: the API server rejects it ("HugePages require cpu or memory"); add a cpu or memory overhead'];
    }
    return [];
  }
}

/** The prop that holds a standard resource. */
function fieldOf(resource: string): string {
  return resource === 'ephemeral-storage' ? 'ephemeralStorage' : resource;
}
