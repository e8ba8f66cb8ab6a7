import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CHUNK, CREATE_NEW, entryAt, linkFix, makeDirectory, READ_NO_FOLLOW, syncDirectory } from './host-fs';
import { Refusal } from './log';
import { step } from './steps';

/** Where each setup keeps its state on the host, under HOST_ROOT. */
export const STATE_ROOT = '/var/lib/cdk8s-runtimeclass';

/** What a host path held before this setup first changed it. */
export type Original =
  | { readonly type: 'absent' }
  | { readonly type: 'file'; readonly blob: string; readonly mode: number }
  | { readonly type: 'link'; readonly target: string }
  | { readonly type: 'dir' };

/**
 * How a recorded path is given back on uninstall:
 * - `config`: a file we edit (a marker block, one `imports` entry): our edits are taken out;
 * - `runtime-config`: a whole file of ours that the container runtime reads (a drop-in);
 * - `artifact`, `host-file`: a file of ours; the original comes back (or the file goes);
 * - `dir`: a directory we created, removed when empty.
 */
export type RecordKind = 'config' | 'runtime-config' | 'artifact' | 'host-file' | 'dir';

/** One host path this setup changed, with what it held before. */
export interface PathRecord {
  readonly path: string;
  readonly kind: RecordKind;
  readonly original: Original;
  /** For a `config` we created: the bytes we created it from (removed again if unchanged). */
  readonly skeletonBlob?: string;
  /** For an artifact inside a tree destination: that destination. */
  readonly tree?: string;
}

/** The whole state of one setup on one node; replaced atomically, never edited in place. */
export interface SetupState {
  readonly format: 1;
  /** `installing` from the first change until labelled; `uninstalling` from the first removal. */
  readonly phase: 'installing' | 'installed' | 'uninstalling';
  /** The unit restarted for this setup (uninstall restarts the same one). */
  readonly unit?: string;
  /** Set before any change the runtime must load; cleared only after a verified restart. */
  readonly restartPending: boolean;
  /** Paths in the order they were first changed. */
  readonly records: PathRecord[];
  /** The `imports` entry added to a containerd 2.x main file, if any. */
  readonly importPath?: string;
  /** Ready labels this setup set on the node. */
  readonly labels: string[];
  /**
   * The handlers the runtime served before this setup's first change (recorded with it). An
   * uninstall waits only for the others to go: CRI-O serves a `crun` handler on its own whenever
   * crun is on its PATH, so a setup that configures `crun` leaves one behind, as the node had it.
   */
  readonly handlersBefore?: string[];
  /** The newest spec an agent of this setup ran with on this node (see {@link specOrderProblem}). */
  readonly spec?: SpecGeneration;
}

/**
 * Which spec an agent runs: its content hash and, from the DaemonSet, the pod template's
 * generation (the `pod-template-generation` label the DaemonSet controller puts on its pods,
 * raised by every template change, a rollback included). Pods of an older template can still
 * run after a newer one (a force-deleted Terminating pod): the generation orders them.
 */
export interface SpecGeneration {
  /** sha256 of the spec's JSON. */
  readonly sha256: string;
  /** The pod template generation; absent for an agent run by hand (it orders nothing). */
  readonly generation?: number;
}

/**
 * Why an agent running `ours` must not act on a node where `recorded` ran: a different spec of
 * a later generation. Undefined when it may go on (same spec, a newer or equal generation, or
 * either side without a generation).
 */
export function specOrderProblem(ours: SpecGeneration, recorded: SpecGeneration | undefined): string | undefined {
  if (recorded === undefined || recorded.sha256 === ours.sha256) return undefined;
  if (recorded.generation === undefined || ours.generation === undefined || ours.generation >= recorded.generation) return undefined;
  return `this agent's spec (pod template generation ${ours.generation}, sha256 ${ours.sha256.slice(0, 12)}) is older than the one `
    + `an agent of the same node setup already applied on this node (generation ${recorded.generation}, sha256 ${recorded.sha256.slice(0, 12)}): `
    + 'not applying it and leaving the labels as they are. This pod belongs to an earlier version of the DaemonSet '
    + '(e.g. a force-deleted pod still running): delete it. If the DaemonSet was deleted and created again (its generation starts over), '
    + 'uninstall the old setup first (run the agent with ACTION=uninstall)';
}

/**
 * What to record after an agent running `ours` went on: `ours`, unless the same spec is recorded
 * with a later generation (a template change that left the spec as it was), which stays.
 */
export function specToRecord(ours: SpecGeneration, recorded: SpecGeneration | undefined): SpecGeneration {
  const laterSame = recorded?.sha256 === ours.sha256 && recorded.generation !== undefined
    && (ours.generation === undefined || recorded.generation > ours.generation);
  return laterSame ? recorded : ours;
}

/** Another setup's record of a host path it installed (an artifact, a host file, or a part of its tree). */
export interface Claim {
  /** That setup's name. */
  readonly setup: string;
  readonly record: PathRecord;
  /** That setup's state, for reading (never writing) the original it recorded. */
  readonly store: StateStore;
  /** That setup is being uninstalled (its uninstall started and has not finished). */
  readonly uninstalling: boolean;
  /** The directories that setup created (outside trees): a setup sharing a path inside one takes them over too. */
  readonly createdDirectories: readonly PathRecord[];
}

/**
 * The host paths every other setup on this node installed, from their states (read only):
 * host path -> the setups' claims. Setups share the node lock, so the states read are settled.
 * A state this agent cannot read is an error: what it owns is unknown.
 */
export function otherSetupsClaims(stateRoot: string, setupName: string): Map<string, Claim[]> {
  const claims = new Map<string, Claim[]>();
  let names: string[];
  try {
    names = fs.readdirSync(stateRoot).sort();
  } catch {
    return claims;
  }
  for (const name of names.filter((n) => n !== setupName && !n.startsWith('.'))) {
    const store = new StateStore(stateRoot, name);
    if (!store.exists()) continue;
    let state: SetupState;
    try {
      state = store.load();
    } catch (e: any) {
      throw new Error(`cannot read the state of node setup ${name} (${e.message}), so which files it owns is unknown: refusing to change artifacts`);
    }
    const createdDirectories = state.records.filter((r) => r.kind === 'dir' && r.tree === undefined && r.original.type === 'absent');
    for (const record of state.records) {
      if (record.kind !== 'artifact' && record.kind !== 'host-file' && record.tree === undefined) continue;
      const list = claims.get(record.path) ?? [];
      list.push({ setup: name, record, store, uninstalling: state.phase === 'uninstalling', createdDirectories });
      claims.set(record.path, list);
    }
  }
  return claims;
}

export const EMPTY_STATE: SetupState = { format: 1, phase: 'installing', restartPending: false, records: [], labels: [] };

/**
 * A setup's state directory: `state.json` plus content-addressed `blobs/<sha256>`. A blob is
 * written (and flushed) before the state that names it; the state is replaced atomically; the
 * whole directory is removed by renaming it to a tombstone first, so it is never half deleted.
 * Nothing here is reached through a link: STATE_ROOT, the setup's directory, `blobs` and every
 * file in them must be what the agent created (a link found there is refused), and files are
 * opened with O_NOFOLLOW. Directories are created 0700 (the originals may hold credentials),
 * each flushed in its parent; files 0600.
 */
export class StateStore {
  private readonly root: string;
  private readonly dir: string;
  private readonly tombstone: string;

  /** @param stateRoot the path inside HOST_ROOT of STATE_ROOT (its own last component not followed) */
  public constructor(stateRoot: string, public readonly setupName: string) {
    this.root = stateRoot;
    this.dir = path.join(stateRoot, setupName);
    this.tombstone = path.join(stateRoot, `.${setupName}.tombstone`);
  }

  /** True when a previous uninstall renamed the state away but did not finish deleting it. */
  public hasTombstone(): boolean {
    this.refuseLinks();
    return entryAt(this.tombstone).type !== 'absent';
  }

  public exists(): boolean {
    return this.fileType('state.json') === 'file';
  }

  /** True when state from the shell installer of earlier releases is here. */
  public hasLegacyJournal(): boolean {
    return this.fileType('journal') !== 'absent' && !this.exists();
  }

  public load(): SetupState {
    if (!this.exists()) return EMPTY_STATE;
    const file = path.join(this.dir, 'state.json');
    const parsed = JSON.parse(readNoFollow(file).toString('utf8'));
    if (parsed?.format !== 1) throw new Error(`${file} has format ${JSON.stringify(parsed?.format)}, which this agent does not read`);
    return parsed as SetupState;
  }

  public save(state: SetupState): void {
    this.makeDirectories();
    const file = path.join(this.dir, 'state.json');
    const temp = `${file}.new`;
    step('state');
    writeNew(temp, Buffer.from(`${JSON.stringify(state, undefined, 2)}\n`));
    fs.renameSync(temp, file);
    syncDirectory(this.dir);
  }

  /** Stores `bytes` (flushed to disk) and returns their name. */
  public putBlob(bytes: Buffer): string {
    const name = createHash('sha256').update(bytes).digest('hex');
    return this.storeBlob(name, (temp) => writeNew(temp, bytes));
  }

  /** Stores a copy of the real file `real` (read in chunks) and returns its name. */
  public putBlobFile(real: string): string {
    const hash = createHash('sha256');
    const fd = fs.openSync(real, 'r');
    try {
      const chunk = Buffer.alloc(CHUNK);
      for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    return this.storeBlob(hash.digest('hex'), (temp) => {
      fs.copyFileSync(real, temp, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(temp, 0o600);
      flush(temp);
    });
  }

  /** Writes blob `name` through `write(temp)` (a new file, flushed), renamed into place. */
  private storeBlob(name: string, write: (temp: string) => void): string {
    const blobs = path.join(this.dir, 'blobs');
    const file = path.join(blobs, name);
    this.makeDirectories();
    if (this.fileType(`blobs/${name}`) === 'file') return name;
    if (entryAt(blobs).type === 'absent') makeDirectory(blobs, 0o700);
    step('blob');
    fs.rmSync(`${file}.new`, { force: true }); // a killed run's leftover (a link is removed, not followed)
    write(`${file}.new`);
    fs.renameSync(`${file}.new`, file);
    syncDirectory(blobs);
    return name;
  }

  /** The real path of a blob, for copying it back. */
  public blobPath(name: string): string {
    this.fileType(`blobs/${name}`);
    return path.join(this.dir, 'blobs', name);
  }

  /** A blob's bytes, or undefined when it is missing (a damaged state). */
  public blob(name: string): Buffer | undefined {
    if (this.fileType(`blobs/${name}`) !== 'file') return undefined;
    try {
      const bytes = readNoFollow(path.join(this.dir, 'blobs', name));
      return createHash('sha256').update(bytes).digest('hex') === name ? bytes : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes the state: renamed to a tombstone (atomic), then deleted. */
  public remove(): void {
    this.refuseLinks();
    if (entryAt(this.dir).type !== 'absent') {
      step('tombstone');
      fs.rmSync(this.tombstone, { recursive: true, force: true });
      fs.renameSync(this.dir, this.tombstone);
      syncDirectory(path.dirname(this.dir));
    }
    this.removeTombstone();
  }

  /** Deletes a tombstone left by an uninstall that was killed while deleting it. */
  public removeTombstone(): void {
    if (!this.hasTombstone()) return;
    step('tombstone-delete');
    // rm -r semantics: a link inside is removed, never followed.
    fs.rmSync(this.tombstone, { recursive: true, force: true });
    const parent = path.dirname(this.dir);
    try {
      fs.rmdirSync(parent); // the last setup's state leaves no empty directory behind
      syncDirectory(path.dirname(parent));
    } catch {
      // other setups still have state here
    }
  }

  /**
   * What is at `rel` in the setup's directory (links not followed); refuses a link there or in
   * the directories above it.
   */
  private fileType(rel: string): string {
    this.refuseLinks();
    const real = path.join(this.dir, rel);
    const found = entryAt(real);
    if (found.type === 'link') this.refuse(`${STATE_ROOT}/${this.setupName}/${rel}`, found.target);
    return found.type;
  }

  /** Refuses when STATE_ROOT, the setup's directory or its `blobs` is a link (or not a directory). */
  private refuseLinks(): void {
    const dirs: Array<[string, string]> = [
      [this.root, STATE_ROOT],
      [this.dir, `${STATE_ROOT}/${this.setupName}`],
      [path.join(this.dir, 'blobs'), `${STATE_ROOT}/${this.setupName}/blobs`],
    ];
    for (const [real, hostPath] of dirs) {
      const found = entryAt(real);
      if (found.type === 'absent') return;
      if (found.type === 'link') this.refuse(hostPath, found.target);
      if (found.type !== 'dir') throw new Refusal(`refusing to use ${hostPath}: the agent keeps its state in a directory of its own, and it is not a directory. Fix: remove it on the node, then run the node setup again`);
    }
  }

  private refuse(hostPath: string, target: string): never {
    throw new Refusal(`refusing to use ${hostPath}: the agent keeps its state in a directory of its own, and it is a symbolic link (to ${target}). ${linkFix(hostPath)}`);
  }

  /** Creates STATE_ROOT (and any missing parent) and the setup's directory, each flushed in its parent. */
  private makeDirectories(): void {
    this.refuseLinks();
    const missing: string[] = [];
    for (let dir = this.dir; entryAt(dir).type === 'absent' && dir !== path.dirname(dir); dir = path.dirname(dir)) missing.unshift(dir);
    for (const dir of missing) makeDirectory(dir, dir === this.dir || dir === this.root ? 0o700 : 0o755);
  }
}

/** A file's bytes, refusing to follow a link in its last component (O_NOFOLLOW). */
function readNoFollow(file: string): Buffer {
  const fd = fs.openSync(file, READ_NO_FOLLOW);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `bytes` to a new file (O_EXCL|O_NOFOLLOW, mode 0600) and flushes it. */
function writeNew(file: string, bytes: Buffer): void {
  fs.rmSync(file, { force: true }); // a killed run's leftover (a link is removed, not followed)
  const fd = fs.openSync(file, CREATE_NEW, 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function flush(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
