// Stage 3 of the footprint report: what Kubernetes would reject or get wrong, found in the model.
import { ReportModel, RuntimeClassEntry, WorkloadEntry } from './model';
import { SourceLocation } from './read';

/** What kind of problem; the values are part of the JSON output's stable schema. */
export enum ProblemCode {
  /** A workload names a RuntimeClass that no document in the input defines. */
  UNDEFINED_RUNTIME_CLASS = 'undefined-runtime-class',
  /** A pod's nodeSelector sets a key of the class's nodeSelector to another value. */
  NODE_SELECTOR_CONFLICT = 'node-selector-conflict',
  /** A pod spec sets `overhead` by hand. */
  POD_OVERHEAD_SET = 'pod-overhead-set',
  /** Two RuntimeClasses in the input have the same name. */
  DUPLICATE_RUNTIME_CLASS = 'duplicate-runtime-class',
  /** A request, limit or overhead that is not a valid, non-negative quantity. */
  INVALID_QUANTITY = 'invalid-quantity',
  /** A field of the wrong type (the API server would reject the object). */
  MALFORMED = 'malformed',
}

/** One problem, with where it is. */
export interface ReportProblem {
  readonly code: ProblemCode;
  readonly location: SourceLocation;
  readonly message: string;
}

/** Options of the problem search. */
export interface ProblemOptions {
  /** RuntimeClasses that exist in the cluster although the input does not define them. */
  readonly knownClasses?: readonly string[];
}

/** How many workloads an undefined-class message names before it says "and N more". */
const NAMED_WORKLOADS = 5;

/** Every problem in the model, in input order. */
export function findProblems(model: ReportModel, options: ProblemOptions = {}): ReportProblem[] {
  const problems: ReportProblem[] = [];
  const known = new Set(options.knownClasses ?? []);
  const definitions = new Map<string, RuntimeClassEntry[]>();
  for (const entry of model.runtimeClasses) {
    definitions.set(entry.name, [...(definitions.get(entry.name) ?? []), entry]);
    for (const message of entry.invalid) problems.push({ code: ProblemCode.INVALID_QUANTITY, location: entry.location, message });
  }

  for (const [name, entries] of definitions) {
    if (entries.length < 2) continue;
    const same = entries.every((e) => sameDefinition(e, entries[0]));
    const where = entries.map((e) => `${e.location.file}:${e.location.line}`).join(', ');
    for (const entry of entries.slice(1)) {
      problems.push({
        code: ProblemCode.DUPLICATE_RUNTIME_CLASS,
        location: entry.location,
        message: `RuntimeClass "${name}" is defined ${entries.length} times (${where})${same ? '' : ' with different handlers, overheads or node selectors'}: `
          + 'a cluster holds one class per name and the last one applied wins (this report uses the first); keep one definition or rename the others',
      });
    }
  }

  const undefinedUsers = new Map<string, WorkloadEntry[]>();
  for (const { workload } of model.workloads) {
    const subject = describeWorkload(workload);
    const name = workload.runtimeClassName;
    for (const message of workload.malformed) problems.push({ code: ProblemCode.MALFORMED, location: workload.location, message: `${subject} ${message}` });
    for (const message of workload.invalidQuantities) problems.push({ code: ProblemCode.INVALID_QUANTITY, location: workload.location, message: `${subject} ${message}` });
    if (workload.podOverhead !== undefined) {
      problems.push({
        code: ProblemCode.POD_OVERHEAD_SET,
        location: workload.location,
        message: `${subject} sets overhead ${JSON.stringify(workload.podOverhead)} in its pod spec: RuntimeClass admission sets it from the class and rejects pods `
          + 'that set their own ("Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead"); remove it',
      });
    }
    if (name === undefined) continue;
    const definition = definitions.get(name)?.[0];
    if (!definition) {
      if (!known.has(name)) undefinedUsers.set(name, [...(undefinedUsers.get(name) ?? []), workload]);
      continue;
    }
    // RuntimeClass admission merges the class's nodeSelector into the pod's and rejects a conflict.
    for (const [key, value] of Object.entries(definition.nodeSelector)) {
      const podValue = workload.nodeSelector[key];
      if (podValue !== undefined && podValue !== value) {
        problems.push({
          code: ProblemCode.NODE_SELECTOR_CONFLICT,
          location: workload.location,
          message: `${subject} (RuntimeClass "${name}") conflict: runtimeClass.scheduling.nodeSelector[${key}] = ${value}; pod.nodeSelector[${key}] = ${podValue}: `
            + 'the pods would be rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value',
        });
      }
    }
  }

  for (const [name, users] of undefinedUsers) {
    const named = users.slice(0, NAMED_WORKLOADS).map((w) => describeWorkload(w)).join(', ');
    const more = users.length > NAMED_WORKLOADS ? ` and ${users.length - NAMED_WORKLOADS} more` : '';
    problems.push({
      code: ProblemCode.UNDEFINED_RUNTIME_CLASS,
      location: users[0].location,
      message: `RuntimeClass "${name}" is used by ${named}${more} but not defined in the input: its overhead is unknown, and in a cluster without it every pod `
        + `is rejected (pod rejected: RuntimeClass "${name}" not found); add the RuntimeClass to the input, or pass --known-class ${name} if the cluster has it`,
    });
  }
  return sortByLocation(problems);
}

/** `Deployment "namespace/name"`, or `Deployment "name"` without a namespace; unquoted for tables. */
export function describeWorkload(workload: WorkloadEntry, quoted: boolean = true): string {
  const name = `${workload.namespace === undefined ? '' : `${workload.namespace}/`}${workload.name}`;
  return `${workload.kind} ${quoted ? `"${name}"` : name}`;
}

function sameDefinition(a: RuntimeClassEntry, b: RuntimeClassEntry): boolean {
  return a.handler === b.handler
    && JSON.stringify(a.overhead.toStrings()) === JSON.stringify(b.overhead.toStrings())
    && JSON.stringify(sorted(a.nodeSelector)) === JSON.stringify(sorted(b.nodeSelector));
}

function sorted(map: { readonly [key: string]: string }): Array<[string, string]> {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Stable sort by file, then line; problems at one place keep their order. */
export function sortByLocation<T extends { readonly location: SourceLocation }>(items: T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => {
      const fa = a.item.location.file;
      const fb = b.item.location.file;
      if (fa !== fb) return fa < fb ? -1 : 1;
      if (a.item.location.line !== b.item.location.line) return a.item.location.line - b.item.location.line;
      return a.index - b.index;
    })
    .map(({ item }) => item);
}
