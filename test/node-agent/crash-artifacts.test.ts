/**
 * Crash matrix on a node without a containerd config, for a setup with a directory artifact, a
 * file artifact and a host file (see crash-matrix.ts): every directory the agent creates, every
 * file it installs and the config it creates are steps it is killed at.
 */
import * as fs from 'fs';
import * as path from 'path';
import { installMatrix, MATRIX_TIMEOUT_MS, uninstallMatrix } from './crash-matrix';
import { testSpec, TestNode } from './helpers';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const SCENARIO = {
  spec: testSpec({
    artifacts: [
      { arch: 'any', source: 'image', location: 'kata', destination: '/opt/kata' },
      { arch: 'any', source: 'image', location: 'runc-test', destination: '/opt/runc-test/runc-test' },
    ],
    hostFiles: { '/etc/kata-containers/configuration.toml': '[hypervisor.qemu]\npath = "/opt/kata/bin/qemu-system-x86_64"\n' },
  }),
  prepare: (node: TestNode) => {
    fs.rmSync(path.join(node.artifactsDir, 'kata'), { recursive: true, force: true });
    fs.mkdirSync(path.join(node.artifactsDir, 'kata', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(node.artifactsDir, 'kata', 'bin', 'containerd-shim-kata-v2'), '#!/bin/sh\necho shim\n', { mode: 0o755 });
    fs.symlinkSync('containerd-shim-kata-v2', path.join(node.artifactsDir, 'kata', 'bin', 'shim'));
    fs.writeFileSync(path.join(node.artifactsDir, 'runc-test'), '#!/bin/sh\nexec runc "$@"\n', { mode: 0o755 });
  },
};

describeIfContainerd('node agent killed at every step, no config file, artifacts and a host file (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('install: killed before each step, then re-run', async () => {
    expect(await installMatrix(SCENARIO)).toBeGreaterThanOrEqual(15);
  }, MATRIX_TIMEOUT_MS);

  test('uninstall: killed before each step, then re-run', async () => {
    expect(await uninstallMatrix(SCENARIO)).toBeGreaterThanOrEqual(15);
  }, MATRIX_TIMEOUT_MS);
});
