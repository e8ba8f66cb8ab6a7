/**
 * A containerd 2.x main file with CRLF line ends on a node running the real containerd 2.1.9 (the
 * node's own daemon, restarted by the agent through the node's systemctl, with the pause image so
 * that check sandboxes run): the `imports` entry the agent adds keeps the file's line ends, the
 * daemon serves the handler and the node is labelled, a re-run writes and restarts nothing, and
 * uninstall gives the file back byte for byte. Also a file an admin re-saved with CRLF after the
 * install, our entry included.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import { corpus, NODE_NAME, RunResult, TestNode } from './helpers';
import { IMPORTS_TAG } from '../../src/node-agent/toml-text';
import { NODE_PATH } from '../support/containerd';
import { CriClient } from '../support/cri-client';
import { containerd2DefaultConfig, containerd2UnavailableReason, installContainerd2 } from '../support/newer-runtimes';
import { installIntoRoot } from '../support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';
import { assertAvailable, describeIfAvailable } from '../support/sandbox-runtimes';

const CONFIG = '/etc/containerd/config.toml';
const DROP_IN = '/etc/containerd/conf.d/test-setup.toml';
const RESTART = 'systemctl restart containerd';
const READY = `kubectl label node ${NODE_NAME} runtimeclass.cdk8s.io/runc-test=ready --overwrite`;
/** The agent's PATH: a node image's (/usr/local first, where the node has 2.1.9), plus this node binary's dir. */
const ENV = { env: { PATH: `${NODE_PATH}:${path.dirname(process.execPath)}` } };
const TIMEOUT_MS = 240_000;

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
/** Lines that end with a bare LF. */
const bareLf = (text: string) => text.split('\n').slice(0, -1).filter((l) => !l.endsWith('\r'));

let work: string;
let pauseTar: string;
let node: TestNode | undefined;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'containerd2-crlf-'));
  if (fs.existsSync('/bin/busybox')) pauseTar = buildPauseImageTar(work);
});
afterEach(async () => {
  await node?.cleanup();
  node = undefined;
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A node whose own containerd is 2.1.9, started on `config` with the pause image, and whose runc-test is runc. */
async function containerd2Node(config: string | Buffer): Promise<TestNode> {
  node = new TestNode(undefined, {}, { ownContainerd: true });
  installContainerd2(node.root);
  installIntoRoot(node.root, '/usr/sbin/runc', '/usr/local/bin/runc-test');
  node.root.write(CONFIG, config);
  await node.containerd!.start();
  await importImage(node.containerd!, pauseTar, PAUSE_IMAGE);
  return node;
}

async function served(n: TestNode): Promise<string[]> {
  const cri = new CriClient(n.containerd!.address);
  try {
    return await cri.runtimeHandlers();
  } finally {
    cri.close();
  }
}

function expectLabelled(n: TestNode, r: RunResult): void {
  expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stderr).toMatch(/host containerd 2\.1\.9/);
  expect(r.stderr).toMatch(/runtime handler runc-test: a check sandbox reached SANDBOX_READY/);
  expect(n.labelCalls()).toContain(READY);
}

/** mtime of every file of the snapshot's config paths: a re-run that rewrites a file changes it even with the same bytes. */
function mtimes(n: TestNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of [CONFIG, DROP_IN]) out[p] = fs.statSync(n.root.resolve(p)).mtimeMs;
  return out;
}

/** A re-run on an installed node: nothing written (bytes and mtimes), no restart, the same daemon, labelled. */
function expectNoOpRerun(n: TestNode): void {
  const files = n.snapshot();
  const times = mtimes(n);
  const daemon = n.containerd!.pid();
  n.clearCalls();
  const again = n.install(ENV);
  expectLabelled(n, again);
  expect(again.stderr).toContain('nothing changed: no restart');
  expect(n.restarts()).toEqual([]);
  expect(n.snapshot()).toEqual(files);
  expect(mtimes(n)).toEqual(times);
  expect(n.containerd!.pid()).toBe(daemon);
}

describeIfAvailable('a CRLF containerd 2.x config with `imports` on a node running containerd 2.1.9 (real daemon and check sandbox; recording kubectl stand-in)', containerd2UnavailableReason, () => {
  beforeAll(() => assertAvailable(containerd2UnavailableReason));

  test('CRLF version 3 file with `imports = []`: our entry written with the file\'s CRLF, served and labelled after one restart; a re-run writes and restarts nothing; uninstall gives back every byte', async () => {
    const original = corpus('v3-default-crlf.toml');
    expect(original).toContain('\r\nimports = []\r\n');
    expect(bareLf(original)).toEqual([]);
    const n = await containerd2Node(original);
    const before = n.snapshot();

    const first = n.install(ENV);
    expectLabelled(n, first);
    expect(n.restarts()).toEqual([RESTART]);
    const main = n.root.read(CONFIG);
    expect(main).toBe(original.replace('\r\nimports = []\r\n', `\r\nimports = ["${DROP_IN}"]\r\n`));
    expect(bareLf(main)).toEqual([]);
    expect((parseToml(main) as any).imports).toEqual([DROP_IN]);
    // This node has no /dev/kvm: the VM handler of the setup is not installed here.
    const served2 = await served(n);
    expect(served2).toEqual(expect.arrayContaining(['runc', 'runc-test']));
    expect(served2).not.toContain('kata-qemu');

    expectNoOpRerun(n);

    n.clearCalls();
    expect(n.uninstall(ENV).status).toBe(0);
    expect(n.bytes(CONFIG)!.equals(Buffer.from(original))).toBe(true);
    expect(n.snapshot()).toEqual(before);
    expect(n.restarts()).toEqual([RESTART]);
    expect(await served(n)).not.toContain('runc-test');
  }, TIMEOUT_MS);

  test('CRLF version 3 file without an `imports` line: the line the agent adds ends with CRLF like the others; restored byte for byte', async () => {
    const original = corpus('v3-default-crlf.toml').replace('imports = []\r\n', '');
    const n = await containerd2Node(original);
    const before = n.snapshot();
    expectLabelled(n, n.install(ENV));
    const main = n.root.read(CONFIG);
    expect(main).toBe(original.replace('\r\nversion = 3\r\n', `\r\nversion = 3\r\nimports = ["${DROP_IN}"]${IMPORTS_TAG}\r\n`));
    expect(bareLf(main)).toEqual([]);
    expectNoOpRerun(n);
    expect(n.uninstall(ENV).status).toBe(0);
    expect(n.snapshot()).toEqual(before);
  }, TIMEOUT_MS);

  test('an admin re-saves the installed file with CRLF, our `imports` entry included: the re-run takes it as is (no write, no restart), and uninstall gives back the admin\'s CRLF file without our entry', async () => {
    const original = containerd2DefaultConfig();
    const n = await containerd2Node(original);
    expectLabelled(n, n.install(ENV));
    const installed = n.root.read(CONFIG);
    expect(installed).toContain(`\nimports = ["${DROP_IN}"]\n`);
    // The admin's editor saves every line end as CRLF, our entry's included.
    const resaved = crlf(installed);
    n.root.write(CONFIG, resaved);
    expectNoOpRerun(n);
    expect(n.root.read(CONFIG)).toBe(resaved);

    n.clearCalls();
    const un = n.uninstall(ENV);
    expect(un.status).toBe(0);
    expect(n.root.read(CONFIG)).toBe(crlf(original));
    expect(n.root.exists(DROP_IN)).toBe(false);
    expect(n.restarts()).toEqual([RESTART]);
    expect(await served(n)).not.toContain('runc-test');
  }, TIMEOUT_MS);
});
