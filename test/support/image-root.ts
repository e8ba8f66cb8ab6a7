/**
 * Container image userlands built on this machine, for running the node agent in what its image
 * gives it (see `kubelet.ts`). No image can be pulled here, so each root is a faithful copy made
 * from local parts, plus `node` (this machine's, with the shared libraries `ldd` lists, at the
 * paths `ldd` names):
 *
 * - `alpineLikeRoot()`: `node:22-alpine`'s userland apart from musl: Alpine's BusyBox at
 *   `/bin/busybox` with one symlink per applet where Alpine puts it (`/bin/sh`, `/usr/bin/flock`,
 *   `/usr/sbin/chroot` -> `/bin/busybox`), a minimal `/etc`, node at `/usr/local/bin/node` (where
 *   the node image has it) and empty mount points. Nothing from util-linux, coreutils or Debian.
 * - `busyboxOnlyRoot()`: the same root, named for what it proves (BusyBox is the only userland).
 * - `debianSlimRoot()`: `debootstrap --variant=minbase bookworm` (Debian's packages, from the
 *   mirror the machine's apt uses) plus node at `/usr/local/bin/node`, as `node:22-bookworm-slim`.
 *
 * Roots are cached under `IMAGE_ROOT_CACHE` (default `/var/cache/cdk8s-runtimeclass-test`) as
 * `<name>-<key>`, the key hashing every input, and built atomically (a temp dir in the cache,
 * renamed into place; a concurrent builder that loses the race discards its copy). They are
 * read-only inputs: run containers on an overlay of them (`kubelet.ts` does), never in them.
 */
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { removeTreeSafely, unmountAllUnder } from './mounts';

/** Alpine's BusyBox (1.36.1, static, with `flock`): `../shared/tools/busybox/busybox` beside the repository. */
export const BUSYBOX = process.env.BUSYBOX
  ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'busybox', 'busybox');

/** Where built roots are kept between runs. */
export const IMAGE_ROOT_CACHE = process.env.IMAGE_ROOT_CACHE ?? '/var/cache/cdk8s-runtimeclass-test';

/** Bump when the layout of a root changes: old cache entries are then ignored. */
const LAYOUT_VERSION = 2;

/** A built image userland. */
export interface ImageRoot {
  /** `alpine-like` or `debian-slim`. */
  readonly name: string;
  /** The root directory (read-only input: never run a container in it directly). */
  readonly path: string;
  /** The image's own environment (its `ENV` lines), e.g. `PATH`. */
  readonly env: { readonly [name: string]: string };
  /** Where `node` is inside the root. */
  readonly nodePath: string;
}

/** The image environment of both node images (`docker inspect node:22-alpine`, without the version variables). */
const NODE_IMAGE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const NODE_IN_IMAGE = '/usr/local/bin/node';

/** Why the BusyBox roots cannot be built here, or undefined. */
export function busyboxUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!fs.existsSync(BUSYBOX)) return `Alpine's BusyBox is missing at ${BUSYBOX} (see ../shared/tools/busybox/README.md beside the repository, or set BUSYBOX)`;
  if (!onPath('ldd')) return 'ldd is missing (to copy node\'s shared libraries)';
  return undefined;
}

/** Why the Debian slim root cannot be built here, or undefined. */
export function debianSlimUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!fs.existsSync('/usr/sbin/debootstrap')) return 'debootstrap is missing (apt-get install debootstrap)';
  if (!onPath('ldd')) return 'ldd is missing (to copy node\'s shared libraries)';
  return undefined;
}


/** The node binary to put in roots, and the shared libraries it loads (absolute paths, as `ldd` prints them). */
export function nodeWithLibraries(node = fs.realpathSync(process.execPath)): { binary: string; libraries: string[] } {
  const out = execFileSync('ldd', [node], { encoding: 'utf8' });
  const libraries: string[] = [];
  for (const line of out.split('\n')) {
    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m) libraries.push(m[1]);
  }
  if (!libraries.some((l) => l.includes('ld-linux'))) throw new Error(`ldd ${node}: no dynamic loader found in:\n${out}`);
  return { binary: node, libraries };
}

/** The `node:22-alpine` userland apart from musl: Alpine's BusyBox and node only. */
export function alpineLikeRoot(): ImageRoot {
  assertBuildable(busyboxUnavailableReason);
  const node = nodeWithLibraries();
  const key = hashOf([`layout ${LAYOUT_VERSION}`, fileHash(BUSYBOX), nodeKey(node)]);
  const root = cached('alpine-like', key, (dir) => {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'lib', 'usr/lib', 'etc', 'root', 'home/node',
      'var/cache', 'var/lib', 'var/log', 'var/tmp', 'mnt', 'opt', 'srv', 'media', 'run', 'proc', 'sys', 'dev', 'host']) {
      fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    }
    fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
    fs.symlinkSync('/run', path.join(dir, 'var/run'));
    fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
    fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
    // One symlink per applet at the path BusyBox itself lists (Alpine's layout: /bin/sh,
    // /usr/bin/flock, /usr/sbin/chroot, ...), as `busybox --install -s` makes them.
    for (const applet of execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      const link = path.join(dir, applet);
      // `linuxrc` (an initramfs entry point) is not in Alpine's images.
      if (applet === 'bin/busybox' || applet === 'linuxrc' || fs.existsSync(link)) continue;
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync('/bin/busybox', link);
    }
    writeMinimalEtc(dir);
    installNode(dir, node);
  });
  return { name: 'alpine-like', path: root, env: NODE_IMAGE_ENV, nodePath: NODE_IN_IMAGE };
}

/** A root whose only userland is BusyBox (no util-linux, coreutils or Debian tool): the alpine-like root. */
export function busyboxOnlyRoot(): ImageRoot {
  return alpineLikeRoot();
}

/** The Debian mirror the machine's apt uses (deb822 `URIs:` or a `deb` line), for debootstrap. */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((f) => path.join('/etc/apt/sources.list.d', f))];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /^\s*URIs:\s*(\S+)/.exec(line) ?? /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line);
      if (m && !m[1].includes('security')) return m[1].replace(/\/+$/, '');
    }
  }
  return 'http://deb.debian.org/debian';
}

/**
 * `node:22-bookworm-slim`'s userland: `debootstrap --variant=minbase bookworm` plus node at
 * `/usr/local/bin/node`. Slow the first time (minutes: it downloads and unpacks Debian's
 * packages); cached afterwards.
 */
export function debianSlimRoot(): ImageRoot {
  assertBuildable(debianSlimUnavailableReason);
  const node = nodeWithLibraries();
  const mirror = debianMirror();
  const key = hashOf([`layout ${LAYOUT_VERSION}`, 'debootstrap --variant=minbase bookworm', mirror, nodeKey(node)]);
  const root = cached('debian-slim', key, (dir) => {
    const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', dir, mirror], { encoding: 'utf8', timeout: 1_200_000 });
    if (r.status !== 0) {
      throw new Error(`debootstrap --variant=minbase bookworm ${dir} ${mirror} failed (${r.status ?? r.error?.message}):\n${(r.stdout ?? '').slice(-2000)}${(r.stderr ?? '').slice(-2000)}`);
    }
    // The apt caches debootstrap leaves, as the slim image removes them.
    for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const e of listDir(path.join(dir, d))) if (e.endsWith('.deb') || e.endsWith('_Packages')) fs.rmSync(path.join(dir, d, e), { force: true });
    }
    fs.mkdirSync(path.join(dir, 'host'), { recursive: true });
    installNode(dir, node);
  });
  return { name: 'debian-slim', path: root, env: NODE_IMAGE_ENV, nodePath: NODE_IN_IMAGE };
}

/** Copies node to /usr/local/bin/node and each library `ldd` lists to its own path, unless the root has it. */
function installNode(dir: string, node: { binary: string; libraries: string[] }): void {
  const target = path.join(dir, NODE_IN_IMAGE);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(node.binary, target);
  fs.chmodSync(target, 0o755);
  for (const lib of node.libraries) {
    const inRoot = path.join(dir, lib);
    if (existsInRoot(dir, lib)) continue;
    fs.mkdirSync(path.dirname(inRoot), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), inRoot);
    fs.chmodSync(inRoot, 0o755);
  }
  const r = spawnSync('chroot', [dir, NODE_IN_IMAGE, '-e', 'process.stdout.write(process.version)'], { encoding: 'utf8' });
  if (r.stdout !== process.version) throw new Error(`node does not run in the root ${dir}: ${r.stderr || r.error?.message}`);
}

/** Whether `p` (absolute) exists inside `dir`, following symlinks inside it (Debian's /lib -> usr/lib). */
function existsInRoot(dir: string, p: string): boolean {
  let current = dir;
  const parts = p.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    let next = path.join(current, parts[i]);
    for (let hops = 0; hops < 40; hops++) {
      let st: fs.Stats;
      try {
        st = fs.lstatSync(next);
      } catch {
        return false;
      }
      if (!st.isSymbolicLink()) break;
      const link = fs.readlinkSync(next);
      next = link.startsWith('/') ? path.join(dir, link) : path.join(path.dirname(next), link);
    }
    current = next;
  }
  return true;
}

function writeMinimalEtc(dir: string): void {
  const etc = (name: string, text: string) => fs.writeFileSync(path.join(dir, 'etc', name), text);
  etc('passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nnode:x:1000:1000:Linux User,,,:/home/node:/bin/sh\n');
  etc('group', 'root:x:0:root\nnogroup:x:65533:\nnobody:x:65534:\nnode:x:1000:node\n');
  etc('hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  etc('resolv.conf', '');
  etc('hostname', 'localhost\n');
  fs.chownSync(path.join(dir, 'home/node'), 1000, 1000);
}

/** The cached root `<name>-<key>`, built by `build(tempDir)` if missing. */
function cached(name: string, key: string, build: (dir: string) => void): string {
  const final = path.join(IMAGE_ROOT_CACHE, `${name}-${key}`);
  if (fs.existsSync(final)) return final;
  fs.mkdirSync(IMAGE_ROOT_CACHE, { recursive: true, mode: 0o755 });
  const temp = fs.mkdtempSync(path.join(IMAGE_ROOT_CACHE, `.building-${name}-`));
  fs.chmodSync(temp, 0o755); // a root directory, as `/` is
  try {
    build(temp);
    try {
      fs.renameSync(temp, final);
    } catch (e: any) {
      // Another process built it first: use theirs.
      if (!fs.existsSync(final)) throw e;
      discard(temp);
    }
  } catch (e) {
    discard(temp);
    throw e;
  }
  return final;
}

function discard(dir: string): void {
  if (!fs.existsSync(dir)) return;
  unmountAllUnder(dir); // debootstrap mounts proc and sys inside while it runs
  removeTreeSafely(dir);
}

function assertBuildable(reason: () => string | undefined): void {
  const why = reason();
  if (why) throw new Error(`cannot build the image root: ${why}`);
}

function nodeKey(node: { binary: string; libraries: string[] }): string {
  const st = fs.statSync(node.binary);
  return `node ${process.version} ${node.binary} ${st.size} ${st.mtimeMs} ${node.libraries.join(' ')}`;
}

function fileHash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function hashOf(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
