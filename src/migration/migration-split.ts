/**
 * One step of a migration: how the replicas are split between the stable Deployment (the
 * runtime it runs on today) and the canary Deployment (the new runtime). Moving to the next
 * step is a one-line change: `MigrationSplit.percent(10)`, then `percent(50)`, then `complete()`.
 */
export class MigrationSplit {
  /**
   * A share of the replicas on the new runtime, in whole percent from 0 to 100. The canary
   * gets `ceil(replicas x percent / 100)` replicas, so any share above 0 runs at least one pod
   * on the new runtime: 25% of 3 replicas is 1 canary and 2 stable, 50% of 3 is 2 and 1.
   * @param percent whole percent of the replicas on the new runtime, 0 to 100
   */
  public static percent(percent: number): MigrationSplit {
    return new MigrationSplit(percent, undefined, false);
  }

  /**
   * A fixed number of replicas on the new runtime; the stable Deployment runs the rest.
   * @param replicas canary replicas, from 0 to the migration's replicas
   */
  public static canaryReplicas(replicas: number): MigrationSplit {
    return new MigrationSplit(undefined, replicas, false);
  }

  /**
   * The last step. For a `DeploymentMigration`: the Deployment itself switches to the new
   * runtime (a rolling update) with all its replicas, and the canary Deployment is removed; the
   * output is then the same as `to.pin(deployment)` without the migration. For the deprecated
   * `RuntimeMigration` it is `percent(100)`.
   */
  public static complete(): MigrationSplit {
    return new MigrationSplit(undefined, undefined, true);
  }

  /** The share on the new runtime, when the split is a percentage. */
  public readonly percentage?: number;
  /** The canary replicas, when the split is a count. */
  public readonly count?: number;
  /** Whether this is the last step (`MigrationSplit.complete()`). */
  public readonly isComplete: boolean;

  private constructor(percentage: number | undefined, count: number | undefined, isComplete: boolean) {
    this.percentage = percentage;
    this.count = count;
    this.isComplete = isComplete;
  }

  /**
   * The canary's replicas out of `total` (see `percent` for the rounding; `complete()` counts
   * every replica as moved). Values out of range are clamped here and reported by the
   * migration's validation.
   * @param total replicas of both Deployments together
   */
  public canaryReplicasOf(total: number): number {
    const whole = Number.isFinite(total) ? Math.max(0, Math.floor(total)) : 0;
    if (this.isComplete) return whole;
    // whole x percent first, then / 100: a product of integers divided exactly stays exact
    // (70% of 10 is 7), where whole x (percent / 100) would give ceil(7.000000000000001) = 8.
    const wanted = this.percentage !== undefined ? Math.ceil((whole * this.percentage) / 100) : this.count ?? 0;
    return Number.isFinite(wanted) ? Math.min(whole, Math.max(0, Math.floor(wanted))) : 0;
  }

  /** `25%`, `2 canary replicas` or `complete`, for messages. */
  public toString(): string {
    if (this.isComplete) return 'complete';
    return this.percentage !== undefined ? `${this.percentage}%` : `${this.count} canary replica${this.count === 1 ? '' : 's'}`;
  }

  /** Why this split cannot apply to `total` replicas. @internal */
  public _problems(total: number): string[] {
    if (this.isComplete) return [];
    if (this.percentage !== undefined) {
      const p = this.percentage;
      return Number.isInteger(p) && p >= 0 && p <= 100 ? [] : [`split MigrationSplit.percent(${p}) must be a whole percentage from 0 to 100`];
    }
    const c = this.count;
    if (c === undefined || !Number.isInteger(c) || c < 0) return [`split MigrationSplit.canaryReplicas(${c}) must be a whole number, 0 or more`];
    if (Number.isInteger(total) && c > total) {
      return [`split MigrationSplit.canaryReplicas(${c}) asks for more canary replicas than the ${total} replicas of the migration: lower it or raise replicas`];
    }
    return [];
  }
}
