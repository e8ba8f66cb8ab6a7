// Serverless functions: each invocation is a Job in a Firecracker microVM (Kata), started in a
// fraction of a second and thrown away after. Firecracker needs the devmapper snapshotter.
import { ApiObject, App, Chart, Cron, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KataHypervisor, KataRuntime, SandboxedCronJob, SandboxedJob, WorkloadFootprint } from '../src';

export class ServerlessFunctions extends Chart {
  public readonly footprints: { [name: string]: WorkloadFootprint } = {};

  public constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'functions' });
    const firecracker = new KataRuntime(this, 'firecracker', {
      hypervisor: KataHypervisor.FIRECRACKER,
      // Function nodes are sized for many small VMs; no single function may exceed 2Gi.
      nodeAllocatable: { memory: Size.gibibytes(2), cpu: kplus.Cpu.units(2) },
      scheduling: { nodeSelector: { 'workload-class': 'functions' } },
    });

    const resize = new SandboxedJob(this, 'resize-images', {
      runtime: firecracker,
      backoffLimit: 2,
      activeDeadline: Duration.minutes(10),
      containers: [{
        image: 'ghcr.io/example/fn-resize:0.9.1',
        args: ['--batch', 's3://uploads/pending'],
        resources: {
          cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(512), limit: Size.mebibytes(768) },
        },
      }],
    });
    // cdk8s-plus-27 has no parallelism prop: patch it; footprints read the final manifest.
    ApiObject.of(resize).addJsonPatch(JsonPatch.add('/spec/parallelism', 8), JsonPatch.add('/spec/completions', 200));
    this.footprints['resize-images'] = WorkloadFootprint.of(resize);

    new SandboxedCronJob(this, 'nightly-report', {
      runtime: firecracker,
      schedule: Cron.daily(),
      containers: [{
        image: 'ghcr.io/example/fn-report:2.0.0',
        resources: {
          cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
        },
      }],
    });
  }
}

export function build(app: App): void {
  new ServerlessFunctions(app, 'functions');
}

if (require.main === module) {
  const app = new App();
  build(app);
  app.synth();
}
