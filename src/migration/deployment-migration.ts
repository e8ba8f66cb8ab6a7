import { ApiObject, JsonPatch, Lazy, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { MigrationSplit } from './migration-split';
import { dns1123SubdomainProblem, labelValueProblem } from '../core/names';
import { pinsOf } from '../core/pinning';
import { IRuntimeClass } from '../core/runtime-class';

/**
 * Properties of a `DeploymentMigration`.
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * const web = new kplus.Deployment(chart, 'web', {
 *   replicas: 4,
 *   podMetadata: { labels: { app: 'web' } },
 *   containers: [{ image: 'ghcr.io/example/web:1.0', portNumber: 8080 }],
 * });
 * const props: DeploymentMigrationProps = { deployment: web, to: kata, split: MigrationSplit.canaryReplicas(1) };
 * new DeploymentMigration(chart, 'web-to-kata', props);
 */
export interface DeploymentMigrationProps {
  /**
   * The Deployment that runs today: a `kplus.Deployment`, a `KubeDeployment` or any `ApiObject`
   * of kind Deployment, or an `Include` that holds exactly one Deployment. It stays the stable
   * track: its name, selector and pod template are left as they are until the last step.
   */
  readonly deployment: IConstruct;
  /** The runtime the workload moves to: the canary Deployment is pinned to it, and so is the Deployment at the last step. */
  readonly to: IRuntimeClass;
  /**
   * This step of the migration: the share of the Deployment's replicas that the canary runs
   * (`MigrationSplit.percent(10)`, ...), or `MigrationSplit.complete()` for the last step.
   */
  readonly split: MigrationSplit;
  /** `metadata.name` of the canary Deployment. @default - the Deployment's name + `-canary` */
  readonly canaryName?: string;
}

/** A pod's labels. */
type Labels = { [key: string]: string };

/** A Kubernetes label selector as it appears in a manifest. */
interface LabelSelectorJson {
  readonly matchLabels?: { [key: string]: string };
  readonly matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A selector of the app that selects pods, and what it belongs to (for messages). */
interface PodSelection {
  readonly owner: string;
  readonly selector: LabelSelectorJson;
}

/** The canary's pod labels, and why they are what they are. */
interface CanaryLabels {
  readonly labels: { [key: string]: string };
  /** Selectors of the app that select the Deployment's pods: the canary's pods must match them too. */
  readonly selections: PodSelection[];
  /** Whether the Deployment's selector still matches the canary's pods (the two would fight over them). */
  readonly adoptedByStable: boolean;
}

/**
 * Moves a running Deployment to another runtime with a canary, without replacing it: the
 * Deployment stays the stable track with its name, its selector (selectors are immutable) and
 * its pod template, and a canary Deployment (`<name>-canary`) runs the same pod template pinned
 * to `to`. Each step is a change of `split` that moves replicas between the two (the total is the
 * Deployment's `replicas`); `MigrationSplit.complete()` is the last step: the Deployment itself
 * switches to `to` (a rolling update) with all its replicas, and the canary is removed.
 *
 * The canary's pods carry the Deployment's pod labels, less the keys of the Deployment's selector
 * that no Service or NetworkPolicy of the app selects the pods by, plus
 * `runtimeclass.cdk8s.io/migration` and `runtimeclass.cdk8s.io/track: canary`, which its own
 * selector uses. So every Service that serves the Deployment's pods serves the canary's too, and
 * neither Deployment's selector matches the other's pods. When every key of the Deployment's
 * selector is one a Service or NetworkPolicy selects by, no such canary exists: the synth fails
 * and says how to get there. Pod (anti-)affinity terms and topology spread constraints that
 * selected the Deployment's own pods by a label the canary leaves out select the canary's own pods
 * in the canary, so each track spreads as the Deployment did.
 *
 * @example
 * const kata = new KataRuntime(chart, 'kata');
 * // What runs today: the Deployment and its Service, selecting by a label outside the Deployment's selector.
 * const checkout = new kplus.Deployment(chart, 'checkout', {
 *   replicas: 4,
 *   podMetadata: { labels: { app: 'checkout' } },
 *   containers: [{ image: 'ghcr.io/example/checkout:2.3', portNumber: 8080 }],
 * });
 * new kplus.Service(chart, 'checkout-service', {
 *   selector: kplus.Pods.select(chart, 'checkout-pods', { labels: { app: 'checkout' } }),
 *   ports: [{ port: 80, targetPort: 8080 }],
 * });
 * // Step 1: one pod in four on Kata beside it; then percent(50), percent(100), complete().
 * new DeploymentMigration(chart, 'checkout-to-kata', { deployment: checkout, to: kata, split: MigrationSplit.percent(25) });
 */
export class DeploymentMigration extends Construct {
  /** Label on the canary's pods; its value names the migration. */
  public static readonly MIGRATION_LABEL = 'runtimeclass.cdk8s.io/migration';
  /** Label on the canary's pods, with the value `canary`. */
  public static readonly TRACK_LABEL = 'runtimeclass.cdk8s.io/track';

  /** The Deployment that runs today (the stable track), as the object the migration patches. */
  public readonly deployment: ApiObject;
  /** The canary Deployment; undefined at the last step (`MigrationSplit.complete()`). */
  public readonly canary?: ApiObject;
  /** The new runtime. */
  public readonly to: IRuntimeClass;
  /** This step. */
  public readonly split: MigrationSplit;
  /** Replicas of both Deployments together: the Deployment's `spec.replicas` when the migration was created (0 when it has none). */
  public readonly replicas: number;
  /** Replicas of the Deployment in this step. */
  public readonly stableReplicas: number;
  /** Replicas of the canary in this step (0 at the last step, where there is no canary). */
  public readonly canaryReplicas: number;
  /** The value of `runtimeclass.cdk8s.io/migration` on the canary's pods. */
  public readonly migrationName: string;
  /** `metadata.name` of the canary Deployment. */
  public readonly canaryName: string;

  /** The Deployment's manifest when the migration was created, before any of its changes. */
  private readonly declared: any;
  /** False while the constructor runs: pin() renders the canary then, for its class only, and the app's selectors need not be read. */
  private constructed = false;

  public constructor(scope: Construct, id: string, props: DeploymentMigrationProps) {
    super(scope, id);
    const where = `DeploymentMigration "${this.node.path}"`;
    for (const field of ['deployment', 'to', 'split'] as const) {
      if (props?.[field] === undefined || props[field] === null) {
        throw new Error(`${where}: \`${field}\` is required (got ${props?.[field]}): ${FIELD_HINTS[field]}`);
      }
    }
    if (!(props.split instanceof MigrationSplit)) {
      throw new Error(`${where}: split ${JSON.stringify(props.split)} is no MigrationSplit: ${FIELD_HINTS.split}`);
    }
    if (typeof props.to.runtimeClassName !== 'string' || typeof props.to.pin !== 'function') {
      throw new Error(`${where}: to is no runtime (it has no runtimeClassName and pin()): ${FIELD_HINTS.to}`);
    }
    this.deployment = deploymentObjectOf(props.deployment, where);
    this.to = props.to;
    this.split = props.split;
    this.declared = renderOrUndefined(this.deployment) ?? {};
    const declaredReplicas = this.declared.spec?.replicas;
    this.replicas = Number.isInteger(declaredReplicas) && declaredReplicas >= 0 ? declaredReplicas : 0;
    const stableName = this.deployment.name;
    this.migrationName = labelValueProblem(stableName) === undefined ? stableName : Names.toLabelValue(this);
    this.canaryName = props.canaryName ?? `${stableName}-canary`;

    if (this.split.isComplete) {
      this.canaryReplicas = 0;
      this.stableReplicas = this.replicas;
      // A class written into the manifest (an Include'd file) is replaced, as a pin would refuse to.
      if (this.declaredClassName() !== undefined && pinsOf(this.deployment).length === 0) {
        this.deployment.addJsonPatch(JsonPatch.remove(`${TEMPLATE_SPEC}/runtimeClassName`));
      }
      this.to.pin(this.deployment);
    } else {
      this.canaryReplicas = this.split.canaryReplicasOf(this.replicas);
      this.stableReplicas = this.replicas - this.canaryReplicas;
      if (this.replicas > 0) this.deployment.addJsonPatch(JsonPatch.add('/spec/replicas', this.stableReplicas));
      const metadata: { [key: string]: any } = { name: this.canaryName };
      const namespace = this.declared.metadata?.namespace;
      if (namespace !== undefined) metadata.namespace = namespace;
      if (this.declared.metadata?.labels) metadata.labels = { ...this.declared.metadata.labels };
      if (this.declared.metadata?.annotations) metadata.annotations = { ...this.declared.metadata.annotations };
      this.canary = new ApiObject(this, 'Canary', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata,
        spec: Lazy.any({ produce: () => this.canarySpec() }),
      });
      this.to.pin(this.canary);
    }

    this.node.addValidation({ validate: () => this.problems().map((p) => `${where}: ${p}`) });
    this.constructed = true;
  }

  /** The labels the canary's own selector matches (on its pods only). */
  public get canarySelectorLabels(): { [key: string]: string } {
    return { [DeploymentMigration.MIGRATION_LABEL]: this.migrationName, [DeploymentMigration.TRACK_LABEL]: 'canary' };
  }

  /** runtimeClassName of the Deployment as declared, before this migration. */
  private declaredClassName(): string | undefined {
    return this.declared.spec?.template?.spec?.runtimeClassName;
  }

  /** The canary's spec: the Deployment's, with its own replicas, selector, pod labels and class. */
  private canarySpec(): any {
    const stable = renderOrUndefined(this.deployment) ?? {};
    const spec = JSON.parse(JSON.stringify(stable.spec ?? {}));
    delete spec.paused;
    const template = spec.template ?? {};
    const podLabels = stable.spec?.template?.metadata?.labels ?? {};
    const labels = this.canaryLabels(stable).labels;
    template.metadata = { ...template.metadata, labels };
    template.spec = { ...template.spec, runtimeClassName: this.to.runtimeClassName };
    retargetOwnPodSelectors(template.spec, podLabels, labels, { matchLabels: this.canarySelectorLabels });
    return { ...spec, replicas: this.canaryReplicas, selector: { matchLabels: this.canarySelectorLabels }, template };
  }

  /** The canary's pod labels, computed from the Deployment's manifest `stable` and the app's selectors. */
  private canaryLabels(stable: any): CanaryLabels {
    const podLabels: { [key: string]: string } = { ...stable.spec?.template?.metadata?.labels };
    const stableSelector: LabelSelectorJson = stable.spec?.selector ?? {};
    const selections = !this.constructed ? [] : podSelectionsIn(this.node.root, stable.metadata?.namespace, [this.deployment, this.canary])
      .filter((s) => selectorMatches(s.selector, podLabels));
    const needed = new Set(selections.flatMap((s) => selectorKeys(s.selector)));
    const labels = { ...podLabels };
    for (const key of exclusionKeys(stableSelector)) {
      if (!needed.has(key)) delete labels[key];
    }
    Object.assign(labels, this.canarySelectorLabels);
    return { labels, selections, adoptedByStable: selectorMatches(stableSelector, labels) };
  }

  private problems(): string[] {
    const problems: string[] = [];
    const name = this.deployment.name;
    const stable = renderOrUndefined(this.deployment);
    if (stable === undefined) return [`Deployment "${name}" cannot be rendered, so the migration cannot be checked: see its own error`];
    const declaredReplicas = this.declared.spec?.replicas;
    if (this.deployment.node.scope instanceof kplus.Deployment && this.deployment.node.scope.hasAutoscaler) {
      problems.push(`Deployment "${name}" is scaled by an autoscaler, and a migration moves a fixed number of replicas between two Deployments: `
        + 'remove the autoscaler while migrating (give the Deployment `replicas`), and add it back after the last step');
    } else if (!Number.isInteger(declaredReplicas) || declaredReplicas < 1) {
      problems.push(`Deployment "${name}" has spec.replicas ${JSON.stringify(declaredReplicas)}: a migration moves a fixed number of replicas between two Deployments; `
        + 'give the Deployment a whole number of replicas, 1 or more (an autoscaled Deployment: remove the autoscaler while migrating)');
    }
    problems.push(...this.split._problems(this.replicas));

    if (this.split.isComplete) {
      const others = pinsOf(this.deployment).filter((c) => c.runtimeClassName !== this.to.runtimeClassName).map((c) => `"${c.runtimeClassName}"`);
      if (others.length > 0) {
        problems.push(`the last step (MigrationSplit.complete()) pins Deployment "${name}" to RuntimeClass "${this.to.runtimeClassName}", `
          + `and it is also pinned to ${others.join(', ')} by a pin() outside the migration: remove that pin in this step`);
      }
      return problems;
    }

    const current = stable.spec?.template?.spec?.runtimeClassName;
    if (current === this.to.runtimeClassName) {
      problems.push(`Deployment "${name}" already runs on RuntimeClass "${current}" (its runtimeClassName), the class the migration moves it to: `
        + 'set `to` to another runtime, or remove the migration');
    }
    const canary = this.canaryLabels(stable);
    if (canary.adoptedByStable) problems.push(this.overlapProblem(name, stable.spec?.selector ?? {}, canary.selections));

    // Namespaces are read from the objects' metadata: rendering every Deployment of the app per migration would cost more than the synth.
    const canaryNamespace = this.canary!.metadata.namespace;
    const namespace = stable.metadata?.namespace;
    if (canaryNamespace !== namespace) {
      problems.push(`the canary would be in namespace "${canaryNamespace}" (the migration's chart's) and Deployment "${name}" is in `
        + `${namespace === undefined ? 'no namespace' : `namespace "${namespace}"`}: a Service serves pods of its own namespace only; `
        + 'create the migration in the Deployment\'s chart, or give the Deployment its namespace');
    }
    const nameProblem = dns1123SubdomainProblem(this.canaryName);
    if (nameProblem) problems.push(`canaryName "${this.canaryName}" ${nameProblem}: give \`canaryName\` a valid Deployment name`);
    const twin = this.node.root.node.findAll().find((c): c is ApiObject => ApiObject.isApiObject(c) && c !== this.canary && c.kind === 'Deployment'
      && c.name === this.canaryName && c.metadata.namespace === canaryNamespace);
    if (twin) problems.push(`the canary's name "${this.canaryName}" is the name of Deployment ${twin.node.path}: give \`canaryName\` another name`);
    return problems;
  }

  /** Why no canary can be served by the Deployment's Services without the Deployment adopting its pods, and the way out. */
  private overlapProblem(name: string, selector: LabelSelectorJson, selections: PodSelection[]): string {
    const keys = exclusionKeys(selector);
    const owners = selections.filter((s) => selectorKeys(s.selector).some((k) => keys.includes(k))).map((s) => s.owner);
    if (owners.length === 0) {
      return `Deployment "${name}" selects its pods by ${describeSelector(selector)}, which no label a canary pod leaves out can escape (only matchLabels, In and Exists can), `
        + 'so the Deployment would adopt the canary\'s pods (selectors are immutable). A migration needs a Deployment whose selector has such a key: '
        + 'replace the Deployment with one whose selector has matchLabels, then start the migration';
    }
    const by = `, and ${owners.join(', ')} select${owners.length === 1 ? 's' : ''} them by ${keys.length === 1 ? 'that label' : 'those labels'} too`;
    return `Deployment "${name}" selects its pods by ${describeSelector(selector)}${by}: a canary pod those select would also match the Deployment's selector, `
      + 'and the two Deployments would fight over it (selectors are immutable). '
      + 'Make them select by a pod label outside the Deployment\'s selector: add one to the pod template (for example app.kubernetes.io/name; applying it is a rolling update on today\'s runtime), '
      + 'point the Service\'s selector at it, apply both, then start the migration';
  }
}

/** What to give for each required prop, for JavaScript callers who leave one out. */
const FIELD_HINTS = {
  deployment: 'give the Deployment that runs today (a kplus.Deployment, a KubeDeployment or an Include that holds one)',
  to: 'give the runtime to move to (a runtime such as KataRuntime, or RuntimeClass.fromName(...))',
  split: 'give the step, e.g. MigrationSplit.percent(10), or MigrationSplit.complete() for the last one',
};

const TEMPLATE_SPEC = '/spec/template/spec';

/** The one Deployment object `workload` stands for: itself, its `Resource` child, or the only Deployment in an Include. */
function deploymentObjectOf(workload: IConstruct, where: string): ApiObject {
  let objects: ApiObject[];
  if (ApiObject.isApiObject(workload)) {
    objects = [workload];
  } else {
    const own = workload.node.tryFindChild('Resource');
    objects = own && ApiObject.isApiObject(own) ? [own] : workload.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c));
  }
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (deployments.length === 1) return deployments[0];
  if (deployments.length > 1) {
    const names = deployments.map((d) => `"${d.name}"`).join(', ');
    throw new Error(`${where}: deployment ${workload.node.path} holds ${deployments.length} Deployments (${names}): give one of them, `
      + `e.g. include.apiObjects.find((o) => o.kind === 'Deployment' && o.name === ${deployments[0].name === undefined ? '...' : `'${deployments[0].name}'`})`);
  }
  const kinds = [...new Set(objects.map((o) => o.kind))];
  throw new Error(`${where}: deployment ${workload.node.path} is no Deployment (it holds ${kinds.length ? kinds.join(', ') : 'no Kubernetes object'}): `
    + 'give a kplus.Deployment, a KubeDeployment or ApiObject of kind Deployment, or an Include that holds one Deployment');
}

/** The object's manifest, or undefined when it cannot be rendered (its own validation says why). */
function renderOrUndefined(object: ApiObject): any {
  try {
    return object.toJson();
  } catch {
    return undefined;
  }
}

/**
 * The selectors of the app that select pods in `namespace`: each Service's selector and each
 * NetworkPolicy's pod selector there, and the pod selectors of NetworkPolicy peers (those with a
 * namespace selector may reach any namespace, so they count wherever they are).
 */
function podSelectionsIn(root: IConstruct, namespace: string | undefined, skip: Array<ApiObject | undefined>): PodSelection[] {
  const selections: PodSelection[] = [];
  for (const c of root.node.findAll()) {
    if (!ApiObject.isApiObject(c) || skip.includes(c) || (c.kind !== 'Service' && c.kind !== 'NetworkPolicy')) continue;
    const manifest = renderOrUndefined(c);
    if (!manifest) continue;
    const sameNamespace = manifest.metadata?.namespace === namespace;
    const owner = `${c.kind} "${manifest.metadata?.name ?? c.name}"`;
    if (c.kind === 'Service') {
      const selector = manifest.spec?.selector;
      if (sameNamespace && selector && Object.keys(selector).length > 0) selections.push({ owner, selector: { matchLabels: selector } });
      continue;
    }
    if (sameNamespace && manifest.spec?.podSelector) selections.push({ owner, selector: manifest.spec.podSelector });
    const ingress = (manifest.spec?.ingress ?? []).flatMap((rule: any) => rule?.from ?? []);
    const egress = (manifest.spec?.egress ?? []).flatMap((rule: any) => rule?.to ?? []);
    const peers = [...ingress, ...egress];
    for (const peer of peers) {
      if (peer?.podSelector && (sameNamespace || peer.namespaceSelector)) selections.push({ owner, selector: peer.podSelector });
    }
  }
  return selections;
}

/**
 * Points the pod (anti-)affinity terms and topology spread constraints of the canary's pod spec
 * that select the Deployment's own pods but not the canary's (a spread over a label the canary
 * leaves out, as cdk8s-plus's `spread` writes) at the canary's own pods: each track then spreads
 * as the Deployment did, instead of the canary avoiding the Deployment's pods.
 */
function retargetOwnPodSelectors(podSpec: any, stableLabels: Labels, canaryLabels: Labels, own: LabelSelectorJson): void {
  const retarget = (holder: any) => {
    const selector = holder?.labelSelector;
    if (selector && selectorMatches(selector, stableLabels) && !selectorMatches(selector, canaryLabels)) holder.labelSelector = own;
  };
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const terms = podSpec?.affinity?.[kind];
    for (const term of terms?.requiredDuringSchedulingIgnoredDuringExecution ?? []) retarget(term);
    for (const weighted of terms?.preferredDuringSchedulingIgnoredDuringExecution ?? []) retarget(weighted?.podAffinityTerm);
  }
  for (const constraint of podSpec?.topologySpreadConstraints ?? []) retarget(constraint);
}

/** Whether a label selector matches a pod's labels (an empty selector matches every pod). */
function selectorMatches(selector: LabelSelectorJson, labels: { [key: string]: string }): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    const ok = e.operator === 'In' ? has && values.includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !values.includes(labels[e.key])
        : e.operator === 'Exists' ? has
          : e.operator === 'DoesNotExist' ? !has
            : false;
    if (!ok) return false;
  }
  return true;
}

/** Every label key a selector reads. */
function selectorKeys(selector: LabelSelectorJson): string[] {
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)];
}

/** The keys whose absence makes a pod fail the selector (matchLabels, In, Exists). */
function exclusionKeys(selector: LabelSelectorJson): string[] {
  const fromExpressions = (selector.matchExpressions ?? []).filter((e) => e.operator === 'In' || e.operator === 'Exists').map((e) => e.key);
  return [...new Set([...Object.keys(selector.matchLabels ?? {}), ...fromExpressions])];
}

/** `{app=checkout, tier in (web)}`, for messages. */
function describeSelector(selector: LabelSelectorJson): string {
  const parts = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`),
  ];
  return `{${parts.join(', ')}}`;
}
