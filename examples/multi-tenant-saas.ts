// Multi-tenant SaaS: standard tenants run on the nodes' default runtime (runc); the regulated
// tenant's pods run in Kata Containers VMs and may only land on nodes prepared for Kata.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KataHypervisor, KataRuntime, RuncRuntime, SandboxedDeployment, TaintEffect } from '../src';

/** The cluster-wide runtimes, owned by the platform team. */
export class PlatformRuntimes extends Chart {
  public readonly standard: RuncRuntime;
  public readonly isolated: KataRuntime;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    this.standard = new RuncRuntime(this, 'standard', { name: 'standard' });
    this.isolated = new KataRuntime(this, 'isolated', {
      name: 'isolated',
      hypervisor: KataHypervisor.QEMU,
      // Kata nodes are a dedicated, tainted pool.
      scheduling: {
        nodeSelector: { 'node-pool': 'isolated' },
        tolerations: [{ key: 'isolated', value: 'true', effect: TaintEffect.NO_SCHEDULE }],
      },
    });
  }
}

interface TenantProps {
  readonly runtimes: PlatformRuntimes;
  readonly regulated: boolean;
  readonly replicas: number;
}

/** One tenant's namespace and API Deployment. */
export class Tenant extends Chart {
  public constructor(scope: Construct, id: string, props: TenantProps) {
    super(scope, id, { namespace: `tenant-${id}` });
    new kplus.Namespace(this, 'namespace', { metadata: { name: `tenant-${id}` } });
    new SandboxedDeployment(this, 'api', {
      runtime: props.regulated ? props.runtimes.isolated : props.runtimes.standard,
      replicas: props.replicas,
      containers: [{
        image: 'ghcr.io/example/saas-api:1.4.2',
        portNumber: 8080,
        resources: {
          cpu: { request: kplus.Cpu.millis(200), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
        },
      }],
    });
  }
}

export function build(app: App): void {
  const runtimes = new PlatformRuntimes(app, 'runtimes');
  new Tenant(app, 'acme', { runtimes, regulated: false, replicas: 3 });
  new Tenant(app, 'globex', { runtimes, regulated: false, replicas: 2 });
  new Tenant(app, 'bank', { runtimes, regulated: true, replicas: 3 });
}

if (require.main === module) {
  const app = new App();
  build(app);
  app.synth();
}
