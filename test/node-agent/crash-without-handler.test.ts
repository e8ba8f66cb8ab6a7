/**
 * Crash matrix on containerd 1.6's default config where the runtime comes back without our handler
 * (see crash-matrix.ts, withoutHandlerMatrix): SIGKILL before every step of install, then a re-run
 * whose restart brings containerd back on the node's own configuration; then a normal re-run and
 * an uninstall.
 */
import { MATRIX_TIMEOUT_MS, withoutHandlerMatrix } from './crash-matrix';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

describeIfContainerd('node agent killed at every step, then re-run on a containerd that comes back without the handler, containerd-1.6-default.toml (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('install killed before each step; the re-run\'s restart brings containerd back without the handler: not labelled, labels removed, not ready with the runtime\'s answer, rolled back, state whole; a later normal re-run converges and uninstall restores every byte', async () => {
    const { steps, withoutHandler } = await withoutHandlerMatrix({ config: 'containerd-1.6-default.toml' });
    expect(steps).toBeGreaterThanOrEqual(10);
    // Every kill before the verified restart leaves the re-run a restart to do.
    expect(withoutHandler).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);
});
