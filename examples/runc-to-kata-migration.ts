// Moving a running service from runc to Kata, the canary way. The Deployment `checkout` and its
// Service are what runs today; the migration keeps that Deployment (its name, selector and pods)
// as the stable track and adds a canary Deployment on Kata that the same Service selects. Each
// step of the rollout is a one-line change of `split`: 10% -> 25% -> 50% -> 100% -> complete(),
// where the Deployment itself moves to Kata and the canary goes away. Alerts watch the Kata pods'
// memory against their overhead while the share grows.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DeploymentMigration, KataRuntime, MigrationSplit, RuncRuntime, RuntimeAlerts } from '../src';

export class CheckoutMigration extends Chart {
  /** The Deployment that ran before the migration, and still does. */
  public readonly deployment: kplus.Deployment;
  public readonly migration: DeploymentMigration;

  public constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'shop' });
    const runc = new RuncRuntime(this, 'runc');
    const kata = new KataRuntime(this, 'kata');

    // What ran before the migration, unchanged: the Service selects by `app`, a label outside the
    // Deployment's selector, so a canary can carry it without the Deployment adopting the canary's pods.
    this.deployment = new kplus.Deployment(this, 'checkout', {
      metadata: { name: 'checkout' },
      replicas: 8,
      podMetadata: { labels: { app: 'checkout' } },
      containers: [{
        image: 'ghcr.io/example/checkout:2.3.0',
        portNumber: 8080,
        resources: {
          cpu: { request: kplus.Cpu.millis(300), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(384), limit: Size.mebibytes(768) },
        },
      }],
    });
    runc.pin(this.deployment); // at the last step, complete(), this pin goes
    new kplus.Service(this, 'service', {
      metadata: { name: 'checkout' },
      selector: kplus.Pods.select(this, 'checkout-pods', { labels: { app: 'checkout' } }),
      ports: [{ port: 80, targetPort: 8080 }],
    });

    this.migration = new DeploymentMigration(this, 'to-kata', {
      deployment: this.deployment,
      to: kata,
      // Step 2 of 5: 10% -> 25% -> 50% -> 100% -> MigrationSplit.complete().
      split: MigrationSplit.percent(25),
    });

    new RuntimeAlerts(this, 'kata-alerts', {
      runtime: kata,
      metadata: { labels: { release: 'kube-prometheus-stack' } },
    });
  }
}

export function build(app: App): void {
  new CheckoutMigration(app, 'checkout');
}

if (require.main === module) {
  const app = new App();
  build(app);
  app.synth();
}
