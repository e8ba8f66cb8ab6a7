import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, TomlTable } from 'smol-toml';
import { CONTAINERD_1_6_DEFAULT_CONFIG } from './containerd-1.6-default';
import { REALISTIC_HANDLERS, withSystemdCgroup } from './fixtures';
import { criRuntimesPath, renderContainerdDropIn, renderContainerdRuntimeTables } from '../../src/containerd';
import { inCi } from '../support/ci';

// Debian's `containerd` package (1.6.x). On a developer machine without it these tests are
// skipped (with the reason); in CI (`inCi()`) they must run, so a missing binary fails them instead.
const CONTAINERD = '/usr/bin/containerd';
const containerdInstalled = existsSync(CONTAINERD);
if (!containerdInstalled && !inCi()) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED "rendered tables loaded by the real containerd": ${CONTAINERD} is not installed. Set CI=1 to make this a failure.`);
}
const describeWithContainerd = containerdInstalled || inCi() ? describe : describe.skip;

describeWithContainerd('rendered tables loaded by the real containerd (config dump)', () => {
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'cdk8s-runtimeclass-containerd-'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Writes `text` to a temp file and returns `containerd --config <file> config dump`, parsed. */
  function configDump(name: string, text: string): TomlTable {
    const file = join(workDir, name);
    writeFileSync(file, text);
    const dump = execFileSync(CONTAINERD, ['--config', file, 'config', 'dump'], { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' });
    return parse(dump);
  }

  /** The CRI runtimes containerd 1.x actually uses (it reports every schema under the v2 plugin name). */
  function loadedRuntimes(dump: TomlTable): TomlTable {
    const runtimes = ((dump.plugins as TomlTable)['io.containerd.grpc.v1.cri'] as TomlTable | undefined);
    return ((runtimes?.containerd as TomlTable | undefined)?.runtimes ?? {}) as TomlTable;
  }

  test('containerd is installed', () => {
    if (!containerdInstalled) {
      throw new Error(`${CONTAINERD} is missing: run \`apt-get install -y containerd\` (these tests must not be skipped in CI)`);
    }
    expect(execFileSync(CONTAINERD, ['--version'], { encoding: 'utf8' })).toMatch(/^containerd /);
  });

  test('schema 2 tables appended to a 1.6 config.toml: every handler loads and runc is kept', () => {
    const combined = `${CONTAINERD_1_6_DEFAULT_CONFIG}\n${withSystemdCgroup(renderContainerdRuntimeTables(REALISTIC_HANDLERS, 2))}`;
    const runtimes = loadedRuntimes(configDump('combined-v2.toml', combined));

    expect(runtimes.runc).toMatchObject({ runtime_type: 'io.containerd.runc.v2', options: { SystemdCgroup: true } });
    expect(runtimes['kata-qemu']).toMatchObject({
      runtime_type: 'io.containerd.kata-qemu.v2',
      runtime_path: '/opt/kata/bin/containerd-shim-kata-v2',
      privileged_without_host_devices: true,
      pod_annotations: ['io.katacontainers.*'],
      options: { ConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml' },
    });
    expect(runtimes['kata-fc']).toMatchObject({ runtime_type: 'io.containerd.kata-fc.v2' });
    expect(runtimes.runsc).toMatchObject({
      runtime_type: 'io.containerd.runsc.v1',
      options: { TypeUrl: 'io.containerd.runsc.v1.options', ConfigPath: '/etc/containerd/runsc.toml' },
    });
    expect(runtimes.crun).toMatchObject({ runtime_type: 'io.containerd.runc.v2', options: { BinaryName: '/usr/bin/crun', SystemdCgroup: true } });
  });

  test('schema 1 tables in a version 1 file load under the CRI plugin', () => {
    const text = `version = 1\n\n${withSystemdCgroup(renderContainerdRuntimeTables(REALISTIC_HANDLERS, 1), false)}`;
    const runtimes = loadedRuntimes(configDump('v1.toml', text));
    expect(runtimes['kata-qemu']).toMatchObject({ runtime_type: 'io.containerd.kata-qemu.v2' });
    expect(runtimes.crun).toMatchObject({ options: { BinaryName: '/usr/bin/crun', SystemdCgroup: false } });
  });

  test('the schema 2 drop-in loads as a standalone file', () => {
    const runtimes = loadedRuntimes(configDump('drop-in-v2.toml', withSystemdCgroup(renderContainerdDropIn(REALISTIC_HANDLERS, 2))));
    expect(runtimes.runsc).toMatchObject({ runtime_type: 'io.containerd.runsc.v1' });
  });

  test('schema 3 tables are ignored by containerd 1.6 (why the installer must detect the schema)', () => {
    const combined = `${CONTAINERD_1_6_DEFAULT_CONFIG}\n${withSystemdCgroup(renderContainerdRuntimeTables(REALISTIC_HANDLERS, 3))}`;
    const runtimes = loadedRuntimes(configDump('combined-v3-on-1.6.toml', combined));
    expect(Object.keys(runtimes)).toEqual(['runc']);
    expect(criRuntimesPath(3)[1]).toBe('io.containerd.cri.v1.runtime');
  });

  test('the placeholder must be replaced: containerd rejects the raw fragment', () => {
    const file = join(workDir, 'raw-placeholder.toml');
    writeFileSync(file, `${CONTAINERD_1_6_DEFAULT_CONFIG}\n${renderContainerdRuntimeTables(REALISTIC_HANDLERS, 2)}`);
    expect(() => execFileSync(CONTAINERD, ['--config', file, 'config', 'dump'], { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' }))
      .toThrow(/failed to load TOML/);
  });
});
