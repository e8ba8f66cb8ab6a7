/**
 * Crash matrix on a node without a containerd config, for a setup with a directory artifact, a
 * file artifact and a host file (see crash-matrix.ts): every directory the agent creates, every
 * file it installs and the config it creates are steps it is killed at. Also kills inside the long
 * steps, at instants found by watching the file system: an uninstall removing a directory artifact
 * of thousands of files (as their count falls), an install writing an artifact of tens of MiB (as
 * its temp file, or the state's copy of the older binary it replaces, grows).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { expectConverges, installMatrix, killWhen, MATRIX_TIMEOUT_MS, reset, uninstallMatrix } from './crash-matrix';
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

/** Files of the directory artifact: thousands, so that removing them takes a while. */
const TREE_FILES = 2400;
const TREE_DIRS = 24;
const TREE = {
  spec: testSpec({ artifacts: [{ arch: 'any', source: 'image', location: 'many', destination: '/opt/many' }] }),
  prepare: (node: TestNode) => {
    const top = path.join(node.artifactsDir, 'many');
    if (fs.existsSync(top)) return;
    for (let i = 0; i < TREE_FILES; i++) {
      const dir = path.join(top, `d${i % TREE_DIRS}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `f${i}`), `file ${i}\n`.repeat(1 + (i % 7)), { mode: i % 3 === 0 ? 0o755 : 0o644 });
    }
  },
};

/** Regular files under `hostDir` on the node (our temp files excluded), relative to it. */
function filesUnder(node: TestNode, hostDir: string): string[] {
  const out: string[] = [];
  const walk = (real: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(real, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(real, e.name), `${rel}/${e.name}`);
      else if (e.isFile() && !e.name.includes('.cdk8s-tmp-')) out.push(`${rel}/${e.name}`);
    }
  };
  walk(node.root.resolve(hostDir), '');
  return out;
}

/** Files at final paths under `hostDir` whose bytes are not those of the artifact's source. */
function partialFiles(node: TestNode, hostDir: string, source: string): string[] {
  return filesUnder(node, hostDir).filter((rel) => !fs.readFileSync(node.root.resolve(`${hostDir}${rel}`)).equals(fs.readFileSync(path.join(source, rel))));
}

/** Our temp file (`.<name>.cdk8s-tmp-*`, or a state blob's `*.new`) in `hostDir` on the node, with its size. */
function tempIn(node: TestNode, hostDir: string, match: (name: string) => boolean): { name: string; size: number } | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(node.root.resolve(hostDir));
  } catch {
    return undefined;
  }
  for (const name of names.filter(match)) {
    try {
      return { name, size: fs.statSync(node.root.resolve(`${hostDir}/${name}`)).size };
    } catch {
      // renamed meanwhile
    }
  }
  return undefined;
}

function sizeOf(node: TestNode, hostPath: string): number | undefined {
  try {
    return fs.statSync(node.root.resolve(hostPath)).size;
  } catch {
    return undefined;
  }
}

const MIB = 1024 * 1024;
/** An artifact of tens of MiB, and the older binary of tens of MiB a node may hold at its destination. */
const BIG_BYTES = 64 * MIB;
const OLD_BYTES = 40 * MIB;
const BIG_PATH = '/opt/big/big-shim';
const BLOBS = '/var/lib/cdk8s-runtimeclass/test-setup/blobs';

function bigScenario(withOld: boolean) {
  return {
    spec: testSpec({ artifacts: [{ arch: 'any', source: 'image', location: 'big-shim', destination: BIG_PATH }] }),
    prepare: (node: TestNode) => {
      const source = path.join(node.artifactsDir, 'big-shim');
      if (!fs.existsSync(source)) fs.writeFileSync(source, randomBytes(BIG_BYTES), { mode: 0o755 });
      if (withOld) node.root.write(BIG_PATH, Buffer.alloc(OLD_BYTES, 'old binary\n'));
    },
  };
}

/** The fractions of a long step at which the agent is killed. */
const FRACTIONS = [0.1, 0.5, 0.9];

describeIfContainerd('node agent killed inside its long steps: a large recursive delete, a large file write (real containerd; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test(`uninstall killed while it removes a directory artifact of ${TREE_FILES} files (${FRACTIONS.map((f) => `${f * 100}%`).join(', ')} of them left), then re-run: uninstall completes with the original bytes, or install completes byte for byte; no partial file, no temp file`, async () => {
    const node = new TestNode(TREE.spec);
    try {
      reset(node, TREE);
      const original = node.snapshot();
      expect(node.install({ timeoutMs: 300_000 }).status).toBe(0);
      const installed = node.snapshot();
      expect(filesUnder(node, '/opt/many')).toHaveLength(TREE_FILES);
      for (const [i, fraction] of FRACTIONS.entries()) {
        const threshold = Math.floor(TREE_FILES * fraction);
        const instant = await killWhen(node, 'uninstall', () => {
          const left = filesUnder(node, '/opt/many').length;
          return left <= threshold ? `${left} of ${TREE_FILES} files left` : undefined;
        }, 300_000);
        const context = { fraction, killed: instant };
        expect({ ...context, killedInside: instant !== undefined && !instant.startsWith('0 of') }).toEqual({ ...context, killedInside: true });
        // Every file still at a final path is whole.
        expect({ ...context, partial: partialFiles(node, '/opt/many', path.join(node.artifactsDir, 'many')) }).toEqual({ ...context, partial: [] });
        node.clearCalls();
        if (i % 2 === 0) {
          expectConverges(node, 'uninstall', { installed, original }, { ...context, rerun: 'uninstall' });
          expect(node.install({ timeoutMs: 300_000 }).status).toBe(0);
        } else {
          expectConverges(node, 'install', { installed, original }, { ...context, rerun: 'install' });
        }
      }
      expectConverges(node, 'uninstall', { installed, original }, { then: 'uninstalled' });
    } finally {
      await node.cleanup();
    }
  }, MATRIX_TIMEOUT_MS);

  test.each([
    ['a new path', false],
    ['a path holding an older binary of 40 MiB (its copy going into the state first)', true],
  ])(`install killed while it writes an artifact of 64 MiB to %s (temp file at ${FRACTIONS.map((f) => `${f * 100}%`).join(', ')}), then re-run: install completes byte for byte, uninstall gives back the original; no partial file, no temp file`, async (_name, withOld) => {
    const scenario = bigScenario(withOld);
    const node = new TestNode(scenario.spec);
    try {
      reset(node, scenario);
      const original = node.snapshot();
      const before = node.bytes(BIG_PATH);
      expect(node.install().status).toBe(0);
      const installed = node.snapshot();
      const artifact = fs.readFileSync(path.join(node.artifactsDir, 'big-shim'));
      expect(node.bytes(BIG_PATH)!.equals(artifact)).toBe(true);
      expect(node.uninstall().status).toBe(0);
      // Where the bytes go: the artifact's temp file next to it; with an older binary there, first its copy into the state's blobs.
      const watched: Array<[string, string, (name: string) => boolean, number]> = [['/opt/big', 'artifact temp', (n) => n.startsWith('.big-shim.cdk8s-tmp-'), BIG_BYTES]];
      if (withOld) watched.push([BLOBS, 'state blob of the older binary', (n) => n.endsWith('.new'), OLD_BYTES]);
      for (const [dir, what, match, size] of watched) {
        for (const fraction of FRACTIONS) {
          reset(node, scenario);
          const instant = await killWhen(node, 'install', () => {
            const temp = tempIn(node, dir, match);
            if (temp !== undefined && temp.size >= size * fraction) return `${what} at ${temp.size} of ${size} bytes`;
            // An agent that wrote the final path (or blob) in place would be caught here, mid-write.
            const final = dir === BLOBS
              ? tempIn(node, dir, (n) => !match(n) && (sizeOf(node, `${dir}/${n}`) ?? 0) >= size * fraction && (sizeOf(node, `${dir}/${n}`) ?? size) < size)
              : { name: BIG_PATH, size: sizeOf(node, BIG_PATH) ?? 0 };
            const growing = final !== undefined && final.size >= size * fraction && final.size < size && final.size !== before?.length;
            return growing ? `${final.name} itself at ${final.size} of ${size} bytes` : undefined;
          });
          const context = { fraction, killed: instant };
          expect({ ...context, killedInside: instant !== undefined }).toEqual({ ...context, killedInside: true });
          // No partial file at the final path: the older binary (or nothing) until the complete artifact.
          const atPath = node.bytes(BIG_PATH);
          expect({ ...context, atPath: atPath === undefined ? 'absent' : atPath.equals(artifact) ? 'artifact' : before?.equals(atPath) ? 'older binary' : 'partial' })
            .toEqual({ ...context, atPath: expect.stringMatching(withOld ? /^(older binary|artifact)$/ : /^(absent|artifact)$/) });
          node.clearCalls();
          expectConverges(node, 'install', { installed, original }, { ...context, rerun: 'install' });
          expect(node.bytes(BIG_PATH)!.equals(artifact)).toBe(true);
          expectConverges(node, 'uninstall', { installed, original }, { ...context, then: 'uninstalled' });
        }
      }
    } finally {
      await node.cleanup();
    }
  }, MATRIX_TIMEOUT_MS);
});
