import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Refusal } from './log';
import { step } from './steps';

/** A file, link or directory as found on the host (no link followed). */
export type Entry =
  | { readonly type: 'absent' }
  | { readonly type: 'file'; readonly size: number; readonly mode: number; readonly uid: number; readonly gid: number }
  | { readonly type: 'link'; readonly target: string }
  | { readonly type: 'dir' }
  | { readonly type: 'other' };

/** A file's new content: bytes, or a file in the pod to copy (large artifacts are never read whole). */
export type FileData = Buffer | { readonly localPath: string };

/** Bytes read at a time when comparing or copying large files. */
export const CHUNK = 65536;

/** Symbolic links followed while resolving one path, at most (as Linux' MAXSYMLINKS). */
const MAX_LINKS = 40;
/** Names of our temporary files: `.<name>.cdk8s-tmp-<random>`, next to the file they replace. */
const TEMP_MARK = '.cdk8s-tmp-';
/* eslint-disable no-bitwise */
/** open(2) flags: a new file for writing, never one that is there, never through a link in the last component. */
export const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
/** open(2) flags: append, creating the file if needed, never through a link in the last component. */
export const APPEND_NO_FOLLOW = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;
/** open(2) flags: read, never through a link in the last component. */
export const READ_NO_FOLLOW = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;
/* eslint-enable no-bitwise */

/** A recorded host path, as far as links are concerned (see `HostFs.guard`). */
export interface GuardedRecord {
  readonly path: string;
  readonly kind: string;
  readonly tree?: string;
}

/**
 * The host's files, reached under HOST_ROOT. Every host path is resolved component by
 * component inside the root: a symbolic link is followed as the host would follow it, with
 * absolute targets taken from the host's `/`, and `..` never leaves the root. Replacing a file
 * writes a temporary file in the same directory, flushes it, renames it over the target and
 * flushes the directory, so a reader (or a crash) sees the old bytes or the new ones.
 */
export class HostFs {
  /** Directories this setup recorded as its own (created by it, or a tree destination): never a link. */
  private ownDirs = new Set<string>();
  /** Tree destinations: no link at or under them is followed. */
  private trees: string[] = [];

  public constructor(public readonly root: string) {}

  /**
   * Tells which host paths this setup recorded as its own directories (`dir` records and tree
   * destinations). A link found at one of them, or followed inside a tree, is refused by every
   * later `resolve`: the agent never follows a link it did not create.
   */
  public guard(records: readonly GuardedRecord[]): void {
    const trees = new Set(records.filter((r) => r.tree !== undefined).map((r) => r.tree!));
    this.trees = [...trees];
    this.ownDirs = new Set([...records.filter((r) => r.kind === 'dir').map((r) => r.path), ...trees]);
  }

  /**
   * The path inside HOST_ROOT that `hostPath` names on the host. Links in every component but
   * the last are followed; the last is followed only with `followLast`. A link at a directory
   * this setup recorded as its own (or inside a tree it owns) is refused, never followed.
   */
  public resolve(hostPath: string, followLast: boolean): string {
    this.refuseForeignLinks(hostPath);
    return path.join(this.root, ...this.resolveParts(hostPath, followLast));
  }

  /** The host path (from the host's `/`) that `hostPath` resolves to. */
  public resolveHostPath(hostPath: string, followLast: boolean): string {
    this.refuseForeignLinks(hostPath);
    return `/${this.resolveParts(hostPath, followLast).join('/')}`;
  }

  /**
   * Refuses when a component of `hostPath` that this setup recorded as its own directory is a
   * link, or when `hostPath` passes through a link inside a tree this setup owns.
   */
  private refuseForeignLinks(hostPath: string): void {
    if (this.ownDirs.size === 0) return;
    const parts: string[] = [];
    for (const part of hostPath.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') parts.pop();
      else parts.push(part);
    }
    for (let i = 1; i <= parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join('/')}`;
      const own = this.ownDirs.has(prefix);
      const tree = this.trees.find((t) => prefix.startsWith(`${t}/`));
      // A file or link of a tree at the end of the path is an entry of ours, replaced but never followed.
      if (!own && (tree === undefined || i === parts.length)) continue;
      const found = entryAt(path.join(this.root, ...this.resolveParts(path.posix.dirname(prefix), true), parts[i - 1]));
      if (found.type !== 'link') continue;
      const why = own ? 'this node setup recorded it as a directory of its own' : `it is inside ${tree}, a directory artifact this node setup owns`;
      throw new Refusal(`refusing to use ${prefix}: ${why}, and it is now a symbolic link (to ${found.target}). ${linkFix(prefix)}`);
    }
  }

  private resolveParts(hostPath: string, followLast: boolean): string[] {
    if (!hostPath.startsWith('/')) throw new Error(`host path "${hostPath}" is not absolute`);
    let pending = hostPath.split('/').filter((p) => p !== '' && p !== '.');
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const candidate = [...done, part];
      const isLast = pending.length === 0;
      const target = isLast && !followLast ? undefined : readLinkOrUndefined(path.join(this.root, ...candidate));
      if (target === undefined) {
        done.push(part);
        continue;
      }
      if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links resolving ${hostPath} on the host`);
      const targetParts = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...targetParts, ...pending];
    }
    return done;
  }

  /** What is at `hostPath` (links in the last component are not followed unless asked). */
  public entry(hostPath: string, followLast = false): Entry {
    return entryAt(this.resolve(hostPath, followLast));
  }

  /** The bytes of a regular file at `hostPath` (links followed), or undefined. */
  public read(hostPath: string): Buffer | undefined {
    const real = this.resolve(hostPath, true);
    return entryAt(real).type === 'file' ? fs.readFileSync(real) : undefined;
  }

  public isDirectory(hostPath: string): boolean {
    return this.entry(hostPath, true).type === 'dir';
  }

  /** The host path of `hostDir` (links resolved) or of its nearest ancestor that exists. */
  public nearestDirectory(hostDir: string): string {
    let dir = this.resolveHostPath(hostDir, true);
    while (dir !== '/' && !this.isDirectory(dir)) dir = path.posix.dirname(dir);
    return dir;
  }

  /** Names in a host directory (empty when it is not one). */
  public list(hostDir: string): string[] {
    try {
      return fs.readdirSync(this.resolve(hostDir, true)).sort();
    } catch {
      return [];
    }
  }

  /** The directories of `hostDir` (itself included) that do not exist yet, parents first. */
  public missingDirectories(hostDir: string): string[] {
    const missing: string[] = [];
    const parts = hostDir.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const hostPath = `/${parts.slice(0, i).join('/')}`;
      if (entryAt(this.resolve(hostPath, true)).type === 'absent') missing.push(hostPath);
    }
    return missing;
  }

  /**
   * Creates the missing directories of `hostDir` (links followed), one by one, returning the
   * host paths it created (parents first).
   */
  public makeDirectories(hostDir: string): string[] {
    const created: string[] = [];
    const parts = hostDir.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const hostPath = `/${parts.slice(0, i).join('/')}`;
      const real = this.resolve(hostPath, true);
      const found = entryAt(real);
      if (found.type === 'dir') continue;
      if (found.type !== 'absent') throw new Error(`${hostPath} exists on the host and is not a directory`);
      step(`mkdir:${hostPath}`);
      makeDirectory(real, 0o755);
      created.push(hostPath);
    }
    return created;
  }

  /**
   * Replaces what is at `hostPath` with a regular file holding `bytes`, atomically. With
   * `followLast`, a link at `hostPath` is kept and its target is replaced (a symlinked runtime
   * config); otherwise the link itself is replaced (an artifact never writes through a link).
   * The mode (and owner) of the file it replaces is kept unless `mode` is given.
   */
  public writeFile(hostPath: string, data: FileData, options: { followLast: boolean; mode?: number }): void {
    const real = this.resolve(hostPath, options.followLast);
    const existing = entryAt(real);
    const mode = options.mode ?? (existing.type === 'file' ? existing.mode : 0o644);
    this.replace(hostPath, real, (temp) => {
      if (!Buffer.isBuffer(data)) fs.copyFileSync(data.localPath, temp, fs.constants.COPYFILE_EXCL);
      const fd = Buffer.isBuffer(data) ? fs.openSync(temp, 'wx', 0o600) : fs.openSync(temp, 'r+');
      try {
        if (Buffer.isBuffer(data)) fs.writeSync(fd, data);
        if (existing.type === 'file') fs.fchownSync(fd, existing.uid, existing.gid);
        fs.fchmodSync(fd, mode);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /**
   * Creates a new regular file at `hostPath` holding `bytes` (O_CREAT|O_EXCL|O_NOFOLLOW: nothing
   * that is already there, a link included, is reused or followed), with exactly `mode` and,
   * when given, `owner`. The mode is set before any byte is written.
   */
  public createFile(hostPath: string, bytes: Buffer, options: { mode: number; owner?: { uid: number; gid: number } }): void {
    const real = this.resolve(hostPath, false);
    const fd = fs.openSync(real, CREATE_NEW, 0o600);
    try {
      if (options.owner) fs.fchownSync(fd, options.owner.uid, options.owner.gid);
      fs.fchmodSync(fd, options.mode);
      fs.writeSync(fd, bytes);
    } catch (e) {
      fs.rmSync(real, { force: true }); // ours: created above
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Replaces what is at `hostPath` (never followed) with a symbolic link to `target`, atomically. */
  public writeLink(hostPath: string, target: string): void {
    const real = this.resolve(hostPath, false);
    this.replace(hostPath, real, (temp) => fs.symlinkSync(target, temp));
  }

  private replace(hostPath: string, real: string, create: (temp: string) => void): void {
    const dir = path.dirname(real);
    const temp = path.join(dir, `.${path.basename(real)}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    step(`write:${hostPath}`);
    try {
      create(temp);
      step(`rename:${hostPath}`);
      fs.renameSync(temp, real);
    } catch (e) {
      fs.rmSync(temp, { force: true });
      throw e;
    }
    syncDirectory(dir);
  }

  /** Removes the file or link at `hostPath` (links in the last component not followed). */
  public remove(hostPath: string, followLast = false): void {
    const real = this.resolve(hostPath, followLast);
    if (entryAt(real).type === 'absent') return;
    step(`remove:${hostPath}`);
    fs.rmSync(real, { force: true });
    syncDirectory(path.dirname(real));
  }

  /** Removes an empty directory; false when it is not empty (or not there). */
  public removeEmptyDirectory(hostPath: string): boolean {
    const real = this.resolve(hostPath, false);
    if (entryAt(real).type !== 'dir') return false;
    try {
      step(`rmdir:${hostPath}`);
      fs.rmdirSync(real);
      syncDirectory(path.dirname(real));
      return true;
    } catch {
      return false;
    }
  }

  /** Removes temporary files a killed run left in `hostDir` (ours only: their names carry our mark). */
  public removeStaleTemps(hostDir: string): void {
    let real: string;
    let names: string[];
    try {
      real = this.resolve(hostDir, true);
      names = fs.readdirSync(real);
    } catch {
      return;
    }
    for (const name of names.filter(isOurTemp)) {
      step(`remove-temp:${hostDir}/${name}`);
      fs.rmSync(path.join(real, name), { force: true });
    }
  }
}

function readLinkOrUndefined(real: string): string | undefined {
  try {
    return fs.readlinkSync(real);
  } catch {
    return undefined;
  }
}

/** What is at a real path, links not followed. */
export function entryAt(real: string): Entry {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(real);
  } catch (e: any) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { type: 'absent' };
    throw e;
  }
  if (stat.isSymbolicLink()) return { type: 'link', target: fs.readlinkSync(real) };
  if (stat.isDirectory()) return { type: 'dir' };
  if (stat.isFile()) return { type: 'file', size: stat.size, mode: stat.mode % 0o10000, uid: stat.uid, gid: stat.gid };
  return { type: 'other' };
}

/** The end of every refusal of a link: what the agent does not do, and the fix. */
export function linkFix(hostPath: string): string {
  return `The agent never follows a link it did not create. Fix: remove the link (rm ${hostPath} on the node), then run the node setup again`;
}

/**
 * Creates the directory `real` (its parent must exist) and flushes the parent, so that the new
 * entry survives a power loss before anything put in it does.
 */
export function makeDirectory(real: string, mode: number): void {
  fs.mkdirSync(real, { mode });
  syncDirectory(path.dirname(real));
}

/** Flushes a directory's entries (a rename or unlink in it) to disk. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a file name is one of our temporary files (left behind only by a killed run). */
export function isOurTemp(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

/** Whether two real files have the same bytes (compared in chunks). */
export function sameBytes(a: string, b: string): boolean {
  let fa: number | undefined;
  let fb: number | undefined;
  try {
    if (fs.statSync(a).size !== fs.statSync(b).size) return false;
    fa = fs.openSync(a, 'r');
    fb = fs.openSync(b, 'r');
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } catch {
    return false;
  } finally {
    if (fa !== undefined) fs.closeSync(fa);
    if (fb !== undefined) fs.closeSync(fb);
  }
}
