/**
 * The node agent on k3s, rke2, microk8s, k0s, CRI-O and containerd 2.x layouts.
 *
 * The distributions themselves are not here: their files are (corpus/), and the recording
 * systemctl stand-in plays their part on restart (STANDIN_ON_RESTART renders k3s' template,
 * microk8s' template, k0s' merged CRI config), then starts Debian's real containerd on what they
 * rendered, serving CRI on the distribution's socket. containerd 2.x is the real containerd
 * 2.1.9 (Debian's package unpacked into the node's /usr/local/bin: the daemon the agent restarts
 * and its host containerd), except for version 4 files (containerd 2.2+) and a devmapper pool
 * (no device-mapper here), where `fake-containerd2.sh` stands in for `config dump` (the file and
 * its imports, checked with a TOML 1.0 parser). CRI-O is not on these machines: a fake CRI server (`fake-cri.js`) answers with the
 * handlers its files define (`fake-handlers.py`, Python's tomllib). The results' structure is
 * checked with smol-toml.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import { CORPUS, corpus, FAKE_CONTAINERD2, FAKE_HANDLERS, KATA_QEMU, RUNC_TEST, RunResult, runtimeHeaders, testSpec, TestNode } from './helpers';
import { IMPORTS_TAG } from '../../src/node-agent/toml-text';
import { assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd, NODE_PATH } from '../support/containerd';
import { CriClient } from '../support/cri-client';
import { containerd2UnavailableReason, installContainerd2 } from '../support/newer-runtimes';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

const CRI_V3 = 'io.containerd.cri.v1.runtime';
const K3S = '/var/lib/rancher/k3s/agent/etc/containerd';
const RKE2 = '/var/lib/rancher/rke2/agent/etc/containerd';
const BASE_LINE = '{{ template "base" . }}';
/** The template the agent creates: the base, and a template comment (renders to nothing) saying it is ours to remove. */
const SKELETON_LINE = `${BASE_LINE}{{/* Written by a cdk8s-runtimeclass node setup: this template did not exist. Removed on uninstall. */}}`;

const RANCHER_SOCKET = '/run/k3s/containerd/containerd.sock';

/**
 * The stand-in's part for k3s/rke2: on restart, render config.toml from the template (base = a
 * corpus file), then run containerd on it with the distribution's socket.
 */
function rancherEnv(node: TestNode, dir: string, template: string, base: string): { [key: string]: string } {
  const d = node.root.resolve(dir);
  return {
    STANDIN_ON_RESTART: `if [ -f ${d}/${template} ]; then { cat ${path.join(CORPUS, base)}; grep -v '^{{ template "base" \\. }}' ${d}/${template}; } > ${d}/config.toml; `
      + `else cat ${path.join(CORPUS, base)} > ${d}/config.toml; fi`,
    STANDIN_CONFIG: `${dir}/config.toml`,
    STANDIN_SOCKET: RANCHER_SOCKET,
  };
}

/** containerd 2.x: the fake's `config dump`, and a fake CRI serving the handlers `config` defines (imports followed). */
function fakeContainerd2(node: TestNode, config = '/etc/containerd/config.toml'): { [key: string]: string } {
  return {
    HOST_CONTAINERD: `sh ${FAKE_CONTAINERD2}`,
    FAKE_ROOT: node.root.path,
    STANDIN_RUNTIME: 'fake-cri',
    STANDIN_HANDLERS: `python3 ${FAKE_HANDLERS} ${node.root.path} ${config}`,
  };
}

describeIfContainerd('node agent on other distributions and containerd 2.x (recording kubectl stand-in)', () => {
  let node: TestNode;
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => node?.cleanup());

  describe('k3s / rke2', () => {
    test('k3s (containerd 1.7 era): creates config.toml.tmpl from the base template; restart k3s; uninstall removes it', () => {
      node = new TestNode();
      node.root.write(`${K3S}/config.toml`, corpus('k3s-base-v2.toml'));
      node.root.write('/etc/systemd/system/k3s.service', '[Service]\n');
      const before = node.snapshot();
      const env = rancherEnv(node, K3S, 'config.toml.tmpl', 'k3s-base-v2.toml');

      const r = node.install({ env });
      expect(r.stderr).toContain('distribution: k3s (detected)');
      expect(r.status).toBe(0);
      const template = node.root.read(`${K3S}/config.toml.tmpl`);
      expect(template.startsWith(`${SKELETON_LINE}\n# BEGIN cdk8s-runtimeclass test-setup\n`)).toBe(true);
      expect(template.endsWith('# END cdk8s-runtimeclass test-setup\n')).toBe(true);
      expect(node.restarts()).toEqual(['systemctl restart k3s']);
      // What k3s renders from it loads in containerd with every handler, runc-test taking k3s' SystemdCgroup.
      const dump = configDump(`${K3S}/config.toml`, { chrootDir: node.root.path });
      expect(dump.ok).toBe(true);
      const runtimes = (parseToml(dump.stdout) as any).plugins[CRI_PLUGIN_V1].containerd.runtimes;
      expect(Object.keys(runtimes).sort()).toEqual(['crun', 'runc', 'runc-test']);
      expect(runtimes['runc-test'].options.SystemdCgroup).toBe(true);

      node.clearCalls();
      expect(node.install({ env }).status).toBe(0);
      expect(node.restarts()).toEqual([]);

      node.clearCalls();
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.restarts()).toEqual(['systemctl restart k3s']);
      expect(node.snapshot()).toEqual(before);
    });

    test('k3s with the admin\'s own config.toml.tmpl: our tables appended between markers, restored byte for byte', () => {
      node = new TestNode();
      const own = `${BASE_LINE}\n\n# the admin's own runtime\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.youki]\n  runtime_type = "io.containerd.runc.v2"\n`;
      node.root.write(`${K3S}/config.toml.tmpl`, own);
      node.root.write(`${K3S}/config.toml`, corpus('k3s-base-v2.toml') + own.slice(BASE_LINE.length + 1));
      node.root.write('/etc/systemd/system/k3s-agent.service', '[Service]\n');
      const env = rancherEnv(node, K3S, 'config.toml.tmpl', 'k3s-base-v2.toml');
      expect(node.install({ env }).status).toBe(0);
      expect(node.restarts()).toEqual(['systemctl restart k3s-agent']);
      const template = node.root.read(`${K3S}/config.toml.tmpl`);
      expect(template.startsWith(own)).toBe(true);
      expect(runtimeHeaders(node.root.read(`${K3S}/config.toml`), CRI_PLUGIN_V1)).toEqual(['crun', 'runc', 'runc-test', 'youki']);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.root.read(`${K3S}/config.toml.tmpl`)).toBe(own);
    });

    test('k3s already renders a runtime with our handler name (crun): refused, unchanged', () => {
      const crun = { handler: 'crun', runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/local/bin/crun' }, systemdCgroupFromNode: true };
      node = new TestNode(testSpec({ handlers: [crun] }));
      node.root.write(`${K3S}/config.toml`, corpus('k3s-base-v2.toml'));
      const before = node.snapshot();
      expect(node.install().status).toBe(1);
      const reason = node.readiness().reason!;
      expect(reason).toContain(`refusing to change anything: ${K3S}/config.toml already defines the runtime handler 'crun' (line 31:[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."crun"])`);
      expect(reason).toContain('k3s adds runtimes it finds installed');
      expect(node.snapshot()).toEqual(before);
    });

    test('k3s with containerd 2 (config version 3): config-v3.toml.tmpl with v3 tables', () => {
      node = new TestNode();
      node.root.write(`${K3S}/config.toml`, corpus('k3s-base-v3.toml'));
      const env = { ...rancherEnv(node, K3S, 'config-v3.toml.tmpl', 'k3s-base-v3.toml'), ...fakeContainerd2(node, `${K3S}/config.toml`) };
      const r = node.install({ env });
      expect(r.status).toBe(0);
      expect(node.root.exists(`${K3S}/config.toml.tmpl`)).toBe(false);
      const template = node.root.read(`${K3S}/config-v3.toml.tmpl`);
      expect(template.startsWith(`${SKELETON_LINE}\n# BEGIN cdk8s-runtimeclass test-setup\n`)).toBe(true);
      expect(template).not.toContain('version =');
      const rendered: any = parseToml(node.root.read(`${K3S}/config.toml`));
      const runtimes = rendered.plugins[CRI_V3].containerd.runtimes;
      expect(Object.keys(runtimes).sort()).toEqual(['runc', 'runc-test']);
      expect(runtimes['runc-test'].options).toEqual({ BinaryName: '/usr/local/bin/runc-test', SystemdCgroup: true });
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.root.exists(`${K3S}/config-v3.toml.tmpl`)).toBe(false);
    });

    test('rke2 agent: template in the rke2 dir, restart rke2-agent', () => {
      node = new TestNode();
      node.root.write(`${RKE2}/config.toml`, corpus('k3s-base-v2.toml'));
      node.root.write('/etc/systemd/system/rke2-agent.service', '[Service]\n');
      const env = rancherEnv(node, RKE2, 'config.toml.tmpl', 'k3s-base-v2.toml');
      const r = node.install({ env });
      expect(r.stderr).toContain('distribution: rke2 (detected)');
      expect(r.status).toBe(0);
      expect(node.restarts()).toEqual(['systemctl restart rke2-agent']);
      expect(node.root.read(`${RKE2}/config.toml.tmpl`).startsWith(BASE_LINE)).toBe(true);
    });

    test('k3s did not render our tables after the restart: rolled back', () => {
      node = new TestNode();
      node.root.write(`${K3S}/config.toml`, corpus('k3s-base-v2.toml'));
      const before = node.snapshot();
      // The stand-in restarts containerd on config.toml, which nothing renders our tables into.
      const r = node.install({ env: { VERIFY_TIMEOUT: '1', STANDIN_CONFIG: `${K3S}/config.toml`, STANDIN_SOCKET: RANCHER_SOCKET } });
      expect(r.status).toBe(1);
      expect(node.readiness().reason).toMatch(/^k3s did not render our runtime tables into .*config.toml within 1s; the previous configuration was restored/);
      expect(node.root.exists(`${K3S}/config.toml.tmpl`)).toBe(false);
      expect(node.restarts()).toEqual(['systemctl restart k3s', 'systemctl restart k3s']);
      expect(node.uninstall({ env: { STANDIN_CONFIG: `${K3S}/config.toml`, STANDIN_SOCKET: RANCHER_SOCKET } }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });
  });

  test('microk8s: its containerd template edited between markers, restart snap.microk8s.daemon-containerd', () => {
    node = new TestNode();
    const tmpl = '/var/snap/microk8s/current/args/containerd-template.toml';
    const original = corpus('microk8s-containerd-template.toml');
    node.root.write(tmpl, original);
    const args = node.root.resolve('/var/snap/microk8s/current/args');
    const env = {
      STANDIN_ON_RESTART: `sed -e 's|\${SNAP_DATA}|/var/snap/microk8s/current|g' -e 's|\${RUNTIME}|runc|g' -e 's|\${SNAPSHOTTER}|overlayfs|g' ${args}/containerd-template.toml > ${args}/containerd.toml`,
      STANDIN_CONFIG: '/var/snap/microk8s/current/args/containerd.toml',
      STANDIN_SOCKET: '/var/snap/microk8s/common/run/containerd.sock',
    };
    const r = node.install({ env });
    expect(r.stderr).toContain('distribution: microk8s (detected)');
    expect(r.status).toBe(0);
    expect(node.restarts()).toEqual(['systemctl restart snap.microk8s.daemon-containerd']);
    expect(node.root.read(tmpl).startsWith(original)).toBe(true);
    const dump = configDump('/var/snap/microk8s/current/args/containerd.toml', { chrootDir: node.root.path });
    expect(runtimeHeaders(dump.stdout, CRI_PLUGIN_V1)).toEqual(['runc', 'runc-test']);
    expect(node.uninstall({ env }).status).toBe(0);
    expect(node.root.read(tmpl)).toBe(original);
  });

  describe('k0s', () => {
    test('a drop-in in /etc/k0s/containerd.d, checked in /run/k0s/containerd-cri.toml after restarting k0sworker', () => {
      node = new TestNode();
      node.root.write('/etc/k0s/containerd.toml', corpus('k0s-containerd.toml'));
      node.root.write('/etc/k0s/containerd.d/.keep', '');
      node.root.write('/etc/systemd/system/k0sworker.service', '[Service]\n');
      const before = node.snapshot();
      const dropin = '/etc/k0s/containerd.d/test-setup.toml';
      // k0s generates the CRI plugin's whole config (runc included) with the drop-ins merged in.
      const generated = node.root.resolve('/run/k0s/containerd-cri.toml');
      const env = {
        STANDIN_ON_RESTART: `mkdir -p ${node.root.resolve('/run/k0s')}; { printf 'version = 2\\n[plugins."io.containerd.grpc.v1.cri".containerd]\\n  default_runtime_name = "runc"\\n'; `
          + 'printf \'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\\n  runtime_type = "io.containerd.runc.v2"\\n\'; '
          + `cat ${node.root.resolve('/etc/k0s/containerd.d')}/*.toml 2>/dev/null | grep -v '^version'; } > ${generated}`,
        STANDIN_CONFIG: '/etc/k0s/containerd.toml',
        STANDIN_SOCKET: '/run/k0s/containerd.sock',
      };
      const r = node.install({ env });
      expect(r.stderr).toContain('distribution: k0s (detected)');
      expect(r.status).toBe(0);
      expect(node.restarts()).toEqual(['systemctl restart k0sworker']);
      const parsed: any = parseToml(node.root.read(dropin));
      expect(parsed.version).toBe(2);
      expect(Object.keys(parsed.plugins[CRI_PLUGIN_V1].containerd.runtimes).sort()).toEqual(['runc-test']);
      expect(configDump(dropin, { chrootDir: node.root.path }).ok).toBe(true);

      node.clearCalls();
      expect(node.install({ env }).status).toBe(0);
      expect(node.restarts()).toEqual([]);
      expect(node.uninstall({ env }).status).toBe(0);
      const after = node.snapshot();
      after.delete('/run/k0s/containerd-cri.toml');
      expect(after).toEqual(before);
    });

    test('a containerd.toml that is not k0s-managed: refused (k0s would ignore the drop-in)', () => {
      node = new TestNode();
      node.root.write('/etc/k0s/containerd.toml', 'version = 2\n');
      const before = node.snapshot();
      expect(node.install().status).toBe(1);
      expect(node.readiness().reason).toMatch(/^refusing to change anything: \/etc\/k0s\/containerd.toml is not managed by k0s \(its first line is not '# k0s_managed=true'\)/);
      expect(node.snapshot()).toEqual(before);
    });
  });

  describe('CRI-O', () => {
    test('a drop-in in /etc/crio/crio.conf.d, restart crio', () => {
      // As if the node had /dev/kvm: the fake CRI server plays CRI-O's sandbox too.
      node = new TestNode(testSpec({ handlers: [KATA_QEMU], distribution: 'crio', kvmHandlers: [] }));
      node.root.write('/etc/crio/crio.conf', corpus('crio.conf'));
      const before = node.snapshot();
      const env = {
        STANDIN_RUNTIME: 'fake-cri',
        STANDIN_SOCKET: '/run/crio/crio.sock',
        STANDIN_HANDLERS: `python3 ${FAKE_HANDLERS} ${node.root.path} /etc/crio/crio.conf '/etc/crio/crio.conf.d/*.conf'`,
      };
      expect(node.install({ env }).status).toBe(0);
      expect(node.restarts()).toEqual(['systemctl restart crio']);
      const parsed: any = parseToml(node.root.read('/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-test-setup.conf'));
      expect(parsed.crio.runtime.runtimes['kata-qemu']).toEqual({
        runtime_path: '/opt/kata/bin/containerd-shim-kata-v2', runtime_type: 'vm', privileged_without_host_devices: true,
      });
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });

    test('a handler without a CRI-O configuration is skipped with its reason, its artifact and host file not installed; the others install and are labelled', () => {
      // kata-qemu planned as on a node with /dev/kvm; runc-test has a containerd configuration only.
      node = new TestNode(testSpec({
        handlers: [RUNC_TEST, KATA_QEMU],
        distribution: 'crio',
        kvmHandlers: [],
        artifacts: [{ arch: 'any', source: 'image', location: 'runc-test-bin', destination: '/opt/runc-test/helper', handlers: ['runc-test'] }],
        hostFiles: { '/etc/runc-test.toml': 'for runc-test\n' },
        hostFileHandlers: { '/etc/runc-test.toml': ['runc-test'] },
      }));
      fs.writeFileSync(path.join(node.artifactsDir, 'runc-test-bin'), '#!/bin/sh\n', { mode: 0o755 });
      node.root.write('/etc/crio/crio.conf', corpus('crio.conf'));
      const before = node.snapshot();
      const env = {
        STANDIN_RUNTIME: 'fake-cri',
        STANDIN_SOCKET: '/run/crio/crio.sock',
        STANDIN_HANDLERS: `python3 ${FAKE_HANDLERS} ${node.root.path} /etc/crio/crio.conf '/etc/crio/crio.conf.d/*.conf'`,
      };
      const run = node.install({ env });
      expect(run.status).toBe(0);
      expect(run.stderr).toContain('runtime handler runc-test is not installed on this node and not labelled ready here: this node runs CRI-O and this handler has a containerd configuration only');
      expect(fs.readFileSync(path.join(node.stateDir, 'unavailable'), 'utf8')).toMatch(/^not installed here: runc-test \(this node runs CRI-O and this handler has a containerd configuration only\. Fix: keep its class off CRI-O nodes/);
      const parsed: any = parseToml(node.root.read('/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-test-setup.conf'));
      expect(Object.keys(parsed.crio.runtime.runtimes)).toEqual(['kata-qemu']);
      // Nor its artifact and host file.
      expect(node.bytes('/opt/runc-test/helper')).toBeUndefined();
      expect(node.bytes('/etc/runc-test.toml')).toBeUndefined();
      expect(node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'))).toEqual(['kubectl label node node-1 runtimeclass.cdk8s.io/kata-qemu=ready --overwrite']);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });

    test('no handler with a CRI-O configuration: nothing is installed, the node is never labelled, the pod is ready with the reason (exit 2)', () => {
      node = new TestNode(testSpec({ handlers: [RUNC_TEST], distribution: 'crio' }));
      node.root.write('/etc/crio/crio.conf', corpus('crio.conf'));
      const before = node.snapshot();
      expect(node.install().status).toBe(2);
      expect(node.readyText()).toMatch(/^ready: nothing to run on this node, never labelled: this node can run none of the runtime handlers of node setup 'test-setup': runc-test \(this node runs CRI-O and this handler has a containerd configuration only/);
      expect(node.snapshot()).toEqual(before);
    });
  });

  describeIfAvailable('containerd 2.1.9 (the node\'s own daemon, restarted by the agent, and the agent\'s host containerd)', containerd2UnavailableReason, () => {
    const CONFIG = '/etc/containerd/config.toml';
    const DROPIN = '/etc/containerd/conf.d/test-setup.toml';
    /** The agent's PATH: a node image's (/usr/local first, where the node has 2.1.9), plus this node binary's dir. */
    const env = { PATH: `${NODE_PATH}:${path.dirname(process.execPath)}` };

    beforeAll(() => assertAvailable(containerd2UnavailableReason));

    /** A node whose containerd is 2.1.9, running on `files`. */
    async function containerd2Node(files: Record<string, string>, spec = testSpec(), configMap: Record<string, string> = {}): Promise<TestNode> {
      node = new TestNode(spec, configMap, { ownContainerd: true });
      installContainerd2(node.root);
      for (const [file, text] of Object.entries(files)) node.root.write(file, text);
      await node.containerd!.start();
      return node;
    }

    /** The handlers the node's running daemon serves (CRI `runtime_handlers`). */
    async function served(): Promise<string[]> {
      const cri = new CriClient(node.containerd!.address);
      try {
        return await cri.runtimeHandlers();
      } finally {
        cri.close();
      }
    }

    /**
     * These nodes run containerd 2.1.9 on the node's own files, which cannot start a pod here (no
     * reachable sandbox image; systemd cgroups without systemd): the handlers are installed and
     * served, the check sandbox fails, and so nothing is labelled.
     */
    function installedNotLabelled(r: RunResult): void {
      expect(r.status).toBe(1);
      expect(node.readiness().reason).toMatch(/^a pod sandbox with runtime handler runc-test failed to start: /);
      expect(node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'))).toEqual([]);
    }

    function checkDropIn(systemdCgroup: boolean): void {
      const parsed: any = parseToml(node.root.read(DROPIN));
      expect(parsed.version).toBe(3);
      const runtimes = parsed.plugins[CRI_V3].containerd.runtimes;
      expect(Object.keys(runtimes).sort()).toEqual(['runc-test']);
      expect(runtimes['runc-test'].options.SystemdCgroup).toBe(systemdCgroup);
    }

    test('version 3 without imports: drop-in written, one imports line added, served after one restart; a re-run is a no-op; restored byte for byte', async () => {
      const original = corpus('v3-no-imports.toml');
      await containerd2Node({ [CONFIG]: original });
      const before = node.snapshot();
      const r = node.install({ env });
      installedNotLabelled(r);
      expect(r.stderr).toMatch(/host containerd 2\.1\.9/);
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
      checkDropIn(true);
      const main = node.root.read(CONFIG);
      expect(main).toBe(original.replace('version = 3\n', `version = 3\nimports = ["${DROPIN}"]${IMPORTS_TAG}\n`));
      expect((parseToml(main) as any).imports).toEqual([DROPIN]);
      expect(await served()).toEqual(['runc', 'runc-test']);

      node.clearCalls();
      const afterFirst = node.snapshot();
      installedNotLabelled(node.install({ env }));
      expect(node.snapshot()).toEqual(afterFirst);
      expect(node.restarts()).toEqual([]);

      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
      expect(await served()).toEqual(['runc']);
    });

    test('version 3 with a multi-line imports array: ours added, the existing import kept, restored byte for byte', async () => {
      const original = corpus('v3-with-imports.toml');
      await containerd2Node({ [CONFIG]: original, '/etc/containerd/mirrors.toml': "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = '/etc/containerd/certs.d'\n" });
      installedNotLabelled(node.install({ env }));
      checkDropIn(false);
      const main: any = parseToml(node.root.read(CONFIG));
      expect(main.imports).toEqual([DROPIN, '/etc/containerd/mirrors.toml']);
      expect(main.plugins[CRI_V3].containerd.default_runtime_name).toBe('runc');
      expect(await served()).toEqual(['runc', 'runc-test']);
      const r = node.uninstall({ env });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toContain('changed since this node setup edited it');
      expect(node.root.read(CONFIG)).toBe(original);
    });

    test('version 3 importing conf.d/*.toml: only the drop-in is written', async () => {
      // The corpus file is version 4 (containerd 2.2+); 2.1.9 reads version 3 at most.
      const original = corpus('v3-conf-d-glob.toml').replace(/^version = 4$/m, 'version = 3');
      await containerd2Node({ [CONFIG]: original });
      installedNotLabelled(node.install({ env }));
      expect(node.root.read(CONFIG)).toBe(original);
      checkDropIn(false);
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
      expect(await served()).toEqual(['runc', 'runc-test']);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.root.exists(DROPIN)).toBe(false);
    });

    test('no config file on containerd 2: a version 3 main file importing the drop-in, both removed on uninstall', async () => {
      await containerd2Node({});
      const before = node.snapshot();
      installedNotLabelled(node.install({ env }));
      const main: any = parseToml(node.root.read(CONFIG));
      expect(main).toEqual({ version: 3, imports: [DROPIN] });
      checkDropIn(false);
      expect(await served()).toEqual(['runc', 'runc-test']);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });

    test.each([
      ['no devmapper table at all', ''],
      ['a devmapper table without a pool', '\n[plugins."io.containerd.snapshotter.v1.devmapper"]\n  pool_name = ""\n'],
    ])('a handler that needs devmapper (Kata Firecracker), %s, sharing its setup with runc-test: skipped with the reason, runc-test installed', async (_what, devmapper) => {
      const firecracker = { ...RUNC_TEST, handler: 'kata-fc-test', snapshotter: 'devmapper' };
      const original = corpus('v3-no-imports.toml') + devmapper;
      await containerd2Node({ [CONFIG]: original }, testSpec({ handlers: [RUNC_TEST, firecracker], kvmHandlers: [] }));
      const before = node.snapshot();
      const r = node.install({ env });
      installedNotLabelled(r);
      checkDropIn(true);
      expect(await served()).toEqual(['runc', 'runc-test']);
      const reason = 'it needs the devmapper snapshotter, and containerd\'s merged config for /etc/containerd/config.toml does not set it up '
        + '(plugins."io.containerd.snapshotter.v1.devmapper" has no pool_name): its pods would fail at sandbox creation';
      expect(r.stderr).toContain(`runtime handler kata-fc-test is not installed on this node and not labelled ready here: ${reason}`);
      expect(fs.readFileSync(path.join(node.stateDir, 'unavailable'), 'utf8')).toContain(`not installed here: kata-fc-test (${reason}`);
      expect(node.labelCalls()).toContain('kubectl label node node-1 runtimeclass.cdk8s.io/kata-fc-test-');
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });

    test('a drop-in that containerd 2 cannot parse: refused, the drop-in rolled back', async () => {
      // The node runs runc with SystemdCgroup = true: the agent reads the systemd variant.
      await containerd2Node({ [CONFIG]: corpus('v3-no-imports.toml') }, testSpec(),
        { 'containerd-v3.runc-test.systemd.toml': '[plugins.\'io.containerd.cri.v1.runtime\'.containerd.runtimes.runc-test]\nruntime_type = \n' });
      const before = node.snapshot();
      expect(node.install({ env }).status).toBe(1);
      expect(node.readiness().reason).toMatch(/^containerd rejects the configuration with our drop-in imported: .*Nothing was changed$/);
      const after = node.snapshot();
      expect(after.has('/var/lib/cdk8s-runtimeclass/test-setup/restart-pending')).toBe(false);
      // The journal (for a later uninstall) is the only trace.
      for (const k of [...after.keys()]) if (k.startsWith('/var/lib/cdk8s-runtimeclass')) after.delete(k);
      expect(after).toEqual(before);
      expect(node.restarts()).toEqual([]);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.snapshot()).toEqual(before);
    });
  });

  describe('containerd 2.x beyond 2.1.9 here (fake containerd 2: config dump = the file and its imports, TOML-checked by Python\'s tomllib)', () => {
    const CONFIG = '/etc/containerd/config.toml';
    const DROPIN = '/etc/containerd/conf.d/test-setup.toml';

    // containerd 2.1.9 refuses version 4 ("expected containerd config version equal to or less than `3`, got `4`").
    test('version 4 importing conf.d/*.toml: only the drop-in is written', () => {
      node = new TestNode();
      const original = corpus('v3-conf-d-glob.toml');
      node.root.write(CONFIG, original);
      const env = fakeContainerd2(node);
      expect(node.install({ env }).status).toBe(0);
      expect(node.root.read(CONFIG)).toBe(original);
      const parsed: any = parseToml(node.root.read(DROPIN));
      expect(Object.keys(parsed.plugins[CRI_V3].containerd.runtimes).sort()).toEqual(['runc-test']);
      expect(node.restarts()).toEqual(['systemctl restart containerd']);
      expect(node.uninstall({ env }).status).toBe(0);
      expect(node.root.exists(DROPIN)).toBe(false);
    });

    // On containerd 2.1.9 a devmapper table needs a real thin pool (and base_image_size): without
    // one the daemon serves no CRI at all ("unable to load CRI image service plugin dependency:
    // no such device"), and this machine has no device-mapper.
    test('a handler that needs devmapper, on a node whose containerd has a devmapper pool: installed and labelled (recording kubectl stand-in)', () => {
      const firecracker = { ...RUNC_TEST, handler: 'kata-fc-test', snapshotter: 'devmapper' };
      node = new TestNode(testSpec({ handlers: [firecracker], readyLabels: { 'kata-fc-test': 'runtimeclass.cdk8s.io/kata-fc-test' } }));
      node.root.write(CONFIG, corpus('v3-no-imports.toml') + '\n[plugins."io.containerd.snapshotter.v1.devmapper"]\n  pool_name = "containerd-pool"\n  root_path = "/var/lib/containerd/devmapper"\n');
      expect(node.install({ env: fakeContainerd2(node) }).status).toBe(0);
      expect(node.labelCalls().filter((c) => c.includes('=ready'))).toEqual(['kubectl label node node-1 runtimeclass.cdk8s.io/kata-fc-test=ready --overwrite']);
    });
  });
});
