import { Chart, Duration, Testing, Yaml } from 'cdk8s';
import { checkPromql } from './promql-check';
import { GvisorRuntime, KataRuntime, NodeSetup, PodOverhead, RuntimeClass } from '../../src';
import { kubeStateMetricsLabel, oneOf, promDuration, quote } from '../../src/monitoring/promql';
import { RuntimeAlerts, RuntimeAlertsProps } from '../../src/monitoring/runtime-alerts';

function newChart(): Chart {
  return new Chart(Testing.app(), 'monitoring', { namespace: 'monitoring' });
}

function ruleOf(chart: Chart): any {
  return Testing.synth(chart).find((m) => m.kind === 'PrometheusRule');
}

function problems(chart: Chart): string[] {
  return chart.node.findAll().flatMap((c) => c.node.validate()).filter((m) => m.startsWith('RuntimeAlerts'));
}

const MEMORY_EXPR = `(
  max by (namespace, pod) (container_memory_working_set_bytes{job="kubelet", metrics_path="/metrics/cadvisor", container="", image="", pod!=""})
  and on (namespace, pod) kube_pod_runtimeclass_name_info{job="kube-state-metrics", runtimeclass_name="kata-qemu"}
)
> on (namespace, pod) 1.2 * sum by (namespace, pod) (
    kube_pod_container_resource_requests{job="kube-state-metrics", resource="memory"}
  or (kube_pod_init_container_resource_requests{job="kube-state-metrics", resource="memory"} and on (namespace, pod, container) kube_pod_init_container_info{job="kube-state-metrics", restart_policy="Always"})
  or kube_pod_overhead_memory_bytes{job="kube-state-metrics"}
)`;

describe('a Kata runtime with its own node setup', () => {
  const chart = newChart();
  const kata = new KataRuntime(chart, 'kata');
  const alerts = new RuntimeAlerts(chart, 'alerts', { runtime: kata, metadata: { labels: { release: 'kube-prometheus-stack' } } });
  const rule = ruleOf(chart);
  const rules: any[] = rule.spec.groups[0].rules;

  test('one PrometheusRule with one group of three alerts', () => {
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata).toEqual({ name: 'runtimeclass-kata-qemu', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } });
    expect(rule.spec.groups.map((g: any) => g.name)).toEqual(['runtimeclass.kata-qemu']);
    expect(rules.map((r) => [r.alert, r.for, r.labels])).toEqual([
      ['RuntimeClassPodMemoryOverrun', '10m', { severity: 'warning', runtimeclass: 'kata-qemu' }],
      ['RuntimeClassNodeSetupNotReady', '15m', { severity: 'warning', runtimeclass: 'kata-qemu' }],
      ['RuntimeClassNodeNotReady', '30m', { severity: 'warning', runtimeclass: 'kata-qemu' }],
    ]);
    expect(problems(chart)).toEqual([]);
  });

  test('memory: the pod cgroup\'s working set against requests, sidecars and overhead, for pods of the class', () => {
    expect(rules[0].expr).toBe(MEMORY_EXPR);
    expect(rules[0].annotations).toEqual({
      summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} uses more memory than RuntimeClass kata-qemu reserves for it',
      description: 'The pod\'s working set ({{ $value | humanize1024 }}B) has stayed above 1.2 x (its memory requests + the overhead of RuntimeClass kata-qemu) '
        + 'for 10m: the scheduler under-counts it and its node is overcommitted. If every pod of the class is above, raise the class\'s overhead.memory; '
        + 'otherwise raise this workload\'s memory requests.',
    });
  });

  test('node setup: ready installer pods below desired, for the runtime\'s DaemonSet', () => {
    expect(rules[1].expr).toBe('kube_daemonset_status_number_ready{job="kube-state-metrics", namespace="runtimeclass-system", daemonset="kata-qemu-node-setup"}\n'
      + '< kube_daemonset_status_desired_number_scheduled{job="kube-state-metrics", namespace="runtimeclass-system", daemonset="kata-qemu-node-setup"}');
    const daemonSet = Testing.synth(chart).find((m) => m.kind === 'DaemonSet');
    expect([daemonSet.metadata.namespace, daemonSet.metadata.name]).toEqual(['runtimeclass-system', 'kata-qemu-node-setup']);
  });

  test('nodes: Ready Linux nodes without the ready label', () => {
    expect(rules[2].expr).toBe(`(kube_node_labels{job="kube-state-metrics", label_kubernetes_io_os="linux"}
  and on (node) (kube_node_labels{job="kube-state-metrics", label_node_role_kubernetes_io_control_plane=""})
  and on (node) (kube_node_status_condition{job="kube-state-metrics", condition="Ready", status="true"} == 1)
)
unless on (node) kube_node_labels{job="kube-state-metrics", label_runtimeclass_cdk8s_io_kata_qemu="ready"}`);
    // The control-plane label must be exported too, or `=""` would match control-plane nodes.
    expect(alerts.nodeLabelsAllowlist).toEqual(['kubernetes.io/os', 'node-role.kubernetes.io/control-plane', 'runtimeclass.cdk8s.io/kata-qemu']);
    expect(alerts.kubeStateMetricsFlag).toBe('--metric-labels-allowlist=nodes=[kubernetes.io/os,node-role.kubernetes.io/control-plane,runtimeclass.cdk8s.io/kata-qemu]');
  });

  test.each([0, 1, 2])('expression %d parses as PromQL, groups as intended, and uses only known metrics and labels', (index) => {
    const facts = checkPromql(rules[index].expr);
    expect(facts.errors).toEqual([]);
    expect(facts.unknownLabels).toEqual([]);
    expect(facts.top).toBe('BinaryExpr');
    expect(facts.operator).toBe(['Gtr', 'Lss', 'Unless'][index]);
  });

  test('the metrics each alert reads', () => {
    expect(checkPromql(rules[0].expr).metrics).toEqual(['container_memory_working_set_bytes', 'kube_pod_runtimeclass_name_info', 'kube_pod_container_resource_requests',
      'kube_pod_init_container_resource_requests', 'kube_pod_init_container_info', 'kube_pod_overhead_memory_bytes']);
    expect(checkPromql(rules[1].expr).metrics).toEqual(['kube_daemonset_status_number_ready', 'kube_daemonset_status_desired_number_scheduled']);
    expect(checkPromql(rules[2].expr).metrics).toEqual(['kube_node_labels', 'kube_node_labels', 'kube_node_status_condition', 'kube_node_labels']);
  });

  test('snapshot', () => {
    expect(Yaml.stringify(rule)).toMatchSnapshot();
  });
});

test('the check catches broken PromQL and unknown labels (it is not vacuous)', () => {
  expect(checkPromql('sum by (a (x)').errors).not.toEqual([]);
  expect(checkPromql('kube_pod_overhead_memory_bytes{containr="x"}').unknownLabels).toEqual(['kube_pod_overhead_memory_bytes: containr']);
  expect(checkPromql('a and on (x) b > on (x) c').operator).toBe('And');
});

test('a shared node setup with a node selector and virtualization labels: the node alert follows the DaemonSet\'s selection', () => {
  const chart = newChart();
  const nodes = new NodeSetup(chart, 'nodes', { nodeSelector: { 'node-pool': 'sandbox' }, requireVirtualizationFeatureLabels: true });
  const kata = new KataRuntime(chart, 'kata', { nodeSetup: nodes });
  new GvisorRuntime(chart, 'gvisor', { nodeSetup: nodes });
  const alerts = new RuntimeAlerts(chart, 'alerts', { runtime: kata });
  const nodeRule = ruleOf(chart).spec.groups[0].rules[2];
  expect(nodeRule.expr).toBe(`(kube_node_labels{job="kube-state-metrics", label_kubernetes_io_os="linux", label_node_pool="sandbox"}
  and on (node) (kube_node_labels{job="kube-state-metrics", label_node_role_kubernetes_io_control_plane="", label_feature_node_kubernetes_io_cpu_cpuid_vmx="true"} or kube_node_labels{job="kube-state-metrics", label_node_role_kubernetes_io_control_plane="", label_feature_node_kubernetes_io_cpu_cpuid_svm="true"})
  and on (node) (kube_node_status_condition{job="kube-state-metrics", condition="Ready", status="true"} == 1)
)
unless on (node) kube_node_labels{job="kube-state-metrics", label_runtimeclass_cdk8s_io_kata_qemu="ready"}`);
  expect(checkPromql(nodeRule.expr).errors).toEqual([]);
  expect(alerts.kubeStateMetricsFlag).toBe('--metric-labels-allowlist=nodes=[feature.node.kubernetes.io/cpu-cpuid.SVM,feature.node.kubernetes.io/cpu-cpuid.VMX,'
    + 'kubernetes.io/os,node-pool,node-role.kubernetes.io/control-plane,runtimeclass.cdk8s.io/kata-qemu]');
  expect(ruleOf(chart).spec.groups[0].rules[1].expr).toContain('daemonset="runtimeclass-node-setup"');
  expect(problems(chart)).toEqual([]);
});

describe('classes without a node setup', () => {
  test('a class made elsewhere gets the memory alert only', () => {
    const chart = newChart();
    const gke = RuntimeClass.fromName('gvisor', { overhead: PodOverhead.of({ memory: '100Mi' }) });
    const alerts = new RuntimeAlerts(chart, 'alerts', { runtime: gke });
    const rules = ruleOf(chart).spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).toEqual(['RuntimeClassPodMemoryOverrun']);
    expect(rules[0].expr).toContain('kube_pod_runtimeclass_name_info{job="kube-state-metrics", runtimeclass_name="gvisor"}');
    expect(alerts.nodeLabelsAllowlist).toEqual([]);
    expect(alerts.kubeStateMetricsFlag).toBe('');
    expect(problems(chart)).toEqual([]);
  });

  test('a runtime with nodeSetup: false', () => {
    const chart = newChart();
    new RuntimeAlerts(chart, 'alerts', { runtime: new GvisorRuntime(chart, 'gvisor', { nodeSetup: false }) });
    expect(ruleOf(chart).spec.groups[0].rules.map((r: any) => r.alert)).toEqual(['RuntimeClassPodMemoryOverrun']);
  });

  test('a reference with an explicit node setup of one handler uses that handler', () => {
    const chart = newChart();
    const kata = new KataRuntime(chart, 'kata');
    new RuntimeAlerts(chart, 'alerts', { runtime: RuntimeClass.fromName('sandboxed'), nodeSetup: kata.nodeSetup });
    const rules = ruleOf(chart).spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).toEqual(['RuntimeClassPodMemoryOverrun', 'RuntimeClassNodeSetupNotReady', 'RuntimeClassNodeNotReady']);
    expect(rules[2].expr).toContain('label_runtimeclass_cdk8s_io_kata_qemu="ready"');
    expect(problems(chart)).toEqual([]);
  });
});

test('thresholds, durations, labels and selectors', () => {
  const chart = newChart();
  const kata = new KataRuntime(chart, 'kata');
  new RuntimeAlerts(chart, 'alerts', {
    runtime: kata,
    memoryOverrunFactor: 1.5,
    memoryOverrunFor: Duration.hours(1),
    nodeSetupNotReadyFor: Duration.seconds(90),
    nodeNotReadyFor: Duration.minutes(45),
    labels: { team: 'platform', severity: 'critical' },
    kubeStateMetricsSelector: { job: 'ksm', cluster: 'eu-1' },
    cadvisorSelector: { job: 'cadvisor' },
    metadata: { name: 'kata-alerts', namespace: 'observability' },
  });
  const rule = ruleOf(chart);
  const rules = rule.spec.groups[0].rules;
  expect(rule.metadata).toEqual({ name: 'kata-alerts', namespace: 'observability' });
  expect(rules.map((r: any) => r.for)).toEqual(['1h', '90s', '45m']);
  expect(rules[0].labels).toEqual({ severity: 'critical', team: 'platform', runtimeclass: 'kata-qemu' });
  expect(rules[0].expr).toContain('> on (namespace, pod) 1.5 * sum by (namespace, pod) (');
  expect(rules[0].expr).toContain('container_memory_working_set_bytes{job="cadvisor", container="", image="", pod!=""}');
  expect(rules[0].expr).toContain('kube_pod_overhead_memory_bytes{cluster="eu-1", job="ksm"}');
  expect(rules[0].annotations.description).toContain('has stayed above 1.5 x (its memory requests + the overhead of RuntimeClass kata-qemu) for 1h');
  for (const r of rules) expect(checkPromql(r.expr)).toMatchObject({ errors: [], unknownLabels: [] });
  expect(problems(chart)).toEqual([]);
});

describe('validation', () => {
  const messages = (props: Partial<RuntimeAlertsProps>) => {
    const chart = newChart();
    const kata = new KataRuntime(chart, 'kata');
    new RuntimeAlerts(chart, 'alerts', { runtime: kata, ...props });
    return problems(chart);
  };

  const cases: Array<[Partial<RuntimeAlertsProps>, string]> = [
    [{ memoryOverrunFactor: 0 }, 'memoryOverrunFactor 0 must be a number above 0 (1.2 alerts at 20% above requests + overhead)'],
    [{ memoryOverrunFactor: Number.NaN }, 'memoryOverrunFactor NaN must be a number above 0 (1.2 alerts at 20% above requests + overhead)'],
    [{ memoryOverrunFor: Duration.millis(1500) }, 'memoryOverrunFor 1 second 500 millis must be a whole number of seconds, 0 or more'],
    [{ labels: { 'team-name': 'x' } }, 'labels["team-name"] is not a Prometheus label name (letters, digits and "_", not starting with a digit or "__")'],
    [{ labels: { __name__: 'x' } }, 'labels["__name__"] is not a Prometheus label name (letters, digits and "_", not starting with a digit or "__")'],
    [{ labels: { runtimeclass: 'x' } }, 'labels["runtimeclass"] = "x": the alerts set runtimeclass to the class name themselves; remove it'],
    [{ kubeStateMetricsSelector: { namespace: 'kube-system' } }, 'kubeStateMetricsSelector["namespace"] is a label the alert expressions match on themselves: select the source by other labels (job, instance, cluster)'],
    [{ kubeStateMetricsSelector: { label_zone: 'a' } }, 'kubeStateMetricsSelector["label_zone"] is a label the alert expressions match on themselves: select the source by other labels (job, instance, cluster)'],
    [{ cadvisorSelector: { 'metrics-path': 'x' } }, 'cadvisorSelector["metrics-path"] is not a Prometheus label name (letters, digits and "_", not starting with a digit)'],
    [{ cadvisorSelector: { image: 'x' } }, 'cadvisorSelector["image"] is a label the alert expressions match on themselves: select the source by other labels (job, instance, cluster)'],
    [{ metadata: { name: 'Kata_Alerts' } }, 'metadata.name "Kata_Alerts" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit'],
  ];
  test.each(cases.map(([props, message]) => [message, props] as const))('%s', (message, props) => {
    const name = props.metadata?.name ?? 'runtimeclass-kata-qemu';
    expect(messages(props)).toEqual([`RuntimeAlerts "${name}": ${message}`]);
  });

  test('a handler the node setup does not install', () => {
    expect(messages({ handler: 'kata-fc' })).toEqual([
      'RuntimeAlerts "runtimeclass-kata-qemu": handler "kata-fc" is not installed by NodeSetup "kata-qemu-node-setup" (it installs "kata-qemu"): its ready label would never be set; give the node setup that installs it',
    ]);
  });

  test('a reference with a shared node setup must name its handler; a handler without a node setup is an error', () => {
    const chart = newChart();
    const nodes = new NodeSetup(chart, 'nodes');
    new KataRuntime(chart, 'kata', { nodeSetup: nodes });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: nodes });
    new RuntimeAlerts(chart, 'a', { runtime: RuntimeClass.fromName('sandbox'), nodeSetup: nodes });
    new RuntimeAlerts(chart, 'b', { runtime: RuntimeClass.fromName('other'), handler: 'runsc' });
    expect(problems(chart)).toEqual([
      'RuntimeAlerts "runtimeclass-sandbox": NodeSetup "runtimeclass-node-setup" installs handlers "kata-qemu", "runsc": give `handler`, the one RuntimeClass "sandbox" uses',
      'RuntimeAlerts "runtimeclass-other": handler "runsc" is given, but there is no node setup to watch: give nodeSetup, or remove handler',
    ]);
  });
});

describe('PromQL helpers', () => {
  test.each([
    ['runtimeclass.cdk8s.io/kata-qemu', 'label_runtimeclass_cdk8s_io_kata_qemu'],
    ['kubernetes.io/os', 'label_kubernetes_io_os'],
    ['feature.node.kubernetes.io/cpu-cpuid.VMX', 'label_feature_node_kubernetes_io_cpu_cpuid_vmx'],
    ['topology.example.com/zoneName', 'label_topology_example_com_zone_name'],
  ])('kube-state-metrics exports node label %s as %s', (key, label) => {
    expect(kubeStateMetricsLabel(key)).toBe(label);
  });

  test('string literals, regular expressions and durations', () => {
    expect(quote('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(oneOf(['a.b', 'c|d'])).toBe('a\\.b|c\\|d');
    expect([0, 45, 60, 90, 3600, 5400].map(promDuration)).toEqual(['0s', '45s', '1m', '90s', '1h', '90m']);
  });
});
