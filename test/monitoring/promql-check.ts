// Checks PromQL with the Prometheus project's own grammar (@prometheus-io/lezer-promql): syntax
// errors, and every metric and matcher label against what its exporter exposes.
import { parser } from '@prometheus-io/lezer-promql';

/** Labels of each metric the alerts use, as their exporters set them. */
export const KNOWN_METRICS: { [metric: string]: string[] } = {
  // cAdvisor in the kubelet (/metrics/cadvisor)
  container_memory_working_set_bytes: ['namespace', 'pod', 'container', 'image', 'id', 'name'],
  // kube-state-metrics, internal/store/pod.go (namespace, pod, uid on every pod metric)
  kube_pod_runtimeclass_name_info: ['namespace', 'pod', 'uid', 'runtimeclass_name'],
  kube_pod_container_resource_requests: ['namespace', 'pod', 'uid', 'container', 'node', 'resource', 'unit'],
  kube_pod_init_container_resource_requests: ['namespace', 'pod', 'uid', 'container', 'node', 'resource', 'unit'],
  kube_pod_init_container_info: ['namespace', 'pod', 'uid', 'container', 'image_spec', 'image', 'image_id', 'container_id', 'restart_policy'],
  kube_pod_overhead_memory_bytes: ['namespace', 'pod', 'uid'],
  // kube-state-metrics, internal/store/daemonset.go
  kube_daemonset_status_number_ready: ['namespace', 'daemonset'],
  kube_daemonset_status_desired_number_scheduled: ['namespace', 'daemonset'],
  // kube-state-metrics, internal/store/node.go (label_* from --metric-labels-allowlist)
  kube_node_labels: ['node'],
  kube_node_status_condition: ['node', 'condition', 'status'],
};

/** Labels Prometheus' scrape configuration adds to every series. */
const TARGET_LABELS = ['job', 'instance', 'metrics_path', 'cluster'];

export interface PromqlFacts {
  /** Positions and text of syntax errors. */
  readonly errors: string[];
  /** Every metric name in a selector. */
  readonly metrics: string[];
  /** `metric: label` for every label matcher that the metric does not carry. */
  readonly unknownLabels: string[];
  /** The node type of the whole expression (e.g. BinaryExpr). */
  readonly top: string;
  /** The operator of the whole expression when it is binary (Gtr, Lss, Unless, ...): shows how precedence grouped it. */
  readonly operator?: string;
  /** The tree, for structural assertions. */
  readonly tree: string;
}

export function checkPromql(expr: string): PromqlFacts {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const unknownLabels: string[] = [];
  const cursor = tree.cursor();
  do {
    const node = cursor.node;
    if (node.type.isError) errors.push(`at ${node.from}: "${expr.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
    if (node.name === 'VectorSelector') {
      const identifier = node.getChild('Identifier');
      const metric = identifier ? expr.slice(identifier.from, identifier.to) : '';
      metrics.push(metric);
      const matchers = node.getChild('LabelMatchers');
      for (const matcher of matchers?.getChildren('UnquotedLabelMatcher') ?? []) {
        const name = matcher.getChild('LabelName');
        const label = name ? expr.slice(name.from, name.to) : '';
        const known = KNOWN_METRICS[metric] ?? [];
        const allowed = known.includes(label) || TARGET_LABELS.includes(label) || (metric === 'kube_node_labels' && label.startsWith('label_'));
        if (!allowed) unknownLabels.push(`${metric}: ${label}`);
      }
    }
  } while (cursor.next());
  const topNode = tree.topNode.firstChild;
  const operators = ['Gtr', 'Lss', 'Gte', 'Lte', 'Eql', 'Neq', 'And', 'Or', 'Unless', 'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow'];
  let operator: string | undefined;
  for (let child = topNode?.firstChild; child; child = child.nextSibling) {
    if (operators.includes(child.name)) {
      operator = child.name;
      break;
    }
  }
  return { errors, metrics, unknownLabels, top: topNode?.name ?? '', operator, tree: tree.toString() };
}
