/**
 * A fake host `/` for running the host's binaries with `chroot`, the way the node-setup
 * installer reaches the host through `HOST_ROOT`.
 *
 *   const root = createHostRoot();
 *   try {
 *     root.write('etc/containerd/config.toml', 'version = 2\n');
 *     execFileSync('chroot', [root.path, 'containerd', '--config', '/etc/containerd/config.toml', 'config', 'dump']);
 *   } finally {
 *     root.cleanup();
 *   }
 *
 * Layout: `/usr` is bind-mounted read-only; `/bin`, `/sbin`, `/lib`, `/lib64` (and `/lib32`,
 * `/libx32` where present) are recreated as the same symlinks when the host has them as
 * symlinks (Debian 12: `/bin -> usr/bin`), and bind-mounted read-only otherwise. `etc/`, `opt/`,
 * `var/` (with `var/run -> ../run`, `var/lib/`), `run/`, `tmp/` (mode 1777) and `dev/` are empty,
 * writable directories of the temp root; `dev/null`, `dev/zero`, `dev/random` and `dev/urandom`
 * are bind mounts of the host's devices. Nothing else (no `/proc`, no `/sys`).
 *
 * With `nodeMounts: true` the root also has what a node's containerd and its runtimes need when
 * run with `chroot` (see `node-containerd.ts`): a fresh `proc` on `/proc`; the host's `/sys` and
 * `/dev` bound recursively (made private first, so nothing done inside propagates back), with
 * the cgroup hierarchies of `/sys/fs/cgroup` bound onto a tmpfs of the root's own, except
 * `/sys/fs/cgroup/unified` (crun refuses the hybrid layout: `cgroups in hybrid mode not supported`); a writable tmpfs on `/usr/local`, where node
 * software installs (`/usr/local/bin/containerd-shim-runsc-v1`); and `/etc/hosts`,
 * `/etc/hostname` and an empty `/etc/resolv.conf` (the CRI plugin copies them into sandboxes).
 *
 * Needs root (mount, chroot). Every host root is its own `mkdtemp` directory, so parallel jest
 * workers do not interfere. `cleanup()` is idempotent and also runs at process exit for roots a
 * test forgot.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canonicalDir, mountPointsUnder, removeTreeSafely, unmountAllUnder } from './mounts';

/** A temp directory laid out as a host `/`. */
export interface HostRoot {
  /** Absolute path of the root (use as `HOST_ROOT`, or `chroot` into it). */
  readonly path: string;
  /** Absolute path of `relPath` inside the root (`relPath` may start with `/`; `..` cannot leave the root). */
  resolve(relPath: string): string;
  /** Write a file (creating parent directories); returns its absolute path. */
  write(relPath: string, content: string | Buffer, mode?: number): string;
  /** Read a file as UTF-8. */
  read(relPath: string): string;
  /** Whether the path exists inside the root (a dangling symlink counts). */
  exists(relPath: string): boolean;
  /** Mount points currently under the root (deepest first). */
  mounts(): string[];
  /** Unmount everything under the root, then delete it. Idempotent; throws if a mount stays. */
  cleanup(): void;
}

/** Options of `createHostRoot`. */
export interface HostRootOptions {
  /** Parent directory of the temp root. Default: `os.tmpdir()`. */
  readonly parentDir?: string;
  /** Mount `/proc`, `/sys` (without the cgroup v2 `unified` mount), `/dev` and a writable `/usr/local`. Default false. */
  readonly nodeMounts?: boolean;
}

/** Directories taken from the host: mounted read-only, or recreated as the host's symlink. */
const HOST_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32'];
/** Writable, empty directories of the fake root. */
const WRITABLE_DIRS = ['etc', 'opt', 'var', 'var/lib', 'var/log', 'run', 'tmp', 'dev', 'root', 'home'];
/** Character devices bound from the host. */
const DEVICES = ['null', 'zero', 'random', 'urandom'];

const live = new Set<HostRoot>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const root of [...live]) {
      try {
        root.cleanup();
      } catch {
        // best effort at exit
      }
    }
  });
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (e: any) {
    const stderr = e.stderr ? String(e.stderr).trim() : '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr || e.message}`);
  }
}

function bindReadOnly(source: string, target: string): void {
  run('mount', ['--bind', source, target]);
  // A bind mount ignores `ro` on the first call with older util-linux: remount to be sure.
  run('mount', ['-o', 'remount,bind,ro', target]);
}

/** The node's CNI network config, inside every host root. */
export const TEST_CNI_CONFLIST = '/etc/cni/net.d/10-test-pods.conflist';
/** Where Debian's `containernetworking-plugins` puts the CNI plugins. */
export const CNI_PLUGIN_DIR = '/usr/lib/cni';

/** A bridge network with host-local addresses: each node has its own network namespace, so one subnet serves all. */
const TEST_CNI_NETWORK = {
  cniVersion: '1.0.0',
  name: 'test-pods',
  plugins: [
    { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }] } },
    { type: 'loopback' },
  ],
};

/** Create a fresh fake host root. Throws (after undoing what it mounted) if it cannot. */
export function createHostRoot(opts: HostRootOptions = {}): HostRoot {
  const parent = opts.parentDir ?? os.tmpdir();
  const rootPath = canonicalDir(fs.mkdtempSync(path.join(parent, 'hostroot-')));
  fs.chmodSync(rootPath, 0o755); // like a real `/` (mkdtemp makes it 0700)
  let cleaned = false;

  const resolve = (relPath: string): string => {
    const abs = path.resolve(rootPath, `.${path.posix.sep}${relPath.replace(/^\/+/, '')}`);
    if (abs !== rootPath && !abs.startsWith(`${rootPath}/`)) {
      throw new Error(`${relPath} is outside the host root`);
    }
    return abs;
  };

  const root: HostRoot = {
    path: rootPath,
    resolve,
    write(relPath, content, mode) {
      const abs = resolve(relPath);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
      if (mode !== undefined) fs.chmodSync(abs, mode);
      return abs;
    },
    read(relPath) {
      return fs.readFileSync(resolve(relPath), 'utf8');
    },
    exists(relPath) {
      try {
        fs.lstatSync(resolve(relPath));
        return true;
      } catch {
        return false;
      }
    },
    mounts() {
      return mountPointsUnder(rootPath);
    },
    cleanup() {
      if (cleaned) return;
      unmountAllUnder(rootPath); // throws, keeping the files, if something stays mounted
      removeTreeSafely(rootPath);
      cleaned = true;
      live.delete(root);
    },
  };

  live.add(root);
  installExitHook();

  try {
    for (const name of HOST_DIRS) {
      const hostPath = `/${name}`;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(hostPath);
      } catch {
        continue; // not on this host
      }
      const target = path.join(rootPath, name);
      if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(hostPath), target);
      } else if (st.isDirectory()) {
        fs.mkdirSync(target);
        bindReadOnly(hostPath, target);
      }
    }
    for (const dir of WRITABLE_DIRS) {
      fs.mkdirSync(path.join(rootPath, dir), { recursive: true, mode: 0o755 });
    }
    fs.chmodSync(path.join(rootPath, 'tmp'), 0o1777);
    fs.symlinkSync('../run', path.join(rootPath, 'var', 'run'));
    // The node's pod network: a CNI bridge config for the plugins Debian installs in /usr/lib/cni.
    fs.mkdirSync(path.join(rootPath, 'etc', 'cni', 'net.d'), { recursive: true });
    fs.writeFileSync(path.join(rootPath, TEST_CNI_CONFLIST), `${JSON.stringify(TEST_CNI_NETWORK, undefined, 2)}\n`);
    // ... and its plugins where containerd looks by default (Debian installs them in /usr/lib/cni).
    fs.mkdirSync(path.join(rootPath, 'opt', 'cni'), { recursive: true });
    fs.symlinkSync(CNI_PLUGIN_DIR, path.join(rootPath, 'opt', 'cni', 'bin'));
    if (opts.nodeMounts) {
      mountNodeFileSystems(rootPath);
    } else {
      for (const dev of DEVICES) {
        const target = path.join(rootPath, 'dev', dev);
        fs.writeFileSync(target, '');
        run('mount', ['--bind', `/dev/${dev}`, target]);
      }
    }
  } catch (e) {
    try {
      root.cleanup();
    } catch {
      // report the original failure
    }
    throw e;
  }
  return root;
}

/** The cgroup v2 mount of a hybrid-cgroup host, hidden in node roots. */
export const UNIFIED_CGROUP_MOUNT = '/sys/fs/cgroup/unified';

/** `/proc`, `/sys`, `/dev` and a writable `/usr/local` in `rootPath`, as on a node. */
function mountNodeFileSystems(rootPath: string): void {
  const inRoot = (p: string) => path.join(rootPath, p);
  fs.mkdirSync(inRoot('proc'));
  run('mount', ['-t', 'proc', 'proc', inRoot('proc')]);
  for (const dir of ['sys', 'dev']) {
    fs.mkdirSync(inRoot(dir), { recursive: true });
    run('mount', ['--rbind', `/${dir}`, inRoot(dir)]);
    // Before anything is unmounted inside: on a host whose mounts are shared, an unmount in the
    // copy would otherwise unmount the host's own mount too.
    run('mount', ['--make-rprivate', inRoot(dir)]);
  }
  // The cgroup hierarchies on a tmpfs of the root's own, without the v2 one: runtimes that write
  // below an unmounted `unified` then write into this tmpfs, not into the host's.
  run('umount', ['-R', inRoot('sys/fs/cgroup')]);
  run('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'cgroup', inRoot('sys/fs/cgroup')]);
  for (const entry of fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
    const hostPath = path.join('/sys/fs/cgroup', entry.name);
    const target = inRoot(path.join('sys/fs/cgroup', entry.name));
    if (entry.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(hostPath), target);
    } else if (entry.isDirectory()) {
      fs.mkdirSync(target);
      if (hostPath !== UNIFIED_CGROUP_MOUNT && mountPointsUnder(hostPath).includes(hostPath)) run('mount', ['--bind', hostPath, target]);
    }
  }
  // Files every node has; the CRI plugin copies them into each sandbox.
  fs.writeFileSync(inRoot('etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  fs.writeFileSync(inRoot('etc/hostname'), 'node-1\n');
  fs.writeFileSync(inRoot('etc/resolv.conf'), '');
  if (fs.existsSync('/usr/local')) {
    run('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', inRoot('usr/local')]);
    for (const dir of ['bin', 'sbin', 'lib', 'share', 'etc']) fs.mkdirSync(inRoot(`usr/local/${dir}`));
  }
}
