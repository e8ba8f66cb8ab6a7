/**
 * Crash matrix on a hand-edited file (CRLF, dotted keys, no final newline) (see crash-matrix.ts): SIGKILL before every step of install and of
 * uninstall, then a re-run.
 */
import { installMatrix, MATRIX_TIMEOUT_MS, uninstallMatrix } from './crash-matrix';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const SCENARIO = { config: 'unusual-dotted-keys.toml' };

describeIfContainerd('node agent killed at every step, unusual-dotted-keys.toml (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('install: killed before each step, then re-run', async () => {
    expect(await installMatrix(SCENARIO)).toBeGreaterThanOrEqual(10);
  }, MATRIX_TIMEOUT_MS);

  test('uninstall: killed before each step, then re-run', async () => {
    expect(await uninstallMatrix(SCENARIO)).toBeGreaterThanOrEqual(10);
  }, MATRIX_TIMEOUT_MS);
});
