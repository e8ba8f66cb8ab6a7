/**
 * Crash matrix on containerd 1.6's default config where the runtime comes back without our handler
 * (see crash-matrix.ts, withoutHandlerMatrix): SIGKILL before every step of install, then a re-run
 * whose restart brings containerd back on the node's own configuration (containerd started with
 * another config path; or the file put back by configuration management between the agent's write
 * and the restart); then a normal re-run and an uninstall.
 */
import { MATRIX_TIMEOUT_MS, WithoutHandler, withoutHandlerMatrix } from './crash-matrix';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

describeIfContainerd('node agent killed at every step, then re-run on a containerd that comes back without the handler, containerd-1.6-default.toml (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test.each([WithoutHandler.OTHER_CONFIG_PATH, WithoutHandler.FILE_REVERTED])('install killed before each step; the re-run\'s restart brings containerd back without the handler (%s): not labelled, labels removed, not ready with the runtime\'s answer, rolled back, state whole; a later normal re-run converges and uninstall restores every byte', async (how) => {
    const { steps, withoutHandler } = await withoutHandlerMatrix({ config: 'containerd-1.6-default.toml' }, how);
    expect(steps).toBeGreaterThanOrEqual(10);
    // Every kill before the verified restart leaves the re-run a restart to do.
    expect(withoutHandler).toBeGreaterThanOrEqual(8);
  }, MATRIX_TIMEOUT_MS);
});
