/**
 * containerd 2.1.9 and runsc 20240729 for tests on Debian bookworm, from the Debian packages in
 * `../shared/tools/debian-newer/` beside the repository. The packages are never installed:
 * `extractDeb` unpacks one (`dpkg -x`) into a cache outside the repository, keyed by the
 * package's sha256, and `installContainerd2(root)` copies containerd 2.1.9's `containerd`,
 * `containerd-shim-runc-v2` and `ctr` into a node root's `/usr/local/bin` (first on a node's
 * `PATH`), so that the daemon `node-systemctl.sh` starts and `chroot <root> containerd ...`
 * (the agent's host containerd) both run 2.1.9, as on a node that runs it.
 *
 *   const root = createHostRoot({ nodeMounts: true });      // /usr/local is writable
 *   installContainerd2(root);
 *   root.write('/etc/containerd/config.toml', containerd2DefaultConfig());
 *   const node = nodeContainerd(root);
 *   await node.start();                                    // containerd 2.1.9
 *
 * The cache is `$NEWER_RUNTIMES_CACHE`, default `/var/tmp/cdk8s-runtimeclass-test-debs`; each
 * package is unpacked into a temp dir there and renamed into place, so parallel jest workers
 * never see half a tree.
 */
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { containerdUnavailableReason, NODE_PATH } from './containerd';
import { HostRoot } from './host-root';
import { installIntoRoot } from './node-containerd';
import { PAUSE_IMAGE } from './pause-image';
import { GVISOR_SHIM } from './sandbox-runtimes';

/** `../shared/tools/debian-newer/` beside the repository. */
export const DEBIAN_NEWER_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'debian-newer');
/** containerd 2.1.9 (Debian sid). */
export const CONTAINERD2_DEB = path.join(DEBIAN_NEWER_DIR, 'containerd_2.1.9+ds1-5_amd64.deb');
/** runsc release-20240729.0 (Debian trixie). */
export const RUNSC_2024_DEB = path.join(DEBIAN_NEWER_DIR, 'runsc_0.0~20240729.0-4+b7_amd64.deb');
/** crun 1.21 built for bookworm (needs `libyajl2`), `../shared/tools/crio/crun`. */
export const CRUN_121 = path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'crio', 'crun');

/** Where the packages are unpacked (outside the repository). */
export const NEWER_RUNTIMES_CACHE = process.env.NEWER_RUNTIMES_CACHE ?? '/var/tmp/cdk8s-runtimeclass-test-debs';

export { NODE_PATH };

/** The binaries of containerd 2.1.9 a node has, where `installContainerd2` puts them. */
export const NODE_CONTAINERD2_BINARIES = ['containerd', 'containerd-shim-runc-v2', 'ctr'] as const;

function sha256Of(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

const extracted = new Map<string, string>();

/**
 * The directory holding `deb`'s files as `dpkg -x` unpacks them (`<dir>/usr/bin/...`):
 * `<cacheDir>/<sha256 of the deb>`, made on first use (unpacked into a temp dir, then renamed).
 */
export function extractDeb(deb: string, cacheDir = NEWER_RUNTIMES_CACHE): string {
  const known = extracted.get(`${cacheDir}\0${deb}`);
  if (known) return known;
  const target = path.join(cacheDir, sha256Of(deb));
  if (!fs.existsSync(target)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const temp = fs.mkdtempSync(path.join(cacheDir, '.unpacking-'));
    try {
      execFileSync('dpkg', ['-x', deb, temp], { stdio: 'pipe' });
      fs.chmodSync(temp, 0o755);
      try {
        fs.renameSync(temp, target);
      } catch (e: any) {
        // Another worker got there first: its tree is the same.
        if (!fs.existsSync(target)) throw e;
      }
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  }
  extracted.set(`${cacheDir}\0${deb}`, target);
  return target;
}

/** containerd 2.1.9's binaries, unpacked. */
export interface Containerd2 {
  /** The unpacked package. */
  readonly dir: string;
  readonly containerd: string;
  readonly shim: string;
  readonly ctr: string;
}

/** containerd 2.1.9, unpacked from `CONTAINERD2_DEB`. */
export function containerd2(): Containerd2 {
  const dir = extractDeb(CONTAINERD2_DEB);
  const bin = (name: string) => path.join(dir, 'usr', 'bin', name);
  return { dir, containerd: bin('containerd'), shim: bin('containerd-shim-runc-v2'), ctr: bin('ctr') };
}

/** runsc release-20240729.0's binary, unpacked from `RUNSC_2024_DEB`. */
export function runsc2024(): string {
  return path.join(extractDeb(RUNSC_2024_DEB), 'usr', 'bin', 'runsc');
}

/** Why containerd 2.1.9 tests cannot run here, or `undefined`. */
export function containerd2UnavailableReason(): string | undefined {
  const base = containerdUnavailableReason();
  if (base) return base;
  if (!fs.existsSync(CONTAINERD2_DEB)) {
    return `${CONTAINERD2_DEB} is missing (see ../shared/tools/debian-newer/README.md beside the repository)`;
  }
  if (spawnSync('dpkg', ['--version'], { stdio: 'ignore' }).status !== 0) return 'dpkg is missing';
  return undefined;
}

/** Why gVisor tests on containerd 2.1.9 with runsc 20240729 cannot run here, or `undefined`. */
export function gvisor2024UnavailableReason(): string | undefined {
  const base = containerd2UnavailableReason();
  if (base) return base;
  if (!fs.existsSync(RUNSC_2024_DEB)) return `${RUNSC_2024_DEB} is missing (see ../shared/tools/debian-newer/README.md)`;
  if (!fs.existsSync(GVISOR_SHIM)) return `gVisor's containerd shim is missing at ${GVISOR_SHIM} (see ../shared/tools/gvisor/README.md)`;
  return undefined;
}

/** Why crun 1.21 cannot run here (it needs bookworm's libyajl2), or `undefined`. */
export function crun121UnavailableReason(): string | undefined {
  const base = containerd2UnavailableReason();
  if (base) return base;
  if (!fs.existsSync(CRUN_121)) return `${CRUN_121} is missing (see ../shared/tools/crio/README.md)`;
  const r = spawnSync(CRUN_121, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return `${CRUN_121} does not run (apt-get install -y libyajl2): ${(r.stderr || r.error?.message || '').trim()}`;
  return undefined;
}

/**
 * Copies containerd 2.1.9's `containerd`, `containerd-shim-runc-v2` and `ctr` into the root's
 * `/usr/local/bin` (the root needs `nodeMounts`: a writable `/usr/local`). Returns their paths
 * inside the root.
 */
export function installContainerd2(root: HostRoot): string[] {
  const c = containerd2();
  const sources: Record<typeof NODE_CONTAINERD2_BINARIES[number], string> = { 'containerd': c.containerd, 'containerd-shim-runc-v2': c.shim, 'ctr': c.ctr };
  return NODE_CONTAINERD2_BINARIES.map((name) => {
    const inRoot = `/usr/local/bin/${name}`;
    installIntoRoot(root, sources[name], inRoot);
    return inRoot;
  });
}

/** containerd 2.1.9's own `containerd config default` (version 3), unchanged. */
export function containerd2Default(): string {
  return execFileSync(containerd2().containerd, ['config', 'default'], { encoding: 'utf8' });
}

/**
 * `text` (a version 3 file laid out as `containerd config default` prints it) with the two
 * settings this machine needs, each line changed in place: `restrict_oom_score_adj = true`
 * under `io.containerd.cri.v1.runtime` (the machine denies negative `oom_score_adj`) and the
 * local pause image as `[plugins.'io.containerd.cri.v1.images'.pinned_images] sandbox`.
 * Throws unless each line is found exactly once.
 */
export function withMachineSettings(text: string, sandboxImage = PAUSE_IMAGE): string {
  const replaceOnce = (from: RegExp, to: (m: RegExpMatchArray) => string): void => {
    const matches = [...text.matchAll(new RegExp(from.source, 'gm'))];
    if (matches.length !== 1) throw new Error(`withMachineSettings: ${from} matches ${matches.length} lines`);
    text = text.replace(new RegExp(from.source, 'm'), to(matches[0]));
  };
  replaceOnce(/^(\s*)restrict_oom_score_adj = false$/, (m) => `${m[1]}restrict_oom_score_adj = true`);
  replaceOnce(/^(\s*)sandbox = '[^']*'$/, (m) => `${m[1]}sandbox = '${sandboxImage}'`);
  return text;
}

/** containerd 2.1.9's `containerd config default` with this machine's two settings (`withMachineSettings`). */
export function containerd2DefaultConfig(sandboxImage = PAUSE_IMAGE): string {
  return withMachineSettings(containerd2Default(), sandboxImage);
}
