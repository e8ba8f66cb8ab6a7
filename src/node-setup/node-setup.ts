import { createHash } from 'crypto';
import { ApiObject, Chart, Duration, JsonPatch, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { CpuArchitecture, RuntimeArtifacts } from './artifacts';
import { maxUnavailableProblems, maxUnavailableValue } from './max-unavailable';
import { AGENT_ENTRY, PROBE_ENTRY, renderNodeAgentFiles } from './node-agent-files';
import { NODE_READY_LABEL_PREFIX, readyLabelFor } from './ready-label';
import { HandlerConfig } from '../containerd/handler-config';
import { dns1123LabelProblem } from '../core/names';
import { Quantity } from '../core/quantity';
import { byteQuantityText, cpuQuantityText, QuantityText } from '../core/quantity-input';
import { notAQuantity } from '../core/resources';
import { RuntimeToleration, schedulingProblems, TolerationOperator, tolerationToJson } from '../core/scheduling';
import { enumProblem } from '../core/values';
import { validateOncePerSynth } from '../core/written-manifests';
import { InstallerSpec, RunscCheck } from '../node-agent/setup-spec';
import { ownNodePolicySpec } from '../policy/own-node-policy';

/** Which Kubernetes distribution's container runtime configuration the node setup edits. */
export enum KubernetesDistribution {
  /** Detect it on each node from the files the distribution leaves. */
  AUTO = 'auto',
  /** Plain containerd (kubeadm, managed node images): /etc/containerd/config.toml. */
  CONTAINERD = 'containerd',
  /** k3s: its containerd config template. */
  K3S = 'k3s',
  /** RKE2: its containerd config template. */
  RKE2 = 'rke2',
  /** k0s: its containerd.d drop-in directory. */
  K0S = 'k0s',
  /** MicroK8s: its containerd template. */
  MICROK8S = 'microk8s',
  /** CRI-O: a crio.conf.d drop-in. */
  CRIO = 'crio',
}

/** Label set on a node (value `ready`) once a handler is installed and verified there. */
export { NODE_READY_LABEL_PREFIX };

/**
 * Properties of a node setup.
 *
 * @example
 * const props: NodeSetupProps = {
 *   nodeSelector: { 'node-pool': 'sandbox' },
 *   tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE }],
 *   maxUnavailable: kplus.PercentOrAbsolute.percent(20),
 *   distribution: KubernetesDistribution.AUTO,
 *   memoryRequest: Size.mebibytes(64),
 * };
 * new KataRuntime(chart, 'kata', { nodeSetup: new NodeSetup(chart, 'nodes', props) });
 */
export interface NodeSetupProps {
  /** Name of the DaemonSet, ConfigMap, ServiceAccount and RBAC objects (a DNS-1123 label). @default "runtimeclass-node-setup" */
  readonly name?: string;
  /** Namespace of the DaemonSet. @default "runtimeclass-system" */
  readonly namespace?: string;
  /**
   * Create the namespace, labelled `pod-security.kubernetes.io/enforce: privileged` (the
   * agent must be privileged). Set false to use an existing namespace.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Image the node agent runs in: any image with Node.js 20 or later. Besides `node` the agent
   * uses only `chroot` and `flock -n` (BusyBox has both; without `flock` the host's is used), and
   * the readiness probe is `node probe.js`. A reference with a digest
   * (`docker.io/library/node:22-alpine@sha256:<64 hex digits>`) pins it for reproducible rollouts.
   * @default "docker.io/library/node:22-alpine"
   */
  readonly agentImage?: string;
  /** The distribution whose configuration to edit. @default KubernetesDistribution.AUTO */
  readonly distribution?: KubernetesDistribution;
  /** Only nodes with these labels get the runtimes. @default - every Linux node */
  readonly nodeSelector?: { [key: string]: string };
  /** Tolerations of the node-setup pods. @default - tolerate every taint (runtime pools are often tainted) */
  readonly tolerations?: RuntimeToleration[];
  /**
   * Also run on control-plane nodes (those labelled `node-role.kubernetes.io/control-plane`).
   * Off by default: the agent restarts the container runtime, which a control plane's static
   * pods depend on.
   * @default false
   */
  readonly includeControlPlane?: boolean;
  /**
   * Only nodes that node-feature-discovery labels with hardware virtualization
   * (`feature.node.kubernetes.io/cpu-cpuid.VMX` or `.SVM` = `true`).
   * @default false
   */
  readonly requireVirtualizationFeatureLabels?: boolean;
  /**
   * How many nodes install at once during a rollout: `PercentOrAbsolute.percent(20)`,
   * `PercentOrAbsolute.absolute(50)`, or a string (`"20%"`, `"50"`). Running containers survive a
   * containerd restart and the ready label keeps new pods off nodes in flux, so a large value
   * is safe; the rollout takes about nodes x per-node time / parallelism.
   * @default PercentOrAbsolute.percent(10)
   */
  readonly maxUnavailable?: string | kplus.PercentOrAbsolute;
  /** Priority class of the node-setup pods. @default "system-node-critical" */
  readonly priorityClassName?: string;
  /** CPU request of the node agent: `Cpu.millis(50)` or a quantity string. @default Cpu.millis(50) */
  readonly cpuRequest?: string | kplus.Cpu;
  /** Memory request of the node agent: `Size.mebibytes(64)` or a quantity string. @default Size.mebibytes(64) */
  readonly memoryRequest?: string | Size;
  /** Memory limit of the node agent: `Size.mebibytes(256)` or a quantity string. @default Size.mebibytes(256) */
  readonly memoryLimit?: string | Size;
  /** Time a node-setup pod gets to uninstall and restart the container runtime. @default Duration.minutes(3) */
  readonly terminationGracePeriod?: Duration;
  /**
   * How often the agent verifies each handler again after install: the runtime still serves it
   * and a check pod sandbox of it still starts (nothing is changed or restarted). A handler that
   * fails loses its ready label at once, so a broken node keeps its labels for at most this long
   * (a restart of the container runtime is noticed within seconds). Each check runs one pod
   * sandbox per handler: about 0.1 to 0.25 s for runc and crun, under a second for gVisor, longer
   * for Kata (a VM boots).
   * Whole seconds, at least 10 s.
   * @default Duration.minutes(1)
   */
  readonly recheckPeriod?: Duration;
  /**
   * Confine the agent's service account to its own node: a ValidatingAdmissionPolicy
   * (`<name>-own-node`, with its binding) lets it change only the node its pod runs on, named by
   * its token's node claim (`authentication.kubernetes.io/node-name`), and there only labels
   * under `runtimeclass.cdk8s.io/`. Without it, root on any one node (which can read the agent's
   * token) can relabel, taint or cordon every node of the cluster.
   *
   * Needs Kubernetes 1.30 or later (ValidatingAdmissionPolicy v1, and the node claim in pod
   * tokens: on by default from 1.30, always from 1.32). Set false only on older clusters: the
   * agent then holds get and patch on every node.
   * @default true
   */
  readonly nodeScopedRights?: boolean;
}

/** What a runtime hands its node setup. @internal */
export interface NodeSetupRegistration {
  readonly handler: HandlerConfig;
  readonly artifacts: RuntimeArtifacts[];
  readonly requiresKvm: boolean;
  readonly hostFiles: { readonly [hostPath: string]: string };
  readonly displayName: string;
  /** True while the runtime reports problems of its own (the node setup then adds none about it). */
  readonly hasProblems: () => boolean;
  /** Why the runtime has no CRI-O configuration (what was seen, and the fix), if it says. */
  readonly crioUnsupported?: string;
  /**
   * The labels the runtime's class selects (read at synth; the ready label is left out): the
   * agent installs the handler only on nodes that carry them. Omitted: every node of the setup.
   */
  readonly classNodeSelector?: () => { [key: string]: string };
}

/**
 * The agent's default image: Node's official Alpine image, small (about 50 MB), on a Node LTS line,
 * and BusyBox for its tools, the least userland the agent is tested in.
 */
const DEFAULT_AGENT_IMAGE = 'docker.io/library/node:22-alpine';
/** An image reference as the kubelet takes it: lowercase repository path, optional port, tag and sha256 digest. */
const IMAGE_REFERENCE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
/** Where the agent container finds its service-account token (the client libraries' default). */
const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const CONFIG_DIR = '/etc/runtimeclass-setup';
const STATE_DIR = '/run/runtimeclass-setup';
const ARTIFACTS_DIR = '/artifacts';
const NODE_SETUP = Symbol.for('cdk8s-runtimeclass.NodeSetup');

/**
 * The node setup: a DaemonSet that installs runtimes on nodes, adds their handlers to
 * containerd's (or CRI-O's) configuration, restarts the container runtime once, verifies each
 * handler and only then labels the node `runtimeclass.cdk8s.io/<handler>=ready`. Every
 * runtime's RuntimeClass selects that label, so pods never land on unprepared nodes.
 *
 * A runtime creates its own node setup by default; pass one NodeSetup to several runtimes so
 * that nodes install them in one pass with one restart.
 *
 * @example
 * // One DaemonSet installs Kata and gVisor on the sandbox pool: one containerd restart per node.
 * const nodes = new NodeSetup(chart, 'nodes', { nodeSelector: { 'node-pool': 'sandbox' } });
 * new KataRuntime(chart, 'kata', { nodeSetup: nodes });
 * new GvisorRuntime(chart, 'gvisor', { nodeSetup: nodes });
 */
export class NodeSetup extends Construct {
  /** True when `x` is a NodeSetup (works across copies of this library). */
  public static isNodeSetup(x: any): x is NodeSetup {
    return x !== null && typeof x === 'object' && NODE_SETUP in x;
  }

  /** The node label a handler's RuntimeClass selects once the handler is ready on a node. */
  public static readyLabelFor(handler: string): string {
    return readyLabelFor(handler);
  }

  /**
   * The node setup a runtime creates for itself: one per handler in the app, so classes that
   * share a handler share its setup. @internal
   */
  public static _implicitFor(scope: Construct, handler: string, props: NodeSetupProps): NodeSetup {
    const name = `${handler.slice(0, 52).replace(/-+$/, '')}-node-setup`;
    const existing = scope.node.root.node.findAll().find((c): c is NodeSetup => NodeSetup.isNodeSetup(c) && c.implicit && c.name === name);
    if (existing) return existing;
    const setup = new NodeSetup(scope, 'NodeSetup', { ...props, name });
    setup.implicit = true;
    return setup;
  }

  /** Name of the DaemonSet and its companions. */
  public readonly name: string;
  /** Namespace of the DaemonSet. */
  public readonly namespace: string;
  /** The DaemonSet. */
  public readonly daemonSet: ApiObject;
  /**
   * The ConfigMap holding the node agent, its spec and the rendered configuration. It is
   * immutable and named after its content (`<name>-<10 hex digits of the sha256 of its data>`),
   * so no one can swap the code of running agents in place, and a new configuration is a new
   * ConfigMap that rolls the DaemonSet. Older ones stay in the cluster until the deploy tool
   * prunes them.
   */
  public readonly configMap: ApiObject;
  /**
   * The ValidatingAdmissionPolicy and its binding that confine the agent to its own node and
   * labels; empty with `nodeScopedRights: false`.
   */
  public readonly nodeScopePolicy: ApiObject[] = [];
  /** True when this setup emits its Namespace (the first setup of the app in that namespace). */
  public readonly createsNamespace: boolean;
  private readonly registrations: NodeSetupRegistration[] = [];
  private readonly registrationConflicts: string[] = [];
  private readonly runscChecks: { [handler: string]: RunscCheck } = {};
  /** Per handler, the node selector of each class that runs on it (several classes may share a handler). */
  private readonly classSelectors: { [handler: string]: Array<() => { [key: string]: string }> } = {};
  private readonly props: NodeSetupProps;
  /** True when a runtime created this setup for itself (the user never named it). */
  private implicit = false;

  public constructor(scope: Construct, id: string, props: NodeSetupProps = {}) {
    super(scope, id);
    Object.defineProperty(this, NODE_SETUP, { value: true });
    this.props = props;
    this.name = props.name ?? 'runtimeclass-node-setup';
    this.namespace = props.namespace ?? 'runtimeclass-system';
    const labels = { 'app.kubernetes.io/name': 'runtimeclass-node-setup', 'app.kubernetes.io/instance': this.name };
    const clusterScoped: ApiObject[] = [];

    // One Namespace object per namespace in the app: several setups may share one.
    const namespaceTaken = this.node.root.node.findAll()
      .some((c) => c !== this && NodeSetup.isNodeSetup(c) && c.createsNamespace && c.namespace === this.namespace);
    this.createsNamespace = (props.createNamespace ?? true) && !namespaceTaken;
    if (this.createsNamespace) {
      clusterScoped.push(new ApiObject(this, 'Namespace', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: this.namespace,
          // The agent edits host files and restarts the container runtime: privileged.
          labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged' },
        },
      }));
    }
    new ApiObject(this, 'ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: this.name, namespace: this.namespace, labels },
      // Only the agent container gets a token (a projected volume): init containers from
      // artifact images get none.
      automountServiceAccountToken: false,
    });
    // Clusters that limit the critical priority classes to kube-system (GKE among them) admit
    // system-node-critical pods elsewhere only under a quota scoped to that class.
    if ((props.priorityClassName ?? 'system-node-critical') === 'system-node-critical') {
      new ApiObject(this, 'CriticalPodsQuota', {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: `${this.name}-critical-pods`, namespace: this.namespace, labels },
        spec: {
          hard: { pods: '100k' },
          scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-node-critical'] }] },
        },
      });
    }
    // Cluster-wide: only what labelling this node needs. get: read labels; patch: set/remove the
    // ready label. RBAC cannot name "the node this pod runs on": the admission policy below does.
    clusterScoped.push(new ApiObject(this, 'ClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: this.name, labels },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] }],
    }));
    clusterScoped.push(new ApiObject(this, 'ClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: this.name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    }));
    // Namespaced: on SIGTERM the agent reads its own DaemonSet to tell a rollout from a removal.
    new ApiObject(this, 'Role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: this.name, namespace: this.namespace, labels },
      rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: [this.name], verbs: ['get'] }],
    });
    new ApiObject(this, 'RoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: this.name, namespace: this.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });
    if (props.nodeScopedRights ?? true) {
      const policyName = `${this.name}-own-node`;
      const apiVersion = 'admissionregistration.k8s.io/v1';
      this.nodeScopePolicy.push(
        new ApiObject(this, 'OwnNodePolicy', {
          apiVersion,
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name: policyName, labels },
          spec: ownNodePolicySpec({ namespace: this.namespace, serviceAccount: this.name, labelPrefix: NODE_READY_LABEL_PREFIX, policyName }),
        }),
        new ApiObject(this, 'OwnNodePolicyBinding', {
          apiVersion,
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name: policyName, labels },
          spec: { policyName, validationActions: ['Deny'] },
        }),
      );
      clusterScoped.push(...this.nodeScopePolicy);
    }
    this.configMap = new ApiObject(this, 'ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: this.name, namespace: this.namespace, labels },
      immutable: true,
      data: Lazy.any({ produce: () => this.installerFiles() }),
    });
    // Named after its content, which is known only once every runtime has registered: the
    // name is computed whenever it is read (the DaemonSet's volume, the manifest, callers).
    const contentName = (): string => `${this.name}-${createHash('sha256').update(JSON.stringify(this.installerFiles())).digest('hex').slice(0, 10)}`;
    Object.defineProperty(this.configMap, 'name', { get: contentName });
    Object.defineProperty(this.configMap.metadata, 'name', { get: contentName });
    this.daemonSet = new ApiObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: this.name, namespace: this.namespace, labels },
      spec: Lazy.any({ produce: () => this.daemonSetSpec(labels) }),
    });
    if (Chart.of(this).namespace) {
      // A chart's namespace is stamped on every object, cluster-scoped ones included.
      for (const object of clusterScoped) object.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }

    // It renders the node agent's files: once per synth, not again in cdk8s's per-chart passes.
    validateOncePerSynth(this, () => this.problems().map((p) => `NodeSetup "${this.name}": ${p}`));
  }

  /** Handlers this node setup installs, in the order runtimes were added. */
  public get handlers(): string[] {
    return this.registrations.map((r) => r.handler.handler);
  }

  /**
   * Adds a runtime's handler. Called by runtimes; returns the node label (value `ready`) that
   * the runtime's RuntimeClass must select. @internal
   */
  public _register(registration: NodeSetupRegistration): string {
    const handler = registration.handler.handler;
    (this.classSelectors[handler] ??= []).push(registration.classNodeSelector ?? (() => ({})));
    const same = this.registrations.find((r) => r.handler.handler === handler);
    if (!same) {
      this.registrations.push(registration);
    } else if (JSON.stringify([same.handler, same.hostFiles]) !== JSON.stringify([registration.handler, registration.hostFiles])) {
      // Two classes may share a handler (other names, overheads or pools), but not configure it twice.
      this.registrationConflicts.push(`handler "${handler}" is added by "${same.displayName}" and again by "${registration.displayName}" with another configuration: a handler is configured once per node; give the second runtime another handler`);
    } else {
      for (const artifact of registration.artifacts) {
        if (!same.artifacts.includes(artifact)) same.artifacts.push(artifact);
      }
    }
    return NodeSetup.readyLabelFor(handler);
  }


  /**
   * Makes the agent check, before labelling a node ready for `handler`, that the node's runsc
   * runs a sandbox with the handler's flags. Called by GvisorRuntime. @internal
   */
  public _addRunscCheck(handler: string, check: RunscCheck): void {
    this.runscChecks[handler] = check;
  }

  private spec(): InstallerSpec {
    const readyLabels: { [handler: string]: string } = {};
    for (const r of this.registrations) readyLabels[r.handler.handler] = NodeSetup.readyLabelFor(r.handler.handler);
    const hostFiles: { [path: string]: string } = {};
    const hostFileHandlers: { [path: string]: string[] } = {};
    for (const r of this.registrations) {
      Object.assign(hostFiles, r.hostFiles);
      for (const hostPath of Object.keys(r.hostFiles)) (hostFileHandlers[hostPath] ??= []).push(r.handler.handler);
    }
    return {
      setupName: this.name,
      handlers: this.registrations.map((r) => r.handler),
      readyLabels,
      distribution: this.props.distribution ?? KubernetesDistribution.AUTO,
      kvmHandlers: this.registrations.filter((r) => r.requiresKvm).map((r) => r.handler.handler),
      artifacts: this.artifacts().map(({ artifact, slot, handlers }) => ({ ...artifact._toInstaller(slot), handlers })),
      hostFiles,
      hostFileHandlers,
      daemonSetName: this.name,
      nodeSelector: this.nodeSelector(),
      runscChecks: Object.keys(this.runscChecks).length > 0 ? { ...this.runscChecks } : undefined,
      classNodeSelectors: this.classNodeSelectors(),
    };
  }

  /**
   * Per handler, the node selectors of its classes, for the agent to install each handler only
   * where one of its classes can run; none for a handler with a class that runs on every node of
   * the setup (labels the setup's own nodeSelector already demands are left out).
   */
  private classNodeSelectors(): { [handler: string]: Array<{ [key: string]: string }> } | undefined {
    const setupSelector = this.nodeSelector();
    const result: { [handler: string]: Array<{ [key: string]: string }> } = {};
    for (const r of this.registrations) {
      const handler = r.handler.handler;
      const selectors: Array<{ [key: string]: string }> = [];
      for (const selectorOf of this.classSelectors[handler] ?? []) {
        const classSelector = selectorOf();
        const selector: { [key: string]: string } = {};
        for (const key of Object.keys(classSelector).sort()) {
          const value = String(classSelector[key]);
          if (key !== NodeSetup.readyLabelFor(handler) && setupSelector[key] !== value) selector[key] = value;
        }
        selectors.push(selector);
      }
      if (selectors.length === 0 || selectors.some((selector) => Object.keys(selector).length === 0)) continue;
      result[handler] = [...new Map(selectors.map((selector) => [JSON.stringify(selector), selector])).values()];
    }
    return Object.keys(result).length > 0 ? result : undefined;
  }

  /**
   * Every artifact once, with its slot under the artifact volume (image artifacts only) and the
   * handlers that need it: a node gets it only when it runs one of them.
   */
  private artifacts(): Array<{ artifact: RuntimeArtifacts; slot?: string; handlers: string[] }> {
    const found = new Map<RuntimeArtifacts, string[]>();
    for (const r of this.registrations) {
      for (const artifact of r.artifacts) {
        const handlers = found.get(artifact) ?? [];
        if (!handlers.includes(r.handler.handler)) handlers.push(r.handler.handler);
        found.set(artifact, handlers);
      }
    }
    let images = 0;
    return [...found].map(([artifact, handlers]) => ({
      artifact,
      slot: artifact._source === 'image' ? String(images++) : undefined,
      handlers,
    }));
  }

  private installerFiles(): { [key: string]: string } {
    try {
      return renderNodeAgentFiles(this.spec());
    } catch {
      return {}; // reported by validation
    }
  }

  private nodeSelector(): { [key: string]: string } {
    return { 'kubernetes.io/os': 'linux', ...this.props.nodeSelector };
  }

  private daemonSetSpec(labels: { [key: string]: string }): any {
    const tolerations: RuntimeToleration[] = this.props.tolerations ?? [{ operator: TolerationOperator.EXISTS }];
    return {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: maxUnavailableValue(this.props.maxUnavailable) } },
      template: {
        // A new configuration is a ConfigMap of another name: it rolls the node-setup pods,
        // which apply it node by node.
        metadata: { labels },
        spec: {
          serviceAccountName: this.name,
          automountServiceAccountToken: false,
          priorityClassName: this.props.priorityClassName ?? 'system-node-critical',
          terminationGracePeriodSeconds: (this.props.terminationGracePeriod ?? Duration.minutes(3)).toSeconds(),
          hostNetwork: false,
          // Not hostPID: the container runtime is restarted through the host's systemd socket
          // (chroot $HOST_ROOT systemctl), which needs no view of host processes.
          hostPID: false,
          nodeSelector: this.nodeSelector(),
          tolerations: tolerations.map((t) => tolerationToJson(t)),
          affinity: this.affinity(),
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          initContainers: this.artifactInitContainers(),
          containers: [this.agentContainer()],
          volumes: [
            { name: 'host-root', hostPath: { path: '/', type: 'Directory' } },
            { name: 'config', configMap: { name: this.configMap.name } },
            { name: 'state', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
            { name: 'artifacts', emptyDir: { sizeLimit: '4Gi' } },
            {
              name: 'api-token',
              projected: {
                sources: [
                  { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
                ],
              },
            },
          ],
        },
      },
    };
  }

  /** Off control-plane nodes unless asked; on virtualization-capable nodes if asked. */
  private affinity(): any {
    const base = this.props.includeControlPlane ? [] : [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }];
    // Terms are ORed: Intel VT-x or AMD-V; each term repeats the other expressions.
    const terms = this.props.requireVirtualizationFeatureLabels
      ? ['VMX', 'SVM'].map((flag) => ({ matchExpressions: [...base, { key: `feature.node.kubernetes.io/cpu-cpuid.${flag}`, operator: 'In', values: ['true'] }] }))
      : (base.length > 0 ? [{ matchExpressions: base }] : []);
    return terms.length > 0 ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } : undefined;
  }

  /** One init container per image artifact: copies it out of its image into the artifact volume. */
  private artifactInitContainers(): any[] | undefined {
    const imageArtifacts = this.artifacts().filter((a) => a.slot !== undefined);
    if (imageArtifacts.length === 0) return undefined;
    return imageArtifacts.map(({ artifact, slot }) => ({
      name: `artifacts-${slot}`,
      image: artifact.image,
      command: ['sh', '-c', 'cp -a "$0" "$1"', artifact.location, `${ARTIFACTS_DIR}/${slot}`],
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsUser: 0,
        capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
      },
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
      volumeMounts: [{ name: 'artifacts', mountPath: ARTIFACTS_DIR }],
    }));
  }

  private agentContainer(): any {
    return {
      name: 'agent',
      image: this.props.agentImage ?? DEFAULT_AGENT_IMAGE,
      command: ['node', `${CONFIG_DIR}/${AGENT_ENTRY}`],
      env: [
        { name: 'ACTION', value: 'install' },
        { name: 'HOST_ROOT', value: '/host' },
        { name: 'STATE_DIR', value: STATE_DIR },
        { name: 'ARTIFACTS_DIR', value: ARTIFACTS_DIR },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        // The DaemonSet controller's label on each pod, raised with every template change: the
        // agent records it, and an agent of an older template (a pod still running after a
        // force delete) changes nothing on a node where a newer one ran.
        { name: 'POD_TEMPLATE_GENERATION', valueFrom: { fieldRef: { fieldPath: "metadata.labels['pod-template-generation']" } } },
        { name: 'RECHECK_PERIOD', value: String(this.recheckSeconds()) },
      ],
      // Privileged: it writes the host's runtime configuration and binaries and restarts the
      // host's container runtime through systemd, which AppArmor and SELinux confine for
      // unprivileged containers. Nothing else in the pod is privileged.
      securityContext: { privileged: true, readOnlyRootFilesystem: true, runAsUser: 0 },
      // Ready while the agent's last verification stands (the script checks its age), not a file written once.
      readinessProbe: {
        exec: { command: ['node', `${CONFIG_DIR}/${PROBE_ENTRY}`] },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 1,
      },
      resources: {
        requests: { cpu: this.agentResources().cpuRequest.text, memory: this.agentResources().memoryRequest.text },
        limits: { memory: this.agentResources().memoryLimit.text },
      },
      volumeMounts: [
        // The host's root: the agent chroots into it to run the host's own containerd and
        // systemctl, and edits /etc, /opt and /var/lib under it.
        { name: 'host-root', mountPath: '/host' },
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'state', mountPath: STATE_DIR },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'artifacts', mountPath: ARTIFACTS_DIR, readOnly: true },
        { name: 'api-token', mountPath: TOKEN_DIR, readOnly: true },
      ],
    };
  }

  private recheckSeconds(): number {
    return (this.props.recheckPeriod ?? Duration.minutes(1)).toSeconds({ integral: false });
  }

  /** The agent container's requests and limit as quantity texts (a bad value kept as given: problems() reports it). */
  private agentResources(): { [field in 'cpuRequest' | 'memoryRequest' | 'memoryLimit']: { text: string; problem?: string } } {
    const one = (field: string, converted: QuantityText, given: unknown): { text: string; problem?: string } => {
      if (converted.problem !== undefined) return { text: String(given), problem: converted.problem };
      return Quantity.parse(converted.text) === undefined ? { text: converted.text, problem: `${field}: ${notAQuantity(converted.text)}` } : { text: converted.text };
    };
    return {
      cpuRequest: one('cpuRequest', cpuQuantityText('cpuRequest', this.props.cpuRequest ?? '50m'), this.props.cpuRequest),
      memoryRequest: one('memoryRequest', byteQuantityText('memoryRequest', this.props.memoryRequest ?? '64Mi'), this.props.memoryRequest),
      memoryLimit: one('memoryLimit', byteQuantityText('memoryLimit', this.props.memoryLimit ?? '256Mi'), this.props.memoryLimit),
    };
  }

  /** Problems with the agent container's requests and limit. */
  private resourceProblems(): string[] {
    const r = this.agentResources();
    const problems = Object.values(r).flatMap((x) => (x.problem === undefined ? [] : [x.problem]));
    if (problems.length > 0) return problems;
    const request = Quantity.parse(r.memoryRequest.text)!;
    const limit = Quantity.parse(r.memoryLimit.text)!;
    if (request.nanos > limit.nanos) {
      problems.push(`memoryRequest "${r.memoryRequest.text}" is above memoryLimit "${r.memoryLimit.text}": the API server rejects a request above its limit; raise memoryLimit or lower memoryRequest`);
    }
    for (const [field, quantity] of [['cpuRequest', Quantity.parse(r.cpuRequest.text)!], ['memoryRequest', request], ['memoryLimit', limit]] as const) {
      if (quantity.isNegative) problems.push(`${field} "${quantity}" is negative: give zero or more`);
    }
    return problems;
  }

  private problems(): string[] {
    // A setup the user never wrote says nothing while its runtime reports its own mistakes:
    // they name the fields the user set, and fixing them fixes the setup's derived name too.
    if (this.implicit && this.registrations.some((r) => r.hasProblems())) return [];
    const problems: string[] = [...this.registrationConflicts];
    const nameProblem = dns1123LabelProblem(this.name);
    if (nameProblem) problems.push(`name "${this.name}" ${nameProblem}`);
    const namespaceProblem = dns1123LabelProblem(this.namespace);
    if (namespaceProblem) problems.push(`namespace "${this.namespace}" ${namespaceProblem}`);
    problems.push(...this.resourceProblems());
    const wrongDistribution = this.props.distribution === undefined ? undefined
      : enumProblem(KubernetesDistribution, this.props.distribution, 'distribution', 'KubernetesDistribution');
    if (wrongDistribution) problems.push(wrongDistribution);
    if (this.registrations.length === 0) {
      problems.push('installs no runtime: pass it as `nodeSetup` to a runtime, or remove it');
    }
    for (const r of this.registrations) {
      const handler = r.handler.handler;
      if (handler === 'runc') {
        problems.push('handler "runc" is already configured on every node: give the runtime `nodeSetup: false`, or another handler name for a second runc-based handler');
      }
      if (this.props.distribution === KubernetesDistribution.CRIO && !r.handler.crio) {
        problems.push(`runtime "${r.displayName}" (handler "${handler}") has no CRI-O configuration, and this node setup targets CRI-O${r.crioUnsupported ? `: ${r.crioUnsupported}` : ''}`);
      }
      for (const artifact of r.artifacts) problems.push(...artifact._problems().map((p) => `runtime "${r.displayName}": ${p}`));
    }
    problems.push(...maxUnavailableProblems(this.props.maxUnavailable));
    const image = this.props.agentImage;
    if (image !== undefined && !IMAGE_REFERENCE.test(image)) {
      problems.push(`agentImage "${image}" is not an image reference: give [registry/]repository[:tag][@sha256:<64 lowercase hex digits>], e.g. "${DEFAULT_AGENT_IMAGE}@sha256:..." copied from \`docker buildx imagetools inspect ${DEFAULT_AGENT_IMAGE}\``);
    }
    const recheck = this.recheckSeconds();
    if (!Number.isInteger(recheck) || recheck < 10) {
      problems.push(`recheckPeriod is ${recheck} s: give whole seconds, at least Duration.seconds(10) (each check starts a pod sandbox per handler)`);
    }
    problems.push(...schedulingProblems({ nodeSelector: this.props.nodeSelector, tolerations: this.props.tolerations })
      .map((p) => p.replace(/^scheduling\./, '')));
    if (problems.length === 0 && !this.registrations.some((r) => r.hasProblems())) {
      try {
        renderNodeAgentFiles(this.spec());
      } catch (e: any) {
        problems.push(`cannot render the node agent's files: ${e.message}`);
      }
    }
    // Two setups configuring one handler would fight over each node's configuration.
    for (const other of this.node.root.node.findAll()) {
      if (other === this || !NodeSetup.isNodeSetup(other)) continue;
      if (other.name === this.name) {
        // The ClusterRole and ClusterRoleBinding carry the name: it must be unique in the cluster.
        problems.push(`another NodeSetup (${other.node.path}) has the same name: names are cluster-wide (ClusterRole, ClusterRoleBinding); give each its own \`name\``);
      }
      const sharedHandlers = this.handlers.filter((h) => other.handlers.includes(h));
      for (const handler of sharedHandlers) {
        problems.push(`handler "${handler}" is also installed by NodeSetup "${other.name}" (${other.node.path}): share one NodeSetup between the runtimes, or give one of them another name`);
      }
      // Setups that share a handler share its artifacts too: the fix above covers both.
      if (sharedHandlers.length === 0) problems.push(...this.sharedPathProblems(other));
    }
    problems.push(...this.ownPathProblems());
    return problems;
  }

  /** Every host path this setup installs (artifact destinations and host files), with what installs it. */
  private installedPaths(): InstalledPath[] {
    const paths: InstalledPath[] = [];
    for (const r of this.registrations) {
      for (const artifact of r.artifacts) {
        if (artifact.destination === undefined) continue;
        paths.push({
          path: artifact.destination,
          // An image artifact may be a directory: a tree that owns everything under it.
          tree: artifact._source === 'image',
          architecture: artifact.architecture,
          source: JSON.stringify([artifact._source, artifact.image, artifact.location, artifact.sha512]),
          runtime: r.displayName,
        });
      }
      for (const [hostPath, content] of Object.entries(r.hostFiles)) {
        paths.push({ path: hostPath, tree: false, architecture: CpuArchitecture.ANY, source: JSON.stringify(['file', content]), runtime: r.displayName });
      }
    }
    return paths;
  }

  /**
   * Paths that this setup and another both install on a node both select: each setup would
   * delete the other's file on uninstall, and two versions would overwrite each other.
   */
  private sharedPathProblems(other: NodeSetup): string[] {
    if (disjointSelectors(this.nodeSelector(), other.nodeSelector())) return [];
    const problems = new Map<string, string>();
    for (const mine of this.installedPaths()) {
      for (const theirs of other.installedPaths()) {
        if (!pathsOverlap(mine, theirs) || !architecturesOverlap(mine.architecture, theirs.architecture)) continue;
        const where = mine.path === theirs.path ? `"${mine.path}"` : `"${mine.path}" (${theirs.path} overlaps it)`;
        problems.set(`${mine.path}\n${theirs.path}`, `installs ${where} for runtime "${mine.runtime}", and NodeSetup "${other.name}" (${other.node.path}) installs it too for runtime "${theirs.runtime}": `
          + 'each setup would delete or overwrite the other\'s files on the nodes both select; share one NodeSetup between the runtimes (pass the same `nodeSetup`), '
          + 'give one of the artifacts another destination, or give the setups node selectors that never select the same node');
      }
    }
    return [...problems.values()];
  }

  /** Paths that two runtimes of this setup install from different sources (the last one would win). */
  private ownPathProblems(): string[] {
    const problems = new Map<string, string>();
    const paths = this.installedPaths();
    paths.forEach((a, i) => {
      for (const b of paths.slice(i + 1)) {
        if (a.source === b.source || !pathsOverlap(a, b) || !architecturesOverlap(a.architecture, b.architecture)) continue;
        problems.set(`${a.path}\n${b.path}`, `runtimes "${a.runtime}" and "${b.runtime}" both install "${a.path}"${a.path === b.path ? '' : ` and "${b.path}"`}, from different sources: `
          + 'the last one installed would replace the other; give them the same artifact (one version), or another destination');
      }
    });
    return [...problems.values()];
  }
}

/** A host path a node setup installs. */
interface InstalledPath {
  readonly path: string;
  /** A directory artifact: it owns everything under its path. */
  readonly tree: boolean;
  readonly architecture: CpuArchitecture;
  /** What is installed there (artifact source or file content), to tell the same artifact from another. */
  readonly source: string;
  readonly runtime: string;
}

function isWithin(child: string, parent: string): boolean {
  return child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

function pathsOverlap(a: InstalledPath, b: InstalledPath): boolean {
  return a.path === b.path || (a.tree && isWithin(b.path, a.path)) || (b.tree && isWithin(a.path, b.path));
}

function architecturesOverlap(a: CpuArchitecture, b: CpuArchitecture): boolean {
  return a === CpuArchitecture.ANY || b === CpuArchitecture.ANY || a === b;
}

/** True when no node can match both selectors (one key, two required values). */
function disjointSelectors(a: { [key: string]: string }, b: { [key: string]: string }): boolean {
  return Object.keys(a).some((key) => key in b && a[key] !== b[key]);
}

/** Architectures a list of artifacts covers. @internal */
export function architecturesOf(artifacts: RuntimeArtifacts[]): CpuArchitecture[] {
  return [...new Set(artifacts.map((a) => a.architecture))].sort();
}
