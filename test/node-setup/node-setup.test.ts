import { createHash } from 'crypto';
import { ApiObject, App, Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { parse as parseToml } from 'smol-toml';
import {
  CpuArchitecture,
  CrunRuntime,
  GvisorPlatform,
  GvisorRuntime,
  KataHypervisor,
  KataRuntime,
  KubernetesDistribution,
  NodeSetup,
  NodeSetupProps,
  RuncRuntime,
  RuntimeArtifacts,
  SandboxedRuntime,
  TaintEffect,
  TolerationOperator,
} from '../../src';
import { nodeAgentCode } from '../../src/node-setup/node-agent-files';
import { validationErrors } from '../core/support';
import { fullFragments } from '../node-agent/helpers';
import { withoutAgentCode } from '../support/snapshots';

const SHA512 = 'a'.repeat(128);
const OFF_CONTROL_PLANE = { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' };
const OTHER_SHA512 = 'b'.repeat(128);
const SETUP_LABELS = { 'app.kubernetes.io/name': 'runtimeclass-node-setup', 'app.kubernetes.io/instance': 'runtimeclass-node-setup' };

function newApp(namespace?: string): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test', { namespace }) };
}

/** A NodeSetup with crun, the lightest runtime, so that it has something to install. */
function setupWithCrun(chart: Chart, props: NodeSetupProps = {}): NodeSetup {
  const setup = new NodeSetup(chart, 'setup', props);
  new CrunRuntime(chart, 'crun', { nodeSetup: setup });
  return setup;
}

function manifestsOf(chart: Chart): any[] {
  return Testing.synth(chart);
}

function onlyOfKind(manifests: any[], kind: string): any {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found.map((m) => m.kind)).toEqual([kind]);
  return found[0];
}

function daemonSetOf(chart: Chart): any {
  return onlyOfKind(manifestsOf(chart), 'DaemonSet');
}

function podSpecOf(chart: Chart): any {
  return daemonSetOf(chart).spec.template.spec;
}

function agentOf(chart: Chart): any {
  const containers = podSpecOf(chart).containers;
  expect(containers.map((c: any) => c.name)).toEqual(['agent']);
  return containers[0];
}

function dataOf(chart: Chart): { [key: string]: string } {
  return onlyOfKind(manifestsOf(chart), 'ConfigMap').data;
}

/** The fragments the agent assembles on a node that runs every handler (`containerd-v2.toml`, `crio.conf`, ...). */
function fragmentsOf(chart: Chart): { [key: string]: string } {
  const data = dataOf(chart);
  return fullFragments(data, JSON.parse(data['spec.json']));
}

/** The agent's spec (`spec.json`), with each handler reduced to its name. */
function specOf(chart: Chart): any {
  const spec = JSON.parse(dataOf(chart)['spec.json']);
  return { ...spec, handlers: spec.handlers.map((h: any) => h.handler) };
}

/** The spec's artifacts, one array per artifact: arch, source, location, sha512, destination. */
function artifactLinesOf(chart: Chart): string[][] {
  return specOf(chart).artifacts.map((a: any) => [a.arch, a.source, a.location, a.sha512 ?? '-', a.destination ?? '-']);
}

/** The name of the ConfigMap the DaemonSet mounts. */
function mountedConfigMapOf(chart: Chart): string {
  return podSpecOf(chart).volumes.find((v: any) => v.name === 'config').configMap.name;
}

/** `<name>-` and 10 hex digits. */
const CONTENT_NAMED = (name: string) => new RegExp(`^${name}-[0-9a-f]{10}$`);

describe('a runtime\'s own node setup', () => {
  test('every object, by kind and name, after the RuntimeClass', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    expect(validationErrors(app)).toEqual([]);
    expect(manifestsOf(chart).map((m) => [m.apiVersion, m.kind, m.metadata.name, m.metadata.namespace])).toEqual([
      ['node.k8s.io/v1', 'RuntimeClass', 'kata-qemu', undefined],
      ['v1', 'Namespace', 'runtimeclass-system', undefined],
      ['v1', 'ServiceAccount', 'kata-qemu-node-setup', 'runtimeclass-system'],
      ['v1', 'ResourceQuota', 'kata-qemu-node-setup-critical-pods', 'runtimeclass-system'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'kata-qemu-node-setup', undefined],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'kata-qemu-node-setup', undefined],
      ['rbac.authorization.k8s.io/v1', 'Role', 'kata-qemu-node-setup', 'runtimeclass-system'],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'kata-qemu-node-setup', 'runtimeclass-system'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'kata-qemu-node-setup-own-node', undefined],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'kata-qemu-node-setup-own-node', undefined],
      ['v1', 'ConfigMap', expect.stringMatching(CONTENT_NAMED('kata-qemu-node-setup')), 'runtimeclass-system'],
      ['apps/v1', 'DaemonSet', 'kata-qemu-node-setup', 'runtimeclass-system'],
    ]);
    const setup = kata.nodeSetup!;
    expect(setup.node.path).toBe('test/kata/NodeSetup');
    expect([setup.name, setup.namespace, setup.handlers]).toEqual(['kata-qemu-node-setup', 'runtimeclass-system', ['kata-qemu']]);
    expect(NodeSetup.isNodeSetup(setup)).toBe(true);
    expect(NodeSetup.isNodeSetup(kata)).toBe(false);
  });

  test('ApiObject.of() gives the DaemonSet; daemonSet and configMap are the objects', () => {
    const { chart } = newApp();
    const setup = new CrunRuntime(chart, 'crun').nodeSetup!;
    expect(ApiObject.of(setup)).toBe(setup.daemonSet);
    expect([setup.daemonSet.kind, setup.daemonSet.name]).toEqual(['DaemonSet', 'crun-node-setup']);
    expect([setup.configMap.kind, setup.configMap.name]).toEqual(['ConfigMap', expect.stringMatching(CONTENT_NAMED('crun-node-setup'))]);
    expect(onlyOfKind(manifestsOf(chart), 'ConfigMap').metadata.name).toBe(setup.configMap.name);
  });

  test('the node setup of a runtime is named after its handler, not its class', () => {
    const { chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { name: 'secure', hypervisor: KataHypervisor.CLOUD_HYPERVISOR });
    expect(kata.nodeSetup?.name).toBe('kata-clh-node-setup');
  });

  test('a 63-character handler gives a 63-character node setup name', () => {
    const { app, chart } = newApp();
    const runtime = new SandboxedRuntime(chart, 'r', { handler: `h${'-x'.repeat(31)}`, containerd: { runtimeType: 'io.containerd.runc.v2' } });
    expect(validationErrors(app)).toEqual([]);
    // 52 characters of the handler, without a trailing "-", then "-node-setup".
    expect(runtime.nodeSetup?.name).toBe(`h${'-x'.repeat(25)}-node-setup`);
    expect(runtime.nodeSetup?.name.length).toBe(62);
  });

  test('the Namespace is labelled for the privileged Pod Security level', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    expect(onlyOfKind(manifestsOf(chart), 'Namespace')).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'runtimeclass-system',
        labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged' },
      },
    });
  });

  test('createNamespace: false uses an existing namespace and creates none', () => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { namespace: 'kube-system', createNamespace: false });
    expect(validationErrors(app)).toEqual([]);
    const manifests = manifestsOf(chart);
    expect(manifests.filter((m) => m.kind === 'Namespace')).toEqual([]);
    expect(manifests.filter((m) => ['ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap', 'DaemonSet'].includes(m.kind)).map((m) => m.metadata.namespace))
      .toEqual(['kube-system', 'kube-system', 'kube-system', 'kube-system', 'kube-system']);
  });

  test.each([
    ['the default namespace', {}, 'runtimeclass-system'],
    ['a namespace of its own', { namespace: 'node-setup' }, 'node-setup'],
  ])('in a namespaced chart, with %s: cluster-scoped objects have no namespace, the others the setup\'s', (_what, props, namespace) => {
    const { app, chart } = newApp('tenant-a');
    setupWithCrun(chart, props);
    expect(validationErrors(app)).toEqual([]);
    const setupObjects = manifestsOf(chart).filter((m) => m.kind !== 'RuntimeClass');
    expect(setupObjects.map((m) => [m.kind, m.metadata.namespace])).toEqual([
      ['Namespace', undefined],
      ['ServiceAccount', namespace],
      ['ResourceQuota', namespace],
      ['ClusterRole', undefined],
      ['ClusterRoleBinding', undefined],
      ['Role', namespace],
      ['RoleBinding', namespace],
      ['ValidatingAdmissionPolicy', undefined],
      ['ValidatingAdmissionPolicyBinding', undefined],
      ['ConfigMap', namespace],
      ['DaemonSet', namespace],
    ]);
    expect(onlyOfKind(setupObjects, 'Namespace').metadata).not.toHaveProperty('namespace');
    expect(onlyOfKind(setupObjects, 'Namespace').metadata.name).toBe(namespace);
    expect(onlyOfKind(setupObjects, 'ClusterRoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'runtimeclass-node-setup', namespace }]);
  });

  test('every object but the Namespace carries the app labels, and the DaemonSet selects its pods by them', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { name: 'runtimes' });
    const labels = { 'app.kubernetes.io/name': 'runtimeclass-node-setup', 'app.kubernetes.io/instance': 'runtimes' };
    const setupObjects = manifestsOf(chart).filter((m) => !['RuntimeClass', 'Namespace'].includes(m.kind));
    expect(setupObjects.map((m) => [m.kind, m.metadata.labels])).toEqual(
      ['ServiceAccount', 'ResourceQuota', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ConfigMap', 'DaemonSet'].map((kind) => [kind, labels]));
    const daemonSet = onlyOfKind(setupObjects, 'DaemonSet');
    expect(daemonSet.spec.selector).toEqual({ matchLabels: labels });
    expect(daemonSet.spec.template.metadata.labels).toEqual(labels);
  });

  test('only the agent container gets a token: none is mounted by default, a projected one in the agent', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(onlyOfKind(manifestsOf(chart), 'ServiceAccount')).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'runtimeclass-node-setup', namespace: 'runtimeclass-system', labels: SETUP_LABELS },
      automountServiceAccountToken: false,
    });
    const spec = podSpecOf(chart);
    expect(spec.serviceAccountName).toBe('runtimeclass-node-setup');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.volumes.find((v: any) => v.name === 'api-token')).toEqual({
      name: 'api-token',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    });
    expect(agentOf(chart).volumeMounts).toContainEqual({ name: 'api-token', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
  });
});

describe('RBAC: least privilege', () => {
  test('the ClusterRole may only get and patch nodes', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(onlyOfKind(manifestsOf(chart), 'ClusterRole').rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
    ]);
  });

  test('the Role may only get the setup\'s own DaemonSet', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { name: 'runtimes', namespace: 'node-setup' });
    const role = onlyOfKind(manifestsOf(chart), 'Role');
    expect(role.metadata.namespace).toBe('node-setup');
    expect(role.rules).toEqual([
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['runtimes'], verbs: ['get'] },
    ]);
  });

  test('the bindings bind those roles to the setup\'s ServiceAccount only', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { name: 'runtimes', namespace: 'node-setup' });
    const manifests = manifestsOf(chart);
    const subjects = [{ kind: 'ServiceAccount', name: 'runtimes', namespace: 'node-setup' }];
    expect(onlyOfKind(manifests, 'ClusterRoleBinding')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'runtimes' },
      subjects,
    });
    expect(onlyOfKind(manifests, 'RoleBinding')).toMatchObject({
      metadata: { namespace: 'node-setup' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'runtimes' },
      subjects,
    });
  });

  test('no other RBAC object and no wildcard anywhere', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    const manifests = manifestsOf(chart);
    expect(manifests.filter((m) => m.apiVersion === 'rbac.authorization.k8s.io/v1').map((m) => m.kind))
      .toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    expect(JSON.stringify(manifests.filter((m) => m.rules).map((m) => m.rules))).not.toContain('*');
  });
});

describe('the DaemonSet', () => {
  test('pod-level settings: system-node-critical, no host network or PID, seccomp RuntimeDefault, 180s to uninstall, off control planes', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    const spec = podSpecOf(chart);
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(spec.hostNetwork).toBe(false);
    expect(spec.hostPID).toBe(false);
    expect(spec).not.toHaveProperty('hostIPC');
    expect(spec.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.terminationGracePeriodSeconds).toBe(180);
    expect(spec.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] }],
        },
      },
    });
    expect(spec).not.toHaveProperty('initContainers');
  });

  test('includeControlPlane: true runs on control-plane nodes too', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { includeControlPlane: true });
    expect(podSpecOf(chart)).not.toHaveProperty('affinity');
  });

  test('the agent: node running the ConfigMap\'s agent.js, its image, resources and security context', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    const agent = agentOf(chart);
    expect(agent.command).toEqual(['node', '/etc/runtimeclass-setup/agent.js']);
    expect(agent.image).toBe('docker.io/library/node:22-alpine');
    expect(agent.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
    expect(agent.securityContext).toEqual({ privileged: true, readOnlyRootFilesystem: true, runAsUser: 0 });
  });

  test('the readiness probe runs the agent\'s probe script from the ConfigMap, with node', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(agentOf(chart).readinessProbe).toEqual({
      exec: { command: ['node', '/etc/runtimeclass-setup/probe.js'] },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 1,
    });
    expect(Object.keys(dataOf(chart))).toEqual(expect.arrayContaining(['probe.js', 'agent.js', 'sandbox-check.js']));
  });

  test.each([
    'docker.io/library/node:22-alpine@sha256:' + 'a'.repeat(64),
    'registry.example.com:5000/team/node-agent:1.2.3',
    'node@sha256:' + '0123456789abcdef'.repeat(4),
  ])('agentImage %s is used as given', (image) => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { agentImage: image });
    expect(validationErrors(app)).toEqual([]);
    expect(agentOf(chart).image).toBe(image);
  });

  test.each([
    'docker.io/library/node:22-alpine@sha256:abc',
    'Docker.io/Library/Node:22',
    'node:22 alpine',
  ])('agentImage %s is an error naming it and the form to use', (image) => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { agentImage: image });
    expect(validationErrors(app)).toEqual([
      `[test/setup] NodeSetup "runtimeclass-node-setup": agentImage "${image}" is not an image reference: give [registry/]repository[:tag][@sha256:<64 lowercase hex digits>], `
      + 'e.g. "docker.io/library/node:22-alpine@sha256:..." copied from `docker buildx imagetools inspect docker.io/library/node:22-alpine`',
    ]);
  });

  test('recheckPeriod becomes RECHECK_PERIOD in seconds (default one minute)', () => {
    const env = (props: NodeSetupProps) => {
      const { chart } = newApp();
      setupWithCrun(chart, props);
      return agentOf(chart).env.find((e: any) => e.name === 'RECHECK_PERIOD');
    };
    expect(env({})).toEqual({ name: 'RECHECK_PERIOD', value: '60' });
    expect(env({ recheckPeriod: Duration.seconds(30) })).toEqual({ name: 'RECHECK_PERIOD', value: '30' });
    expect(env({ recheckPeriod: Duration.minutes(5) })).toEqual({ name: 'RECHECK_PERIOD', value: '300' });
  });

  test.each([
    ['below 10 s', Duration.seconds(5), '5'],
    ['not whole seconds', Duration.millis(15_500), '15.5'],
  ])('recheckPeriod %s is an error naming the value and the fix', (_, period, shown) => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { recheckPeriod: period });
    expect(validationErrors(app)).toEqual([
      `[test/setup] NodeSetup "runtimeclass-node-setup": recheckPeriod is ${shown} s: give whole seconds, at least Duration.seconds(10) (each check starts a pod sandbox per handler)`,
    ]);
  });

  test('the environment of the agent contract', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(agentOf(chart).env).toEqual([
      { name: 'ACTION', value: 'install' },
      { name: 'HOST_ROOT', value: '/host' },
      { name: 'STATE_DIR', value: '/run/runtimeclass-setup' },
      { name: 'ARTIFACTS_DIR', value: '/artifacts' },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_TEMPLATE_GENERATION', valueFrom: { fieldRef: { fieldPath: "metadata.labels['pod-template-generation']" } } },
      { name: 'RECHECK_PERIOD', value: '60' },
    ]);
  });

  test('volumes: the host\'s / is the only host path; the ConfigMap is mounted read-only', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { name: 'runtimes' });
    const spec = podSpecOf(chart);
    expect(spec.volumes).toEqual([
      { name: 'host-root', hostPath: { path: '/', type: 'Directory' } },
      { name: 'config', configMap: { name: expect.stringMatching(CONTENT_NAMED('runtimes')) } },
      { name: 'state', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
      { name: 'artifacts', emptyDir: { sizeLimit: '4Gi' } },
      expect.objectContaining({ name: 'api-token' }),
    ]);
    expect(spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/']);
    expect(agentOf(chart).volumeMounts).toEqual([
      { name: 'host-root', mountPath: '/host' },
      { name: 'config', mountPath: '/etc/runtimeclass-setup', readOnly: true },
      { name: 'state', mountPath: '/run/runtimeclass-setup' },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'artifacts', mountPath: '/artifacts', readOnly: true },
      { name: 'api-token', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ]);
  });

  // The API server reads maxUnavailable as an IntOrString whose string form must be a
  // percentage: a count is rendered as an integer, whichever way it was given.
  test.each<[string, string | kplus.PercentOrAbsolute | undefined, string | number]>([
    ['default', undefined, '10%'],
    ['a percentage', '25%', '25%'],
    ['a count', '5', 5],
    ['100%', '100%', '100%'],
    ['PercentOrAbsolute.percent(20)', kplus.PercentOrAbsolute.percent(20), '20%'],
    ['PercentOrAbsolute.percent(100)', kplus.PercentOrAbsolute.percent(100), '100%'],
    ['PercentOrAbsolute.absolute(5)', kplus.PercentOrAbsolute.absolute(5), 5],
    ['PercentOrAbsolute.absolute(500)', kplus.PercentOrAbsolute.absolute(500), 500],
  ])('maxUnavailable: %s', (_what, maxUnavailable, expected) => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { maxUnavailable });
    expect(validationErrors(app)).toEqual([]);
    expect(daemonSetOf(chart).spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: expected } });
  });

  test('tolerations: every taint by default', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(podSpecOf(chart).tolerations).toEqual([{ operator: 'Exists' }]);
  });

  test('tolerations: the given ones replace the default', () => {
    const { app, chart } = newApp();
    setupWithCrun(chart, {
      tolerations: [
        { key: 'sandbox', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
        { key: 'pool', value: 'gpu', effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 60 },
      ],
    });
    expect(validationErrors(app)).toEqual([]);
    expect(podSpecOf(chart).tolerations).toEqual([
      { key: 'sandbox', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'pool', value: 'gpu', effect: 'NoExecute', tolerationSeconds: 60 },
    ]);
  });

  test('nodeSelector: Linux nodes, merged with the user\'s', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    expect(podSpecOf(chart).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });

    const other = newApp();
    setupWithCrun(other.chart, { nodeSelector: { 'node-pool': 'sandbox', 'kubernetes.io/arch': 'amd64' } });
    expect(podSpecOf(other.chart).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'node-pool': 'sandbox', 'kubernetes.io/arch': 'amd64' });
  });

  test('requireVirtualizationFeatureLabels: a required node affinity with two ORed terms, VMX or SVM', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { requireVirtualizationFeatureLabels: true });
    expect(podSpecOf(chart).affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            // Each ORed term keeps the setup off control-plane nodes.
            { matchExpressions: [OFF_CONTROL_PLANE, { key: 'feature.node.kubernetes.io/cpu-cpuid.VMX', operator: 'In', values: ['true'] }] },
            { matchExpressions: [OFF_CONTROL_PLANE, { key: 'feature.node.kubernetes.io/cpu-cpuid.SVM', operator: 'In', values: ['true'] }] },
          ],
        },
      },
    });
  });

  test('custom priority class, termination grace, agent image and resources', () => {
    const image = `registry.example.com/tools/k8s@sha256:${'c'.repeat(64)}`;
    const { app, chart } = newApp();
    setupWithCrun(chart, {
      priorityClassName: 'platform-critical',
      terminationGracePeriod: Duration.minutes(5),
      agentImage: image,
      cpuRequest: '100m',
      memoryRequest: '128Mi',
      memoryLimit: '512Mi',
    });
    expect(validationErrors(app)).toEqual([]);
    const spec = podSpecOf(chart);
    expect([spec.priorityClassName, spec.terminationGracePeriodSeconds]).toEqual(['platform-critical', 300]);
    expect(agentOf(chart).image).toBe(image);
    expect(agentOf(chart).resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
  });

  test('NodeSetup({ memoryRequest: \'64MB\' }) synthesizes a DaemonSet the schema rejects: the agent\'s requests take Cpu and Size, and strings are checked as quantities', () => {
    const typed = newApp();
    setupWithCrun(typed.chart, { cpuRequest: kplus.Cpu.millis(100), memoryRequest: Size.mebibytes(128), memoryLimit: Size.gibibytes(1) });
    expect(validationErrors(typed.app)).toEqual([]);
    expect(agentOf(typed.chart).resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } });

    const wrong = newApp();
    setupWithCrun(wrong.chart, { memoryRequest: '64MB', cpuRequest: 'half' });
    expect(validationErrors(wrong.app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": cpuRequest: "half" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
      '[test/setup] NodeSetup "runtimeclass-node-setup": memoryRequest: "64MB" is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)',
    ]);

    const above = newApp();
    setupWithCrun(above.chart, { memoryRequest: Size.mebibytes(512), memoryLimit: '256Mi' });
    expect(validationErrors(above.app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": memoryRequest "512Mi" is above memoryLimit "256Mi": the API server rejects a request above its limit; raise memoryLimit or lower memoryRequest',
    ]);

    const notAValue = newApp();
    setupWithCrun(notAValue.chart, { memoryLimit: 256 as any });
    expect(validationErrors(notAValue.app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": memoryLimit: number 256 is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))',
    ]);
  });

  test('one init container per image artifact, copying the image path into /artifacts/<n>', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup');
    new KataRuntime(chart, 'kata', { nodeSetup: setup });
    new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      nodeSetup: setup,
      containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/opt/youki/youki' } },
      artifacts: [
        RuntimeArtifacts.preinstalled('/usr/lib/libseccomp.so.2'),
        RuntimeArtifacts.fromImage('ghcr.io/example/youki:0.4.1', '/usr/bin/youki', { destination: '/opt/youki/youki', architecture: CpuArchitecture.AMD64 }),
      ],
    });
    expect(validationErrors(app)).toEqual([]);
    const initContainers = podSpecOf(chart).initContainers;
    expect(initContainers.map((c: any) => [c.name, c.image, c.command, c.volumeMounts])).toEqual([
      ['artifacts-0', 'quay.io/kata-containers/kata-deploy:3.11.0', ['sh', '-c', 'cp -a "$0" "$1"', '/opt/kata-artifacts/opt/kata', '/artifacts/0'],
        [{ name: 'artifacts', mountPath: '/artifacts' }]],
      ['artifacts-1', 'ghcr.io/example/youki:0.4.1', ['sh', '-c', 'cp -a "$0" "$1"', '/usr/bin/youki', '/artifacts/1'],
        [{ name: 'artifacts', mountPath: '/artifacts' }]],
    ]);
    // The copiers are not privileged: only the agent is.
    for (const c of initContainers) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsUser: 0,
        capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
      });
      expect(c.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } });
    }
    // The agent finds each image artifact in its slot.
    expect(artifactLinesOf(chart)).toEqual([
      ['any', 'image', '0', '-', '/opt/kata'],
      ['any', 'preinstalled', '/usr/lib/libseccomp.so.2', '-', '-'],
      ['amd64', 'image', '1', '-', '/opt/youki/youki'],
    ]);
  });

  test('each artifact and host file names the handlers that need it; one artifact given to two runtimes is listed (and copied) once', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup');
    const youki = RuntimeArtifacts.fromImage('ghcr.io/example/youki:0.4.1', '/usr/bin/youki', { destination: '/opt/youki/youki' });
    const containerd = { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/opt/youki/youki' } };
    new SandboxedRuntime(chart, 'youki', { handler: 'youki', nodeSetup: setup, containerd, artifacts: [youki] });
    new SandboxedRuntime(chart, 'youki-debug', { handler: 'youki-debug', nodeSetup: setup, containerd, artifacts: [youki] });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup });
    expect(validationErrors(app)).toEqual([]);
    const spec = specOf(chart);
    expect(spec.artifacts.map((a: any) => [a.location, a.handlers])).toEqual([
      ['0', ['youki', 'youki-debug']],
      ['/usr/local/bin/runsc', ['runsc']],
      ['/usr/local/bin/containerd-shim-runsc-v1', ['runsc']],
    ]);
    expect(podSpecOf(chart).initContainers.map((c: any) => c.name)).toEqual(['artifacts-0']);
    expect(spec.hostFileHandlers).toEqual({ '/etc/containerd/runsc.toml': ['runsc'] });
    expect(Object.keys(spec.hostFiles)).toEqual(['/etc/containerd/runsc.toml']);
  });

  test('no init container without image artifacts', () => {
    const { chart } = newApp();
    const setup = new NodeSetup(chart, 'setup');
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup, artifacts: GvisorRuntime.releaseArtifacts('20250101.0', { runscAmd64: SHA512, shimAmd64: OTHER_SHA512 }) });
    new CrunRuntime(chart, 'crun', { nodeSetup: setup });
    expect(podSpecOf(chart)).not.toHaveProperty('initContainers');
  });

  describe('The ConfigMap that holds the agent\'s code is mutable in place and not content-named: it is immutable, named after its data, and mounted by that name', () => {
    function build(extra?: (chart: Chart, setup: NodeSetup) => void, props: NodeSetupProps = {}): Chart {
      const { chart } = newApp();
      const setup = new NodeSetup(chart, 'setup', props);
      new KataRuntime(chart, 'kata', { nodeSetup: setup });
      extra?.(chart, setup);
      return chart;
    }

    test('the ConfigMap is immutable, named <name>-<first 10 hex digits of the sha256 of its data>, and the DaemonSet mounts that name', () => {
      const chart = build();
      const configMap = onlyOfKind(manifestsOf(chart), 'ConfigMap');
      expect(configMap.immutable).toBe(true);
      const digest = createHash('sha256').update(JSON.stringify(configMap.data)).digest('hex');
      expect(configMap.metadata.name).toBe(`runtimeclass-node-setup-${digest.slice(0, 10)}`);
      expect(mountedConfigMapOf(chart)).toBe(configMap.metadata.name);
      // The name is the only link: no annotation repeats it.
      expect(daemonSetOf(chart).spec.template.metadata).toEqual({ labels: SETUP_LABELS });
      expect(daemonSetOf(chart).metadata).not.toHaveProperty('annotations');
    });

    test('is stable for the same configuration', () => {
      expect(mountedConfigMapOf(build())).toBe(mountedConfigMapOf(build()));
    });

    test('a runtime added after the setup is in the name (it is computed at synthesis)', () => {
      const withGvisor = build((chart, setup) => new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup }));
      expect(mountedConfigMapOf(withGvisor)).not.toBe(mountedConfigMapOf(build()));
      expect(onlyOfKind(manifestsOf(withGvisor), 'ConfigMap').metadata.name).toBe(mountedConfigMapOf(withGvisor));
    });

    test('changes when the distribution changes, so the pod template changes and the DaemonSet rolls', () => {
      const k3s = build(undefined, { distribution: KubernetesDistribution.K3S });
      expect(mountedConfigMapOf(k3s)).not.toBe(mountedConfigMapOf(build()));
      expect(daemonSetOf(k3s).spec.template).not.toEqual(daemonSetOf(build()).spec.template);
    });

    test('changes when a runtime\'s handler configuration changes', () => {
      const a = build((chart, setup) => new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup }));
      const b = build((chart, setup) => new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup, runscFlags: { overlay2: 'root:self' } }));
      expect(mountedConfigMapOf(a)).not.toBe(mountedConfigMapOf(b));
    });
  });
});

describe('the ConfigMap', () => {
  test('keys for Kata: the agent\'s modules, spec.json, the handler\'s containerd tables for each schema, its CRI-O table', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    const keys = Object.keys(dataOf(chart));
    expect(keys.filter((k) => !k.endsWith('.js'))).toEqual([
      'containerd-v1.kata-qemu.toml',
      'containerd-v2.kata-qemu.toml',
      'containerd-v3.kata-qemu.toml',
      'crio.kata-qemu.conf',
      'spec.json',
    ]);
    expect(keys).toContain('agent.js');
  });

  test('the agent\'s modules are the library\'s own node agent', () => {
    const { chart } = newApp();
    setupWithCrun(chart);
    const data = dataOf(chart);
    const code = nodeAgentCode();
    expect(Object.keys(data).filter((k) => k.endsWith('.js'))).toEqual(Object.keys(code));
    for (const [name, text] of Object.entries(code)) expect(data[name]).toBe(text);
  });

  test('spec.json for Kata QEMU', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    expect(specOf(chart)).toMatchObject({
      setupName: 'kata-qemu-node-setup',
      handlers: ['kata-qemu'],
      readyLabels: { 'kata-qemu': 'runtimeclass.cdk8s.io/kata-qemu' },
      distribution: 'auto',
      kvmHandlers: ['kata-qemu'],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      daemonSetName: 'kata-qemu-node-setup',
    });
  });

  test('spec.json for crun: no KVM needed', () => {
    const { chart } = newApp();
    new CrunRuntime(chart, 'crun');
    expect(specOf(chart)).toMatchObject({ handlers: ['crun'], kvmHandlers: [], readyLabels: { crun: 'runtimeclass.cdk8s.io/crun' } });
  });

  test.each([
    [GvisorPlatform.SYSTRAP, []],
    [GvisorPlatform.PTRACE, []],
    [GvisorPlatform.KVM, ['runsc']],
  ])('spec.json for gVisor %s: kvmHandlers %j', (platform, kvmHandlers) => {
    const { chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { platform });
    expect(specOf(chart).kvmHandlers).toEqual(kvmHandlers);
  });

  test('spec.json: distribution, and the node selector with the user\'s labels', () => {
    const { chart } = newApp();
    setupWithCrun(chart, { name: 'runtimes', distribution: KubernetesDistribution.RKE2, nodeSelector: { 'node-pool': 'sandbox', 'example.com/tier': 'a' } });
    expect(specOf(chart)).toMatchObject({
      setupName: 'runtimes',
      daemonSetName: 'runtimes',
      distribution: 'rke2',
      nodeSelector: { 'kubernetes.io/os': 'linux', 'node-pool': 'sandbox', 'example.com/tier': 'a' },
    });
  });

  test('the containerd fragments parse as TOML and hold the handler under each schema\'s CRI plugin', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    const data = fragmentsOf(chart);
    const kata = {
      runtime_type: 'io.containerd.kata-qemu.v2',
      runtime_path: '/opt/kata/bin/containerd-shim-kata-v2',
      privileged_without_host_devices: true,
      pod_annotations: ['io.katacontainers.*'],
      options: { ConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml' },
    };
    expect(parseToml(data['containerd-v1.toml'])).toEqual({ plugins: { cri: { containerd: { runtimes: { 'kata-qemu': kata } } } } });
    expect(parseToml(data['containerd-v2.toml'])).toEqual({ plugins: { 'io.containerd.grpc.v1.cri': { containerd: { runtimes: { 'kata-qemu': kata } } } } });
    expect(parseToml(data['containerd-v3.toml'])).toEqual({ version: 3, plugins: { 'io.containerd.cri.v1.runtime': { containerd: { runtimes: { 'kata-qemu': kata } } } } });
    expect(parseToml(data['containerd-v3-tables.toml'])).toEqual({ plugins: { 'io.containerd.cri.v1.runtime': { containerd: { runtimes: { 'kata-qemu': kata } } } } });
    expect(parseToml(data['crio.conf'])).toEqual({
      crio: {
        runtime: {
          runtimes: {
            'kata-qemu': {
              runtime_path: '/opt/kata/bin/containerd-shim-kata-v2',
              runtime_type: 'vm',
              runtime_root: '/run/vc',
              runtime_config_path: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml',
              privileged_without_host_devices: true,
            },
          },
        },
      },
    });
  });

  test('runc-based handlers take the node\'s SystemdCgroup: rendered both ways, picked on the node', () => {
    const { chart } = newApp();
    new CrunRuntime(chart, 'crun');
    const data = dataOf(chart);
    for (const [key, systemdCgroup] of [['containerd-v2.crun.toml', false], ['containerd-v2.crun.systemd.toml', true]] as const) {
      expect(parseToml(data[key])).toEqual({
        plugins: { 'io.containerd.grpc.v1.cri': { containerd: { runtimes: { crun: { runtime_type: 'io.containerd.runc.v2', options: { BinaryName: '/usr/bin/crun', SystemdCgroup: systemdCgroup } } } } } },
      });
    }
  });

  test('no crio.conf when no handler has a CRI-O configuration', () => {
    const { chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { platform: GvisorPlatform.KVM });
    expect(Object.keys(dataOf(chart)).filter((k) => k.startsWith('crio.'))).toEqual([]);
  });

  test('gVisor\'s runsc.toml is a host file at /etc/containerd/runsc.toml', () => {
    const { chart } = newApp();
    new GvisorRuntime(chart, 'gvisor');
    const hostFiles = specOf(chart).hostFiles;
    expect(Object.keys(hostFiles)).toEqual(['/etc/containerd/runsc.toml']);
    expect(parseToml(hostFiles['/etc/containerd/runsc.toml'])).toEqual({ binary_name: '/usr/local/bin/runsc', runsc_config: { platform: 'systrap' } });
  });

  test('two gVisor classes in one setup: one runsc.toml each, listed by path', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup');
    new GvisorRuntime(chart, 'systrap', { nodeSetup: setup, runscFlags: { overlay2: 'root:self' } });
    new GvisorRuntime(chart, 'kvm', { nodeSetup: setup, name: 'gvisor-kvm', platform: GvisorPlatform.KVM, hostNetworking: true });
    expect(validationErrors(app)).toEqual([]);
    const hostFiles = specOf(chart).hostFiles;
    expect(Object.keys(hostFiles).sort()).toEqual(['/etc/containerd/runsc-gvisor-kvm.toml', '/etc/containerd/runsc.toml']);
    expect(parseToml(hostFiles['/etc/containerd/runsc-gvisor-kvm.toml'])).toEqual({ binary_name: '/usr/local/bin/runsc', runsc_config: { network: 'host', platform: 'kvm' } });
    expect(parseToml(hostFiles['/etc/containerd/runsc.toml'])).toEqual({ binary_name: '/usr/local/bin/runsc', runsc_config: { overlay2: 'root:self', platform: 'systrap' } });
  });

  test('no host files for Kata', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata');
    expect(specOf(chart).hostFiles).toEqual({});
  });
});

describe('sharing one NodeSetup', () => {
  function sharedChart(): { app: App; chart: Chart; setup: NodeSetup; runtimes: SandboxedRuntime[] } {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'runtimes', { name: 'runtimes' });
    const runtimes = [
      new KataRuntime(chart, 'kata', { nodeSetup: setup }),
      new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup }),
      new CrunRuntime(chart, 'crun', { nodeSetup: setup }),
    ];
    return { app, chart, setup, runtimes };
  }

  test('Kata QEMU, gVisor and crun: one DaemonSet, one ConfigMap with the three handlers', () => {
    const { app, chart, setup, runtimes } = sharedChart();
    expect(validationErrors(app)).toEqual([]);
    expect(runtimes.map((r) => r.nodeSetup === setup)).toEqual([true, true, true]);
    expect(setup.handlers).toEqual(['kata-qemu', 'runsc', 'crun']);
    const manifests = manifestsOf(chart);
    expect(manifests.filter((m) => m.kind === 'DaemonSet').map((m) => m.metadata.name)).toEqual(['runtimes']);
    expect(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name)).toEqual([mountedConfigMapOf(chart)]);
    expect(manifests.filter((m) => m.kind === 'Namespace')).toHaveLength(1);
    expect(specOf(chart)).toMatchObject({
      handlers: ['kata-qemu', 'runsc', 'crun'],
      readyLabels: { 'kata-qemu': 'runtimeclass.cdk8s.io/kata-qemu', 'runsc': 'runtimeclass.cdk8s.io/runsc', 'crun': 'runtimeclass.cdk8s.io/crun' },
    });
    const v2 = parseToml(fragmentsOf(chart)['containerd-v2.systemd.toml']) as any;
    expect(Object.keys(v2.plugins['io.containerd.grpc.v1.cri'].containerd.runtimes)).toEqual(['kata-qemu', 'runsc', 'crun']);
    expect(artifactLinesOf(chart).map((a) => a.slice(1, 3))).toEqual([
      ['image', '0'],
      ['preinstalled', '/usr/local/bin/runsc'],
      ['preinstalled', '/usr/local/bin/containerd-shim-runsc-v1'],
      ['preinstalled', '/usr/bin/crun'],
    ]);
  });

  test('each RuntimeClass selects its own handler\'s ready label', () => {
    const { chart } = sharedChart();
    expect(manifestsOf(chart).filter((m) => m.kind === 'RuntimeClass').map((m) => [m.metadata.name, m.scheduling])).toEqual([
      ['kata-qemu', { nodeSelector: { 'runtimeclass.cdk8s.io/kata-qemu': 'ready' } }],
      ['runsc', { nodeSelector: { 'runtimeclass.cdk8s.io/runsc': 'ready' } }],
      ['crun', { nodeSelector: { 'runtimeclass.cdk8s.io/crun': 'ready' } }],
    ]);
    expect(NodeSetup.readyLabelFor('kata-qemu')).toBe('runtimeclass.cdk8s.io/kata-qemu');
  });

  // Guards: the KVM requirement is per handler, so sharing one setup (one restart per node) keeps
  // gVisor (systrap) and crun available on nodes without KVM.
  test('a shared setup does not make gVisor and crun depend on /dev/kvm', () => {
    const { chart } = sharedChart();
    expect(specOf(chart).handlers).toEqual(['kata-qemu', 'runsc', 'crun']);
    expect(specOf(chart).kvmHandlers).toEqual(['kata-qemu']);
  });

  test('runtimes in several charts can share a setup in a platform chart', () => {
    const app = Testing.app();
    const platform = new Chart(app, 'platform');
    const setup = new NodeSetup(platform, 'setup');
    const tenant = new Chart(app, 'tenant', { namespace: 'tenant-a' });
    new CrunRuntime(tenant, 'crun', { nodeSetup: setup });
    expect(validationErrors(app)).toEqual([]);
    expect(Testing.synth(tenant).map((m) => m.kind)).toEqual(['RuntimeClass']);
    expect(Testing.synth(platform).filter((m) => m.kind === 'DaemonSet').map((m) => m.metadata.namespace)).toEqual(['runtimeclass-system']);
  });

  // BUG: each runtime's own NodeSetup creates `Namespace runtimeclass-system` (src/node-setup/node-setup.ts,
  // constructor, `createNamespace ?? true`), so an app with two runtimes on their default node setups
  // synthesizes the same Namespace twice. kustomize (and so Flux) refuses a duplicate resource id and
  // Argo CD reports it as a repeated resource. One Namespace object per namespace should be emitted.
  test('two runtimes with their own node setups emit the namespace once', () => {
    const { app, chart } = newApp();
    new KataRuntime(chart, 'kata');
    new GvisorRuntime(chart, 'gvisor');
    expect(validationErrors(app)).toEqual([]);
    expect(manifestsOf(chart).filter((m) => m.kind === 'Namespace').map((m) => m.metadata.name)).toEqual(['runtimeclass-system']);
  });
});

describe('nodeSetup: false', () => {
  test('a generic runtime: no node setup objects and no ready label', () => {
    const { app, chart } = newApp();
    const runtime = new SandboxedRuntime(chart, 'youki', { handler: 'youki', nodeSetup: false, containerd: { runtimeType: 'io.containerd.runc.v2' } });
    expect(validationErrors(app)).toEqual([]);
    expect(runtime.nodeSetup).toBeUndefined();
    expect(manifestsOf(chart)).toEqual([{ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'youki' }, handler: 'youki' }]);
  });

  // BUG: src/runtimes/sandboxed-runtime.ts attachNodeSetup() reports "artifacts are given but nodeSetup is
  // false" whenever props.artifacts is non-empty, and the presets always fill props.artifacts with their
  // defaults (kata.ts `props.artifacts ?? KataRuntime.defaultArtifacts()`, gvisor.ts and crun.ts
  // `preinstalled(...)`, runc.ts for a handler other than runc). So `nodeSetup: false`, the documented
  // choice for managed clusters and node images, fails validation for every preset although the user gave
  // no artifacts: '[test/kata] runtime "kata-qemu": artifacts are given but nodeSetup is false, ...'.
  test('presets: no node setup objects, no ready label and no error', () => {
    const { app, chart } = newApp();
    const runtimes = [
      new KataRuntime(chart, 'kata', { nodeSetup: false }),
      new GvisorRuntime(chart, 'gvisor', { nodeSetup: false }),
      new CrunRuntime(chart, 'crun', { nodeSetup: false }),
      new RuncRuntime(chart, 'audit', { handler: 'runc-audit', nodeSetup: false }),
    ];
    expect(validationErrors(app)).toEqual([]);
    expect(runtimes.map((r) => r.nodeSetup)).toEqual([undefined, undefined, undefined, undefined]);
    expect(manifestsOf(chart).map((m) => [m.kind, m.metadata.name, m.scheduling])).toEqual([
      ['RuntimeClass', 'kata-qemu', undefined],
      ['RuntimeClass', 'runsc', undefined],
      ['RuntimeClass', 'crun', undefined],
      ['RuntimeClass', 'runc-audit', undefined],
    ]);
  });

  test('with artifacts given explicitly is an error: nothing would install them', () => {
    const { app, chart } = newApp();
    new SandboxedRuntime(chart, 'youki', {
      handler: 'youki',
      nodeSetup: false,
      containerd: { runtimeType: 'io.containerd.runc.v2' },
      artifacts: [RuntimeArtifacts.preinstalled('/usr/bin/youki')],
    });
    expect(validationErrors(app)).toEqual([
      '[test/youki] runtime "youki": artifacts are given but nodeSetup is false, so nothing would install them: remove the artifacts or the nodeSetup: false',
    ]);
  });
});

describe('validation messages', () => {
  test('a NodeSetup with no runtime', () => {
    const { app, chart } = newApp();
    new NodeSetup(chart, 'setup');
    expect(validationErrors(app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": installs no runtime: pass it as `nodeSetup` to a runtime, or remove it',
    ]);
  });

  test('two NodeSetups installing the same handler', () => {
    const { app, chart } = newApp();
    const a = new NodeSetup(chart, 'a', { name: 'setup-a' });
    const b = new NodeSetup(chart, 'b', { name: 'setup-b' });
    new KataRuntime(chart, 'kata-a', { nodeSetup: a });
    new KataRuntime(chart, 'kata-b', { name: 'kata-qemu-b', nodeSetup: b });
    expect(validationErrors(app)).toEqual([
      '[test/a] NodeSetup "setup-a": handler "kata-qemu" is also installed by NodeSetup "setup-b" (test/b): share one NodeSetup between the runtimes, or give one of them another name',
      '[test/b] NodeSetup "setup-b": handler "kata-qemu" is also installed by NodeSetup "setup-a" (test/a): share one NodeSetup between the runtimes, or give one of them another name',
    ]);
  });

  test('two classes on one handler, each with its default node setup, share one setup for the handler', () => {
    const { app, chart } = newApp();
    const a = new KataRuntime(chart, 'a');
    const b = new KataRuntime(chart, 'b', { name: 'kata-qemu-b' });
    expect(validationErrors(app)).toEqual([]);
    expect(b.nodeSetup).toBe(a.nodeSetup);
    expect(manifestsOf(chart).filter((m) => m.kind === 'DaemonSet').map((m) => m.metadata.name)).toEqual(['kata-qemu-node-setup']);
    expect(specOf(chart).handlers).toEqual(['kata-qemu']);
  });

  test('two classes on one handler with different handler configurations in one setup are an error', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup', { name: 'shared' });
    new SandboxedRuntime(chart, 'a', { handler: 'youki', nodeSetup: setup, containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/bin/youki' } } });
    new SandboxedRuntime(chart, 'b', { name: 'youki-b', handler: 'youki', nodeSetup: setup, containerd: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/opt/youki' } } });
    expect(validationErrors(app)).toEqual([
      '[test/setup] NodeSetup "shared": handler "youki" is added by "youki" and again by "youki" with another configuration: a handler is configured once per node; give the second runtime another handler',
    ]);
  });

  test('two NodeSetups with the same name and namespace', () => {
    const { app, chart } = newApp();
    const a = new NodeSetup(chart, 'a', { name: 'runtimes' });
    const b = new NodeSetup(chart, 'b', { name: 'runtimes' });
    new CrunRuntime(chart, 'crun', { nodeSetup: a });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: b });
    expect(validationErrors(app)).toEqual([
      '[test/a] NodeSetup "runtimes": another NodeSetup (test/b) has the same name: names are cluster-wide (ClusterRole, ClusterRoleBinding); give each its own `name`',
      '[test/b] NodeSetup "runtimes": another NodeSetup (test/a) has the same name: names are cluster-wide (ClusterRole, ClusterRoleBinding); give each its own `name`',
    ]);
  });

  // BUG: src/node-setup/node-setup.ts problems() only reports two setups with the same name *and* namespace,
  // but the ClusterRole and ClusterRoleBinding are cluster-scoped and named after the setup alone: two
  // setups named "runtimes" in namespaces "ns-a" and "ns-b" synthesize two ClusterRoleBindings "runtimes";
  // the one applied last replaces the other's subject, and that setup's agent can no longer label its
  // nodes. The name must be unique across namespaces (or the cluster-scoped names must include the namespace).
  test('two NodeSetups with the same name in different namespaces', () => {
    const { app, chart } = newApp();
    const a = new NodeSetup(chart, 'a', { name: 'runtimes', namespace: 'ns-a' });
    const b = new NodeSetup(chart, 'b', { name: 'runtimes', namespace: 'ns-b' });
    new CrunRuntime(chart, 'crun', { nodeSetup: a });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: b });
    const errors = validationErrors(app);
    const clusterScopedNames = (errors.length > 0 ? [] : manifestsOf(chart))
      .filter((m) => ['ClusterRole', 'ClusterRoleBinding'].includes(m.kind)).map((m) => `${m.kind}/${m.metadata.name}`);
    expect(new Set(clusterScopedNames).size).toBe(clusterScopedNames.length);
    expect(errors).toEqual([
      expect.stringMatching(/^\[test\/a\] NodeSetup "runtimes": .*test\/b/),
      expect.stringMatching(/^\[test\/b\] NodeSetup "runtimes": .*test\/a/),
    ]);
  });

  test('handler runc with a node setup', () => {
    const { app, chart } = newApp();
    new RuncRuntime(chart, 'r', { nodeSetup: true });
    expect(validationErrors(app)).toEqual([
      '[test/r/NodeSetup] NodeSetup "runc-node-setup": handler "runc" is already configured on every node: give the runtime `nodeSetup: false`, or another handler name for a second runc-based handler',
    ]);
  });

  test.each([
    ['its default flags', {}],
    ['flags that are not the defaults', { runscFlags: { debug: 'true' } }],
  ])('CRI-O with a gVisor runtime (%s): refused, saying what was seen and to use containerd', (_what, props) => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup', { distribution: KubernetesDistribution.CRIO });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup, ...props });
    expect(validationErrors(app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": runtime "gVisor (systrap)" (handler "runsc") has no CRI-O configuration, and this node setup targets CRI-O: '
      + 'CRI-O runs runsc as a plain OCI runtime (no gVisor shim, no runsc.toml, so none of the class\'s runsc flags), '
      + 'and under CRI-O 1.34 with runsc 20221219 and 20240729 the pod sandbox started but app containers did not '
      + '(StartContainer hung; runsc reported "failed to load /bin/busybox" for the sub-container). '
      + 'Run gVisor on containerd nodes with gVisor\'s shim: a NodeSetup with distribution KubernetesDistribution.CONTAINERD (or AUTO) there',
    ]);
  });

  test('CRI-O with Kata and crun is fine', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'setup', { distribution: KubernetesDistribution.CRIO });
    new KataRuntime(chart, 'kata', { nodeSetup: setup });
    new CrunRuntime(chart, 'crun', { nodeSetup: setup });
    expect(validationErrors(app)).toEqual([]);
    expect(specOf(chart).distribution).toBe('crio');
    expect(Object.keys((parseToml(fragmentsOf(chart)['crio.conf']) as any).crio.runtime.runtimes)).toEqual(['kata-qemu', 'crun']);
  });

  test.each<[string | kplus.PercentOrAbsolute, string]>([
    ['0', '"0"'],
    ['110%', '"110%"'],
    ['abc', '"abc"'],
    ['0%', '"0%"'],
    ['-1', '"-1"'],
    ['10 %', '"10 %"'],
    [kplus.PercentOrAbsolute.percent(0), 'PercentOrAbsolute.percent(0)'],
    [kplus.PercentOrAbsolute.percent(110), 'PercentOrAbsolute.percent(110)'],
    [kplus.PercentOrAbsolute.percent(12.5), 'PercentOrAbsolute.percent(12.5)'],
    [kplus.PercentOrAbsolute.absolute(0), 'PercentOrAbsolute.absolute(0)'],
    [kplus.PercentOrAbsolute.absolute(-3), 'PercentOrAbsolute.absolute(-3)'],
    [kplus.PercentOrAbsolute.absolute(2.5), 'PercentOrAbsolute.absolute(2.5)'],
  ])('maxUnavailable %s', (maxUnavailable, shown) => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { maxUnavailable });
    expect(validationErrors(app)).toEqual([
      `[test/setup] NodeSetup "runtimeclass-node-setup": maxUnavailable ${shown} must be a positive count (PercentOrAbsolute.absolute(5) or "5") or a percentage from 1% to 100% (PercentOrAbsolute.percent(10) or "10%")`,
    ]);
  });

  test('an invalid name and namespace', () => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { name: 'Node_Setup', namespace: 'runtime.system' });
    const rule = 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, no dots';
    expect(validationErrors(app)).toEqual([
      `[test/setup] NodeSetup "Node_Setup": name "Node_Setup" ${rule}`,
      `[test/setup] NodeSetup "Node_Setup": namespace "runtime.system" ${rule}`,
    ]);
  });

  test('a name longer than 63 characters', () => {
    const { app, chart } = newApp();
    const name = 'n'.repeat(64);
    setupWithCrun(chart, { name });
    expect(validationErrors(app)).toEqual([
      `[test/setup] NodeSetup "${name}": name "${name}" must be at most 63 characters (it has 64)`,
    ]);
  });

  test('an invalid node selector and toleration', () => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { nodeSelector: { 'bad key!': 'x' }, tolerations: [{ key: 'a', operator: TolerationOperator.EXISTS, value: 'x' }] });
    expect(validationErrors(app)).toEqual([
      '[test/setup] NodeSetup "runtimeclass-node-setup": nodeSelector key "bad key!" must have a name part of letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      '[test/setup] NodeSetup "runtimeclass-node-setup": tolerations[0].value "x" is set with operator EXISTS, which matches any value: remove the value or use EQUAL',
    ]);
  });

  describe('artifacts', () => {
    function errorsFor(...artifacts: RuntimeArtifacts[]): string[] {
      const { app, chart } = newApp();
      new CrunRuntime(chart, 'crun', { artifacts });
      return validationErrors(app);
    }
    const prefix = '[test/crun/NodeSetup] NodeSetup "crun-node-setup": runtime "crun": ';

    test('fromUrl with http://', () => {
      expect(errorsFor(RuntimeArtifacts.fromUrl('http://example.com/crun', SHA512, { destination: '/usr/local/bin/crun' }))).toEqual([
        `${prefix}url artifact "http://example.com/crun": only https:// URLs are accepted (the download is checked by sha512, but should not be readable in transit either)`,
      ]);
    });

    test.each([
      ['too short', 'abc'],
      ['uppercase', 'A'.repeat(128)],
      ['a sha256', 'a'.repeat(64)],
    ])('fromUrl with a bad sha512 (%s)', (_what, sha512) => {
      expect(errorsFor(RuntimeArtifacts.fromUrl('https://example.com/crun', sha512, { destination: '/usr/local/bin/crun' }))).toEqual([
        `${prefix}url artifact "https://example.com/crun": sha512 "${sha512}" must be 128 lowercase hex digits (\`sha512sum <file>\`)`,
      ]);
    });

    test('a relative destination', () => {
      expect(errorsFor(RuntimeArtifacts.fromUrl('https://example.com/crun', SHA512, { destination: 'usr/local/bin/crun' }))).toEqual([
        `${prefix}url artifact "https://example.com/crun": destination "usr/local/bin/crun" must be an absolute path on the node`,
      ]);
    });

    test('a directory artifact into a shared system directory', () => {
      expect(errorsFor(RuntimeArtifacts.fromImage('registry.example.com/crun:1', '/opt/crun', { destination: '/usr/local/bin' }))).toEqual([
        `${prefix}image artifact "/opt/crun": destination "/usr/local/bin" is a system directory that other software shares: a directory artifact owns its destination, so give it a directory of its own such as /opt/<runtime>`,
      ]);
    });

    test('a file onto the node\'s containerd config or the agent\'s state', () => {
      expect(errorsFor(
        RuntimeArtifacts.fromUrl('https://example.com/c', SHA512, { destination: '/etc/containerd/config.toml' }),
        RuntimeArtifacts.fromUrl('https://example.com/s', SHA512, { destination: '/var/lib/cdk8s-runtimeclass/x' }),
      )).toEqual([
        `${prefix}url artifact "https://example.com/c": destination "/etc/containerd/config.toml" is /etc/containerd/config.toml, which the node setup manages itself (container runtime configuration or its own state): choose another path`,
        `${prefix}url artifact "https://example.com/s": destination "/var/lib/cdk8s-runtimeclass/x" is /var/lib/cdk8s-runtimeclass, which the node setup manages itself (container runtime configuration or its own state): choose another path`,
      ]);
    });

    test('destination /', () => {
      expect(errorsFor(RuntimeArtifacts.fromImage('registry.example.com/crun:1', '/opt/crun', { destination: '/' }))).toEqual([
        `${prefix}image artifact "/opt/crun": destination "/" would overwrite the node's root: give a directory such as /opt/<runtime>`,
      ]);
    });

    test('a relative path inside an image, and a relative preinstalled path', () => {
      expect(errorsFor(
        RuntimeArtifacts.fromImage('registry.example.com/crun:1', 'opt/crun', { destination: '/opt/crun' }),
        RuntimeArtifacts.preinstalled('bin/crun'),
      )).toEqual([
        `${prefix}image artifact "opt/crun": the path inside image "registry.example.com/crun:1" must be absolute`,
        `${prefix}preinstalled artifact "bin/crun": the path must be absolute on the node`,
      ]);
    });

    test('every problem of every artifact in one synth', () => {
      expect(errorsFor(
        RuntimeArtifacts.fromUrl('http://example.com/a', 'abc', { destination: 'a' }),
        RuntimeArtifacts.fromUrl('https://example.com/b', SHA512, { destination: '/usr/local/bin/b' }),
      )).toEqual([
        `${prefix}url artifact "http://example.com/a": destination "a" must be an absolute path on the node`,
        `${prefix}url artifact "http://example.com/a": only https:// URLs are accepted (the download is checked by sha512, but should not be readable in transit either)`,
        `${prefix}url artifact "http://example.com/a": sha512 "abc" must be 128 lowercase hex digits (\`sha512sum <file>\`)`,
      ]);
    });
  });
});

describe('GvisorRuntime.releaseArtifacts', () => {
  const base = 'https://storage.googleapis.com/gvisor/releases/release/20250101.0';

  function describeArtifacts(artifacts: RuntimeArtifacts[]): any[] {
    return artifacts.map((a) => ({
      location: a.location, sha512: a.sha512, destination: a.destination, architecture: a.architecture, image: a.image,
    }));
  }

  test('https URLs for x86_64 and aarch64, with each file\'s sha512, destination and architecture', () => {
    const shas = { runscAmd64: '1'.repeat(128), shimAmd64: '2'.repeat(128), runscArm64: '3'.repeat(128), shimArm64: '4'.repeat(128) };
    expect(describeArtifacts(GvisorRuntime.releaseArtifacts('20250101.0', shas))).toEqual([
      { location: `${base}/x86_64/runsc`, sha512: shas.runscAmd64, destination: '/usr/local/bin/runsc', architecture: CpuArchitecture.AMD64, image: undefined },
      { location: `${base}/x86_64/containerd-shim-runsc-v1`, sha512: shas.shimAmd64, destination: '/usr/local/bin/containerd-shim-runsc-v1', architecture: CpuArchitecture.AMD64, image: undefined },
      { location: `${base}/aarch64/runsc`, sha512: shas.runscArm64, destination: '/usr/local/bin/runsc', architecture: CpuArchitecture.ARM64, image: undefined },
      { location: `${base}/aarch64/containerd-shim-runsc-v1`, sha512: shas.shimArm64, destination: '/usr/local/bin/containerd-shim-runsc-v1', architecture: CpuArchitecture.ARM64, image: undefined },
    ]);
  });

  test('one architecture only', () => {
    const artifacts = GvisorRuntime.releaseArtifacts('20250101.0', { runscArm64: SHA512, shimArm64: OTHER_SHA512 });
    expect(artifacts.map((a) => [a.location, a.architecture])).toEqual([
      [`${base}/aarch64/runsc`, CpuArchitecture.ARM64],
      [`${base}/aarch64/containerd-shim-runsc-v1`, CpuArchitecture.ARM64],
    ]);
  });

  test('rendered into artifacts.list, one line per file and architecture', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', {
      artifacts: GvisorRuntime.releaseArtifacts('20250101.0', { runscAmd64: SHA512, shimAmd64: OTHER_SHA512, runscArm64: OTHER_SHA512, shimArm64: SHA512 }),
    });
    expect(validationErrors(app)).toEqual([]);
    expect(artifactLinesOf(chart)).toEqual([
      ['amd64', 'url', `${base}/x86_64/runsc`, SHA512, '/usr/local/bin/runsc'],
      ['amd64', 'url', `${base}/x86_64/containerd-shim-runsc-v1`, OTHER_SHA512, '/usr/local/bin/containerd-shim-runsc-v1'],
      ['arm64', 'url', `${base}/aarch64/runsc`, OTHER_SHA512, '/usr/local/bin/runsc'],
      ['arm64', 'url', `${base}/aarch64/containerd-shim-runsc-v1`, SHA512, '/usr/local/bin/containerd-shim-runsc-v1'],
    ]);
  });

  test.each([
    ['no checksum', {}],
    ['runsc without its shim', { runscAmd64: SHA512 }],
    ['a shim of one architecture and runsc of the other', { shimAmd64: SHA512, runscArm64: SHA512 }],
  ])('throws with %s', (_what, checksums) => {
    expect(() => GvisorRuntime.releaseArtifacts('20250101.0', checksums)).toThrow(
      'GvisorRuntime.releaseArtifacts("20250101.0"): give the sha512 of runsc and of the shim for at least one architecture',
    );
  });

  test('a bad checksum is reported when the app is validated', () => {
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'gvisor', { artifacts: GvisorRuntime.releaseArtifacts('20250101.0', { runscAmd64: 'abc', shimAmd64: SHA512 }) });
    expect(validationErrors(app)).toEqual([
      `[test/gvisor/NodeSetup] NodeSetup "runsc-node-setup": runtime "gVisor (systrap)": url artifact "${base}/x86_64/runsc": sha512 "abc" must be 128 lowercase hex digits (\`sha512sum <file>\`)`,
    ]);
  });
});

describe('snapshot', () => {
  test('a shared node setup for Kata QEMU, gVisor and crun', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'runtimes', { name: 'runtimes' });
    new KataRuntime(chart, 'kata', { nodeSetup: setup });
    new GvisorRuntime(chart, 'gvisor', { nodeSetup: setup });
    new CrunRuntime(chart, 'crun', { nodeSetup: setup });
    expect(validationErrors(app)).toEqual([]);
    expect(manifestsOf(chart).map(withoutAgentCode)).toMatchSnapshot();
  });
});

describe('critical priority outside kube-system', () => {
  test('a ResourceQuota scoped to system-node-critical lets the node-setup pods in on clusters that limit that class', () => {
    const { app, chart } = newApp();
    new CrunRuntime(chart, 'crun');
    expect(validationErrors(app)).toEqual([]);
    expect(onlyOfKind(manifestsOf(chart), 'ResourceQuota')).toEqual({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: {
        name: 'crun-node-setup-critical-pods',
        namespace: 'runtimeclass-system',
        labels: { 'app.kubernetes.io/name': 'runtimeclass-node-setup', 'app.kubernetes.io/instance': 'crun-node-setup' },
      },
      spec: {
        hard: { pods: '100k' },
        scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-node-critical'] }] },
      },
    });
  });

  test('another priority class: no quota', () => {
    const { app, chart } = newApp();
    setupWithCrun(chart, { priorityClassName: 'node-setup' });
    expect(validationErrors(app)).toEqual([]);
    expect(manifestsOf(chart).filter((m) => m.kind === 'ResourceQuota')).toEqual([]);
  });
});
