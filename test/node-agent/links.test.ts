/**
 * Links and the files the agent creates on the node: a link planted where the agent recorded a
 * directory (of a tree artifact, or of its own state) is refused, never followed; the check file
 * handed to containerd keeps the config's mode and is never written through a planted link; every
 * directory the agent creates is made durable in its parent before anything is put in it.
 * Real containerd (Debian's 1.6) through the recording stand-in, as in defects.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { corpus, RUNC_TEST, testSpec, TestNode } from './helpers';
import { assertContainerdAvailable, containerdUnavailableReason, describeIfContainerd } from '../support/containerd';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const STATE_ROOT = '/var/lib/cdk8s-runtimeclass';
const HOSTS = 'the host\'s own /etc/hosts\n';

/** A setup with a Kata-like tree artifact at /opt/kata (a shim, a link to it, share/defaults/...). */
function kataTreeNode(): TestNode {
  const node = new TestNode(testSpec({ handlers: [RUNC_TEST], artifacts: [{ arch: 'any', source: 'image', location: 'kata', destination: '/opt/kata' }] }));
  const tree = path.join(node.artifactsDir, 'kata');
  fs.mkdirSync(path.join(tree, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'share', 'defaults'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'bin', 'containerd-shim-kata-v2'), '#!/bin/sh\necho shim\n', { mode: 0o755 });
  fs.symlinkSync('containerd-shim-kata-v2', path.join(tree, 'bin', 'shim'));
  fs.writeFileSync(path.join(tree, 'share', 'defaults', 'configuration.toml'), '[hypervisor.qemu]\n');
  fs.writeFileSync(path.join(tree, 'share', 'defaults', 'hosts'), 'kata\'s hosts template\n');
  node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
  node.root.write('/etc/hosts', HOSTS);
  return node;
}

/** Names and bytes of the regular files directly in a real directory. */
function filesIn(dir: string): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.lstatSync(p).isFile()) out[name] = fs.readFileSync(p, 'utf8');
  }
  return out;
}

describeIfContainerd('links where the agent recorded a directory, and the files it creates', () => {
  let node: TestNode;
  const outside: string[] = [];
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => {
    await node?.cleanup();
    for (const dir of outside.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('A link swapped in for a recorded directory of a tree artifact redirects writes: the re-run and the uninstall are refused, the file outside untouched', () => {
    node = kataTreeNode();
    expect(node.install().status).toBe(0);
    expect(node.root.read('/opt/kata/share/defaults/hosts')).toBe('kata\'s hosts template\n');
    const etcBefore = filesIn(node.root.resolve('/etc'));

    // /opt/kata/share/defaults -> /etc
    fs.rmSync(node.root.resolve('/opt/kata/share/defaults'), { recursive: true });
    fs.symlinkSync('/etc', node.root.resolve('/opt/kata/share/defaults'));
    const refusal = 'refusing to use /opt/kata/share/defaults: this node setup recorded it as a directory of its own, and it is now a symbolic link (to /etc). '
      + 'The agent never follows a link it did not create. Fix: remove the link (rm /opt/kata/share/defaults on the node), then run the node setup again';

    const again = node.install();
    expect(again.status).toBe(1);
    expect(node.readiness().reason).toBe(refusal);
    expect(filesIn(node.root.resolve('/etc'))).toEqual(etcBefore);
    expect(node.root.read('/etc/hosts')).toBe(HOSTS);

    const uninstall = node.uninstall();
    expect(uninstall.status).toBe(1);
    expect(uninstall.stderr).toContain(refusal);
    expect(filesIn(node.root.resolve('/etc'))).toEqual(etcBefore);
    expect(fs.readlinkSync(node.root.resolve('/opt/kata/share/defaults'))).toBe('/etc');

    // The fix the message gives: the uninstall then completes, the host's files untouched.
    fs.rmSync(node.root.resolve('/opt/kata/share/defaults'));
    expect(node.uninstall().status).toBe(0);
    expect(node.root.exists('/opt/kata')).toBe(false);
    expect(node.root.read('/etc/hosts')).toBe(HOSTS);
    expect(node.root.exists(STATE_ROOT)).toBe(false);
  });

  test.each([
    ['<STATE_ROOT>/<setup>', `${STATE_ROOT}/test-setup`],
    ['<STATE_ROOT>', STATE_ROOT],
  ])('State paths use plain fs calls: a link at %s pointing outside HOST_ROOT is refused by install and uninstall, nothing is written through it', (_name, linkPath) => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    const original = corpus('containerd-1.6-default.toml');
    node.root.write(CONFIG, original);
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-host-root-'));
    outside.push(target);
    fs.mkdirSync(path.dirname(node.root.resolve(linkPath)), { recursive: true });
    fs.symlinkSync(target, node.root.resolve(linkPath));
    const before = node.snapshot();
    const refusal = `refusing to use ${linkPath}: the agent keeps its state in a directory of its own, and it is a symbolic link (to ${target}). `
      + `The agent never follows a link it did not create. Fix: remove the link (rm ${linkPath} on the node), then run the node setup again`;

    const install = node.install();
    expect(install.status).toBe(1);
    expect(node.readiness().reason).toBe(refusal);
    node.clearCalls();
    const uninstall = node.uninstall();
    expect(uninstall.status).toBe(1);
    expect(uninstall.stderr).toContain(refusal);
    // The ready label still goes first.
    expect(node.labelCalls()).toEqual([expect.stringContaining('runtimeclass.cdk8s.io/runc-test-')]);

    expect(fs.readdirSync(target)).toEqual([]);
    // Nor inside the root where the link's target would be, read as a host path.
    expect(node.root.exists(target)).toBe(false);
    expect(node.snapshot()).toEqual(before);
    expect(node.bytes(CONFIG)!.toString()).toBe(original);
  });

  test('a link planted at the node lock\'s path is refused, never followed: its target is not created', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    fs.symlinkSync('/etc/nologin', node.root.resolve('/run/cdk8s-runtimeclass.lock'));
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    expect(node.readiness().reason).toBe('refusing to use /run/cdk8s-runtimeclass.lock: it is a symbolic link (to /etc/nologin). The agent never follows a link it did not create. '
      + 'Fix: remove the link (rm /run/cdk8s-runtimeclass.lock on the node), then run the node setup again');
    expect(node.root.exists('/etc/nologin')).toBe(false);
    expect(node.snapshot()).toEqual(before);
  });

  test('A 0600 config.toml is copied to a 0644 check file with a predictable name, written without O_EXCL/O_NOFOLLOW: the check file containerd reads is 0600', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    node.root.write(CONFIG, corpus('kubeadm-systemd-cgroup.toml'), 0o600);
    // The host's containerd, behind a wrapper that records the mode of the file it is given with --config.
    const seen = path.join(node.dir, 'config-modes.log');
    const wrapper = path.join(node.dir, 'containerd-wrapper.sh');
    fs.writeFileSync(wrapper, [
      '#!/bin/sh',
      'prev=',
      'for a in "$@"; do',
      `  if [ "$prev" = --config ]; then stat -c '%a %n' "${node.root.path}$a" >> "${seen}"; fi`,
      '  prev=$a',
      'done',
      `exec chroot "${node.root.path}" containerd "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    const r = node.install({ env: { HOST_CONTAINERD: `/bin/sh ${wrapper}` } });
    expect(r.status).toBe(0);
    const checks = fs.readFileSync(seen, 'utf8').split('\n').filter(Boolean);
    expect(checks.length).toBeGreaterThanOrEqual(2);
    for (const line of checks) {
      const [mode, file] = line.split(' ');
      expect({ file: path.basename(file), mode }).toEqual({ file: expect.stringMatching(/^\.config\.toml\.cdk8s-tmp-check-[0-9a-f]{16,}$/), mode: '600' });
    }
    expect(node.root.read(CONFIG)).toContain('runc-test');
    expect(fs.statSync(node.root.resolve(CONFIG)).mode % 0o1000).toBe(0o600);
  });

  test('A check file is never written through a link planted at its old predictable name (.<file>.cdk8s-tmp-check-<pid>)', () => {
    // No /etc/containerd: the check file goes to /etc, where no cleanup of our temporary files runs first.
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    fs.rmSync(node.root.resolve('/etc/containerd'), { recursive: true, force: true });
    const victim = node.root.resolve('/var/lib/victim');
    // The agent's pid is the next one handed out, give or take the other processes of this machine.
    const last = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    for (let i = 1; i <= 3000; i++) {
      const pid = ((last + i - 1) % (max - 1)) + 1;
      fs.symlinkSync(victim, node.root.resolve(`/etc/.config.toml.cdk8s-tmp-check-${pid}`));
    }
    const r = node.install();
    expect(fs.existsSync(victim)).toBe(false);
    expect({ status: r.status, reason: node.readiness().reason }).toEqual({ status: 0, reason: undefined });
    expect(node.root.read(CONFIG)).toContain('runc-test');
  });
});

/** Why the agent cannot be traced here, or undefined. */
function straceUnavailableReason(): string | undefined {
  const reason = containerdUnavailableReason();
  if (reason) return reason;
  return spawnSync('strace', ['-V']).status === 0 ? undefined : 'strace is missing (apt-get install -y strace)';
}

/** One line of `strace -y`: call, arguments, result. */
interface Call { readonly call: string; readonly args: string; readonly ok: boolean }

function parseStrace(text: string): Call[] {
  const calls: Call[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (m) calls.push({ call: m[1], args: m[2], ok: Number(m[3]) >= 0 });
  }
  return calls;
}

/** The path an `at` call or a plain call names (its first quoted argument). */
function firstPath(args: string): string | undefined {
  return /"((?:[^"\\]|\\.)*)"/.exec(args)?.[1];
}

describeIfAvailable('directories the agent creates (traced with strace)', straceUnavailableReason, () => {
  let node: TestNode;
  beforeAll(() => assertAvailable(straceUnavailableReason));
  afterEach(async () => node?.cleanup());

  test('The state and blob directories are created without an fsync of their parent: every directory the agent creates is fsynced in its parent before anything is put in it', () => {
    node = kataTreeNode();
    const trace = path.join(node.dir, 'strace.log');
    const r = spawnSync('strace', [
      // The agent's own thread only (its fs calls are synchronous): children such as the
      // stand-in's containerd would keep a following strace alive.
      '-qq', '-y', '-s', '4096', '-o', trace,
      '-e', 'trace=mkdir,mkdirat,fsync,fdatasync,openat,rename,renameat,renameat2,symlink,symlinkat',
      process.execPath, path.join(node.cmDir, 'agent.js'),
    ], { env: node.env({ action: 'install' }), encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    expect(r.status).toBe(0);
    const ours = parseStrace(fs.readFileSync(trace, 'utf8')).filter((c) => c.ok);
    const rootReal = fs.realpathSync(node.root.path);
    const canonical = (p: string) => (p.startsWith(node.root.path) ? rootReal + p.slice(node.root.path.length) : p);

    // Directories on the node (the pod's own temporary and readiness directories do not outlive it).
    const created = ours.map((c, i) => ({ c, i, dir: canonical(firstPath(c.args) ?? '') }))
      .filter(({ c, dir }) => (c.call === 'mkdir' || c.call === 'mkdirat') && dir.startsWith(`${rootReal}/`));
    const createdPaths = created.map(({ dir }) => dir);
    // The tree, its parents under /opt and the state directories all count.
    expect(createdPaths).toEqual(expect.arrayContaining([
      `${rootReal}/opt/kata`, `${rootReal}/opt/kata/share/defaults`,
      `${rootReal}${STATE_ROOT}`, `${rootReal}${STATE_ROOT}/test-setup`, `${rootReal}${STATE_ROOT}/test-setup/blobs`,
    ]));
    const problems: string[] = [];
    for (const [n, { i }] of created.entries()) {
      const dir = createdPaths[n];
      const parent = path.dirname(dir);
      const later = ours.slice(i + 1);
      const synced = later.findIndex((c) => (c.call === 'fsync' || c.call === 'fdatasync') && c.args.startsWith(`${fdPrefix(c.args)}<${parent}>`));
      // Anything created in the new directory before its parent was synced.
      const firstInside = later.findIndex((c) => c.call !== 'fsync' && c.call !== 'fdatasync' && namesInside(c, dir, canonical));
      if (synced < 0) problems.push(`${dir}: parent never fsynced`);
      else if (firstInside >= 0 && firstInside < synced) problems.push(`${dir}: ${later[firstInside].call}(${later[firstInside].args}) before the parent's fsync`);
    }
    expect(problems).toEqual([]);
  }, 150_000);

  test('No fsync of the directory after rename: every file the agent renames into place on the node is followed by an fsync of its directory before the next rename', () => {
    node = kataTreeNode();
    const trace = path.join(node.dir, 'strace-rename.log');
    const r = spawnSync('strace', [
      '-qq', '-y', '-s', '4096', '-o', trace, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2',
      process.execPath, path.join(node.cmDir, 'agent.js'),
    ], { env: node.env({ action: 'install' }), encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    expect(r.status).toBe(0);
    const calls = parseStrace(fs.readFileSync(trace, 'utf8')).filter((c) => c.ok);
    const rootReal = fs.realpathSync(node.root.path);
    const canonical = (p: string) => (p.startsWith(node.root.path) ? rootReal + p.slice(node.root.path.length) : p);
    const isRename = (c: Call) => c.call === 'rename' || c.call === 'renameat' || c.call === 'renameat2';
    // The destination: the last quoted path of the call.
    const destination = (c: Call) => canonical([...c.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).pop() ?? '');
    const renames = calls.map((c, i) => ({ c, i })).filter(({ c }) => isRename(c) && destination(c).startsWith(`${rootReal}/`));
    // The config, the tree's files and the state are all renamed into place.
    expect(renames.map(({ c }) => destination(c))).toEqual(expect.arrayContaining([
      `${rootReal}/etc/containerd/config.toml`, `${rootReal}${STATE_ROOT}/test-setup/state.json`,
    ]));
    const problems: string[] = [];
    for (const { c, i } of renames) {
      const dir = path.dirname(destination(c));
      const later = calls.slice(i + 1);
      const synced = later.findIndex((x) => (x.call === 'fsync' || x.call === 'fdatasync') && canonical(/^\d+<([^>]*)>/.exec(x.args)?.[1] ?? '') === dir);
      const nextRename = later.findIndex(isRename);
      if (synced < 0) problems.push(`${destination(c)}: its directory is never fsynced after the rename`);
      else if (nextRename >= 0 && nextRename < synced) problems.push(`${destination(c)}: the next rename (${later[nextRename].args}) comes before its directory's fsync`);
    }
    expect(problems).toEqual([]);
  }, 150_000);
});

function fdPrefix(args: string): string {
  return /^\d+/.exec(args)?.[0] ?? '';
}

/** Whether a traced call creates or renames something inside `dir`. */
function namesInside(c: Call, dir: string, canonical: (p: string) => string): boolean {
  const quoted = [...c.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => canonical(m[1]));
  if (c.call === 'openat' && !/O_CREAT/.test(c.args)) return false;
  return quoted.some((p) => p.startsWith(`${dir}/`));
}
