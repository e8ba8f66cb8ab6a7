/**
 * The node agent on a node that runs containerd 2.1.9 (Debian's package, unpacked into the
 * node's /usr/local/bin: both the daemon the systemctl stand-in restarts and the agent's
 * `chroot <root> containerd` run it). Through the synthesized agent, for three starting
 * configs: 2.1.9's own `containerd config default`, one whose `imports` glob already covers
 * conf.d, and a containerd 1.6-style version 2 file that 2.1.9 migrates. Each: install, the
 * handler served per CRI `runtime_handlers`, a real pod through it, a no-op re-run, uninstall
 * byte for byte. Also gVisor (runsc 20240729, gVisor's shim) and crun 1.21 pods on 2.1.9, and
 * the fact that Debian's crun 1.8.1 cannot run 2.1.9's containers. Where a class cannot run here
 * (crun 1.8.1; gVisor's own network stack on this kernel), the node is never labelled, and the
 * reason is the runtime's error with the fix.
 *
 * Needs root, containerd 1.6's tools (the harness), and ../shared/tools beside the repository;
 * skipped with the reason when something is missing, unless `CI` is set (then it fails).
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { NODE_NAME, RunResult, synthesizedAgent, TestNode } from './helpers';
import { CrunRuntime, GvisorRuntime, RuncRuntime, SandboxedRuntime } from '../../src';
import { testCriConfig, writeRuncWrapper } from '../support/containerd';
import { CriClient, CriError } from '../support/cri-client';
import { expectStopAndRemove, expectTwoContainersInOneGvisorKernel } from '../support/gvisor-pod';
import { createHostRoot, HostRoot } from '../support/host-root';
import {
  containerd2Default, containerd2DefaultConfig, containerd2UnavailableReason, CRUN_121, crun121UnavailableReason,
  gvisor2024UnavailableReason, installContainerd2, NODE_PATH, runsc2024, withMachineSettings,
} from '../support/newer-runtimes';
import { installIntoRoot, nodeContainerd } from '../support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';
import { assertAvailable, crunUnavailableReason, describeIfAvailable, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH } from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const AGENT_TIMEOUT_MS = 150_000;
/** The agent's PATH: a node image's (/usr/local first), plus where this node binary is. */
const AGENT_ENV = { PATH: `${NODE_PATH}:${path.dirname(process.execPath)}` };

let work: string;
let pauseTar: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'containerd2-test-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Synthesized<R extends SandboxedRuntime> {
  readonly runtime: R;
  readonly manifests: any[];
  readonly handler: string;
  readonly readyLabel: string;
}

function synth<R extends SandboxedRuntime>(make: (chart: Chart) => R): Synthesized<R> {
  const chart = new Chart(Testing.app(), 'test');
  const runtime = make(chart);
  const manifests = Testing.synth(chart);
  const runtimeClass = manifests.find((m) => m.kind === 'RuntimeClass');
  const selector = Object.entries(runtimeClass.scheduling.nodeSelector as Record<string, string>).filter(([, v]) => v === 'ready');
  expect(selector).toHaveLength(1);
  return { runtime, manifests, handler: runtimeClass.handler, readyLabel: selector[0][0] };
}

function mustSucceed(r: RunResult, what: string): void {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
}

/**
 * What a node's files hold (/etc, /opt, /usr/local, /var/lib but containerd's own data):
 * path -> kind, mode and sha256; with `times`, each file's mtime too (a rewrite shows).
 */
function nodeFiles(root: HostRoot, times = false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    // The runtime's and the pod network's own data, not the agent's.
    if (rel === '/var/lib/containerd' || rel === '/var/lib/cni') return;
    const abs = root.resolve(rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      return;
    }
    const mode = st.mode.toString(8).slice(-4);
    if (st.isDirectory()) {
      out.set(`${rel}/`, `dir ${mode}`);
      for (const e of fs.readdirSync(abs).sort()) walk(`${rel}/${e}`);
    } else if (st.isSymbolicLink()) {
      out.set(rel, `link ${fs.readlinkSync(abs)}`);
    } else if (st.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      out.set(rel, `${mode} ${hash}${times ? ` ${st.mtimeMs}` : ''}`);
    }
  };
  for (const d of ['/etc', '/opt', '/usr/local', '/var/lib']) walk(d);
  return out;
}

/**
 * A node running containerd 2.1.9 for the synthesized setup: `files` written into the root,
 * `prepare` run, the daemon started on them with the pause image imported.
 */
async function bootNode2(manifests: any[], files: Record<string, string>, prepare: (root: HostRoot) => void = () => undefined): Promise<TestNode> {
  const node = new TestNode(undefined, {}, { agent: synthesizedAgent(manifests), ownContainerd: true });
  try {
    installContainerd2(node.root);
    for (const [file, text] of Object.entries(files)) node.root.write(file, text);
    prepare(node.root);
    await node.containerd!.start();
    await importImage(node.containerd!, pauseTar, PAUSE_IMAGE);
  } catch (e) {
    await node.cleanup();
    throw e;
  }
  return node;
}

/** CRI Version of the node's daemon: containerd 2.1.9. */
async function expectContainerd219(node: TestNode): Promise<void> {
  const cri = new CriClient(node.containerd!.address);
  try {
    const v = await cri.version();
    expect([v.runtime_name, v.runtime_version]).toEqual(['containerd', '2.1.9+unknown']);
  } finally {
    cri.close();
  }
}

/** Installs through the agent: labelled once, after the one restart, by an agent that ran 2.1.9. Returns the daemon's PID. */
async function installAndExpectServed(node: TestNode, synthesized: Synthesized<SandboxedRuntime>): Promise<number> {
  const before = node.containerd!.pid();
  const result = node.install({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV });
  mustSucceed(result, 'install');
  expect(result.stderr).toMatch(/host containerd 2\.1\.9/);
  const label = `kubectl label node ${NODE_NAME} ${synthesized.readyLabel}=ready --overwrite`;
  expect(node.labelCalls()).toEqual([label]);
  expect(node.restarts()).toEqual(['systemctl restart containerd']);
  expect(node.calls().indexOf(label)).toBeGreaterThan(node.calls().indexOf('systemctl restart containerd'));
  const after = node.containerd!.pid()!;
  expect(after).toBeGreaterThan(0);
  expect(after).not.toBe(before);
  expect(node.readiness()).toEqual({ ready: true, reason: undefined });
  await expectContainerd219(node);
  const cri = new CriClient(node.containerd!.address);
  try {
    expect(await cri.runtimeHandlers()).toEqual(expect.arrayContaining([synthesized.handler, 'runc']));
  } finally {
    cri.close();
  }
  return after;
}

/** A re-run changes nothing: no file rewritten (mtimes included), no restart, the same daemon. */
function expectNoOpRerun(node: TestNode, daemon: number): void {
  const files = nodeFiles(node.root, true);
  node.clearCalls();
  const result = node.install({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV });
  mustSucceed(result, 're-run');
  expect(node.restarts()).toEqual([]);
  expect(nodeFiles(node.root, true)).toEqual(files);
  expect(node.containerd!.pid()).toBe(daemon);
}

/** Uninstalls: every file as before install, one restart, and the handler is unknown again. */
async function uninstallAndExpectRestored(node: TestNode, synthesized: Synthesized<SandboxedRuntime>, before: Map<string, string>): Promise<void> {
  node.clearCalls();
  const result = node.uninstall({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV });
  mustSucceed(result, 'uninstall');
  expect(result.stderr).not.toContain('changed since this node setup edited it');
  expect(node.labelCalls()).toEqual([`kubectl label node ${NODE_NAME} ${synthesized.readyLabel}-`]);
  expect(node.restarts()).toEqual(['systemctl restart containerd']);
  expect(nodeFiles(node.root)).toEqual(before);
  const cri = new CriClient(node.containerd!.address, { hostRoot: node.root });
  try {
    expect(await cri.runtimeHandlers()).not.toContain(synthesized.handler);
    const err = await cri.runPodSandbox({ name: 'after-uninstall', handler: synthesized.handler }).catch((e) => e);
    expect(err).toBeInstanceOf(CriError);
    expect(err.message).toContain(`no runtime for "${synthesized.handler}" is configured`);
  } finally {
    cri.close();
  }
}

/** containerd 2.1.9's default config with `imports = []` set to `list` (a TOML array). */
function defaultWithImports(list: string): string {
  const text = containerd2Default();
  expect(text.match(/^imports = \[\]$/mg)).toHaveLength(1);
  return text.replace(/^imports = \[\]$/m, `imports = ${list}`);
}

/** The machine's two settings as a version 3 drop-in. */
const MACHINE_DROP_IN = [
  'version = 3',
  '',
  "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
  `  sandbox = '${PAUSE_IMAGE}'`,
  '',
  "[plugins.'io.containerd.cri.v1.runtime']",
  '  restrict_oom_score_adj = true',
  '',
].join('\n');

/** The agent's drop-in on a containerd 2.x node. */
const DROP_IN = (node: TestNode) => `/etc/containerd/conf.d/${node.agent!.setupName}.toml`;

/** Starting config: name, files, the node files install writes (the agent's state aside). */
const STARTING_CONFIGS: Array<[string, () => Record<string, string>, (node: TestNode) => string[]]> = [
  // The main file's `imports = []` gains the drop-in.
  ['containerd 2.1.9\'s own `config default` (its `imports = []` included)', () => ({ [CONFIG]: containerd2DefaultConfig() }), (node) => [DROP_IN(node), CONFIG]],
  // The glob already covers the drop-in: the main file stays as it is.
  ['a version 3 file importing /etc/containerd/conf.d/*.toml, with a file there', () => ({
    [CONFIG]: defaultWithImports('["/etc/containerd/conf.d/*.toml"]'),
    '/etc/containerd/conf.d/10-machine.toml': MACHINE_DROP_IN,
  }), (node) => [DROP_IN(node)]],
  // Version 2 tables appended between markers, as on containerd 1.x.
  ['a containerd 1.6-style version 2 file, migrated by 2.1.9', () => ({ [CONFIG]: testCriConfig() }), () => [CONFIG]],
];

/** Files (not directories) whose bytes differ between two `nodeFiles`, the agent's state aside. */
function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((p) => !p.endsWith('/') && !p.startsWith('/var/lib/cdk8s-runtimeclass/') && before.get(p) !== after.get(p)).sort();
}

describeIfAvailable('the node agent on containerd 2.1.9', containerd2UnavailableReason, () => {
  beforeAll(() => assertAvailable(containerd2UnavailableReason));

  test('withMachineSettings changes exactly the two lines of 2.1.9\'s default config', () => {
    const plain = containerd2Default();
    const changed = withMachineSettings(plain).split('\n');
    const diff = plain.split('\n').map((l, i) => [l, changed[i]]).filter(([a, b]) => a !== b);
    expect(diff).toEqual([
      ["      sandbox = 'registry.k8s.io/pause:3.10'", `      sandbox = '${PAUSE_IMAGE}'`],
      ['    restrict_oom_score_adj = false', '    restrict_oom_score_adj = true'],
    ]);
  });

  test.each(STARTING_CONFIGS)('%s: install serves a second runc handler, a pod runs through it, a re-run is a no-op, uninstall restores every byte', async (_name, files, written) => {
    const synthesized = synth((chart) => new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath: '/usr/local/bin/runc-audit' }));
    const node = await bootNode2(synthesized.manifests, files(), (root) => {
      // The wrapper exists only in the node: containerd resolves it there or nowhere.
      writeRuncWrapper(root.resolve('/usr/local/bin'), '/var/log/runc-audit.log', 'runc-audit');
    });
    try {
      await expectContainerd219(node);
      const before = nodeFiles(node.root);
      const daemon = await installAndExpectServed(node, synthesized);
      expect(changedFiles(before, nodeFiles(node.root))).toEqual(written(node).sort());

      const cri = new CriClient(node.containerd!.address, { hostRoot: node.root });
      try {
        const id = await cri.runPodSandbox({ name: 'audit', handler: synthesized.handler });
        expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: synthesized.handler }));
        const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo audited'] });
        await cri.startContainer(cid);
        expect(await cri.waitForLog(cid, /audited/)).toBe('audited\n');
        const calls = node.root.read('/var/log/runc-audit.log');
        expect(calls).toMatch(new RegExp(`\\bcreate .*${id}`));
        expect(calls).toMatch(new RegExp(`\\bstart ${cid}`));
        await cri.removeAll();
      } finally {
        cri.close();
      }

      expectNoOpRerun(node, daemon);
      await uninstallAndExpectRestored(node, synthesized, before);
    } finally {
      await node.cleanup();
    }
  });

  describeIfAvailable('gVisor (runsc 20240729, gVisor\'s shim)', gvisor2024UnavailableReason, () => {
    beforeAll(() => assertAvailable(gvisor2024UnavailableReason));

    test('default platform with host networking: labelled, a two-container pod runs in one gVisor kernel, a re-run is a no-op; uninstall removes the handler', async () => {
      const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor', { hostNetworking: true }));
      const gvisor = synthesized.runtime;
      const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
        installIntoRoot(root, runsc2024(), gvisor.runscPath);
        installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
      });
      try {
        const before = nodeFiles(node.root);
        const daemon = await installAndExpectServed(node, synthesized);
        expect(node.root.read(gvisor.configPath)).toMatch(/^network = "host"\nplatform = "systrap"$/m);
        expectNoOpRerun(node, daemon);
        const cri = new CriClient(node.containerd!.address, { hostRoot: node.root });
        try {
          const id = await cri.runPodSandbox({ name: 'gvisor', handler: synthesized.handler });
          expect((await cri.podSandboxStatus(id)).status).toEqual(expect.objectContaining({ state: 'SANDBOX_READY', runtime_handler: synthesized.handler }));
          const containers = await expectTwoContainersInOneGvisorKernel(cri, id, gvisor.configPath);
          await expectStopAndRemove(cri, id, containers);
        } finally {
          cri.close();
        }
        await uninstallAndExpectRestored(node, synthesized, before);
      } finally {
        await node.cleanup();
      }
    });
  });

  describeIfAvailable('gVisor\'s own network stack (runsc 20240729, gVisor\'s shim)', gvisor2024UnavailableReason, () => {
    beforeAll(() => assertAvailable(gvisor2024UnavailableReason));

    test('the default GvisorRuntime (systrap, gVisor\'s network): runsc\'s own checks pass, the check sandbox does not, so never labelled; the reason says why and the fix', async () => {
      const synthesized = synth((chart) => new GvisorRuntime(chart, 'gvisor'));
      const gvisor = synthesized.runtime;
      const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
        installIntoRoot(root, runsc2024(), gvisor.runscPath);
        installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
      });
      try {
        const result = node.install({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV });
        expect(result.status).toBe(1);
        expect(node.root.read(gvisor.configPath)).toMatch(/^platform = "systrap"$/m);
        expect(node.labelCalls().filter((c) => c.endsWith('=ready --overwrite'))).toEqual([]);
        expect(node.readiness().reason).toMatch(/^a pod sandbox with runtime handler runsc failed to start: .*cannot run with network enabled in root network namespace.*\. Fix: gVisor's own network stack does not run on this node's kernel: give the GvisorRuntime hostNetworking: true/);
      } finally {
        await node.cleanup();
      }
    });
  });

  describeIfAvailable('crun 1.21', crun121UnavailableReason, () => {
    beforeAll(() => assertAvailable(crun121UnavailableReason));

    test('labelled, a pod runs under the class\'s handler and crun 1.21 ran it (crun\'s state lists it), a re-run is a no-op; uninstall restores every byte', async () => {
      const binaryPath = '/usr/local/bin/crun';
      const synthesized = synth((chart) => new CrunRuntime(chart, 'crun', { binaryPath }));
      const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() }, (root) => {
        installIntoRoot(root, CRUN_121, binaryPath);
      });
      try {
        const crun = (...args: string[]) => spawnSync('chroot', [node.root.path, binaryPath, ...args], { encoding: 'utf8' }).stdout;
        expect(crun('--version')).toMatch(/^crun version 1\.21\n/);
        const before = nodeFiles(node.root);
        const daemon = await installAndExpectServed(node, synthesized);
        expectNoOpRerun(node, daemon);
        const cri = new CriClient(node.containerd!.address, { hostRoot: node.root });
        try {
          const id = await cri.runPodSandbox({ name: 'crun', handler: synthesized.handler });
          const cid = await cri.createContainer(id, { name: 'c', command: ['/bin/busybox', 'sh', '-c', 'echo hello from crun; sleep 3600'] });
          await cri.startContainer(cid);
          const info = JSON.parse((await cri.containerStatus(cid, true)).info.info);
          expect(info.runtimeOptions).toEqual(expect.objectContaining({ binary_name: binaryPath }));
          expect(await cri.waitForLog(cid, /hello/)).toBe('hello from crun\n');
          const list = crun('--root', '/run/containerd/runc/k8s.io', 'list');
          expect(list).toContain(id);
          expect(list).toContain(cid);
          await cri.removeAll();
        } finally {
          cri.close();
        }
        await uninstallAndExpectRestored(node, synthesized, before);
      } finally {
        await node.cleanup();
      }
    });
  });

  describeIfAvailable('Debian\'s crun 1.8.1', crunUnavailableReason, () => {
    beforeAll(() => assertAvailable(crunUnavailableReason));

    test('CrunRuntime on Debian\'s crun 1.8.1: installed, served, but never labelled; the reason is crun\'s error and the fix', async () => {
      const synthesized = synth((chart) => new CrunRuntime(chart, 'crun', { binaryPath: '/usr/bin/crun' }));
      const node = await bootNode2(synthesized.manifests, { [CONFIG]: containerd2DefaultConfig() });
      try {
        const result = node.install({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV });
        expect(result.status).toBe(1);
        expect(node.labelCalls()).toEqual([`kubectl label node ${NODE_NAME} ${synthesized.readyLabel}-`]);
        expect(node.restarts()).toEqual(['systemctl restart containerd']);
        expect(result.stderr).toMatch(/containerd serves runtime handler\(s\) crun/);
        expect(node.readiness().reason).toMatch(/^a pod sandbox with runtime handler crun failed to start: .*unknown version specified.*\. Fix: the OCI runtime is older than the OCI runtime spec this container runtime writes .*install a newer one on the node \(crun 1\.15 or later\)\. The node is not labelled ready for crun$/);
        // Not restarted again on a re-run: nothing on disk changed, only the check is repeated.
        node.clearCalls();
        expect(node.install({ timeoutMs: AGENT_TIMEOUT_MS, env: AGENT_ENV }).status).toBe(1);
        expect(node.restarts()).toEqual([]);
      } finally {
        await node.cleanup();
      }
    });

    test('cannot run containerd 2.1.9\'s containers: RunPodSandbox fails with "unknown version specified"', async () => {
      const root = createHostRoot({ nodeMounts: true });
      const node = nodeContainerd(root);
      try {
        installContainerd2(root);
        root.write(CONFIG, `${containerd2DefaultConfig()}
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]
  runtime_type = 'io.containerd.runc.v2'
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun.options]
    BinaryName = '/usr/bin/crun'
    SystemdCgroup = false
`);
        await node.start();
        await importImage(node, pauseTar, PAUSE_IMAGE);
        const cri = new CriClient(node.address, { hostRoot: root });
        try {
          expect(await cri.runtimeHandlers()).toContain('crun');
          const err = await cri.runPodSandbox({ name: 'crun-181', handler: 'crun' }).catch((e) => e);
          expect(err).toBeInstanceOf(CriError);
          expect(err.message).toContain('unknown version specified');
          // The node's runc (the default handler) runs the same pod.
          const id = await cri.runPodSandbox({ name: 'runc', handler: 'runc' });
          expect((await cri.podSandboxStatus(id)).status.state).toBe('SANDBOX_READY');
          await cri.removeAll();
        } finally {
          cri.close();
        }
      } finally {
        await node.stop();
        root.cleanup();
      }
    });
  });
});
