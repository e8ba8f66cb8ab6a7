/**
 * Crash matrix on containerd 1.6's default config (see crash-matrix.ts): SIGKILL before every
 * step of install and of uninstall, then a re-run; plus seeded random instants.
 */
import { installMatrix, MATRIX_TIMEOUT_MS, randomKills, uninstallMatrix } from './crash-matrix';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const SCENARIO = { config: 'containerd-1.6-default.toml' };

describeIfContainerd('node agent killed at every step, containerd-1.6-default.toml (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('install: killed before each step, then re-run', async () => {
    expect(await installMatrix(SCENARIO)).toBeGreaterThanOrEqual(10);
  }, MATRIX_TIMEOUT_MS);

  test('uninstall: killed before each step, then re-run', async () => {
    expect(await uninstallMatrix(SCENARIO)).toBeGreaterThanOrEqual(10);
  }, MATRIX_TIMEOUT_MS);

  test('install and uninstall killed at seeded random instants (seed 7), then re-run', async () => {
    await randomKills(SCENARIO, 7, 4);
  }, MATRIX_TIMEOUT_MS);
});
