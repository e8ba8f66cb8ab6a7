import { createHash } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { destinationProblem } from './destinations';
import { CHUNK, HostFs, isOurTemp } from './host-fs';
import { Log, Refusal } from './log';
import type { InstallerArtifact, InstallerSpec } from './setup-spec';
import { Claim, PathRecord } from './state';
import { Change } from './transaction';

/** The node's CPU architecture as artifacts name it. */
export function nodeArchitecture(machine: string = os.machine()): string {
  if (machine === 'x64' || machine === 'x86_64' || machine === 'amd64') return 'amd64';
  if (machine === 'arm64' || machine === 'aarch64') return 'arm64';
  return machine;
}

/** Where an artifact ends up (its destination, or the preinstalled path it checks). */
function targetOf(artifact: InstallerArtifact): string {
  return artifact.destination ?? artifact.location;
}

/** Whether a node running `handlers` needs what `neededBy` names (absent: every handler, and a setup without handlers). */
export function needed(neededBy: readonly string[] | undefined, handlers: readonly string[]): boolean {
  return neededBy === undefined || neededBy.some((h) => handlers.includes(h));
}

/**
 * The artifacts of this architecture that `handlers` need, and the handlers that cannot run here
 * for want of one (handler -> the targets without an artifact for `arch`). A setup without
 * handlers refuses (exit 2) when a target has none.
 */
export function artifactsFor(
  spec: InstallerSpec, arch: string, handlers: readonly string[],
): { artifacts: InstallerArtifact[]; missing: { [handler: string]: string[] } } {
  const fits = (a: InstallerArtifact) => a.arch === arch || a.arch === 'any';
  const lacking = (artifacts: InstallerArtifact[]) => [...new Set(artifacts.map(targetOf))]
    .filter((t) => !artifacts.some((a) => fits(a) && targetOf(a) === t));
  const missing: { [handler: string]: string[] } = {};
  if (handlers.length === 0) {
    const none = lacking(spec.artifacts);
    if (none.length > 0) throw new Refusal(noArtifactMessage(arch, none), 2);
  }
  for (const handler of handlers) {
    const none = lacking(spec.artifacts.filter((a) => needed(a.handlers, [handler])));
    if (none.length > 0) missing[handler] = none;
  }
  const runnable = handlers.filter((h) => missing[h] === undefined);
  return { artifacts: spec.artifacts.filter((a) => fits(a) && needed(a.handlers, runnable)), missing };
}

/** Why a node whose CPU architecture no artifact of `targets` is for gets nothing (exit 2: retrying changes nothing). */
export function noArtifactMessage(arch: string, targets: readonly string[]): string {
  return `no artifact for this node's CPU architecture (${arch}, uname -m: ${os.machine()}) for: ${targets.join(' ')}. The node is not labelled ready and nothing was installed. `
    + `Fix: add an artifact for ${arch} to the runtime, or keep the node setup off ${arch} nodes (nodeSelector kubernetes.io/arch)`;
}

/**
 * Downloads (to the pod's temporary directory) every URL artifact and checks its sha512, before
 * the node lock is taken: nothing on the host changes for a bad download.
 */
export async function download(artifacts: InstallerArtifact[], workDir: string, log: Log): Promise<Map<InstallerArtifact, string>> {
  const files = new Map<InstallerArtifact, string>();
  for (const [i, artifact] of artifacts.entries()) {
    if (artifact.source !== 'url') continue;
    const file = path.join(workDir, `download-${i}`);
    log.info(`downloading ${artifact.location}`);
    try {
      await fetchTo(artifact.location, file, log);
    } catch (e: any) {
      fs.rmSync(file, { force: true });
      throw new Refusal(`could not download ${artifact.location} (for ${artifact.destination}): ${e.message}. Check the URL and that the node can reach it (proxy, egress rules)`);
    }
    const got = sha512File(file);
    const want = (artifact.sha512 ?? '').toLowerCase();
    if (got !== want) {
      fs.rmSync(file, { force: true });
      throw new Refusal(`sha512 mismatch for ${artifact.location}: expected ${want}, got ${got}. Nothing was installed from it. Fix: correct the URL or the sha512 given to RuntimeArtifacts.fromUrl`);
    }
    files.set(artifact, file);
  }
  return files;
}

/** What installing the artifacts and host files takes (computed before any change). */
export function planArtifacts(opts: {
  spec: InstallerSpec;
  /** The handlers installed on this node: host files no one of them needs are left out. */
  handlers: readonly string[];
  artifacts: InstallerArtifact[];
  downloads: Map<InstallerArtifact, string>;
  artifactsDir: string;
  host: HostFs;
  records: readonly PathRecord[];
  /** What other setups on this node installed; without it, ownership is not checked. */
  ownership?: Ownership;
}): Change[] {
  const changes = planOwnArtifacts(opts);
  return opts.ownership ? changes.map((c) => shareOrRefuse(c, opts.ownership!)) : changes;
}

/** This setup's name, the other setups' claims on host paths, and whether a change would change the host. */
export interface Ownership {
  readonly setupName: string;
  readonly claims: ReadonlyMap<string, readonly Claim[]>;
  readonly differs: (change: Change) => boolean;
}

/**
 * A path another setup installed is never overwritten nor deleted by this one: the same bytes
 * (and mode) already there are shared (recorded with the other setup's original, so the last of
 * the two to be uninstalled gives the path back); anything else is refused, naming both setups.
 * Directory artifacts are never shared: a tree belongs to one setup.
 */
function shareOrRefuse(change: Change, ownership: Ownership): Change {
  const me = ownership.setupName;
  const trees = [...ownership.claims.values()].flat().filter((c) => c.record.tree !== undefined && (change.path === c.record.tree || change.path.startsWith(`${c.record.tree}/`)));
  const claims = [...(ownership.claims.get(change.path) ?? []), ...trees];
  if (claims.length === 0) return change;
  const owners = [...new Set(claims.map((c) => c.setup))];
  const named = `node setup${owners.length > 1 ? 's' : ''} ${owners.join(', ')}`;
  const leaving = claims.some((c) => c.uninstalling) ? ` (${named} ${owners.length > 1 ? 'are' : 'is'} being uninstalled: that uninstall must finish first)` : '';
  if (trees.length > 0 || change.tree !== undefined) {
    throw new Refusal(`refusing to install ${change.path} for node setup ${me}: it is part of what ${named} installed${leaving}, and a directory artifact belongs to one setup. Give each setup a destination of its own`);
  }
  if (change.content.type === 'file' && !ownership.differs(change)) return { ...change, sharedWith: claims[0] };
  throw new Refusal(`refusing to install ${change.path} for node setup ${me}: ${named} installed a different ${change.kind === 'host-file' ? 'file' : 'version'} there${leaving}. `
    + `A node setup never overwrites or deletes what another one installed. Fix: give the runtimes of ${me} and ${owners.join(', ')} the same artifact (same URL and sha512, or the same image and path), or different destinations (e.g. GvisorRuntime's runscPath)`);
}

function planOwnArtifacts(opts: {
  spec: InstallerSpec;
  handlers: readonly string[];
  artifacts: InstallerArtifact[];
  downloads: Map<InstallerArtifact, string>;
  artifactsDir: string;
  host: HostFs;
  records: readonly PathRecord[];
}): Change[] {
  const changes: Change[] = [];
  for (const artifact of opts.artifacts) {
    if (artifact.source === 'preinstalled') {
      if (opts.host.entry(artifact.location, true).type === 'absent') {
        throw new Refusal(`preinstalled artifact ${artifact.location} is missing on this node: install it on the node (or use RuntimeArtifacts.fromImage / fromUrl)`);
      }
      continue;
    }
    const destination = artifact.destination!;
    if (artifact.source === 'url') {
      refuseDestination(destination, false);
      changes.push(fileChange(destination, { localPath: opts.downloads.get(artifact)! }, 0o755, 'artifact'));
      continue;
    }
    const source = path.join(opts.artifactsDir, artifact.location.replace(/^\/+/, ''));
    const found = lstatOrUndefined(source);
    if (found?.isDirectory()) {
      refuseDestination(destination, true);
      changes.push(...planTree(source, destination, opts.host, opts.records));
    } else if (found?.isFile()) {
      refuseDestination(destination, false);
      changes.push(fileChange(destination, { localPath: source }, found.mode % 0o10000, 'artifact'));
    } else {
      throw new Refusal(`artifact ${artifact.location} is missing from ${opts.artifactsDir}: the init container that copies it out of its image did not put it there (check the artifact's path in RuntimeArtifacts.fromImage)`);
    }
  }
  for (const hostPath of Object.keys(opts.spec.hostFiles).sort()) {
    if (!needed(opts.spec.hostFileHandlers?.[hostPath], opts.handlers)) continue;
    refuseDestination(hostPath, false);
    changes.push(fileChange(hostPath, Buffer.from(opts.spec.hostFiles[hostPath]), 0o644, 'host-file'));
  }
  return changes;
}

function fileChange(hostPath: string, data: Buffer | { localPath: string }, mode: number, kind: 'artifact' | 'host-file', tree?: string): Change {
  return { path: hostPath, kind, content: { type: 'file', data, mode }, followLast: false, restart: false, tree };
}

function refuseDestination(destination: string, tree: boolean): void {
  const problem = destinationProblem(destination, tree);
  if (problem) throw new Refusal(`refusing to install to ${destination}: it ${problem}`);
}

/**
 * A directory artifact owns its destination: it may only hold what this setup put there. Every
 * entry of the source becomes a change; entries installed earlier but gone from the source are
 * removed. Nothing under the destination is reached through a link.
 */
function planTree(source: string, destination: string, host: HostFs, records: readonly PathRecord[]): Change[] {
  const ours = new Set(records.filter((r) => r.tree === destination || r.path === destination).map((r) => r.path));
  const top = host.entry(destination);
  if (top.type === 'link' || (top.type !== 'absent' && top.type !== 'dir')) {
    throw new Refusal(`refusing to install to ${destination}: it is a ${top.type === 'link' ? 'symbolic link' : 'file'} on the node, and a directory artifact needs a directory of its own`);
  }
  const foreign = walkHost(host, destination).filter((p) => !ours.has(p));
  if (foreign.length > 0) {
    throw new Refusal(`refusing to install to ${destination}: it holds files this node setup did not put there (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}). A directory artifact owns its destination and uninstall removes it: give it a directory of its own such as /opt/<runtime>, or empty this one`);
  }
  const changes: Change[] = [{ path: destination, kind: 'dir', content: { type: 'dir' }, followLast: false, restart: false, tree: destination }];
  const wanted = new Set<string>([destination]);
  const visit = (dir: string, hostDir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const local = path.join(dir, name);
      const hostPath = `${hostDir}/${name}`;
      const stat = fs.lstatSync(local);
      wanted.add(hostPath);
      if (stat.isDirectory()) {
        changes.push({ path: hostPath, kind: 'dir', content: { type: 'dir' }, followLast: false, restart: false, tree: destination });
        visit(local, hostPath);
      } else if (stat.isSymbolicLink()) {
        changes.push({ path: hostPath, kind: 'artifact', content: { type: 'link', target: fs.readlinkSync(local) }, followLast: false, restart: false, tree: destination });
      } else if (stat.isFile()) {
        changes.push(fileChange(hostPath, { localPath: local }, stat.mode % 0o10000, 'artifact', destination));
      }
    }
  };
  visit(source, destination);
  // Entries an earlier version of the artifact had: deepest first, so directories empty out.
  for (const stale of [...ours].filter((p) => !wanted.has(p)).sort().reverse()) {
    changes.push({ path: stale, kind: 'artifact', content: { type: 'absent' }, followLast: false, restart: false, tree: destination });
  }
  return changes;
}

/** Every path under a host directory, links not followed. */
function walkHost(host: HostFs, hostDir: string): string[] {
  const out: string[] = [];
  if (host.entry(hostDir).type !== 'dir') return out;
  host.removeStaleTemps(hostDir);
  for (const name of host.list(hostDir).filter((n) => !isOurTemp(n))) {
    const hostPath = `${hostDir}/${name}`;
    out.push(hostPath);
    if (host.entry(hostPath).type === 'dir') out.push(...walkHost(host, hostPath));
  }
  return out;
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}

function sha512File(file: string): string {
  const hash = createHash('sha512');
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(CHUNK);
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Redirects one download may follow (a release host sends one or two: to its object store). */
export const REDIRECT_LIMIT = 5;

/**
 * The most one download may hold: the spec declares no sizes, so this caps every URL artifact
 * (runsc and its shim are 20-60 MB; the pod's /tmp emptyDir holds 2Gi). Reading stops past it.
 */
export const DOWNLOAD_LIMIT_BYTES = 512 * 1024 * 1024;

/** How long a download may go without a byte before it is given up. */
const IDLE_TIMEOUT_MS = 60_000;

/**
 * Downloads `location` to `file`. An https:// URL is fetched with the certificate verified
 * against Node's CAs (and NODE_EXTRA_CA_CERTS), following at most REDIRECT_LIMIT redirects, each
 * to https:// only: a download host may not send the agent to a local file or to cleartext.
 * A `file://` URL or absolute path in the spec itself is copied (air gaps and tests); only the
 * spec can name one, never a redirect. Either way, at most DOWNLOAD_LIMIT_BYTES are taken.
 */
async function fetchTo(location: string, file: string, log: Log): Promise<void> {
  if (location.startsWith('file://') || location.startsWith('/')) {
    copyLocal(location.startsWith('/') ? location : fileURLToPath(location), file);
    return;
  }
  let url = httpsUrl(location);
  for (let redirects = 0; ; redirects++) {
    const answer = await getOnce(url, file);
    if (answer.redirect === undefined) return;
    let next: URL;
    try {
      next = new URL(answer.redirect, url);
    } catch {
      throw new Error(`${url} redirected to '${answer.redirect}', which is not a URL`);
    }
    if (next.protocol !== 'https:') {
      throw new Error(`refused the redirect from ${url} to ${next.href}: only https:// is followed`);
    }
    if (redirects >= REDIRECT_LIMIT) {
      throw new Error(`more than ${REDIRECT_LIMIT} redirects (the last from ${url} to ${next.href}): stopped`);
    }
    log.info(`${url} redirects to ${next.href}`);
    url = next;
  }
}

function httpsUrl(location: string): URL {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new Error('not a URL');
  }
  if (url.protocol !== 'https:') throw new Error(`only https:// URLs are downloaded, not ${url.protocol}//`);
  return url;
}

function copyLocal(source: string, file: string): void {
  const size = fs.statSync(source).size;
  if (size > DOWNLOAD_LIMIT_BYTES) throw new Error(`${source} holds ${size} bytes, more than the limit of ${DOWNLOAD_LIMIT_BYTES}`);
  fs.copyFileSync(source, file);
}

/** One GET: a redirect's Location, or the body written to `file` (200 only, at most DOWNLOAD_LIMIT_BYTES). */
function getOnce(url: URL, file: string): Promise<{ redirect?: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(e);
    };
    const request = https.get(url, { timeout: IDLE_TIMEOUT_MS }, (response) => {
      const status = response.statusCode ?? 0;
      response.on('error', fail);
      if ([301, 302, 303, 307, 308].includes(status) && response.headers.location !== undefined) {
        response.resume();
        settled = true;
        resolve({ redirect: response.headers.location });
        return;
      }
      if (status !== 200) {
        response.resume();
        fail(new Error(`HTTP ${status} from ${url.href}`));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (declared > DOWNLOAD_LIMIT_BYTES) {
        fail(new Error(`${url.href} announces ${declared} bytes, more than the limit of ${DOWNLOAD_LIMIT_BYTES}: not downloaded`));
        return;
      }
      const out = fs.createWriteStream(file);
      let received = 0;
      out.on('error', fail);
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > DOWNLOAD_LIMIT_BYTES) {
          out.destroy();
          fail(new Error(`${url.href} sent more than the limit of ${DOWNLOAD_LIMIT_BYTES} bytes: stopped reading`));
          return;
        }
        if (!out.write(chunk)) {
          response.pause();
          out.once('drain', () => response.resume());
        }
      });
      response.on('end', () => {
        if (settled) return;
        out.end(() => {
          if (settled) return;
          settled = true;
          resolve({});
        });
      });
    });
    request.on('timeout', () => fail(new Error(`no data from ${url.href} for ${IDLE_TIMEOUT_MS / 1000}s`)));
    request.on('error', fail);
  });
}
