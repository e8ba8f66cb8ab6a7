/**
 * Mount bookkeeping shared by the host-root and containerd helpers: find what is mounted under a
 * directory (from `/proc/self/mountinfo`), unmount it deepest first, and delete a tree only once
 * nothing under it is mounted any more.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Decode the octal escapes (`\040` for a space...) used in `/proc/self/mountinfo`. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Every mount point listed in `/proc/self/mountinfo`, in mount order (duplicates kept). */
export function allMountPoints(): string[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map(line => unescapeMountPath(line.split(' ')[4]));
}

/** Canonical form of `dir` (symlinks resolved when it exists), with no trailing slash. */
export function canonicalDir(dir: string): string {
  let p = path.resolve(dir);
  try {
    p = fs.realpathSync(p);
  } catch {
    // gone already: keep the resolved path
  }
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** Mount points at or below `dir`, deepest (and most recent) first, without duplicates. */
export function mountPointsUnder(dir: string): string[] {
  const base = canonicalDir(dir);
  const under = allMountPoints().filter(m => m === base || m.startsWith(`${base}/`));
  const unique = [...new Set(under.reverse())];
  return unique.sort((a, b) => b.split('/').length - a.split('/').length);
}

/**
 * Unmount everything at or below `dir`, deepest first. A busy mount is detached lazily
 * (`umount -l`), which removes it from the tree at once. Throws if anything is still mounted.
 */
export function unmountAllUnder(dir: string): void {
  for (let round = 0; round < 10; round++) {
    const mounts = mountPointsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      try {
        execFileSync('umount', [m], { stdio: 'pipe' });
      } catch {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'pipe' });
        } catch {
          // reported below if it stays mounted
        }
      }
    }
  }
  const left = mountPointsUnder(dir);
  if (left.length > 0) {
    throw new Error(`could not unmount ${left.join(', ')}`);
  }
}

/**
 * Delete `dir` recursively, but only after unmounting everything below it and checking
 * `/proc/self/mountinfo` again: never deletes through a mount. Symlinks are removed, not followed.
 */
export function removeTreeSafely(dir: string): void {
  if (!fs.existsSync(dir)) return;
  unmountAllUnder(dir);
  const left = mountPointsUnder(dir);
  if (left.length > 0) {
    throw new Error(`refusing to delete ${dir}: still mounted: ${left.join(', ')}`);
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
