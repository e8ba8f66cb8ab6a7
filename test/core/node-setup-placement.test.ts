// A runtime's class against the node setup that installs its handler, checked on the DaemonSet the
// synth writes: the agent must run where the class sends its pods (otherwise no node is ever
// labelled ready), and classes that share a setup must agree on where that is.
import { ApiObject, App, Chart, JsonPatch, Testing } from 'cdk8s';
import { validationErrors } from './support';
import { TaintEffect, TolerationOperator } from '../../src/core';
import { notesOf } from '../../src/core/app-checks';
import { NodeSetup } from '../../src/node-setup/node-setup';
import { CrunRuntime, GvisorRuntime, KataHypervisor, KataRuntime } from '../../src/runtimes';

function newApp(): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'platform') };
}

/** Node warnings emitted while `run` runs (and kept off stderr). */
function warningsDuring(run: () => void): string[] {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    run();
    return spy.mock.calls.map((call) => String(call[0]));
  } finally {
    spy.mockRestore();
  }
}

const SANDBOX_TAINT = { key: 'sandbox.example.com/runtime', operator: TolerationOperator.EQUAL, value: 'gvisor', effect: TaintEffect.NO_SCHEDULE };

describe('a class against its node setup', () => {
  test('A class whose nodeSelector is disjoint from its NodeSetup\'s fails the synth (no node can ever be labelled ready)', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup', { name: 'general-setup', nodeSelector: { pool: 'general' } });
    new GvisorRuntime(chart, 'Gvisor', { nodeSetup: setup, scheduling: { nodeSelector: { pool: 'sandbox' } } });

    expect(validationErrors(app)).toEqual([
      '[platform/Setup/Resource] NodeSetup "general-setup": RuntimeClass "runsc" (platform/Gvisor) runs its pods on nodes with pool=sandbox, '
      + 'but the node agent runs only on nodes with pool=general (the NodeSetup\'s nodeSelector): no node can be labelled runtimeclass.cdk8s.io/runsc=ready, '
      + 'so every pod of the class stays Pending; make the NodeSetup\'s nodeSelector select the class\'s nodes (pool=sandbox), or give the runtime its own NodeSetup',
    ]);
  });

  test('a nodeSelector added to the class after it was created is checked too', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup', { nodeSelector: { pool: 'general' } });
    const gvisor = new GvisorRuntime(chart, 'Gvisor', { nodeSetup: setup });
    gvisor.runtimeClass.addNodeSelector('pool', 'sandbox');
    expect(validationErrors(app)).toEqual([expect.stringContaining('RuntimeClass "runsc" (platform/Gvisor) runs its pods on nodes with pool=sandbox, but the node agent runs only on nodes with pool=general')]);
  });

  test('a class on control-plane nodes whose NodeSetup stays off them fails the synth', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup');
    new CrunRuntime(chart, 'Crun', { nodeSetup: setup, scheduling: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } } });
    expect(validationErrors(app)).toEqual([expect.stringContaining(
      'RuntimeClass "crun" (platform/Crun) runs its pods on nodes with node-role.kubernetes.io/control-plane=, but the node agent\'s required node affinity '
      + '(node-role.kubernetes.io/control-plane DoesNotExist) excludes every such node',
    )]);

    const fixed = newApp();
    const including = new NodeSetup(fixed.chart, 'Setup', { includeControlPlane: true });
    new CrunRuntime(fixed.chart, 'Crun', { nodeSetup: including, scheduling: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } } });
    expect(validationErrors(fixed.app)).toEqual([]);
  });

  test('A taint the class tolerates but its NodeSetup\'s DaemonSet does not fails the synth (the agent never runs where the class\'s pods go)', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup', { tolerations: [{ key: 'dedicated', operator: TolerationOperator.EXISTS }] });
    new GvisorRuntime(chart, 'Gvisor', { nodeSetup: setup, scheduling: { nodeSelector: { pool: 'sandbox' }, tolerations: [SANDBOX_TAINT] } });

    expect(validationErrors(app)).toEqual([
      '[platform/Setup/Resource] NodeSetup "runtimeclass-node-setup": RuntimeClass "runsc" (platform/Gvisor) tolerates the taint sandbox.example.com/runtime=gvisor:NoSchedule '
      + '(scheduling.tolerations[0]), but the NodeSetup\'s DaemonSet does not: the node agent never runs on nodes with that taint, so they are never labelled '
      + 'runtimeclass.cdk8s.io/runsc=ready and the class\'s pods cannot run there; add { key: \'sandbox.example.com/runtime\', operator: TolerationOperator.EQUAL, '
      + 'value: \'gvisor\', effect: TaintEffect.NO_SCHEDULE } to the NodeSetup\'s tolerations, or leave its tolerations unset (it then tolerates every taint)',
    ]);
  });

  test('a toleration without an effect needs both NoSchedule and NoExecute tolerated; PreferNoSchedule keeps no pod off a node', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup', { tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE }] });
    new GvisorRuntime(chart, 'Gvisor', {
      nodeSetup: setup,
      scheduling: { tolerations: [{ key: 'sandbox', operator: TolerationOperator.EXISTS }, { key: 'soft', operator: TolerationOperator.EXISTS, effect: TaintEffect.PREFER_NO_SCHEDULE }] },
    });
    expect(validationErrors(app)).toEqual([expect.stringContaining('tolerates the taint sandbox:NoExecute (scheduling.tolerations[0]), but the NodeSetup\'s DaemonSet does not')]);
  });

  test('the setup\'s default tolerations (every taint), a matching toleration, or one added by a JSON patch to the DaemonSet satisfy the check', () => {
    const tolerating = newApp();
    new GvisorRuntime(tolerating.chart, 'Gvisor', { nodeSetup: new NodeSetup(tolerating.chart, 'Setup'), scheduling: { tolerations: [SANDBOX_TAINT] } });
    expect(validationErrors(tolerating.app)).toEqual([]);

    const matching = newApp();
    const setup = new NodeSetup(matching.chart, 'Setup', { tolerations: [{ key: 'sandbox.example.com/runtime', operator: TolerationOperator.EXISTS }] });
    new GvisorRuntime(matching.chart, 'Gvisor', { nodeSetup: setup, scheduling: { tolerations: [SANDBOX_TAINT] } });
    expect(validationErrors(matching.app)).toEqual([]);

    const patched = newApp();
    const patchedSetup = new NodeSetup(patched.chart, 'Setup', { tolerations: [] });
    new GvisorRuntime(patched.chart, 'Gvisor', { nodeSetup: patchedSetup, scheduling: { tolerations: [SANDBOX_TAINT] } });
    ApiObject.of(patchedSetup).addJsonPatch(JsonPatch.add('/spec/template/spec/tolerations/-', { key: 'sandbox.example.com/runtime', operator: 'Exists' }));
    expect(validationErrors(patched.app)).toEqual([]);
  });

  test('every preset with the node setup it creates for itself synthesizes without a finding', () => {
    // Two Kata classes with a node setup each must not meet on a node (both install /opt/kata): one pool each.
    const { app, chart } = newApp();
    new GvisorRuntime(chart, 'Gvisor', { scheduling: { nodeSelector: { pool: 'sandbox' }, tolerations: [SANDBOX_TAINT] } });
    new CrunRuntime(chart, 'Crun');
    new KataRuntime(chart, 'Qemu', { scheduling: { nodeSelector: { pool: 'vm' } } });
    new KataRuntime(chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, scheduling: { nodeSelector: { pool: 'firecracker' } } });
    expect(warningsDuring(() => expect(validationErrors(app)).toEqual([]))).toEqual([]);
  });
});

describe('classes sharing a node setup', () => {
  test('A Firecracker class on pool vm sharing a NodeSetup that spans every node is a note, not an error (the agent skips its handler where devmapper is missing, and installs the others)', () => {
    const { app, chart } = newApp();
    const shared = new NodeSetup(chart, 'Shared', { name: 'shared' });
    new GvisorRuntime(chart, 'Gvisor', { nodeSetup: shared });
    new CrunRuntime(chart, 'Crun', { nodeSetup: shared });
    new KataRuntime(chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, nodeSetup: shared, scheduling: { nodeSelector: { pool: 'vm' } } });

    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([
      '[platform/Shared/Resource] NodeSetup "shared" runs on every Linux node, and its classes run on different pools: "runsc" (every Linux node), "crun" (every Linux node), "kata-fc" (pool=vm). '
      + 'Its node agent installs each handler only on the nodes its class selects; handler "kata-fc" also needs the devmapper snapshotter, and nodes of its pool without it skip it; '
      + 'each node-setup pod logs the handlers it skipped and why. Give each pool its own NodeSetup with that pool\'s nodeSelector if the agent should run only where its handlers do',
    ]);
    expect(notesOf(shared.daemonSet)).toHaveLength(1);
  });

  test('a Firecracker class alone on a NodeSetup wider than its pool is a note too: the other nodes install nothing', () => {
    const { app, chart } = newApp();
    const setup = new NodeSetup(chart, 'Setup');
    new KataRuntime(chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, nodeSetup: setup, scheduling: { nodeSelector: { pool: 'vm' } } });
    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([expect.stringContaining('NodeSetup "runtimeclass-node-setup" runs on every Linux node, and its classes run on fewer nodes: "kata-fc" (pool=vm). '
      + 'Its node agent installs each handler only on the nodes its class selects; handler "kata-fc" also needs the devmapper snapshotter, and nodes of its pool without it skip it; '
      + 'nodes outside these pools install nothing, and their node-setup pods stay not ready;')]);
  });

  test('the node agent learns each handler\'s class selector (without the ready label and the labels its setup already selects); a handler with a class on every node has none', () => {
    const { app, chart } = newApp();
    const shared = new NodeSetup(chart, 'Shared', { name: 'shared', nodeSelector: { zone: 'a' } });
    new GvisorRuntime(chart, 'Gvisor', { nodeSetup: shared, scheduling: { nodeSelector: { zone: 'a', pool: 'sandbox' } } });
    new CrunRuntime(chart, 'Crun', { nodeSetup: shared });
    new KataRuntime(chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, nodeSetup: shared, scheduling: { nodeSelector: { pool: 'vm' } } });
    warningsDuring(() => app.synth());
    const spec = JSON.parse((shared.configMap.toJson() as any).data['spec.json']);
    expect(spec.classNodeSelectors).toEqual({ 'runsc': [{ pool: 'sandbox' }], 'kata-fc': [{ pool: 'vm' }] });
  });

  test('the fixes synthesize: one NodeSetup per pool, or a shared NodeSetup on the Firecracker pool', () => {
    const perPool = newApp();
    const general = new NodeSetup(perPool.chart, 'General', { name: 'general' });
    const vm = new NodeSetup(perPool.chart, 'Vm', { name: 'vm', nodeSelector: { pool: 'vm' } });
    new GvisorRuntime(perPool.chart, 'Gvisor', { nodeSetup: general });
    new CrunRuntime(perPool.chart, 'Crun', { nodeSetup: general });
    new KataRuntime(perPool.chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, nodeSetup: vm, scheduling: { nodeSelector: { pool: 'vm' } } });
    expect(warningsDuring(() => expect(validationErrors(perPool.app)).toEqual([]))).toEqual([]);

    const onePool = newApp();
    const shared = new NodeSetup(onePool.chart, 'Shared', { nodeSelector: { pool: 'vm' } });
    new GvisorRuntime(onePool.chart, 'Gvisor', { nodeSetup: shared });
    new KataRuntime(onePool.chart, 'Fc', { hypervisor: KataHypervisor.FIRECRACKER, nodeSetup: shared, scheduling: { nodeSelector: { pool: 'vm' } } });
    expect(warningsDuring(() => expect(validationErrors(onePool.app)).toEqual([]))).toEqual([]);
  });

  test('two classes on different pools sharing a NodeSetup, none needing a snapshotter, are a note with the fix, not an error', () => {
    const { app, chart } = newApp();
    const shared = new NodeSetup(chart, 'Shared', { name: 'shared' });
    new GvisorRuntime(chart, 'Gvisor', { nodeSetup: shared, scheduling: { nodeSelector: { pool: 'sandbox' } } });
    new CrunRuntime(chart, 'Crun', { nodeSetup: shared });

    const warnings = warningsDuring(() => expect(validationErrors(app)).toEqual([]));
    expect(warnings).toEqual([
      '[platform/Shared/Resource] NodeSetup "shared" runs on every Linux node, and its classes run on different pools: "runsc" (pool=sandbox), "crun" (every Linux node). '
      + 'Its node agent installs each handler only on the nodes its class selects; each node-setup pod logs the handlers it skipped and why. '
      + 'Give each pool its own NodeSetup with that pool\'s nodeSelector if the agent should run only where its handlers do',
    ]);
    expect(notesOf(shared.daemonSet)).toHaveLength(1);
  });
});
