/**
 * Self-tests of the containerd test harness: each helper is proven against the machine's real
 * containerd, runc and busybox. Skipped (with a message) without root or containerd, unless
 * `CI` is set, where they fail instead.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inCi } from './ci';
import {
  assertContainerdAvailable, configDump, ContainerdDaemon, CRI_PLUGIN_V1, describeIfContainerd, mergedConfig,
  startContainerd, testCriConfig, writeRuncWrapper,
} from './containerd';
import { CriClient, CriError } from './cri-client';
import { createHostRoot, HostRoot } from './host-root';
import { allMountPoints, mountPointsUnder } from './mounts';
import { buildPauseImageTar, importImage, PAUSE_IMAGE, readTar } from './pause-image';

const CRI = `plugins."${CRI_PLUGIN_V1}"`;

function wrappedHandler(name: string, binaryName: string): string {
  return [
    `[${CRI}.containerd.runtimes.${name}]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${CRI}.containerd.runtimes.${name}.options]`,
    `  BinaryName = ${JSON.stringify(binaryName)}`,
  ].join('\n');
}

/** PIDs of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return fs.readdirSync('/proc').filter(e => /^\d+$/.test(e)).filter(pid => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number).filter(pid => pid !== process.pid);
}

/** Whether `pid` is a live (not zombie) process. */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('pause image archive', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pause-unit-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const runIf = fs.existsSync('/bin/busybox') || inCi() ? test : test.skip;

  runIf('is an OCI layout whose blobs match their digests, with a named index', () => {
    const tar = buildPauseImageTar(dir, { name: 'localhost/x/pause:1' });
    const files = readTar(fs.readFileSync(tar));
    expect(JSON.parse(files.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(files.get('index.json')!.toString());
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('localhost/x/pause:1');

    const blob = (digest: string) => {
      const data = files.get(`blobs/sha256/${digest.replace('sha256:', '')}`)!;
      expect(`sha256:${createHash('sha256').update(data).digest('hex')}`).toBe(digest);
      return data;
    };
    const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config.config.Entrypoint).toEqual(['/bin/busybox', 'sleep', '2147483647']);
    expect(manifest.layers).toHaveLength(1);
    const layer = readTar(blob(manifest.layers[0].digest));
    expect(layer.get('bin/busybox')!.equals(fs.readFileSync('/bin/busybox'))).toBe(true);
    expect(config.rootfs.diff_ids).toEqual([manifest.layers[0].digest]);

    // deterministic
    const again = fs.readFileSync(buildPauseImageTar(dir, { name: 'localhost/x/pause:1', fileName: 'b.tar' }));
    expect(again.equals(fs.readFileSync(tar))).toBe(true);
  });
});

describeIfContainerd('containerd harness (real containerd)', () => {
  let work: string;
  let pauseTar: string;

  beforeAll(() => {
    assertContainerdAvailable();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-test-'));
    pauseTar = buildPauseImageTar(work);
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  describe('a runc-based handler with a wrapper BinaryName', () => {
    let daemon: ContainerdDaemon | undefined;
    let cri: CriClient | undefined;
    let marker: string;

    beforeAll(async () => {
      marker = path.join(work, 'wrapper-calls.log');
      const wrapper = writeRuncWrapper(work, marker);
      daemon = await startContainerd({ config: testCriConfig(wrappedHandler('test-wrapped', wrapper)) });
      cri = new CriClient(daemon.address);
    });

    afterAll(async () => {
      try {
        if (cri) {
          await cri.removeAll();
          cri.close();
        }
      } finally {
        await daemon?.stop();
      }
    });

    test('the CRI plugin loads', () => {
      expect(daemon!.pluginStatus('cri')).toBe('ok');
      expect(daemon!.pluginStatus(`${CRI_PLUGIN_V1}`)).toBe('ok');
      expect(daemon!.pluginStatus('no-such-plugin')).toBeUndefined();
      expect(() => daemon!.pluginStatus('content')).toThrow(/ambiguous/);
      expect(daemon!.log()).toMatch(/containerd successfully booted/);
    });

    test('RunPodSandbox runs through the handler\'s BinaryName, and a container runs in it', async () => {
      await importImage(daemon!, pauseTar, PAUSE_IMAGE);
      // an archive named otherwise is tagged with the requested name
      await importImage(daemon!, pauseTar, 'localhost/harness/other:1');
      const images = daemon!.ctr('-n', 'k8s.io', 'images', 'ls', '-q').stdout.split('\n');
      expect(images).toEqual(expect.arrayContaining([PAUSE_IMAGE, 'localhost/harness/other:1']));

      const id = await cri!.runPodSandbox({ name: 'wrapped', handler: 'test-wrapped' });
      const status = (await cri!.podSandboxStatus(id)).status;
      expect(status.state).toBe('SANDBOX_READY');
      expect(status.runtime_handler).toBe('test-wrapped');
      const calls = fs.readFileSync(marker, 'utf8');
      expect(calls).toMatch(new RegExp(`\\bcreate\\b.*${id}`));
      expect(calls).toMatch(new RegExp(`\\bstart ${id}`));

      const cid = await cri!.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sleep', '30'] });
      await cri!.startContainer(cid);
      expect((await cri!.containerStatus(cid)).status.state).toBe('CONTAINER_RUNNING');
      await cri!.stopContainer(cid);
      await cri!.removeContainer(cid);

      await cri!.stopPodSandbox(id);
      await cri!.removePodSandbox(id);
      expect(await cri!.listPodSandbox()).toEqual([]);
    });

    test('an unknown handler fails as on a real node', async () => {
      const err = await cri!.runPodSandbox({ name: 'unknown', handler: 'no-such' }).catch(e => e);
      expect(err).toBeInstanceOf(CriError);
      expect(err.message).toContain('no runtime for "no-such" is configured');
    });
  });

  test('a default runtime without a table makes the CRI plugin fail to load', async () => {
    const daemon = await startContainerd({ config: testCriConfig('', { defaultRuntimeName: 'nvidia' }) });
    try {
      expect(daemon.pluginStatus('cri')).toBe('error');
      const log = daemon.log();
      expect(log).toContain('failed to load plugin io.containerd.grpc.v1.cri');
      expect(log).toContain('no corresponding runtime configured in `containerd.runtimes` for `containerd` `default_runtime_name = \\"nvidia\\"');
      // the daemon itself keeps running
      expect(daemon.running()).toBe(true);
    } finally {
      await daemon.stop();
    }
  });

  test('daemons are isolated: two on the same pinned streaming port both run; stop() cleans up', async () => {
    const config = testCriConfig().replace('stream_server_port = "0"', 'stream_server_port = "10010"');
    const started = await Promise.allSettled([startContainerd({ config }), startContainerd({ config })]);
    const daemons = started.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(started.map(r => (r.status === 'rejected' ? String(r.reason) : 'started'))).toEqual(['started', 'started']);
      const [a, b] = daemons;
      expect(a.pluginStatus('cri')).toBe('ok');
      expect(b.pluginStatus('cri')).toBe('ok');
      expect(a.address).not.toBe(b.address);
    } finally {
      await Promise.all(daemons.map(d => d.stop()));
    }
    for (const d of daemons) {
      expect(d.running()).toBe(false);
      expect(fs.existsSync(d.dir)).toBe(false);
      expect(mountPointsUnder(d.dir)).toEqual([]);
      expect(processesMentioning(d.address)).toEqual([]);
      await d.stop(); // idempotent
    }
  });

  test('stop() after the daemon was SIGKILLed with a running sandbox leaves nothing behind', async () => {
    const daemon = await startContainerd({ config: testCriConfig() });
    const cri = new CriClient(daemon.address);
    let id = '';
    let sandboxPid = 0;
    try {
      await importImage(daemon, pauseTar, PAUSE_IMAGE);
      id = await cri.runPodSandbox({ name: 'crashed' });
      sandboxPid = JSON.parse((await cri.podSandboxStatus(id, true)).info.info).pid;
      expect(isAlive(sandboxPid)).toBe(true);
      expect(processesMentioning(daemon.address).length).toBeGreaterThan(0); // its shim
      expect(mountPointsUnder(daemon.dir).length).toBeGreaterThan(0); // rootfs, shm
      process.kill(daemon.pid, 'SIGKILL');
    } finally {
      cri.close();
      await daemon.stop();
    }
    expect(processesMentioning(daemon.address)).toEqual([]);
    expect(isAlive(sandboxPid)).toBe(false);
    expect(mountPointsUnder(daemon.dir)).toEqual([]);
    expect(fs.existsSync(daemon.dir)).toBe(false);
    expect(fs.existsSync(`/run/containerd/runc/k8s.io/${id}`)).toBe(false);
  });

  test('startContainerd rejects with the daemon log when containerd cannot start', async () => {
    const err = await startContainerd({ config: 'version = 2\n[plugins\n' }).catch(e => e);
    expect(err).toBeInstanceOf(Error);
    const m = /containerd --address (\S+) exited during startup/.exec(err.message);
    expect(m).not.toBeNull();
    expect(err.message).toMatch(/--- containerd log ---[\s\S]*toml/i);
    expect(fs.existsSync(path.dirname(m![1]))).toBe(false); // its temp dir is gone
  });

  describe('host root', () => {
    let root: HostRoot | undefined;
    afterEach(() => root?.cleanup());

    test('chroot <root> containerd config dump reads files under the temp root', () => {
      root = createHostRoot();
      expect(fs.readlinkSync(path.join(root.path, 'bin'))).toBe(fs.readlinkSync('/bin'));
      expect(root.mounts()).toContain(path.join(root.path, 'usr'));

      root.write('/etc/containerd/config.toml', testCriConfig('', { sandboxImage: 'example.test/marker:42' }));
      expect(root.exists('etc/containerd/config.toml')).toBe(true);
      expect(root.read('etc/containerd/config.toml')).toContain('marker:42');
      // the real host's /etc is untouched: the dump can only see the file through the chroot
      const dump = configDump('/etc/containerd/config.toml', { chrootDir: root.path });
      expect(dump.stderr).toBe('');
      expect(dump.ok).toBe(true);
      expect(dump.stdout).toContain('sandbox_image = "example.test/marker:42"');

      root.write('etc/containerd/bad.toml', 'version = 2\n[plugins\n');
      const bad = configDump('/etc/containerd/bad.toml', { chrootDir: root.path });
      expect(bad.ok).toBe(false);
      expect(bad.stderr).toMatch(/toml/i);

      // /usr is the host's, read-only
      expect(() => fs.writeFileSync(path.join(root!.path, 'usr', 'harness-probe'), 'x')).toThrow(/EROFS|read-only/);
      expect(() => root!.write('../escape', 'x')).toThrow(/outside the host root/);

      const rootPath = root.path;
      root.cleanup();
      root.cleanup(); // idempotent
      expect(allMountPoints().filter(m => m.startsWith(rootPath))).toEqual([]);
      expect(fs.existsSync(rootPath)).toBe(false);
      expect(fs.existsSync('/usr/bin/containerd')).toBe(true);
    });

    test('cleanup() unmounts a busy mount lazily and never deletes through a mount', async () => {
      root = createHostRoot();
      const rootPath = root.path;
      // a process whose working directory is inside the read-only /usr bind mount keeps it busy
      const busy = spawn('sleep', ['30'], { cwd: path.join(rootPath, 'usr', 'bin'), stdio: 'ignore' });
      try {
        await new Promise(resolve => busy.once('spawn', resolve));
        root.cleanup();
        expect(allMountPoints().filter(m => m.startsWith(rootPath))).toEqual([]);
        expect(fs.existsSync(rootPath)).toBe(false);
        expect(fs.existsSync('/usr/bin/containerd')).toBe(true); // the host's /usr survived
      } finally {
        busy.kill('SIGKILL');
      }
    });

    test('a daemon runs on the merged config of a host root that uses imports', async () => {
      const r = root = createHostRoot();
      r.write('etc/containerd/conf.d/image.toml',
        `version = 2\n[${CRI}]\n  sandbox_image = "example.test/imported:7"\n  restrict_oom_score_adj = true\n`);
      r.write('etc/containerd/config.toml',
        `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n\n${testCriConfig().replace(/^version = 2\n/, '').replace(/^ {2}sandbox_image = .*\n/m, '')}`);
      const merged = mergedConfig('/etc/containerd/config.toml', { chrootDir: r.path });
      expect(merged).not.toMatch(/^imports/m);
      expect(merged).toContain('sandbox_image = "example.test/imported:7"');
      expect(() => mergedConfig('/etc/containerd/missing.toml', { chrootDir: r.path })).toThrow(/no such file/);

      const daemon = await startContainerd({ config: merged });
      try {
        expect(daemon.pluginStatus('cri')).toBe('ok');
        expect(daemon.log()).toContain('SandboxImage:example.test/imported:7');
        expect(daemon.log()).toContain(`ContainerdRootDir:${daemon.root}`);
      } finally {
        await daemon.stop();
      }
    });

    test('configDump without chroot reports the merged config', () => {
      const file = path.join(work, 'plain.toml');
      fs.writeFileSync(file, testCriConfig('', { sandboxImage: 'example.test/plain:1' }));
      const dump = configDump(file);
      expect(dump.ok).toBe(true);
      expect(dump.stdout).toContain('sandbox_image = "example.test/plain:1"');
      expect(dump.stdout).toMatch(/restrict_oom_score_adj = true/);
    });
  });
});
