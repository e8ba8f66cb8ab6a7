// A monitoring agent that insists on running privileged, confined in a Kata VM: "privileged"
// then means privileged inside the VM, and the node's devices are not passed in
// (privileged_without_host_devices). The agent sees the VM, not the node.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KataHypervisor, KataRuntime, PodOverhead, SandboxedDaemonSet } from '../src';

export class ConfinedMonitoring extends Chart {
  public constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'monitoring' });
    const kata = new KataRuntime(this, 'kata', {
      hypervisor: KataHypervisor.CLOUD_HYPERVISOR,
      name: 'kata-confined',
      // The agent's VM is given more than the minimum: it buffers metrics in memory.
      overhead: PodOverhead.of({ cpu: '250m', memory: '192Mi' }),
    });
    new SandboxedDaemonSet(this, 'agent', {
      runtime: kata,
      containers: [{
        name: 'agent',
        image: 'ghcr.io/example/node-agent:3.2.0',
        securityContext: { privileged: true, ensureNonRoot: false, readOnlyRootFilesystem: true },
        resources: {
          cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(300) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
      }],
    });
  }
}

export function build(app: App): void {
  new ConfinedMonitoring(app, 'monitoring');
}

if (require.main === module) {
  const app = new App();
  build(app);
  app.synth();
}
