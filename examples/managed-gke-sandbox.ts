// A managed cluster: GKE already provides the `gvisor` class (GKE Sandbox) and installs gVisor on
// sandbox-enabled node pools, so nothing is installed here. Untrusted tenant workloads are pinned
// to GKE's class, and an admission policy makes every pod in tenant namespaces use it.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ManagedPlatform, ManagedPlatformKind, ManagedRuntimeClass, PolicyAction, RuntimeClassPolicy, SandboxedDeployment } from '../src';

/** Cluster-wide: the platform and the policy (owned by the platform team). */
export class SandboxPlatform extends Chart {
  public constructor(scope: Construct, id: string) {
    super(scope, id);
    // Creating a class named `gvisor` here would now be an error that points to gkeSandbox().
    new ManagedPlatform(this, 'gke', { platform: ManagedPlatformKind.GKE });
    new RuntimeClassPolicy(this, 'tenants-sandboxed', {
      namespaceSelector: { matchLabels: { 'tenancy.example.com/untrusted': 'true' } },
      allowed: [ManagedRuntimeClass.gkeSandbox()],
      // Rolled out as a dry run first; switch to [PolicyAction.DENY] once the audit log is clean.
      actions: [PolicyAction.WARN, PolicyAction.AUDIT],
    });
  }
}

/** A tenant that runs customer-supplied code. */
export class UntrustedTenant extends Chart {
  public constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: `tenant-${id}` });
    new kplus.Namespace(this, 'namespace', {
      metadata: { name: `tenant-${id}`, labels: { 'tenancy.example.com/untrusted': 'true' } },
    });
    new SandboxedDeployment(this, 'plugin-runner', {
      runtime: ManagedRuntimeClass.gkeSandbox(),
      replicas: 2,
      containers: [{
        image: 'ghcr.io/example/plugin-runner:5.1.0',
        portNumber: 8080,
        resources: {
          cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
        },
      }],
    });
  }
}

export function build(app: App): void {
  new SandboxPlatform(app, 'platform');
  new UntrustedTenant(app, 'plugins');
}

if (require.main === module) {
  const app = new App();
  build(app);
  app.synth();
}
