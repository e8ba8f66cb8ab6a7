/**
 * A local "pause" (sandbox) image for the CRI plugin, built without any registry.
 *
 * `buildPauseImageTar()` writes an OCI image layout archive holding one layer with the static
 * busybox binary (Debian's `busybox-static`) and the entrypoint `busybox sleep 2147483647`.
 * `importImage()` loads it into a test daemon's `k8s.io` namespace under a given name, which
 * is what the CRI plugin's `sandbox_image` must name.
 *
 * The archive is deterministic: the same busybox binary gives byte-identical tars.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import type { ContainerdDaemon } from './containerd';

const execFileAsync = promisify(execFile);

/** The image name `testCriConfig()` uses as `sandbox_image` unless told otherwise. */
export const PAUSE_IMAGE = 'localhost/cdk8s-runtimeclass/pause:test';

/** The static busybox binary put into the image. */
export const BUSYBOX_PATH = '/bin/busybox';

/** Options of `buildPauseImageTar`. */
export interface PauseImageOptions {
  /** Image reference stored in the archive's `index.json` annotations. Default: `PAUSE_IMAGE`. */
  readonly name?: string;
  /** Static binary to put at `/bin/busybox`. Default: `/bin/busybox`. */
  readonly busybox?: string;
  /** File name of the archive inside `dir`. Default: `pause.oci.tar`. */
  readonly fileName?: string;
  /** The image's entrypoint. Default: `["/bin/busybox","sleep","2147483647"]`. */
  readonly entrypoint?: string[];
}

/**
 * Build an OCI image layout tar in `dir` and return its path.
 *
 * One uncompressed layer holds `/bin/busybox` (mode 0755); the image config's entrypoint is
 * `["/bin/busybox","sleep","2147483647"]`; `index.json` names the image with both
 * `org.opencontainers.image.ref.name` and `io.containerd.image.name`.
 */
export function buildPauseImageTar(dir: string, opts: PauseImageOptions = {}): string {
  const name = opts.name ?? PAUSE_IMAGE;
  const busybox = opts.busybox ?? BUSYBOX_PATH;
  if (!fs.existsSync(busybox)) {
    throw new Error(`${busybox} not found: install Debian's busybox-static (apt-get install -y busybox-static)`);
  }
  const arch = ociArch(process.arch);

  const layer = tarArchive([
    { name: 'bin/', type: 'dir', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: fs.readFileSync(busybox) },
  ]);
  const layerDigest = sha256(layer);

  const config = jsonBytes({
    architecture: arch,
    os: 'linux',
    config: {
      Entrypoint: opts.entrypoint ?? ['/bin/busybox', 'sleep', '2147483647'],
      Env: ['PATH=/bin'],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
    history: [{ created_by: 'cdk8s-runtimeclass test harness: /bin/busybox from busybox-static' }],
  });
  const configDigest = sha256(config);

  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  });
  const manifestDigest = sha256(manifest);

  const index = jsonBytes({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifestDigest,
      size: manifest.length,
      platform: { architecture: arch, os: 'linux' },
      annotations: {
        'io.containerd.image.name': name,
        'org.opencontainers.image.ref.name': name,
      },
    }],
  });

  const blob = (digest: string, data: Buffer): TarEntry =>
    ({ name: `blobs/sha256/${digest.slice('sha256:'.length)}`, type: 'file', mode: 0o644, data });
  const archive = tarArchive([
    { name: 'blobs/', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256/', type: 'dir', mode: 0o755 },
    blob(configDigest, config),
    blob(layerDigest, layer),
    blob(manifestDigest, manifest),
    { name: 'index.json', type: 'file', mode: 0o644, data: index },
    { name: 'oci-layout', type: 'file', mode: 0o644, data: jsonBytes({ imageLayoutVersion: '1.0.0' }) },
  ]);

  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, opts.fileName ?? 'pause.oci.tar');
  fs.writeFileSync(out, archive);
  return out;
}

/** Options of `importImage`. */
export interface ImportImageOptions {
  /** containerd namespace. Default: `k8s.io` (the CRI plugin's). */
  readonly namespace?: string;
  /** Snapshotter to unpack into. Default: the daemon's CRI snapshotter (`daemon.snapshotter`). */
  readonly snapshotter?: string;
}

/**
 * Import an image archive into `daemon` and make sure it is known as `name` (tagging it if the
 * archive carried another name). Throws with ctr's output if the import fails.
 */
export async function importImage(
  daemon: Pick<ContainerdDaemon, 'address' | 'snapshotter'>, tarPath: string, name: string, opts: ImportImageOptions = {},
): Promise<void> {
  const ns = opts.namespace ?? 'k8s.io';
  const snapshotter = opts.snapshotter ?? daemon.snapshotter;
  const ctr = async (...args: string[]) => {
    try {
      return (await execFileAsync('ctr', ['--address', daemon.address, '-n', ns, ...args], { timeout: 60_000 })).stdout;
    } catch (e: any) {
      throw new Error(`ctr ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  };
  const importArgs = ['images', 'import'];
  if (snapshotter) importArgs.push('--snapshotter', snapshotter);
  await ctr(...importArgs, tarPath);
  const names = (await ctr('images', 'ls', '-q')).split('\n').map(s => s.trim()).filter(Boolean);
  if (names.includes(name)) return;
  // The archive was named differently: find what was imported from it and tag it.
  const imported = archiveImageName(tarPath);
  if (!imported || !names.includes(imported)) {
    throw new Error(`importing ${tarPath} did not create ${name}; images in ${ns}: ${names.join(', ') || '(none)'}`);
  }
  await ctr('images', 'tag', '--force', imported, name);
}

/** The `io.containerd.image.name` (or ref name) of the first manifest in an OCI archive. */
function archiveImageName(tarPath: string): string | undefined {
  const entries = readTar(fs.readFileSync(tarPath));
  const index = entries.get('index.json');
  if (!index) return undefined;
  const ann = JSON.parse(index.toString('utf8')).manifests?.[0]?.annotations ?? {};
  return ann['io.containerd.image.name'] ?? ann['org.opencontainers.image.ref.name'];
}

function ociArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// ---------------------------------------------------------------------------
// A minimal deterministic ustar writer/reader (uid/gid 0, mtime 0, names < 100 bytes).

interface TarEntry {
  readonly name: string;
  readonly type: 'file' | 'dir';
  readonly mode: number;
  readonly data?: Buffer;
}

function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(tarHeader(e.name, e.type, e.mode, data.length));
    if (data.length > 0) {
      parts.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

function tarHeader(name: string, type: 'file' | 'dir', mode: number, size: number): Buffer {
  if (Buffer.byteLength(name) >= 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(512);
  const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime
  put('        ', 148, 8); // checksum placeholder: spaces
  put(type === 'dir' ? '5' : '0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** Read a ustar archive (regular files only) into a map of name -> content. */
export function readTar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  while (off + 512 <= archive.length) {
    const h = archive.subarray(off, off + 512);
    if (h.every(b => b === 0)) break;
    const str = (o: number, l: number) => h.toString('ascii', o, o + l).replace(/\0.*$/s, '');
    const prefix = str(345, 155);
    const name = (prefix ? `${prefix}/` : '') + str(0, 100);
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1) || '0';
    off += 512;
    if (type === '0') files.set(name, Buffer.from(archive.subarray(off, off + size)));
    off += Math.ceil(size / 512) * 512;
  }
  return files;
}
