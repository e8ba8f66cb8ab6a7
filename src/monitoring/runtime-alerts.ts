import { ApiObject, ApiObjectMetadata, Duration, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { equalities, kubeStateMetricsLabel, Matcher, oneOf, PROMETHEUS_LABEL_NAME, promDuration, selector } from './promql';
import { dns1123SubdomainProblem } from '../core/names';
import { readPointer } from '../core/pod-spec';
import { IRuntimeClass } from '../core/runtime-class';
import { NodeSetup } from '../node-setup/node-setup';

/**
 * Properties of the alerts for one runtime.
 *
 * @example
 * const gvisor = new GvisorRuntime(chart, 'gvisor');
 * const props: RuntimeAlertsProps = {
 *   runtime: gvisor,
 *   memoryOverrunFactor: 1.5,                       // pod memory above 1.5x its requests + overhead
 *   nodeSetupNotReadyFor: Duration.minutes(30),
 *   labels: { team: 'platform' },
 * };
 * new RuntimeAlerts(chart, 'gvisor-alerts', props);
 */
export interface RuntimeAlertsProps {
  /**
   * The runtime to watch. A `SandboxedRuntime` (or preset) brings its node setup and handler;
   * any other `IRuntimeClass` gets the memory alert, and the node alerts when `nodeSetup` is given.
   */
  readonly runtime: IRuntimeClass;
  /** The node setup that installs the runtime. @default - the runtime's own node setup, if it has one */
  readonly nodeSetup?: NodeSetup;
  /**
   * The handler whose ready label (`runtimeclass.cdk8s.io/<handler>`) the node setup sets.
   * @default - the runtime's handler, or the node setup's only handler
   */
  readonly handler?: string;
  /**
   * Alert when a pod's working set stays above (memory requests + the class's memory overhead)
   * times this factor. 1.2 leaves 20% for page cache and short peaks before calling the
   * overhead too small.
   * @default 1.2
   */
  readonly memoryOverrunFactor?: number;
  /** How long a pod must stay above its reservation before the memory alert fires. @default Duration.minutes(10) */
  readonly memoryOverrunFor?: Duration;
  /**
   * How long the node-setup DaemonSet may have fewer ready pods than desired. A rollout keeps
   * `maxUnavailable` installer pods unready for about a minute per node.
   * @default Duration.minutes(15)
   */
  readonly nodeSetupNotReadyFor?: Duration;
  /** How long a node selected by the node setup may go without the runtime's ready label. @default Duration.minutes(30) */
  readonly nodeNotReadyFor?: Duration;
  /** Labels added to every alert (routing: `team`, `severity`). @default { severity: "warning" } */
  readonly labels?: { [name: string]: string };
  /** Label values that select kube-state-metrics' series. @default { job: "kube-state-metrics" } */
  readonly kubeStateMetricsSelector?: { [label: string]: string };
  /**
   * Label values that select the kubelet's cAdvisor series (`container_memory_working_set_bytes`).
   * @default { job: "kubelet", metrics_path: "/metrics/cadvisor" } (kube-prometheus' scrape configuration)
   */
  readonly cadvisorSelector?: { [label: string]: string };
  /**
   * Name, namespace and labels of the PrometheusRule. Give it the labels your Prometheus
   * selects rules by (the operator's `ruleSelector`, e.g. `release: kube-prometheus-stack`).
   * @default - named "runtimeclass-<class name>", in the chart's namespace
   */
  readonly metadata?: ApiObjectMetadata;
}

/** Labels the expressions set themselves on each source's series; a selector must not set them too. */
const RESERVED_SELECTOR_LABELS: { [source: string]: string[] } = {
  kubeStateMetricsSelector: ['namespace', 'pod', 'uid', 'container', 'node', 'resource', 'unit', 'runtimeclass_name', 'daemonset', 'condition', 'status', 'restart_policy'],
  cadvisorSelector: ['namespace', 'pod', 'container', 'image'],
};

/**
 * A `monitoring.coreos.com/v1` PrometheusRule (Prometheus operator) with the alerts of one
 * runtime, each labelled `runtimeclass: <name>`:
 *
 * - `RuntimeClassPodMemoryOverrun`: a pod of the class whose working set (cAdvisor, pod cgroup)
 *   stays above `memoryOverrunFactor` x (memory requests + the class's overhead), read from
 *   kube-state-metrics: the overhead is too small, and the node is overcommitted.
 * - `RuntimeClassNodeSetupNotReady`: the node-setup DaemonSet has fewer ready pods than nodes.
 * - `RuntimeClassNodeNotReady`: a Ready node that the node setup selects has not been labelled
 *   ready for the runtime, so pods of the class are never scheduled there.
 *
 * The node alert reads node labels from `kube_node_labels`, which kube-state-metrics fills only
 * with allow-listed labels: run it with `--metric-labels-allowlist=nodes=[...]` listing
 * `nodeLabelsAllowlist` (see `kubeStateMetricsFlag`), or the alert can never fire.
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * const alerts = new RuntimeAlerts(chart, 'kata-alerts', {
 *   runtime: kata,                                              // brings its NodeSetup and handler
 *   metadata: { labels: { release: 'kube-prometheus-stack' } }, // what your Prometheus selects rules by
 * });
 * alerts.kubeStateMetricsFlag; // the flag kube-state-metrics needs, with the ready label allow-listed
 */
export class RuntimeAlerts extends Construct {
  /** Name of the memory alert. */
  public static readonly POD_MEMORY_OVERRUN = 'RuntimeClassPodMemoryOverrun';
  /** Name of the node-setup DaemonSet alert. */
  public static readonly NODE_SETUP_NOT_READY = 'RuntimeClassNodeSetupNotReady';
  /** Name of the node alert. */
  public static readonly NODE_NOT_READY = 'RuntimeClassNodeNotReady';

  /** The PrometheusRule. */
  public readonly apiObject: ApiObject;
  /** The RuntimeClass watched. */
  public readonly runtimeClassName: string;
  /** The node setup watched, if any. */
  public readonly nodeSetup?: NodeSetup;
  /** The handler whose ready label is watched, if any. */
  public readonly handler?: string;
  private readonly props: RuntimeAlertsProps;

  public constructor(scope: Construct, id: string, props: RuntimeAlertsProps) {
    super(scope, id);
    this.props = props;
    this.runtimeClassName = props.runtime.runtimeClassName;
    const own = (props.runtime as { nodeSetup?: unknown }).nodeSetup;
    this.nodeSetup = props.nodeSetup ?? (NodeSetup.isNodeSetup(own) ? own : undefined);
    const runtimeHandler = (props.runtime as { handler?: unknown }).handler;
    this.handler = props.handler ?? (typeof runtimeHandler === 'string' ? runtimeHandler : undefined);

    const name = props.metadata?.name ?? `runtimeclass-${this.runtimeClassName}`;
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { ...props.metadata, name },
      spec: Lazy.any({ produce: () => ({ groups: [{ name: `runtimeclass.${this.runtimeClassName}`, rules: this.rules() }] }) }),
    });

    this.node.addValidation({ validate: () => this.problems(name).map((p) => `RuntimeAlerts "${name}": ${p}`) });
  }

  /**
   * Node labels the node alert reads from `kube_node_labels`: the node setup's node selector,
   * its required node affinity, and the ready label. kube-state-metrics exports only
   * allow-listed labels. Empty without a node setup.
   */
  public get nodeLabelsAllowlist(): string[] {
    const target = this.nodeTarget();
    if (!target) return [];
    const keys = new Set<string>([...Object.keys(target.nodeSelector), ...target.terms.flatMap((t) => t.map((e) => e.key)), target.readyLabel]);
    return [...keys].sort();
  }

  /** The kube-state-metrics flag that exports `nodeLabelsAllowlist`. Empty without a node setup. */
  public get kubeStateMetricsFlag(): string {
    const keys = this.nodeLabelsAllowlist;
    return keys.length === 0 ? '' : `--metric-labels-allowlist=nodes=[${keys.join(',')}]`;
  }

  private get ksm(): Matcher[] {
    return equalities(this.props.kubeStateMetricsSelector ?? { job: 'kube-state-metrics' });
  }

  private get alertLabels(): { [name: string]: string } {
    return { severity: 'warning', ...this.props.labels, runtimeclass: this.runtimeClassName };
  }

  /** The handler whose ready label the node alert checks, when it can be known. */
  private readyHandler(): string | undefined {
    if (this.handler !== undefined) return this.handler;
    const handlers = this.nodeSetup?.handlers ?? [];
    return handlers.length === 1 ? handlers[0] : undefined;
  }

  private rules(): any[] {
    const rules: any[] = [this.memoryRule()];
    if (this.nodeSetup) rules.push(this.daemonSetRule(this.nodeSetup));
    const target = this.nodeTarget();
    if (target) rules.push(this.nodeRule(target));
    return rules;
  }

  private memoryRule(): any {
    const factor = this.props.memoryOverrunFactor ?? 1.2;
    const cadvisor = equalities(this.props.cadvisorSelector ?? { job: 'kubelet', metrics_path: '/metrics/cadvisor' });
    const ksm = this.ksm;
    // The pod cgroup's own series (container="" and image="") holds every container of the pod,
    // and for Kata with sandbox_cgroup_only the VM too; pause containers have an image.
    const workingSet = selector('container_memory_working_set_bytes', [...cadvisor, ['container', '=', ''], ['image', '=', ''], ['pod', '!=', '']]);
    const ofClass = selector('kube_pod_runtimeclass_name_info', [...ksm, ['runtimeclass_name', '=', this.runtimeClassName]]);
    // Containers, sidecars (restartable init containers) and the overhead admission set on the pod,
    // joined with `or`: their label sets differ, so each series is kept and summed once.
    const requests = selector('kube_pod_container_resource_requests', [...ksm, ['resource', '=', 'memory']]);
    const sidecarRequests = selector('kube_pod_init_container_resource_requests', [...ksm, ['resource', '=', 'memory']]);
    const sidecars = selector('kube_pod_init_container_info', [...ksm, ['restart_policy', '=', 'Always']]);
    const overhead = selector('kube_pod_overhead_memory_bytes', ksm);
    const expr = [
      '(',
      `  max by (namespace, pod) (${workingSet})`,
      `  and on (namespace, pod) ${ofClass}`,
      ')',
      `> on (namespace, pod) ${factor} * sum by (namespace, pod) (`,
      `    ${requests}`,
      `  or (${sidecarRequests} and on (namespace, pod, container) ${sidecars})`,
      `  or ${overhead}`,
      ')',
    ].join('\n');
    const duration = this.duration(this.props.memoryOverrunFor, 10);
    return {
      alert: RuntimeAlerts.POD_MEMORY_OVERRUN,
      expr,
      for: duration,
      labels: this.alertLabels,
      annotations: {
        summary: `Pod {{ $labels.namespace }}/{{ $labels.pod }} uses more memory than RuntimeClass ${this.runtimeClassName} reserves for it`,
        description: `The pod's working set ({{ $value | humanize1024 }}B) has stayed above ${factor} x (its memory requests + the overhead of RuntimeClass `
          + `${this.runtimeClassName}) for ${duration}: the scheduler under-counts it and its node is overcommitted. If every pod of the class is above, `
          + 'raise the class\'s overhead.memory; otherwise raise this workload\'s memory requests.',
      },
    };
  }

  private daemonSetRule(nodeSetup: NodeSetup): any {
    const matchers: Matcher[] = [...this.ksm, ['namespace', '=', nodeSetup.namespace], ['daemonset', '=', nodeSetup.name]];
    const duration = this.duration(this.props.nodeSetupNotReadyFor, 15);
    return {
      alert: RuntimeAlerts.NODE_SETUP_NOT_READY,
      expr: `${selector('kube_daemonset_status_number_ready', matchers)}\n< ${selector('kube_daemonset_status_desired_number_scheduled', matchers)}`,
      for: duration,
      labels: this.alertLabels,
      annotations: {
        summary: `Node setup ${nodeSetup.namespace}/${nodeSetup.name} of RuntimeClass ${this.runtimeClassName} is not ready on every node`,
        description: `Only {{ $value }} of its installer pods have been ready for ${duration}. A node whose installer is not ready is not labelled `
          + `ready for the runtime, so pods of RuntimeClass ${this.runtimeClassName} are not scheduled there. See the installer's logs: `
          + `kubectl -n ${nodeSetup.namespace} logs daemonset/${nodeSetup.name}`,
      },
    };
  }

  private nodeRule(target: NodeTarget): any {
    const ksm = this.ksm;
    const selected = selector('kube_node_labels', [...ksm, ...Object.keys(target.nodeSelector).sort()
      .map((key) => [kubeStateMetricsLabel(key), '=', target.nodeSelector[key]] as const)]);
    const lines = [`(${selected}`];
    if (target.terms.length > 0) {
      // Required node affinity: terms are ORed, the expressions of a term ANDed.
      const terms = target.terms.map((term) => selector('kube_node_labels', [...ksm, ...term.map(affinityMatcher)]));
      lines.push(`  and on (node) (${terms.join(' or ')})`);
    }
    lines.push(
      `  and on (node) (${selector('kube_node_status_condition', [...ksm, ['condition', '=', 'Ready'], ['status', '=', 'true']])} == 1)`,
      ')',
      `unless on (node) ${selector('kube_node_labels', [...ksm, [kubeStateMetricsLabel(target.readyLabel), '=', 'ready']])}`,
    );
    const duration = this.duration(this.props.nodeNotReadyFor, 30);
    return {
      alert: RuntimeAlerts.NODE_NOT_READY,
      expr: lines.join('\n'),
      for: duration,
      labels: this.alertLabels,
      annotations: {
        summary: `Node {{ $labels.node }} is selected for RuntimeClass ${this.runtimeClassName} but not ready for it`,
        description: `The node setup ${target.namespace}/${target.name} selects node {{ $labels.node }}, which has not had the label `
          + `${target.readyLabel}=ready for ${duration}, so pods of RuntimeClass ${this.runtimeClassName} are not scheduled there. `
          + `See the installer on that node: kubectl -n ${target.namespace} get pods -o wide --field-selector spec.nodeName={{ $labels.node }}. `
          + 'A node that cannot run the runtime (no /dev/kvm for Kata) is never labelled: narrow the node setup\'s nodeSelector.',
      },
    };
  }

  /** What the node alert needs: the DaemonSet's node selection, read from its final manifest, and the ready label. */
  private nodeTarget(): NodeTarget | undefined {
    const handler = this.readyHandler();
    if (!this.nodeSetup || handler === undefined) return undefined;
    let podSpec: any = {};
    try {
      podSpec = readPointer(this.nodeSetup.daemonSet.toJson(), '/spec/template/spec') ?? {};
    } catch {
      // A DaemonSet that cannot render fails the synth with its own error.
    }
    const nodeSelector: { [key: string]: string } = { ...(podSpec.nodeSelector ?? {}) };
    const rawTerms: any[] = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const terms = rawTerms
      .map((t) => (t.matchExpressions ?? []).filter((e: any) => ['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) as AffinityExpression[])
      .filter((t) => t.length > 0);
    return { name: this.nodeSetup.name, namespace: this.nodeSetup.namespace, nodeSelector, terms, readyLabel: NodeSetup.readyLabelFor(handler) };
  }

  private duration(value: Duration | undefined, defaultMinutes: number): string {
    const seconds = durationSeconds(value ?? Duration.minutes(defaultMinutes));
    return seconds === undefined ? '0s' : promDuration(seconds);
  }

  private problems(name: string): string[] {
    const problems: string[] = [];
    const props = this.props;
    const nameProblem = dns1123SubdomainProblem(name);
    if (nameProblem) problems.push(`metadata.name "${name}" ${nameProblem}`);
    const factor = props.memoryOverrunFactor;
    if (factor !== undefined && !(Number.isFinite(factor) && factor > 0)) {
      problems.push(`memoryOverrunFactor ${factor} must be a number above 0 (1.2 alerts at 20% above requests + overhead)`);
    }
    for (const [field, value] of [['memoryOverrunFor', props.memoryOverrunFor], ['nodeSetupNotReadyFor', props.nodeSetupNotReadyFor], ['nodeNotReadyFor', props.nodeNotReadyFor]] as const) {
      if (value !== undefined && durationSeconds(value) === undefined) {
        problems.push(`${field} ${value.toHumanString()} must be a whole number of seconds, 0 or more`);
      }
    }
    for (const [label, value] of Object.entries(props.labels ?? {})) {
      if (!PROMETHEUS_LABEL_NAME.test(label) || label.startsWith('__')) {
        problems.push(`labels["${label}"] is not a Prometheus label name (letters, digits and "_", not starting with a digit or "__")`);
      } else if (label === 'runtimeclass') {
        problems.push(`labels["runtimeclass"] = "${value}": the alerts set runtimeclass to the class name themselves; remove it`);
      }
    }
    for (const [field, reserved] of Object.entries(RESERVED_SELECTOR_LABELS)) {
      const given = (props as any)[field] as { [label: string]: string } | undefined;
      for (const label of Object.keys(given ?? {})) {
        if (!PROMETHEUS_LABEL_NAME.test(label)) {problems.push(`${field}["${label}"] is not a Prometheus label name (letters, digits and "_", not starting with a digit)`);} else if (reserved.includes(label) || label.startsWith('label_')) {
          problems.push(`${field}["${label}"] is a label the alert expressions match on themselves: select the source by other labels (job, instance, cluster)`);
        }
      }
    }
    if (props.handler !== undefined && !this.nodeSetup) {
      problems.push(`handler "${props.handler}" is given, but there is no node setup to watch: give nodeSetup, or remove handler`);
    }
    if (this.nodeSetup) {
      const handlers = this.nodeSetup.handlers;
      const handler = this.readyHandler();
      if (handler === undefined) {
        problems.push(`NodeSetup "${this.nodeSetup.name}" installs ${handlers.length === 0 ? 'no handler' : `handlers ${handlers.map((h) => `"${h}"`).join(', ')}`}: `
          + `give \`handler\`, the one RuntimeClass "${this.runtimeClassName}" uses`);
      } else if (!handlers.includes(handler)) {
        problems.push(`handler "${handler}" is not installed by NodeSetup "${this.nodeSetup.name}" (it installs ${handlers.length === 0 ? 'none' : handlers.map((h) => `"${h}"`).join(', ')}): `
          + 'its ready label would never be set; give the node setup that installs it');
      }
    }
    return problems;
  }
}

interface AffinityExpression {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: string[];
}

interface NodeTarget {
  readonly name: string;
  readonly namespace: string;
  readonly nodeSelector: { readonly [key: string]: string };
  readonly terms: AffinityExpression[][];
  readonly readyLabel: string;
}

function affinityMatcher(e: AffinityExpression): Matcher {
  const label = kubeStateMetricsLabel(e.key);
  switch (e.operator) {
    case 'In': return e.values?.length === 1 ? [label, '=', e.values[0]] : [label, '=~', oneOf(e.values ?? [])];
    case 'NotIn': return e.values?.length === 1 ? [label, '!=', e.values[0]] : [label, '!~', oneOf(e.values ?? [])];
    case 'Exists': return [label, '!=', ''];
    default: return [label, '=', ''];
  }
}

/** Whole seconds of a duration, or undefined when it is fractional or negative. */
function durationSeconds(duration: Duration): number | undefined {
  let millis: number;
  try {
    millis = duration.toMilliseconds();
  } catch {
    return undefined; // fractional milliseconds
  }
  return Number.isFinite(millis) && millis >= 0 && millis % 1000 === 0 ? millis / 1000 : undefined;
}
