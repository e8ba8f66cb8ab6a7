import { ApiObject, App, Chart, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GvisorRuntime, KataHypervisor, KataRuntime, PodOverhead, RuncRuntime } from '../../src';

const NOT_A_QUANTITY = 'is not a Kubernetes quantity (write e.g. "250m" for CPU or "160Mi" for memory; units are case-sensitive, "MB" is not one)';

/** Every validation message of the app, as `app.synth()` reports them: `[construct path] message`. */
function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test') };
}

function deployment(chart: Chart, props: Partial<kplus.DeploymentProps> = {}): kplus.Deployment {
  return new kplus.Deployment(chart, 'web', {
    containers: [{ image: 'nginx:1.27', resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(64) } } }],
    ...props,
  });
}

/** A Deployment written as a plain manifest, with extra pod spec fields. */
function rawDeployment(chart: Chart, name: string, podSpec: { [field: string]: unknown }): ApiObject {
  return new ApiObject(chart, name, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }], ...podSpec },
      },
    },
  });
}

function podSpecOf(chart: Chart, kind: string): any {
  return Testing.synth(chart).find((o) => o.kind === kind).spec.template.spec;
}

describe('host namespaces through presets', () => {
  test('Kata refuses hostNetwork, quoting why', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    const web = deployment(chart, { hostNetwork: true });
    kata.pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") sets hostNetwork: true, `
      + 'which RuntimeClass "kata-qemu" cannot give (Kata Containers with QEMU runs each pod in its own VM, which '
      + 'cannot join the node\'s namespaces): remove hostNetwork or run this workload with another runtime',
    ]);
  });

  test('the Kata reason names the hypervisor', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.FIRECRACKER });
    kata.pin(deployment(chart, { hostNetwork: true }));
    expect(validationErrors(app)).toEqual([
      expect.stringContaining('which RuntimeClass "kata-fc" cannot give (Kata Containers with Firecracker runs each pod in its own VM'),
    ]);
  });

  test('Kata refuses hostPID and hostIPC, one message each', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    // A raw manifest: cdk8s-plus workloads have no hostPID/hostIPC props.
    const agent = rawDeployment(chart, 'agent', { hostPID: true, hostIPC: true });
    kata.pin(agent);
    expect(validationErrors(app)).toEqual([
      '[test/agent] Deployment "agent" (pinned to RuntimeClass "kata-qemu") sets hostPID: true, which RuntimeClass '
      + '"kata-qemu" cannot give (Kata Containers with QEMU runs each pod in its own VM, which cannot join the node\'s '
      + 'namespaces): remove hostPID or run this workload with another runtime',
      '[test/agent] Deployment "agent" (pinned to RuntimeClass "kata-qemu") sets hostIPC: true, which RuntimeClass '
      + '"kata-qemu" cannot give (Kata Containers with QEMU runs each pod in its own VM, which cannot join the node\'s '
      + 'namespaces): remove hostIPC or run this workload with another runtime',
    ]);
  });

  test('Kata accepts hostNetwork: false (cdk8s-plus writes it explicitly)', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    kata.pin(deployment(chart));
    expect(validationErrors(app)).toEqual([]);
    expect(podSpecOf(chart, 'Deployment')).toMatchObject({ hostNetwork: false, runtimeClassName: 'kata-qemu' });
  });

  test('gVisor refuses hostNetwork by default', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    const web = deployment(chart, { hostNetwork: true });
    gvisor.pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "runsc") sets hostNetwork: true, `
      + 'which RuntimeClass "runsc" cannot give (gVisor gives each pod its own network stack unless the runtime is '
      + 'set up with hostNetworking: true): remove hostNetwork or run this workload with another runtime',
    ]);
  });

  test('gVisor with hostNetworking: true accepts hostNetwork', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor', { hostNetworking: true });
    gvisor.pin(deployment(chart, { hostNetwork: true }));
    expect(validationErrors(app)).toEqual([]);
    expect(podSpecOf(chart, 'Deployment')).toMatchObject({ hostNetwork: true, runtimeClassName: 'runsc' });
  });

  test('runc has no host namespace limits', () => {
    const { app, chart } = newApp();
    const runc = new RuncRuntime(chart, 'runc');
    runc.pin(rawDeployment(chart, 'agent', { hostNetwork: true, hostPID: true, hostIPC: true }));
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('nodeAllocatable on a preset', () => {
  test('a pod bigger than the ceiling is an error showing requests + overhead', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { nodeAllocatable: { cpu: '2', memory: '512Mi' } });
    const web = new kplus.Deployment(chart, 'web', {
      containers: [{ image: 'nginx:1.27', resources: { cpu: { request: kplus.Cpu.millis(500) }, memory: { request: Size.mebibytes(256) } } }],
    });
    kata.pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") needs 576Mi of memory per pod `
      + '(requests 256Mi + overhead 320Mi), more than the 512Mi a node of RuntimeClass "kata-qemu" can give: lower the '
      + 'requests or raise nodeAllocatable',
    ]);
    expect(kata.limits.nodeAllocatable).toEqual({ cpu: '2', memory: '512Mi' });
  });

  test('a ceiling of cdk8s-plus values checks the same', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { nodeAllocatable: { cpu: kplus.Cpu.units(2), memory: Size.mebibytes(512) } });
    const web = new kplus.Deployment(chart, 'web', {
      containers: [{ image: 'nginx:1.27', resources: { cpu: { request: kplus.Cpu.millis(1800) }, memory: { request: Size.mebibytes(192) } } }],
    });
    kata.pin(web);
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") needs 2050m of cpu per pod `
      + '(requests 1800m + overhead 250m), more than the 2 a node of RuntimeClass "kata-qemu" can give: lower the '
      + 'requests or raise nodeAllocatable',
    ]);
  });

  test('a pod that fits exactly is fine', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { nodeAllocatable: { cpu: '350m', memory: '384Mi' } });
    kata.pin(deployment(chart));
    expect(validationErrors(app)).toEqual([]);
  });

  test('a pod that fits a ceiling of cdk8s-plus values exactly is fine', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { nodeAllocatable: { cpu: kplus.Cpu.millis(350), memory: Size.mebibytes(384) } });
    kata.pin(deployment(chart));
    expect(validationErrors(app)).toEqual([]);
  });

  test('the ceiling keeps the preset\'s own limits', () => {
    const { chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor', { nodeAllocatable: { memory: '1Gi' } });
    expect(gvisor.limits).toEqual({
      allowHostNetwork: false,
      hostNetwork: false, // the deprecated name reads the same
      reason: 'gVisor gives each pod its own network stack unless the runtime is set up with hostNetworking: true',
      nodeAllocatable: { memory: '1Gi' },
    });
  });

  test('a preset\'s overhead given as cdk8s-plus values is its class\'s podFixed', () => {
    const { chart } = newApp();
    new KataRuntime(chart, 'kata', { overhead: PodOverhead.of({ cpu: kplus.Cpu.millis(500), memory: Size.gibibytes(0.5) }) });
    const runtimeClass = Testing.synth(chart).find((m) => m.kind === 'RuntimeClass');
    expect(runtimeClass.overhead).toEqual({ podFixed: { cpu: '500m', memory: '512Mi' } });
  });

  test('a ceiling value that is no quantity is reported under nodeAllocatable', () => {
    const { app, chart } = newApp();
    // Half a kibibyte is 512 bytes, a whole number: accepted. A number is no quantity.
    new RuncRuntime(chart, 'runc', { nodeAllocatable: { memory: Size.kibibytes(0.5), cpu: 2 as any } });
    expect(validationErrors(app)).toEqual([
      '[test/runc/Default] RuntimeClass "runc": nodeAllocatable.cpu: number 2 is neither a quantity string (e.g. "250m") nor a cdk8s-plus Cpu (e.g. Cpu.millis(250))',
    ]);
  });

  test('an invalid ceiling is reported', () => {
    const { app, chart } = newApp();
    const runc = new RuncRuntime(chart, 'runc', { nodeAllocatable: { memory: '1GB' } });
    runc.pin(deployment(chart));
    // A preset takes the ceiling as `nodeAllocatable`: the message names that prop.
    expect(validationErrors(app)).toEqual([
      `[test/runc/Default] RuntimeClass "runc": nodeAllocatable.memory: "1GB" ${NOT_A_QUANTITY}`,
    ]);
  });
});

describe('overhead and scheduling conflicts through presets', () => {
  test('a template with spec.overhead is an error', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata');
    kata.pin(rawDeployment(chart, 'agent', { overhead: { cpu: '250m', memory: '320Mi' } }));
    expect(validationErrors(app)).toEqual([
      '[test/agent] Deployment "agent" (pinned to RuntimeClass "kata-qemu") sets spec.overhead {"cpu":"250m","memory":"320Mi"} '
      + 'in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own '
      + '("Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead"); remove it',
    ]);
  });

  test('a pod nodeSelector conflicting with the preset\'s scheduling mirrors the admission message', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    const web = deployment(chart);
    // cdk8s-plus 2.9 has no nodeSelector prop; the key is spelled the same in its typed props and in JSON.
    ApiObject.of(web).addJsonPatch(JsonPatch.add('/spec/template/spec/nodeSelector', { pool: 'general' }));
    kata.pin(web);
    expect(ApiObject.of(web).toJson().spec.template.spec.nodeSelector).toEqual({ pool: 'general' });
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "kata-qemu") conflict: `
      + 'runtimeClass.scheduling.nodeSelector[pool] = sandbox; pod.nodeSelector[pool] = general: the pods would be '
      + 'rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value',
    ]);
  });
});

describe('node affinity against a preset\'s class selector', () => {
  test('a required affinity that rejects the class\'s pool is reported, with the node setup\'s ready label in the class selector', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    kata.pin(rawDeployment(chart, 'agent', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] }],
          },
        },
      },
    }));
    expect(validationErrors(app)).toEqual([
      '[test/agent] Deployment "agent" (pinned to RuntimeClass "kata-qemu") requires node affinity (pool In [general]) that no '
      + 'node selected by the class (pool=sandbox, runtimeclass.cdk8s.io/kata-qemu=ready) can satisfy: its pods would stay '
      + 'Pending; change the affinity or the class',
    ]);
  });

  test('an affinity that excludes nodes where the handler is ready is reported', () => {
    const { app, chart } = newApp();
    const gvisor = new GvisorRuntime(chart, 'gvisor');
    gvisor.pin(rawDeployment(chart, 'agent', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'runtimeclass.cdk8s.io/runsc', operator: 'DoesNotExist' }] }],
          },
        },
      },
    }));
    expect(validationErrors(app)).toEqual([
      '[test/agent] Deployment "agent" (pinned to RuntimeClass "runsc") requires node affinity (runtimeclass.cdk8s.io/runsc '
      + 'DoesNotExist) that no node selected by the class (runtimeclass.cdk8s.io/runsc=ready) can satisfy: its pods would '
      + 'stay Pending; change the affinity or the class',
    ]);
  });

  test('an affinity with one satisfiable term (terms are ORed) is fine', () => {
    const { app, chart } = newApp();
    const kata = new KataRuntime(chart, 'kata', { scheduling: { nodeSelector: { pool: 'sandbox' } } });
    kata.pin(rawDeployment(chart, 'agent', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] },
              { matchExpressions: [{ key: 'pool', operator: 'In', values: ['sandbox', 'general'] }] },
            ],
          },
        },
      },
    }));
    expect(validationErrors(app)).toEqual([]);
  });
});
