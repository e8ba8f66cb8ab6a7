// PromQL text builders for the runtime alerts. Internal: not exported from the library.

/** A Prometheus label name (also what kube-state-metrics makes of Kubernetes label keys). */
export const PROMETHEUS_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label matcher: label, operator (`=`, `!=`, `=~`, `!~`), value. */
export type Matcher = readonly [string, '=' | '!=' | '=~' | '!~', string];

/** A PromQL string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `metric{a="b", c!=""}` */
export function selector(metric: string, matchers: readonly Matcher[]): string {
  return `${metric}{${matchers.map(([label, op, value]) => `${label}${op}${quote(value)}`).join(', ')}}`;
}

/** Equality matchers from a map, in key order. */
export function equalities(labels: { readonly [label: string]: string }): Matcher[] {
  return Object.keys(labels).sort().map((label) => [label, '=', labels[label]] as const);
}

/** A regular expression (RE2, anchored by Prometheus) matching exactly one of `values`. */
export function oneOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|');
}

/**
 * The label kube-state-metrics exports for a Kubernetes label key on `kube_node_labels`:
 * `label_` + the key with every character outside [a-zA-Z0-9_] turned into `_`, camelCase
 * turned into snake_case, lowercased (`node.kubernetes.io/instance-type` ->
 * `label_node_kubernetes_io_instance_type`). Keys that collide get `_conflictN` suffixes,
 * which this does not model.
 */
export function kubeStateMetricsLabel(key: string): string {
  const sanitized = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return `label_${sanitized.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
}

/** A Prometheus duration (`for:`): the largest unit that divides the seconds exactly. */
export function promDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
