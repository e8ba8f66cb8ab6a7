import * as path from 'path';
import { entryAt, FileData, HostFs, sameBytes } from './host-fs';
import { Log, Refusal } from './log';
import { readConfig } from './runtime-config';
import { Claim, Original, PathRecord, RecordKind, SetupState, StateStore } from './state';
import { bytesOf, hasImportsLine, removeImport, stripAllBlocks, stripBlock, textOf } from './toml-text';

/** What a host path should hold. */
export type Content =
  | { readonly type: 'file'; readonly data: FileData; readonly mode?: number }
  | { readonly type: 'link'; readonly target: string }
  | { readonly type: 'dir' }
  | { readonly type: 'absent' };

/** One host path brought to the content it should hold. */
export interface Change {
  readonly path: string;
  readonly kind: RecordKind;
  readonly content: Content;
  /** Configs are edited at their link's target (the link stays); artifacts replace a link. */
  readonly followLast: boolean;
  /** The container runtime must be restarted to load it. */
  readonly restart: boolean;
  readonly skeleton?: Buffer;
  readonly importPath?: string;
  /** For an artifact inside a tree destination: that destination. */
  readonly tree?: string;
  /**
   * Another setup installed the same bytes here first: this setup shares the path, recording the
   * original that setup recorded (what the node held before either), so whichever is uninstalled
   * last gives it back.
   */
  readonly sharedWith?: Claim;
}

/**
 * Applies changes so that a SIGKILL at any instant leaves the node recoverable: the originals
 * of every path about to change, the directories about to be created and "restart pending" are
 * recorded in the state first (one atomic write), then each path is replaced atomically.
 */
export class Transaction {
  public constructor(
    private readonly host: HostFs,
    private readonly store: StateStore,
    public state: SetupState,
    private readonly log: Log,
  ) {
    host.guard(state.records);
  }

  /** Whether `change` would change anything on the host. */
  public differs(change: Change): boolean {
    const real = this.host.resolve(change.path, change.followLast);
    const found = entryAt(real);
    const content = change.content;
    switch (content.type) {
      case 'absent': return found.type !== 'absent';
      case 'dir': return found.type !== 'dir';
      case 'link': return found.type !== 'link' || found.target !== content.target;
      case 'file': {
        if (found.type !== 'file' || (content.mode !== undefined && found.mode !== content.mode)) return true;
        return Buffer.isBuffer(content.data) ? !this.host.read(change.path)!.equals(content.data) : !sameBytes(content.data.localPath, real);
      }
    }
  }

  /**
   * Records, then applies, the changes that differ from the host; `facts` join the same state
   * write. Returns the paths changed.
   */
  public apply(changes: Change[], facts: Partial<SetupState> = {}): string[] {
    const pending = changes.filter((c) => this.differs(c));
    const records = [...this.state.records];
    const known = new Set(records.map((r) => r.path));
    const shared = changes.filter((c) => c.sharedWith && !known.has(c.path) && !pending.includes(c));
    if (pending.length === 0 && shared.length === 0) return [];
    for (const change of shared) {
      // The directories the other setup created for it come along (parents first), so the last one out removes them.
      const ancestors = change.sharedWith!.createdDirectories.filter((d) => change.path.startsWith(`${d.path}/`) && !known.has(d.path));
      for (const dir of ancestors) {
        records.push({ path: dir.path, kind: 'dir', original: { type: 'absent' } });
        known.add(dir.path);
      }
      records.push(this.sharedRecord(change, change.sharedWith!));
      known.add(change.path);
    }
    for (const change of pending) {
      const directories = this.host.missingDirectories(change.content.type === 'dir' ? change.path : path.posix.dirname(change.path));
      for (const dir of directories.filter((d) => !known.has(d))) {
        records.push({ path: dir, kind: 'dir', original: { type: 'absent' }, tree: change.tree });
        known.add(dir);
      }
      if (change.content.type === 'dir' || known.has(change.path)) continue;
      records.push(this.record(change));
      known.add(change.path);
    }
    const importPath = pending.find((c) => c.importPath)?.importPath ?? this.state.importPath;
    this.save({
      ...this.state,
      ...facts,
      phase: this.state.phase === 'uninstalling' ? 'installing' : this.state.phase,
      records,
      importPath,
      restartPending: this.state.restartPending || pending.some((c) => c.restart),
    });
    for (const change of pending) this.write(change);
    return pending.map((c) => c.path);
  }

  /** Makes `state` durable; a state equal to the current one is not written again (a no-op run writes nothing). */
  public save(state: SetupState): void {
    if (JSON.stringify(state) === JSON.stringify(this.state) && this.store.exists()) return;
    this.store.save(state);
    this.state = state;
    this.host.guard(state.records);
  }

  /** What `change.path` holds now, kept so that it can be given back. */
  private record(change: Change): PathRecord {
    const real = this.host.resolve(change.path, change.followLast);
    const found = entryAt(real);
    let original: Original;
    switch (found.type) {
      case 'absent': original = { type: 'absent' }; break;
      case 'file': original = { type: 'file', blob: this.store.putBlobFile(real), mode: found.mode }; break;
      case 'link': original = { type: 'link', target: found.target }; break;
      default: throw new Error(`cannot install ${change.path}: it is a ${found.type === 'dir' ? 'directory' : 'special file'} on the node`);
    }
    // Kept whatever the path holds: the setup that leaves last removes a skeleton another one created.
    const skeletonBlob = change.skeleton ? this.store.putBlob(change.skeleton) : undefined;
    return { path: change.path, kind: change.kind, original, skeletonBlob, tree: change.tree };
  }

  /** The record of a path shared with another setup: that setup's original, its blob copied into this state. */
  private sharedRecord(change: Change, claim: Claim): PathRecord {
    const theirs = claim.record.original;
    let original: Original = theirs;
    if (theirs.type === 'file') {
      if (claim.store.blob(theirs.blob) === undefined) {
        throw new Refusal(`cannot share ${change.path} with node setup ${claim.setup}: the original it recorded (${theirs.blob}) is missing from its state`);
      }
      original = { ...theirs, blob: this.store.putBlobFile(claim.store.blobPath(theirs.blob)) };
    }
    return { path: change.path, kind: change.kind, original, tree: change.tree };
  }

  /** Brings one path to its content (atomically for files and links). */
  public write(change: Change): void {
    try {
      this.writeContent(change);
    } catch (e: any) {
      throw new Refusal(`could not write ${change.path} on the node: ${e.message}. The file was left as it was; a re-run continues from here. Fix the node (space, permissions, a read-only mount), then restart this pod`);
    }
  }

  private writeContent(change: Change): void {
    const content = change.content;
    if (content.type !== 'absent') this.host.makeDirectories(content.type === 'dir' ? change.path : path.posix.dirname(change.path));
    switch (content.type) {
      case 'file': this.host.writeFile(change.path, content.data, { followLast: change.followLast, mode: content.mode }); break;
      case 'link': this.host.writeLink(change.path, content.target); break;
      case 'absent':
        if (entryAt(this.host.resolve(change.path, change.followLast)).type === 'dir') {
          if (!this.host.removeEmptyDirectory(change.path)) this.log.info(`kept ${change.path} (not empty)`);
        } else {
          this.host.remove(change.path, change.followLast);
        }
        break;
      case 'dir': break;
    }
  }

  /**
   * The changes that give back what the records hold (newest first), for the records `which`
   * selects. A record whose original copy is missing is skipped and reported.
   */
  public undo(which: (record: PathRecord) => boolean): Change[] {
    const changes: Change[] = [];
    for (const record of [...this.state.records].reverse().filter(which)) {
      const change = this.undoOne(record);
      if (change) changes.push(change);
    }
    return changes;
  }

  private undoOne(record: PathRecord): Change | undefined {
    const base = { path: record.path, kind: record.kind, followLast: record.kind === 'config' || record.kind === 'runtime-config', restart: record.kind === 'config' || record.kind === 'runtime-config' };
    if (record.kind === 'dir') return { ...base, content: { type: 'absent' } };
    if (record.kind === 'config') return this.undoEdits(record, base);
    const original = record.original;
    switch (original.type) {
      case 'absent': return { ...base, content: { type: 'absent' } };
      case 'link': return { ...base, content: { type: 'link', target: original.target } };
      case 'file': {
        if (this.store.blob(original.blob) === undefined) {
          this.log.warn(`cannot restore ${record.path}: its original copy ${original.blob} is missing from the state; left as it is`);
          return undefined;
        }
        return { ...base, content: { type: 'file', data: { localPath: this.store.blobPath(original.blob) }, mode: original.mode } };
      }
      default: return undefined;
    }
  }

  /**
   * A file we edited, without our edits: the original bytes when nothing else changed it since
   * (other setups' blocks aside), else the current bytes minus our block and import.
   */
  private undoEdits(record: PathRecord, base: Omit<Change, 'content'>): Change | undefined {
    const current = readConfig(this.host, record.path);
    const originalBytes = record.original.type === 'file' ? this.store.blob(record.original.blob) : undefined;
    if (record.original.type === 'file' && originalBytes === undefined) {
      this.log.warn(`cannot prove what ${record.path} held before: its original copy is missing from the state; removing only our block`);
    }
    if (current === undefined) {
      return originalBytes ? { ...base, content: { type: 'file', data: originalBytes } } : undefined;
    }
    // Bytes as binary strings: every byte that is not ours comes back as it was, UTF-8 or not.
    const skeletonBlob = record.skeletonBlob ? this.store.blob(record.skeletonBlob) : undefined;
    const skeleton = skeletonBlob ? textOf(skeletonBlob) : undefined;
    const reference = originalBytes ? textOf(originalBytes) : skeleton;
    let undone = stripBlock(textOf(current), this.setupName()).text;
    // Our entry out; the `imports` line itself stays when the file had one before (`imports = []`).
    if (this.state.importPath) undone = removeImport(undone, this.state.importPath, reference !== undefined && hasImportsLine(reference));
    // The skeleton a setup (this one or another) created, with nothing left of any setup: the file did not exist.
    if (skeleton !== undefined && (undone === skeleton || (record.original.type === 'absent' && sameText(undone, skeleton)))) {
      return { ...base, content: { type: 'absent' } };
    }
    if (originalBytes && sameText(undone, textOf(originalBytes))) return { ...base, content: { type: 'file', data: originalBytes } };
    if (reference !== undefined && !sameText(stripAllBlocks(undone), stripAllBlocks(reference))) {
      this.log.warn(`${record.path} changed since this node setup edited it: removing only our block and import`);
    }
    return { ...base, content: { type: 'file', data: bytesOf(undone) } };
  }

  private setupName(): string {
    return this.store.setupName;
  }
}

/** `a` equals `b`, or `b` plus the final newline it lacked (an older agent's edit added one before its block). */
function sameText(a: string, b: string): boolean {
  return a === b || (!b.endsWith('\n') && a === `${b}\n`);
}
