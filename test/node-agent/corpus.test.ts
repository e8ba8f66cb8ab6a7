/**
 * The node agent against a corpus of real-world containerd 1.x configs, with the real containerd
 * (Debian's 1.6) validating every result: `config dump` lists every old and new handler, and a
 * containerd started on the result loads its CRI plugin. A second install changes no byte and
 * restarts nothing; uninstall restores the original byte for byte.
 */
import { parse as parseToml } from 'smol-toml';
import { corpus, minimalPath, runtimeHeaders, TestNode } from './helpers';
import {
  assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd, mergedConfig, startContainerd,
} from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
// kata-qemu runs virtual machines: on these machines (no /dev/kvm) it is neither installed nor labelled.
const NEW = ['runc-test'];

interface CorpusCase {
  /** Corpus file put at /etc/containerd/config.toml; undefined: no config file at all. */
  readonly file?: string;
  /** The node's runc SystemdCgroup, which runc-test must take. */
  readonly systemdCgroup: boolean;
  /** The default runtime that must stay the default. */
  readonly defaultRuntime: string;
  /** PATH holds only node and chroot (flock(1) then comes from the host). */
  readonly minimalPath?: boolean;
  /** The file as saved by an editor that writes CRLF line ends. */
  readonly crlf?: boolean;
}

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

const CASES: Array<[string, CorpusCase]> = [
  ['containerd 1.6 default (containerd config default)', { file: 'containerd-1.6-default.toml', systemdCgroup: false, defaultRuntime: 'runc' }],
  ['kubeadm node with SystemdCgroup = true (PATH: node and chroot only)', {
    file: 'kubeadm-systemd-cgroup.toml', systemdCgroup: true, defaultRuntime: 'runc', minimalPath: true,
  }],
  ['NVIDIA runtime as default_runtime_name', { file: 'nvidia-default-runtime.toml', systemdCgroup: true, defaultRuntime: 'nvidia' }],
  ['unusual valid TOML: comments, dotted keys, CRLF, no final newline', { file: 'unusual-dotted-keys.toml', systemdCgroup: true, defaultRuntime: 'runc' }],
  ['version 1 file (plugins.cri)', { file: 'version-1.toml', systemdCgroup: false, defaultRuntime: 'runc' }],
  ['version 1 file, CRLF', { file: 'version-1.toml', systemdCgroup: false, defaultRuntime: 'runc', crlf: true }],
  ['containerd 1.6 default (version 2), CRLF', { file: 'containerd-1.6-default.toml', systemdCgroup: false, defaultRuntime: 'runc', crlf: true }],
  ['no config file at all', { systemdCgroup: false, defaultRuntime: 'runc' }],
];

function dumpObject(node: TestNode): any {
  const dump = configDump(CONFIG, { chrootDir: node.root.path });
  expect(dump.stderr).not.toMatch(/failed to load/);
  expect(dump.ok).toBe(true);
  return parseToml(dump.stdout);
}

describeIfContainerd('node agent on a corpus of containerd 1.x configs (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test.each(CASES)('%s', async (_name, c) => {
    const path = c.minimalPath ? minimalPath() : undefined;
    const node = new TestNode();
    const run = { env: path ? { PATH: path, HOST_CONTAINERD: `chroot ${node.root.path} /usr/bin/containerd` } : {} };
    try {
      const original = c.file ? Buffer.from(c.crlf ? crlf(corpus(c.file)) : corpus(c.file)) : undefined;
      if (original) node.root.write(CONFIG, original);
      const before = node.snapshot();
      const oldHandlers = original
        ? runtimeHeaders(configDump(CONFIG, { chrootDir: node.root.path }).stdout, CRI_PLUGIN_V1)
        : ['runc'];

      // Install.
      const first = node.install(run);
      expect(first.stderr).toContain('[test-setup] ready');
      expect(first.status).toBe(0);
      if (c.minimalPath) expect(first.stderr).toContain('waiting for the node lock (/run/cdk8s-runtimeclass.lock)');
      expect(node.readiness()).toEqual({ ready: true, reason: undefined });
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
      // kata-qemu runs virtual machines: without /dev/kvm not installed, and its label removed.
      expect(node.labelCalls()).toEqual([
        'kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu-',
        'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test=ready --overwrite',
      ]);
      // The label comes after the restart and a check sandbox that started through runc-test.
      const calls = node.calls();
      expect(calls.findIndex(l => l.startsWith('kubectl label'))).toBeGreaterThan(calls.indexOf('systemctl restart containerd'));
      expect(first.stderr).toMatch(/runtime handler runc-test: a check sandbox reached SANDBOX_READY in \d+ ms/);

      const installed = node.bytes(CONFIG)!;
      const text = installed.toString('utf8');
      if (original) {
        // Not a byte outside the markers changed: the original, then our block (which, after a file
        // without a final newline, brings the newline before it and ends without one).
        expect(installed.subarray(0, original.length).equals(original)).toBe(true);
        const rest = installed.subarray(original.length).toString('utf8');
        expect(rest).toMatch(original.length === 0 || original[original.length - 1] === 0x0a
          ? /^# BEGIN cdk8s-runtimeclass test-setup\n[^]*# END cdk8s-runtimeclass test-setup\n$/
          : /^\n# BEGIN cdk8s-runtimeclass test-setup\n[^]*# END cdk8s-runtimeclass test-setup$/);
      }
      // TOML 1.0 (what containerd 2.x will parse after an upgrade) accepts the result.
      expect(() => parseToml(text)).not.toThrow();

      // containerd's merged view: every old handler, every new one, the node's settings kept.
      const dump = dumpObject(node);
      const cri = dump.plugins[CRI_PLUGIN_V1];
      expect(Object.keys(cri.containerd.runtimes).sort()).toEqual([...new Set([...oldHandlers, ...NEW])].sort());
      expect(cri.containerd.default_runtime_name).toBe(c.defaultRuntime);
      expect(cri.containerd.runtimes['runc-test'].runtime_type).toBe('io.containerd.runc.v2');
      expect(cri.containerd.runtimes['runc-test'].options.BinaryName).toBe('/usr/local/bin/runc-test');
      expect(cri.containerd.runtimes['runc-test'].options.SystemdCgroup).toBe(c.systemdCgroup);
      expect(cri.containerd.runtimes['kata-qemu']).toBeUndefined();

      // A containerd started on the result loads its CRI plugin.
      const daemon = await startContainerd({ config: mergedConfig(CONFIG, { chrootDir: node.root.path }) });
      try {
        expect(daemon.pluginStatus(CRI_PLUGIN_V1)).toBe('ok');
      } finally {
        await daemon.stop();
      }

      // A second install changes no byte and restarts nothing (labels again: harmless).
      node.clearCalls();
      const afterFirst = node.snapshot();
      const second = node.install(run);
      expect(second.status).toBe(0);
      expect(second.stderr).toContain('nothing changed: no restart');
      expect(node.snapshot()).toEqual(afterFirst);
      expect(node.restarts()).toEqual([]);
      expect(node.labelCalls()).toHaveLength(2);

      // Uninstall: labels first, the original bytes back (or no file), one restart last.
      node.clearCalls();
      const un = node.uninstall(run);
      expect(un.status).toBe(0);
      const unCalls = node.calls();
      expect(unCalls).toEqual([
        'kubectl label node node-1 runtimeclass.cdk8s.io/runc-test-',
        'kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu-',
        'systemctl restart containerd',
        'systemctl is-active --quiet containerd',
      ]);
      if (original) {
        expect(node.bytes(CONFIG)!.equals(original)).toBe(true);
      } else {
        expect(node.bytes(CONFIG)).toBeUndefined();
      }
      expect(node.snapshot()).toEqual(before);
      expect(node.readiness().ready).toBe(false);
    } finally {
      await node.cleanup();
    }
  });

  test('a file re-saved with CRLF by an admin after we installed: the re-run keeps it as the admin saved it, and uninstall gives back the admin\'s file without our block', async () => {
    const node = new TestNode();
    try {
      const original = corpus('kubeadm-systemd-cgroup.toml');
      node.root.write(CONFIG, original);
      expect(node.install().status).toBe(0);
      // The admin opens config.toml in an editor that saves every line end as CRLF, our block's included.
      const resaved = Buffer.from(crlf(node.bytes(CONFIG)!.toString('utf8')));
      node.root.write(CONFIG, resaved);
      node.clearCalls();
      const again = node.install();
      expect(again.status).toBe(0);
      // containerd reads the CRLF file alike: nothing to change, nothing to restart.
      expect(again.stderr).toContain('nothing changed: no restart');
      expect(node.bytes(CONFIG)!.equals(resaved)).toBe(true);
      expect(node.restarts()).toEqual([]);
      expect(Object.keys(dumpObject(node).plugins[CRI_PLUGIN_V1].containerd.runtimes)).toEqual(expect.arrayContaining(NEW));
      node.clearCalls();
      expect(node.uninstall().status).toBe(0);
      expect(node.bytes(CONFIG)!.toString('utf8')).toBe(crlf(original));
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
    } finally {
      await node.cleanup();
    }
  });
});
