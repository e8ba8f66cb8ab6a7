import { ApiObject, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { MigrationSplit } from './migration-split';
import { labelValueProblem } from '../core/names';
import { IRuntimeClass } from '../core/runtime-class';

/**
 * Properties of a runtime migration: a Deployment's props plus the two runtimes and the split.
 *
 * @example
 * const props: RuntimeMigrationProps = {
 *   from: RuntimeClass.fromName('runc'),
 *   to: new GvisorRuntime(chart, 'gvisor'),
 *   replicas: 3,
 *   split: MigrationSplit.canaryReplicas(1), // one replica on gVisor, two on runc
 *   containers: [{ image: 'ghcr.io/example/api:1.8', portNumber: 8080 }],
 * };
 * new RuntimeMigration(chart, 'api', props);
 *
 * @deprecated Use `DeploymentMigration`, which keeps the Deployment that runs today.
 */
export interface RuntimeMigrationProps extends kplus.DeploymentProps {
  /** The runtime the workload runs on now: the stable Deployment is pinned to it. */
  readonly from: IRuntimeClass;
  /** The runtime the workload moves to: the canary Deployment is pinned to it. */
  readonly to: IRuntimeClass;
  /**
   * How the replicas (`replicas`, the total of both Deployments) are split between them.
   * Move it step by step; `MigrationSplit.percent(100)` ends the migration with every pod on `to`.
   */
  readonly split: MigrationSplit;
}

/** The two sides of a migration (values of `RuntimeMigration.TRACK_LABEL`). */
enum MigrationTrack {
  /** The Deployment on the old runtime (`from`). */
  STABLE = 'stable',
  /** The Deployment on the new runtime (`to`). */
  CANARY = 'canary',
}

/**
 * Moves a workload from one runtime to another with the canary pattern: the same pod template
 * runs as a stable Deployment pinned to `from` and a canary Deployment pinned to `to`, with
 * `replicas` (the total) split between them by `split`. Both carry the label
 * `runtimeclass.cdk8s.io/migration: <name>`, so one Service (`exposeViaService`, or any
 * selector on that label or on your own `podMetadata` labels) serves both; each Deployment
 * selects only its own pods through `runtimeclass.cdk8s.io/track: stable|canary`.
 *
 * Every pin check of both runtimes applies (nodeSelector conflicts, host namespaces,
 * overhead, ceilings), and the two pod templates are checked to stay the same.
 *
 * @example
 * const runc = new RuncRuntime(chart, 'runc');
 * const kata = new KataRuntime(chart, 'kata');
 * // Step 1 of 3: one replica in four on Kata; then percent(50), then percent(100).
 * const migration = new RuntimeMigration(chart, 'checkout', {
 *   from: runc,
 *   to: kata,
 *   replicas: 4,
 *   split: MigrationSplit.percent(25),
 *   containers: [{ image: 'ghcr.io/example/checkout:2.3', portNumber: 8080 }],
 *   podMetadata: { labels: { app: 'checkout' } },
 * });
 * migration.exposeViaService(); // one Service selects the pods of both tracks
 *
 * @deprecated Use `DeploymentMigration`: it keeps the Deployment that runs today as the stable
 * track, with its name and selector, and adds only the canary. `RuntimeMigration` creates two new
 * Deployments (`<name>-stable`, `<name>-canary`), so moving a running workload onto it replaces
 * every running pod at the first step.
 */
export class RuntimeMigration extends Construct implements kplus.IPodSelector {
  /** Label on the pods of both Deployments; its value is the migration's name. */
  public static readonly MIGRATION_LABEL = 'runtimeclass.cdk8s.io/migration';
  /** Label telling the stable pods from the canary pods (`stable` or `canary`). */
  public static readonly TRACK_LABEL = 'runtimeclass.cdk8s.io/track';

  /** The Deployment on the old runtime. */
  public readonly stable: kplus.Deployment;
  /** The Deployment on the new runtime. */
  public readonly canary: kplus.Deployment;
  /** The old runtime. */
  public readonly from: IRuntimeClass;
  /** The new runtime. */
  public readonly to: IRuntimeClass;
  /** The split of the replicas. */
  public readonly split: MigrationSplit;
  /** Replicas of both Deployments together. */
  public readonly replicas: number;
  /** Replicas of the stable Deployment. */
  public readonly stableReplicas: number;
  /** Replicas of the canary Deployment. */
  public readonly canaryReplicas: number;
  /** The label value that names this migration (`runtimeclass.cdk8s.io/migration`). */
  public readonly migrationName: string;

  public constructor(scope: Construct, id: string, props: RuntimeMigrationProps) {
    super(scope, id);
    const { from, to, split, ...deploymentProps } = props;
    this.from = from;
    this.to = to;
    this.split = split;
    this.replicas = props.replicas ?? 2;
    this.canaryReplicas = split.canaryReplicasOf(this.replicas);
    this.stableReplicas = Math.max(0, Math.floor(Number.isFinite(this.replicas) ? this.replicas : 0) - this.canaryReplicas);
    const baseName = props.metadata?.name;
    this.migrationName = baseName ?? Names.toLabelValue(this);

    const deployment = (track: MigrationTrack, replicas: number): kplus.Deployment => {
      const labels = { [RuntimeMigration.MIGRATION_LABEL]: this.migrationName, [RuntimeMigration.TRACK_LABEL]: track };
      const created = new kplus.Deployment(this, track === MigrationTrack.STABLE ? 'Stable' : 'Canary', {
        ...deploymentProps,
        // A `name: undefined` key would stop cdk8s from generating the name.
        metadata: baseName === undefined ? props.metadata : { ...props.metadata, name: `${baseName}-${track}` },
        replicas,
        select: false,
        podMetadata: { ...props.podMetadata, labels: { ...props.podMetadata?.labels, ...labels } },
      });
      created.select(kplus.LabelSelector.of({ labels }));
      return created;
    };
    this.stable = deployment(MigrationTrack.STABLE, this.stableReplicas);
    this.canary = deployment(MigrationTrack.CANARY, this.canaryReplicas);
    from.pin(this.stable);
    to.pin(this.canary);

    this.node.addValidation({ validate: () => this.problems(props).map((p) => `RuntimeMigration "${this.migrationName}": ${p}`) });
  }

  /** Labels that every pod of both Deployments carries, and only theirs. */
  public get selectorLabels(): { [key: string]: string } {
    return { [RuntimeMigration.MIGRATION_LABEL]: this.migrationName };
  }

  /** Selects the pods of both Deployments (for a `kplus.Service`'s `selector`, a network policy, ...). */
  public toPodSelectorConfig(): kplus.PodSelectorConfig {
    return { labelSelector: kplus.LabelSelector.of({ labels: this.selectorLabels }) };
  }

  /**
   * A Service in front of both Deployments, so clients keep one address while pods move.
   * @param options ports (default: every container port), type and name of the Service
   */
  public exposeViaService(options: kplus.DeploymentExposeViaServiceOptions = {}): kplus.Service {
    const containerPorts = this.stable.containers.flatMap((c) => c.ports);
    const ports = options.ports ?? containerPorts.map((p) => ({ port: p.number, targetPort: p.number, protocol: p.protocol, name: p.name }));
    if (ports.length === 0) {
      throw new Error(`RuntimeMigration "${this.migrationName}".exposeViaService(): its containers expose no port: give \`ports\`, or set portNumber on a container`);
    }
    if (ports.length > 1 && ports.some((p) => p.name === undefined)) {
      throw new Error(`RuntimeMigration "${this.migrationName}".exposeViaService(): a Service with several ports needs a name on each: name the container ports or give \`ports\``);
    }
    const metadata = options.name === undefined ? undefined : { name: options.name };
    return new kplus.Service(this, `${options.name ?? ''}Service`, {
      selector: this,
      ports,
      metadata,
      type: options.serviceType ?? kplus.ServiceType.CLUSTER_IP,
    });
  }

  private problems(props: RuntimeMigrationProps): string[] {
    const problems: string[] = [];
    if (!Number.isInteger(this.replicas) || this.replicas < 1) {
      problems.push(`replicas ${this.replicas} must be a whole number, 1 or more (it is the total of the stable and canary Deployments)`);
    }
    problems.push(...this.split._problems(this.replicas));
    if (this.from.runtimeClassName === this.to.runtimeClassName) {
      problems.push(`from and to are both RuntimeClass "${this.to.runtimeClassName}": a migration moves pods to another class; set \`to\` to the new runtime`);
    }
    if (props.select !== undefined) {
      problems.push(`select: ${props.select} is set, but RuntimeMigration sets the selectors of both Deployments itself: remove \`select\``);
    }
    if (props.metadata?.name !== undefined) {
      const problem = labelValueProblem(props.metadata.name);
      if (problem) problems.push(`metadata.name "${props.metadata.name}" names the migration in the ${RuntimeMigration.MIGRATION_LABEL} label, so it ${problem}`);
    }
    for (const key of [RuntimeMigration.MIGRATION_LABEL, RuntimeMigration.TRACK_LABEL]) {
      if (props.podMetadata?.labels?.[key] !== undefined) {
        problems.push(`podMetadata.labels["${key}"] is set, but RuntimeMigration sets that label itself: remove it`);
      }
    }
    const difference = templateDifference(this.stable, this.canary);
    if (difference) {
      problems.push(`the pod templates of the stable and canary Deployments differ at ${difference}: both must run the same pod; `
        + 'change the pod through the RuntimeMigration\'s props, or make the same change to `stable` and `canary`');
    }
    return problems;
  }
}

/** The first path where the two pod templates differ, besides what sets the tracks apart; or undefined. */
function templateDifference(stable: kplus.Deployment, canary: kplus.Deployment): string | undefined {
  const comparable = (deployment: kplus.Deployment) => {
    let template: any;
    try {
      template = JSON.parse(JSON.stringify(ApiObject.of(deployment).toJson().spec?.template ?? {}));
    } catch {
      return undefined; // a Deployment that cannot render reports it through its own validation
    }
    delete template.metadata?.labels?.[kplus.Pod.ADDRESS_LABEL];
    delete template.metadata?.labels?.[RuntimeMigration.TRACK_LABEL];
    delete template.spec?.runtimeClassName;
    return template;
  };
  const a = comparable(stable);
  const b = comparable(canary);
  if (a === undefined || b === undefined) return undefined;
  return firstDifference(a, b, 'spec.template');
}

function firstDifference(a: any, b: any, path: string): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    const found = firstDifference(a[key], b[key], Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
