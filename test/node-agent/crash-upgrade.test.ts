/**
 * Upgrades killed at every step (see crash-matrix.ts): the node has one spec of the setup, the
 * DaemonSet rolls to another under the same setup name, and the new agent is killed before each
 * step of its run, then run again. Real containerd 1.6 loads each result; a recording kubectl
 * stand-in plays the API server.
 */
import { CONFIG, MATRIX_TIMEOUT_MS, upgradeMatrix } from './crash-matrix';
import { KATA_QEMU, RUNC_TEST, testSpec } from './helpers';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const SCENARIO = { config: 'containerd-1.6-default.toml' };

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
      to: testSpec({ handlers: [RUNC_TEST, KATA_QEMU] }),
    })).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);

  test('a handler removed: converges, restarts once, the runtime no longer serves it, uninstall restores', async () => {
    expect(await upgradeMatrix(SCENARIO, {
      from: testSpec({ handlers: [RUNC_TEST, KATA_QEMU] }),
      to: testSpec({ handlers: [RUNC_TEST] }),
    })).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);
});
