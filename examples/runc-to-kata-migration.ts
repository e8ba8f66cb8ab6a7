// Moving a running service from runc to Kata, the canary way: one pod template, a stable
// Deployment on runc and a canary on Kata, one Service in front of both. Each step of the
// rollout is a one-line change of `split`; alerts watch the Kata pods' memory against their
// overhead while the share grows.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KataRuntime, MigrationSplit, RuncRuntime, RuntimeAlerts, RuntimeMigration } from '../src';

export class CheckoutMigration extends Chart {
  public readonly migration: RuntimeMigration;

  public constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'shop' });
    const runc = new RuncRuntime(this, 'runc');
    const kata = new KataRuntime(this, 'kata');

    this.migration = new RuntimeMigration(this, 'checkout', {
      from: runc,
      to: kata,
      replicas: 8,
      // Step 2 of 4: 10% -> 25% -> 50% -> 100%.
      split: MigrationSplit.percent(25),
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
    this.migration.exposeViaService({ ports: [{ port: 80, targetPort: 8080 }] });

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
