/**
 * Upgrades killed at every step (see crash-matrix.ts): the node has one spec of the setup, the
 * DaemonSet rolls to another under the same setup name, and the new agent is killed before each
 * step of its run, then run again. Real containerd 1.6 loads each result; a recording kubectl
 * stand-in plays the API server.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { CONFIG, MATRIX_TIMEOUT_MS, upgradeMatrix } from './crash-matrix';
import { RUNC_TEST, testSpec, TestNode } from './helpers';
import { HandlerConfig } from '../../src/containerd/handler-config';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const SCENARIO = { config: 'containerd-1.6-default.toml' };
/** A second handler that runs pods here (through runc-test): added, removed, or placed by the node's devices. */
const RUNC_EXTRA: HandlerConfig = { ...RUNC_TEST, handler: 'runc-extra' };
/** The node's /dev/kvm: a character device node is all the agent looks for. */
const withKvm = (node: TestNode) => {
  if (!node.root.exists('/dev/kvm')) execFileSync('mknod', [node.root.resolve('/dev/kvm'), 'c', '10', '232']);
};
const withoutKvm = (node: TestNode) => fs.rmSync(node.root.resolve('/dev/kvm'), { force: true });

describeIfContainerd(`node agent upgrades killed at every step, ${SCENARIO.config} at ${CONFIG} (real containerd; recording kubectl stand-in)`, () => {
  beforeAll(() => assertContainerdAvailable());

  test('a changed table under the same handler name (runc options): converges, restarts once, uninstall restores', async () => {
    const changed = { ...RUNC_TEST, options: { ...RUNC_TEST.options, NoNewKeyring: true } };
    expect(await upgradeMatrix(SCENARIO, {
      from: testSpec({ handlers: [RUNC_TEST] }),
      to: testSpec({ handlers: [changed] }),
    })).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);

  test('a handler added: converges, restarts once, uninstall restores', async () => {
    expect(await upgradeMatrix(SCENARIO, {
      from: testSpec({ handlers: [RUNC_TEST] }),
      to: testSpec({ handlers: [RUNC_TEST, RUNC_EXTRA] }),
    })).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);

  test('a handler removed: converges, restarts once, the runtime no longer serves it, uninstall restores', async () => {
    expect(await upgradeMatrix(SCENARIO, {
      from: testSpec({ handlers: [RUNC_TEST, RUNC_EXTRA] }),
      to: testSpec({ handlers: [RUNC_TEST] }),
    })).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);

  // The same spec on both sides: the node itself changes between the runs.
  const placedByKvm = testSpec({ handlers: [RUNC_TEST, RUNC_EXTRA], kvmHandlers: [RUNC_EXTRA.handler] });

  test('a node that gains /dev/kvm: the handler needing it is added as by a new spec, converges, restarts once, uninstall restores', async () => {
    const gains = { from: placedByKvm, to: placedByKvm, nodeChange: { before: withoutKvm, after: withKvm } };
    expect(await upgradeMatrix(SCENARIO, gains)).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);

  test('a node that loses /dev/kvm: the handler needing it is removed with its label, converges, restarts once, no longer served', async () => {
    const loses = { from: placedByKvm, to: placedByKvm, nodeChange: { before: withKvm, after: withoutKvm }, removes: [RUNC_EXTRA.handler] };
    expect(await upgradeMatrix(SCENARIO, loses)).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);
});
