import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { labelValueProblem, qualifiedNameProblem } from './names';
import { describeValue, enumProblem } from './values';

/** How a toleration matches a taint's value. */
export enum TolerationOperator {
  /** The taint's value must equal the toleration's value. */
  EQUAL = 'Equal',
  /** Any value matches; the toleration must not set a value. */
  EXISTS = 'Exists',
}

/**
 * The effect of a taint that a toleration tolerates. Its values are those of cdk8s-plus's
 * `kplus.TaintEffect`, which `RuntimeScheduling.toleratedTaints` takes.
 */
export enum TaintEffect {
  /** New pods are not scheduled on the node. */
  NO_SCHEDULE = 'NoSchedule',
  /** The scheduler avoids the node when it can. */
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  /** Running pods are evicted unless they tolerate the taint. */
  NO_EXECUTE = 'NoExecute',
}

/**
 * A toleration that RuntimeClass admission adds to every pod of the class. It is also how a
 * class's tolerations read back (`IRuntimeClass.scheduling`); to write them with cdk8s-plus's
 * types, use `RuntimeScheduling.toleratedTaints`.
 *
 * @example
 * // Pods of the class may run on nodes tainted `sandbox=kata:NoExecute`, for an hour after the taint appears.
 * const toleration: RuntimeToleration = {
 *   key: 'sandbox',
 *   value: 'kata',
 *   effect: TaintEffect.NO_EXECUTE,
 *   evictAfter: Duration.hours(1),
 * };
 * new KataRuntime(chart, 'kata', { scheduling: { tolerations: [toleration] } });
 */
export interface RuntimeToleration {
  /** The taint key; empty with `EXISTS` matches every taint. @default - every key (operator must be EXISTS) */
  readonly key?: string;
  /** How the value is matched. @default TolerationOperator.EQUAL */
  readonly operator?: TolerationOperator;
  /** The taint value to match (only with `EQUAL`). @default - empty value */
  readonly value?: string;
  /** The taint effect to tolerate. @default - every effect */
  readonly effect?: TaintEffect;
  /**
   * How long a pod stays bound after a `NO_EXECUTE` taint appears (only with `NO_EXECUTE`),
   * in whole seconds: `Duration.minutes(5)`. Rendered as `tolerationSeconds`.
   * @default - forever
   */
  readonly evictAfter?: Duration;
  /**
   * How long a pod stays bound after a `NO_EXECUTE` taint appears, in seconds.
   * @default - forever
   * @deprecated use `evictAfter` (a `Duration`, as cdk8s-plus's `NodeTaintQueryOptions.evictAfter`).
   *   Giving both with different values is an error.
   */
  readonly tolerationSeconds?: number;
}

/**
 * Where pods of a RuntimeClass may run (`RuntimeClass.scheduling`). RuntimeClass admission
 * merges the node selector into every pod and adds the tolerations.
 *
 * @example
 * new GvisorRuntime(chart, 'gvisor', {
 *   scheduling: {
 *     nodeSelector: { 'node-pool': 'sandbox' },
 *     // cdk8s-plus's taint queries, as a kplus.Pod's scheduling.tolerate() takes them.
 *     toleratedTaints: [kplus.NodeTaintQuery.is('sandbox', 'gvisor', { effect: kplus.TaintEffect.NO_SCHEDULE })],
 *   },
 * });
 */
export interface RuntimeScheduling {
  /** Labels a node must have to run pods of this class. @default - no constraint */
  readonly nodeSelector?: { [key: string]: string };
  /** Tolerations added to every pod of this class. @default - none */
  readonly tolerations?: RuntimeToleration[];
  /**
   * Taints pods of this class tolerate, as cdk8s-plus queries (`kplus.NodeTaintQuery.is(...)`,
   * `.exists(...)`, `.any()`, with `kplus.TaintEffect` and `evictAfter`). They are added to
   * `tolerations`: a class's `scheduling` reads them back there.
   * @default - none
   */
  readonly toleratedTaints?: kplus.NodeTaintQuery[];
}

/**
 * The tolerations of a scheduling: `tolerations`, then `toleratedTaints` (cdk8s-plus queries)
 * as tolerations. A query that is not a `kplus.NodeTaintQuery` is returned as a problem. @internal
 */
export function tolerationsOf(scheduling: RuntimeScheduling | undefined): { tolerations: RuntimeToleration[]; problems: string[] } {
  const tolerations = [...(scheduling?.tolerations ?? [])];
  const problems: string[] = [];
  (scheduling?.toleratedTaints ?? []).forEach((query, index) => {
    // cdk8s-plus renders its queries only through this method (the fields are private).
    const render = (query as unknown as { _toKube?: () => any })?._toKube;
    if (typeof render !== 'function') {
      problems.push(`scheduling.toleratedTaints[${index}] is ${describeValue(query)}, not a cdk8s-plus NodeTaintQuery: use kplus.NodeTaintQuery.is(key, value), .exists(key) or .any()`);
      return;
    }
    const kube = render.call(query);
    tolerations.push({
      key: kube.key,
      operator: kube.operator,
      value: kube.value,
      effect: kube.effect,
      evictAfter: kube.tolerationSeconds === undefined ? undefined : Duration.seconds(kube.tolerationSeconds),
    });
  });
  return { tolerations, problems };
}

/**
 * The toleration's seconds from `evictAfter` or the deprecated `tolerationSeconds`, with what is
 * wrong with them under `field`. @internal
 */
export function tolerationSecondsOf(toleration: RuntimeToleration, field?: string, problems?: string[]): number | undefined {
  const { evictAfter, tolerationSeconds } = toleration;
  let fromDuration: number | undefined;
  if (evictAfter !== undefined) {
    if (evictAfter === null || typeof (evictAfter as { toSeconds?: unknown }).toSeconds !== 'function') {
      problems?.push(`${field}.evictAfter is ${describeValue(evictAfter)}, not a Duration: give Duration.seconds(n), Duration.minutes(n), ...`);
    } else {
      fromDuration = evictAfter.toSeconds({ integral: false });
    }
  }
  if (fromDuration !== undefined && tolerationSeconds !== undefined && fromDuration !== tolerationSeconds) {
    problems?.push(`${field}.evictAfter (${fromDuration} s) and its deprecated tolerationSeconds (${tolerationSeconds}) differ: give only evictAfter`);
  }
  return fromDuration ?? tolerationSeconds;
}

/** Problems the API server would report for this scheduling, each naming the field. @internal */
export function schedulingProblems(scheduling: RuntimeScheduling | undefined): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(scheduling?.nodeSelector ?? {})) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push(`scheduling.nodeSelector key "${key}" ${keyProblem}`);
    const valueProblem = labelValueProblem(String(value));
    if (valueProblem) problems.push(`scheduling.nodeSelector["${key}"] value "${value}" ${valueProblem}`);
  }
  const seen = new Map<string, number>();
  (scheduling?.tolerations ?? []).forEach((toleration, index) => {
    const field = `scheduling.tolerations[${index}]`;
    const key = toleration.key ?? '';
    // JavaScript callers can pass any string where an enum is typed.
    if (toleration.operator !== undefined) problems.push(...optional(enumProblem(TolerationOperator, toleration.operator, `${field}.operator`, 'TolerationOperator')));
    if (toleration.effect !== undefined) problems.push(...optional(enumProblem(TaintEffect, toleration.effect, `${field}.effect`, 'TaintEffect')));
    const operator = toleration.operator ?? TolerationOperator.EQUAL;
    if (key === '' && operator !== TolerationOperator.EXISTS) {
      problems.push(`${field} has an empty key with operator ${operator}: an empty key matches every taint only with operator: TolerationOperator.EXISTS; set a key or use EXISTS`);
    }
    if (key !== '') {
      const keyProblem = qualifiedNameProblem(key);
      if (keyProblem) problems.push(`${field}.key "${key}" ${keyProblem}`);
    }
    if (operator === TolerationOperator.EXISTS && toleration.value !== undefined && toleration.value !== '') {
      problems.push(`${field}.value "${toleration.value}" is set with operator EXISTS, which matches any value: remove the value or use EQUAL`);
    }
    if (operator === TolerationOperator.EQUAL && toleration.value !== undefined) {
      const valueProblem = labelValueProblem(toleration.value);
      if (valueProblem) problems.push(`${field}.value "${toleration.value}" ${valueProblem}`);
    }
    const seconds = tolerationSecondsOf(toleration, field, problems);
    if (seconds !== undefined) {
      const given = toleration.evictAfter !== undefined ? 'evictAfter' : 'tolerationSeconds';
      const shown = given === 'evictAfter' ? `${seconds} s` : `${seconds}`;
      if (toleration.effect !== TaintEffect.NO_EXECUTE) {
        problems.push(`${field}.${given} (${shown}) is set but effect is ${toleration.effect ?? 'unset'}: ${given} only applies with effect: TaintEffect.NO_EXECUTE`);
      }
      if (!Number.isInteger(seconds)) {
        problems.push(`${field}.${given} (${shown}) must be a whole number of seconds`);
      }
    }
    const identity = tolerationIdentity(toleration);
    const first = seen.get(identity);
    if (first !== undefined) {
      problems.push(`${field} duplicates the toleration at index ${first} (same key, operator, value and effect): remove one`);
    } else {
      seen.set(identity, index);
    }
  });
  return problems;
}

function tolerationIdentity(t: RuntimeToleration): string {
  return JSON.stringify([t.key ?? '', t.operator ?? TolerationOperator.EQUAL, t.value ?? '', t.effect ?? '']);
}

/**
 * Merges scheduling constraints. A node selector key set to two different values is a
 * conflict (no node could match both) and is returned as a problem, not resolved. @internal
 */
export function mergeScheduling(
  base: RuntimeScheduling | undefined,
  extra: RuntimeScheduling | undefined,
  describe: string,
): { scheduling: RuntimeScheduling; problems: string[] } {
  const problems: string[] = [];
  const nodeSelector: { [key: string]: string } = { ...(base?.nodeSelector ?? {}) };
  for (const [key, value] of Object.entries(extra?.nodeSelector ?? {})) {
    if (key in nodeSelector && nodeSelector[key] !== value) {
      problems.push(`scheduling.nodeSelector["${key}"] = "${value}" (required by ${describe}) conflicts with "${nodeSelector[key]}" set earlier: no node can have both; use the same value or another key`);
      continue;
    }
    nodeSelector[key] = value;
  }
  const tolerations = [...(base?.tolerations ?? [])];
  (extra?.tolerations ?? []).forEach((toleration, index) => {
    const same = tolerations.find((t) => tolerationIdentity(t) === tolerationIdentity(toleration));
    if (!same) {
      tolerations.push(toleration);
      return;
    }
    // A repeated toleration is dropped here, so its own mistakes are reported here or never.
    const own: string[] = [];
    const seconds = tolerationSecondsOf(toleration, `added by ${describe}: scheduling.tolerations[${index}]`, own);
    problems.push(...own);
    if (own.length === 0 && seconds !== tolerationSecondsOf(same)) {
      problems.push(`scheduling toleration ${tolerationIdentity(toleration)} has ${seconds ?? 'no'} s from ${describe} but ${tolerationSecondsOf(same) ?? 'no'} s set earlier: the API server treats them as duplicates; keep one`);
    }
  });
  return { scheduling: { nodeSelector, tolerations }, problems };
}

/** Kubernetes JSON for scheduling, or undefined when empty. @internal */
export function schedulingToJson(scheduling: RuntimeScheduling | undefined): any {
  const nodeSelector = scheduling?.nodeSelector ?? {};
  const tolerations = scheduling?.tolerations ?? [];
  if (Object.keys(nodeSelector).length === 0 && tolerations.length === 0) return undefined;
  const sortedSelector: { [key: string]: string } = {};
  for (const key of Object.keys(nodeSelector).sort()) sortedSelector[key] = nodeSelector[key];
  return {
    nodeSelector: Object.keys(sortedSelector).length > 0 ? sortedSelector : undefined,
    tolerations: tolerations.length > 0 ? tolerations.map(tolerationToJson) : undefined,
  };
}

/** Kubernetes JSON for one toleration. @internal */
export function tolerationToJson(t: RuntimeToleration): any {
  return {
    key: t.key,
    operator: t.operator,
    value: t.value,
    effect: t.effect,
    tolerationSeconds: tolerationSecondsOf(t),
  };
}

function optional(problem: string | undefined): string[] {
  return problem === undefined ? [] : [problem];
}
