import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Quantity } from './quantity';
import { byteQuantityText, cpuQuantityText, QuantityText } from './quantity-input';
import { isExtendedResource, notAQuantity, resourceNameProblem, ResourceList } from './resources';
import { describeValue, resolveValue } from './values';

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
export interface PodOverheadProps extends ResourceAmountsProps {
  /**
   * Accept a CPU overhead above 8 CPUs or a memory overhead below 1Mi. Both lie far outside what
   * any runtime adds to a pod and are most often a unit slip ("250" for "250m", "320m" for
   * "320Mi"), so they are errors unless this is set.
   * @default false
   */
  readonly allowUnusualAmounts?: boolean;
}

/** A CPU overhead above this many cores is an error without `allowUnusualAmounts`. */
const MAX_PLAUSIBLE_CPU = Quantity.parse('8')!;
/** A memory overhead below this (but above zero) is an error without `allowUnusualAmounts`. */
const MIN_PLAUSIBLE_MEMORY = Quantity.parse('1Mi')!;

/**
 * The fixed per-pod overhead of a runtime: validated quantities with exact arithmetic.
 *
 * @example
 * const overhead = PodOverhead.of({ cpu: kplus.Cpu.millis(250), memory: Size.mebibytes(320), resources: { 'hugepages-2Mi': '64Mi' } });
 * new RuntimeClass(chart, 'kata-hugepages', { handler: 'kata-qemu', overhead });
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

  private readonly props: PodOverheadProps;
  private converted: Converted | undefined;

  private constructor(props: PodOverheadProps) {
    this.props = props;
  }

  /** CPU overhead as a quantity string (a `Cpu` as its amount, e.g. `250m`). */
  public get cpu(): string | undefined {
    return this.state().cpu;
  }

  /** Memory overhead as a quantity string (a `Size` in binary units, e.g. `320Mi`). */
  public get memory(): string | undefined {
    return this.state().memory;
  }

  /** Ephemeral-storage overhead as a quantity string. */
  public get ephemeralStorage(): string | undefined {
    return this.state().ephemeralStorage;
  }

  /**
   * The props as quantity texts, converted when first needed (a `Lazy` value is produced then,
   * after the app's constructs exist, not when the overhead is created).
   */
  private state(): Converted {
    if (this.converted) return this.converted;
    const props = this.props;
    const inputProblems: Array<{ readonly prop: string; readonly problem: string }> = [];
    const text = (prop: string, converted: QuantityText | undefined): string | undefined => {
      if (converted?.problem !== undefined) inputProblems.push({ prop, problem: converted.problem });
      return converted?.text;
    };
    const cpu = text('cpu', props.cpu === undefined ? undefined : cpuQuantityText('cpu', props.cpu));
    const memory = text('memory', props.memory === undefined ? undefined : byteQuantityText('memory', props.memory));
    const ephemeralStorage = text('ephemeralStorage', props.ephemeralStorage === undefined ? undefined : byteQuantityText('ephemeralStorage', props.ephemeralStorage));
    const named: { [name: string]: string | undefined } = {
      'cpu': cpu,
      'memory': memory,
      'ephemeral-storage': ephemeralStorage,
    };
    const entries: { [name: string]: string } = {};
    const propOf: { [name: string]: string } = {};
    const duplicated: string[] = [];
    for (const [name, value] of Object.entries(named)) {
      if (value !== undefined) {
        entries[name] = value;
        propOf[name] = fieldOf(name);
      }
    }
    const resolvedResources = resolveValue(props.resources ?? {});
    const given = resolvedResources.value;
    const isMap = given !== null && typeof given === 'object' && !Array.isArray(given);
    const resources = isMap ? given as { [name: string]: unknown } : {};
    if (resolvedResources.problem !== undefined) {
      inputProblems.push({ prop: 'resources', problem: `resources: ${resolvedResources.problem}` });
    } else if (!isMap && given !== undefined && given !== null) {
      const problem = `resources: ${describeValue(props.resources)} is not a map of resource names to quantity strings (e.g. { "hugepages-2Mi": "4Mi" })`;
      inputProblems.push({ prop: 'resources', problem });
    }
    for (const [name, raw] of Object.entries(resources)) {
      const resolved = resolveValue(raw);
      if (typeof resolved.value !== 'string') {
        inputProblems.push({ prop: `resources["${name}"]`, problem: `resources["${name}"]: ${describeValue(raw)} is not a quantity string (e.g. "4Mi")` });
      } else if (hasOwn(named, name) && (named[name] !== undefined || inputProblems.some((p) => p.prop === fieldOf(name)))) {
        duplicated.push(name);
      } else {
        entries[name] = resolved.value;
        propOf[name] = `resources["${name}"]`;
      }
    }
    this.converted = { cpu, memory, ephemeralStorage, entries, props: propOf, duplicated, inputProblems };
    return this.converted;
  }

  /** Every resource of this overhead (`cpu`, `memory`, `ephemeral-storage`, others) as quantity strings, keys sorted. */
  public get amounts(): { [name: string]: string } {
    const sorted: { [name: string]: string } = {};
    for (const name of Object.keys(this.state().entries).sort()) sorted[name] = this.state().entries[name];
    return sorted;
  }

  /** True when no resource is set. */
  public get isEmpty(): boolean {
    return Object.keys(this.state().entries).length === 0 && this.state().inputProblems.length === 0;
  }

  /**
   * Everything the Kubernetes API server would reject in this overhead, one message per
   * problem, each naming the field (`overhead.<resource>`), the value and the fix.
   */
  public validate(): string[] {
    const problems = [
      ...this._problems('overhead', 'overhead'),
      ...this.hugepagesProblems(),
    ];
    return problems.length > 0 || this.props.allowUnusualAmounts ? problems : this.rangeProblems();
  }

  /** Amounts no runtime adds to a pod: a unit slip, most often. */
  private rangeProblems(): string[] {
    const { list } = ResourceList.parse(this.state().entries);
    const problems: string[] = [];
    const optOut = 'or, if it is meant, set allowUnusualAmounts: true on the overhead';
    const cpu = list.get('cpu');
    if (cpu && cpu.nanos > MAX_PLAUSIBLE_CPU.nanos) {
      problems.push(`overhead.cpu: "${this.state().cpu}" is ${cpu} CPUs added to every pod, more than the ${MAX_PLAUSIBLE_CPU} any runtime needs: `
        + `did you mean "${this.state().cpu}m" (millicores; e.g. Cpu.millis(250))? Fix the amount, ${optOut}`);
    }
    const memory = list.get('memory');
    if (memory && memory.nanos > 0n && memory.nanos < MIN_PLAUSIBLE_MEMORY.nanos) {
      const given = this.state().memory!;
      const hint = /m$/.test(given) ? `"${given}" is in thousandths of a byte: did you mean "${given.slice(0, -1)}Mi" (mebibytes; e.g. Size.mebibytes(${given.slice(0, -1)}))?`
        : 'a runtime adds at least a few mebibytes to a pod: give the amount with a unit (e.g. "64Mi", Size.mebibytes(64))';
      problems.push(`overhead.memory: "${given}" is less than ${MIN_PLAUSIBLE_MEMORY} added to every pod; ${hint} Fix the amount, ${optOut}`);
    }
    return problems;
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
    for (const { problem } of this.state().inputProblems) problems.push(at(problem));
    for (const name of this.state().duplicated) {
      problems.push(`${at(`resources["${name}"]`)} repeats a resource that has its own field: set it once, with the \`${fieldOf(name)}\` field`);
    }
    for (const name of Object.keys(this.state().entries).sort()) {
      const nameProblem = resourceNameProblem(name);
      if (nameProblem) problems.push(`${resource} "${name}" ${nameProblem}`);
    }
    const { list } = ResourceList.parse(this.state().entries);
    for (const name of Object.keys(this.state().entries)) {
      if (!list.get(name)) problems.push(`${at(this.state().props[name])}: ${notAQuantity(this.state().entries[name])}`);
    }
    for (const name of list.names) {
      const quantity = list.get(name)!;
      if (quantity.isNegative) {
        problems.push(`${at(this.state().props[name])}: "${quantity}" is negative: ${what} must be zero or more`);
      } else if (isExtendedResource(name) && !quantity.isInteger) {
        problems.push(`${at(this.state().props[name])}: "${quantity}" is not a whole number: extended resources are counted in whole units`);
      }
    }
    for (const name of list.names.filter((n) => n.startsWith('hugepages-'))) {
      const pageSize = Quantity.parse(name.slice('hugepages-'.length));
      const amount = list.get(name)!;
      if (pageSize && pageSize.nanos > 0n && amount.nanos % pageSize.nanos !== 0n) {
        problems.push(`${at(this.state().props[name])}: "${amount}" is not a multiple of the ${name.slice('hugepages-'.length)} page size: use a whole number of pages`);
      }
    }
    return problems;
  }

  /** Values given that are no quantity at all (neither a string nor a Cpu or Size), under `field`. @internal */
  public _inputProblems(field: string): string[] {
    return this.state().inputProblems.map(({ problem }) => `${field}.${problem}`);
  }

  /** The overhead as exact amounts; throws if it is invalid. @internal */
  public _toResourceList(): ResourceList {
    const problems = this.validate();
    if (problems.length > 0) throw new Error(`Invalid pod overhead: ${problems.join('; ')}`);
    return ResourceList.parse(this.state().entries).list;
  }

  /** The `podFixed` map (keys sorted). @internal */
  public _toPodFixed(): { [name: string]: string } {
    return this.amounts;
  }

  /** The API server's rule for pod resources: hugepages need cpu or memory next to them. */
  private hugepagesProblems(): string[] {
    const hasHugepages = Object.keys(this.state().entries).some((n) => n.startsWith('hugepages-'));
    if (hasHugepages && !('cpu' in this.state().entries) && !('memory' in this.state().entries)) {
      return ['overhead sets hugepages without cpu or memory: the API server rejects it ("HugePages require cpu or memory"); add a cpu or memory overhead'];
    }
    return [];
  }
}

/** An overhead's props as quantity texts. */
interface Converted {
  readonly cpu?: string;
  readonly memory?: string;
  readonly ephemeralStorage?: string;
  readonly entries: { [name: string]: string };
  /** The prop each entry was given with (`ephemeralStorage`, `resources["hugepages-2Mi"]`), for messages. */
  readonly props: { [name: string]: string };
  readonly duplicated: string[];
  /** Values that are no quantity at all, by the prop that holds them. */
  readonly inputProblems: Array<{ readonly prop: string; readonly problem: string }>;
}

/** The prop that holds a standard resource. */
function fieldOf(resource: string): string {
  return resource === 'ephemeral-storage' ? 'ephemeralStorage' : resource;
}

/** Whether `name` is a key of `object` itself (not a member every object inherits, such as `toString`). */
function hasOwn(object: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, name);
}
