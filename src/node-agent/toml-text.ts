/**
 * Line-based reading and editing of containerd and CRI-O TOML files. Edits never re-serialize
 * a file: the node's bytes outside our marker block (and our one `imports` entry) stay exactly
 * as they were, comments, key order, number formats, line ends and bytes that are not UTF-8
 * included.
 *
 * Every function here works on a file's bytes as a binary string (one character per byte,
 * `textOf`), so that no byte is ever decoded and re-encoded: a Latin-1 byte or a NUL outside our
 * block comes back as it was. What we insert is UTF-8 text, turned into such a string by
 * `ourText`; `bytesOf` gives the bytes back.
 */

/** A UTF-8 byte order mark, as a binary string. */
const BOM = '\xEF\xBB\xBF';

/** A file's bytes as a binary string (one character per byte). */
export function textOf(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/** The bytes of a binary string. */
export function bytesOf(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** UTF-8 text of ours (a block, an `imports` entry) as a binary string, ready to join a file's. */
export function ourText(utf8: string): string {
  return textOf(Buffer.from(utf8, 'utf8'));
}

/** The marker comments around a setup's block in a file we edit in place. */
export function markers(setupName: string): { begin: string; end: string } {
  return { begin: `# BEGIN cdk8s-runtimeclass ${setupName}`, end: `# END cdk8s-runtimeclass ${setupName}` };
}

const BEGIN_PREFIX = '# BEGIN cdk8s-runtimeclass ';
const END_PREFIX = '# END cdk8s-runtimeclass ';

/** Lines of `text`, keeping each line's own ending (LF or CRLF) with it. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function bare(line: string): string {
  return line.replace(/\r?\n$/, '');
}

/** A line and whether it starts inside a multi-line string (`"""` or `\'\'\'`) the lines before opened. */
interface ScannedLine {
  readonly line: string;
  readonly inString: boolean;
}

/**
 * Follows TOML's multi-line strings across lines. `next(line)` says whether `line` starts inside
 * one, then reads the line: a marker-like line inside a user's string is the user's text.
 */
class StringTracker {
  private open: '"""' | "\'\'\'" | undefined;

  public next(line: string): ScannedLine {
    const scanned = { line, inString: this.open !== undefined };
    this.read(bare(line));
    return scanned;
  }

  private read(l: string): void {
    let i = 0;
    while (i < l.length) {
      if (this.open !== undefined) {
        const close = this.closing(l, i);
        if (close < 0) return;
        this.open = undefined;
        i = close;
        continue;
      }
      const c = l[i];
      if (c === '#') return;
      if (l.startsWith('"""', i) || l.startsWith("\'\'\'", i)) {
        this.open = l.startsWith('"""', i) ? '"""' : "\'\'\'";
        i += 3;
      } else if (c === '"' || c === "'") {
        i = this.singleLineEnd(l, i + 1, c);
      } else {
        i++;
      }
    }
  }

  /** Index just past the closing delimiter of the open multi-line string from `i`, or -1. */
  private closing(l: string, i: number): number {
    const delimiter = this.open!;
    while (i < l.length) {
      if (delimiter === '"""' && l[i] === '\\') {
        i += 2;
      } else if (l.startsWith(delimiter, i)) {
        let end = i + 3;
        // Up to two quotes right before the delimiter belong to the string (`""""` ends it too).
        while (end < l.length && l[end] === delimiter[0] && end - i < 5) end++;
        return end;
      } else {
        i++;
      }
    }
    return -1;
  }

  private singleLineEnd(l: string, i: number, quote: string): number {
    while (i < l.length) {
      if (quote === '"' && l[i] === '\\') i += 2;
      else if (l[i] === quote) return i + 1;
      else i++;
    }
    return i;
  }
}

/**
 * Each line of `text` outside our marker blocks with whether it starts inside a user's
 * multi-line string; `block` is the setup whose block holds a line (our blocks hold no
 * multi-line strings), `marker` whether the line is one of its markers.
 */
function scan(text: string): Array<ScannedLine & { block?: string; marker?: 'begin' | 'end' }> {
  const tracker = new StringTracker();
  const out: Array<ScannedLine & { block?: string; marker?: 'begin' | 'end' }> = [];
  let block: string | undefined;
  for (const line of linesOf(text)) {
    const l = bare(line);
    if (block !== undefined) {
      if (l === `${END_PREFIX}${block}`) {
        out.push({ line, inString: false, block, marker: 'end' });
        block = undefined;
      } else if (l.startsWith(BEGIN_PREFIX)) {
        // A new BEGIN inside an unfinished block: the unfinished one ends here.
        block = l.slice(BEGIN_PREFIX.length);
        out.push({ line, inString: false, block, marker: 'begin' });
      } else {
        out.push({ line, inString: false, block, marker: l.startsWith(END_PREFIX) ? 'end' : undefined });
      }
      continue;
    }
    const scanned = tracker.next(line);
    if (!scanned.inString && l.startsWith(BEGIN_PREFIX)) {
      block = l.slice(BEGIN_PREFIX.length);
      out.push({ line, inString: false, block, marker: 'begin' });
    } else if (!scanned.inString && l.startsWith(END_PREFIX)) {
      out.push({ line, inString: false, block: l.slice(END_PREFIX.length), marker: 'end' });
    } else {
      out.push(scanned);
    }
  }
  return out;
}

/**
 * Joins kept lines. A block that ends the file without a line end was appended to a file that
 * had none: the line end before its BEGIN line is the block's, and goes with it.
 */
function joinKept(kept: string[], removedFinalBlock: boolean): string {
  const text = kept.join('');
  return removedFinalBlock && text.endsWith('\n') ? text.slice(0, -1) : text;
}

/**
 * `text` without the setup's marker block. `paired` is false when a marker has no partner (the
 * block is then removed from its BEGIN line as far as it goes).
 */
export function stripBlock(text: string, setupName: string): { text: string; paired: boolean } {
  const { begin, end } = markers(setupName);
  let inside = false;
  let paired = true;
  let removedFinal = false;
  const kept: string[] = [];
  for (const { line, inString } of scan(text)) {
    const l = bare(line);
    if (!inString && l === begin) {
      if (inside) paired = false;
      inside = true;
    } else if (!inString && l === end) {
      if (!inside) paired = false;
      inside = false;
      removedFinal = !line.endsWith('\n');
    } else if (!inside) {
      kept.push(line);
    }
  }
  return { text: joinKept(kept, removedFinal && paired && !inside), paired: paired && !inside };
}

/** `text` without any setup's marker blocks (to compare what is not ours). */
export function stripAllBlocks(text: string): string {
  const kept: string[] = [];
  let removedFinal = false;
  for (const scanned of scan(text)) {
    if (scanned.block === undefined) {
      kept.push(scanned.line);
      removedFinal = false;
    } else if (scanned.marker === 'end') {
      removedFinal = !scanned.line.endsWith('\n');
    }
  }
  return joinKept(kept, removedFinal);
}

/** Whether `text` holds a marker block of any setup (outside users' strings). */
export function hasBlocks(text: string): boolean {
  return scan(text).some((s) => s.block !== undefined);
}

/** Only the setup's marker block, markers included ('' when there is none). */
export function extractBlock(text: string, setupName: string): string {
  const { begin, end } = markers(setupName);
  let inside = false;
  const kept: string[] = [];
  for (const { line, inString } of scan(text)) {
    const l = bare(line);
    if (!inString && l === begin) inside = true;
    if (inside) kept.push(line);
    if (!inString && l === end) inside = false;
  }
  return kept.join('');
}

/**
 * `base` with `block` (a binary string without a final line end) appended. After a file that
 * ends with a line end (or is empty) the block ends with one; after a file that does not, the
 * block starts with the line end the file lacks and ends without one, so that the file keeps
 * ending as it did and removing the block (`stripBlock`) gives `base` back in any order.
 */
export function appendBlock(base: string, block: string): string {
  return base === '' || base.endsWith('\n') ? `${base}${block}\n` : `${base}\n${block}`;
}

/** Root-level lines (before the first table header), without comments. */
function rootLines(text: string): string[] {
  const out: string[] = [];
  for (const { line, inString } of scan(text.startsWith(BOM) ? text.slice(BOM.length) : text)) {
    if (inString) continue;
    const l = bare(line).trim();
    if (l.startsWith('[')) break;
    if (l !== '' && !l.startsWith('#')) out.push(l);
  }
  return out;
}

/**
 * The root `version = N` of a containerd file: 1 when there is none (as containerd reads it),
 * undefined when the line is there but not an integer. A UTF-8 byte order mark is skipped, as
 * containerd's parser skips it.
 */
export function rootVersion(text: string): number | undefined {
  for (const line of rootLines(text)) {
    const m = /^version\s*=\s*(.*?)\s*(#.*)?$/.exec(line);
    if (m) return /^[0-9]+$/.test(m[1]) ? Number(m[1]) : undefined;
  }
  return 1;
}

function unquote(s: string): string {
  return s.replace(/["']/g, '');
}

/** The table a header line names (`[a."b".c]` -> `a.b.c`), or undefined for other lines and array tables. */
function headerOf(line: string): string | undefined {
  const l = bare(line).trim();
  if (!l.startsWith('[') || l.startsWith('[[')) return undefined;
  const close = l.indexOf(']');
  if (close < 0) return undefined;
  return unquote(l.slice(1, close)).replace(/\s+/g, '');
}

/**
 * Runtime handler names under `plugin`'s `containerd.runtimes` in a containerd file or
 * `config dump` output (the dump writes every table as a header).
 */
export function runtimeHandlers(text: string, plugin: string): string[] {
  const prefix = `plugins.${plugin}.containerd.runtimes.`;
  const found = new Set<string>();
  for (const line of eachLine(text)) {
    const table = headerOf(line);
    if (table === undefined || !table.startsWith(prefix)) continue;
    const rest = table.slice(prefix.length);
    if (rest !== '' && !rest.includes('.')) found.add(rest);
  }
  return [...found].sort();
}

/**
 * Lines of `text` one at a time (a `config dump` of a large file holds hundreds of thousands:
 * no array of them all).
 */
function* eachLine(text: string): Generator<string> {
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    const next = end < 0 ? text.length : end + 1;
    yield text.slice(start, next);
    start = next;
  }
}

/** Key-value pairs of the tables in `wanted` (`table -> key -> raw value`), comments and quotes around keys removed. */
function tables(text: string, wanted: string[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let table: Map<string, string> | undefined;
  for (const line of eachLine(text)) {
    const header = headerOf(line);
    if (header !== undefined) {
      table = wanted.includes(header) ? out.get(header) ?? new Map() : undefined;
      if (table) out.set(header, table);
      continue;
    }
    if (!table) continue;
    const m = /^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(bare(line));
    if (!m) continue;
    table.set(unquote(m[1]), m[2].replace(/\s+#.*$/, ''));
  }
  return out;
}

/**
 * The node's runc `SystemdCgroup` in a `config dump`: runc's options table, else the default
 * runtime's (the NVIDIA toolkit makes `nvidia` the default), else false.
 */
export function systemdCgroupOf(dump: string, plugin: string): boolean {
  const base = `plugins.${plugin}.containerd`;
  const runc = `${base}.runtimes.runc.options`;
  const t = tables(dump, [base, runc]);
  const defaultRuntime = unquote(t.get(base)?.get('default_runtime_name') ?? '');
  const defaultOptions = `${base}.runtimes.${defaultRuntime}.options`;
  const value = t.get(runc)?.get('SystemdCgroup')
    ?? (defaultRuntime ? tables(dump, [defaultOptions]).get(defaultOptions)?.get('SystemdCgroup') : undefined);
  return value === 'true';
}

/** The `pool_name` of a snapshotter plugin in a `config dump`, '' when empty, undefined when the plugin is not set up. */
export function snapshotterPool(dump: string, snapshotter: string): string | undefined {
  const name = `plugins.io.containerd.snapshotter.v1.${snapshotter}`;
  const table = tables(dump, [name]).get(name);
  if (table === undefined) return undefined;
  return unquote(table.get('pool_name') ?? '');
}

/** First line (`N:text`) of `text` that defines the runtime table of `handler`, comments excluded. */
export function tableLine(text: string, handler: string): string | undefined {
  const pattern = new RegExp(`runtimes\\.("${handler}"|'${handler}'|${handler})([\\] .=]|$)`);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (!line.trim().startsWith('#') && pattern.test(line)) return `${i + 1}:${line}`;
  }
  return undefined;
}

/** The paths in the root `imports` array of a containerd file (one-line or multi-line). */
export function importsOf(text: string): string[] {
  const m = /^\s*imports\s*=\s*\[([^\]]*)\]/m.exec(rootSection(text));
  if (!m) return [];
  return [...m[1].matchAll(/"([^"]*)"|'([^']*)'/g)].map((x) => x[1] ?? x[2]);
}

/** The lines before the first table header, without those inside a multi-line string. */
function rootSection(text: string): string {
  const lines = scan(text);
  const first = lines.findIndex((s) => !s.inString && bare(s.line).trim().startsWith('['));
  return (first < 0 ? lines : lines.slice(0, first)).filter((s) => !s.inString).map((s) => s.line).join('');
}

/**
 * The comment on an `imports` line we add to a file that had none: whichever setup takes the
 * line's last entry out deletes the line (other setups may have joined it meanwhile).
 */
export const IMPORTS_TAG = ' # added by cdk8s-runtimeclass: removed with its last entry';

/**
 * `text` with `importPath` first in its root `imports` array; a new `imports` line after the
 * root `version` line (or first) when there is none. Every other byte stays.
 */
export function addImport(text: string, importPath: string): string {
  const scanned = scan(text);
  const lines = scanned.map((s) => s.line);
  const firstTable = scanned.findIndex((s) => !s.inString && bare(s.line).trim().startsWith('['));
  const rootEnd = firstTable < 0 ? lines.length : firstTable;
  const quoted = ourText(JSON.stringify(importPath));
  const importsAt = scanned.slice(0, rootEnd).findIndex((s) => !s.inString && /^\s*imports\s*=/.test(s.line));
  if (importsAt >= 0) {
    const line = lines[importsAt];
    const open = line.indexOf('[');
    const rest = line.slice(open + 1);
    lines[importsAt] = `${line.slice(0, open + 1)}${quoted}${rest.trimStart().startsWith(']') ? '' : ', '}${rest}`;
    return lines.join('');
  }
  const versionAt = scanned.slice(0, rootEnd).findIndex((s) => !s.inString && /^\s*version\s*=/.test(s.line.replace(BOM, '')));
  const newline = versionAt >= 0 && lines[versionAt].endsWith('\r\n') ? '\r\n' : '\n';
  const entry = `imports = [${quoted}]${IMPORTS_TAG}${newline}`;
  if (versionAt < 0) return entry + text;
  lines.splice(versionAt + 1, 0, entry);
  return lines.join('');
}

/** Whether the root of a containerd file has an `imports` line (even `imports = []`). */
export function hasImportsLine(text: string): boolean {
  return linesOf(rootSection(text.startsWith(BOM) ? text.slice(BOM.length) : text)).some((l) => /^\s*imports\s*=/.test(l));
}

/**
 * The inverse of {@link addImport}, whatever other setups added or removed since: `importPath`
 * taken out of the root `imports` array. The line is deleted when it holds nothing else and
 * {@link addImport} made it (it carries {@link IMPORTS_TAG}; an untagged line from an older agent
 * counts as ours when `hadLine` is false: the file had no `imports` line), and becomes
 * `imports = []` again when the file had one.
 */
export function removeImport(text: string, importPath: string, hadLine: boolean): string {
  const quoted = ourText(JSON.stringify(importPath));
  const scanned = scan(text);
  const lines = scanned.map((s) => s.line);
  for (let i = 0; i < lines.length; i++) {
    if (scanned[i].inString || !/^\s*imports\s*=/.test(lines[i])) continue;
    const l = bare(lines[i]);
    if (l === `imports = [${quoted}]${IMPORTS_TAG}` || (!hadLine && l === `imports = [${quoted}]`)) {
      lines.splice(i, 1);
    } else if (lines[i].includes(`${quoted}, `)) {
      lines[i] = lines[i].replace(`${quoted}, `, '');
    } else if (lines[i].includes(`, ${quoted}`)) {
      // Another setup's entry was put before ours since.
      lines[i] = lines[i].replace(`, ${quoted}`, '');
    } else {
      lines[i] = lines[i].replace(quoted, '');
    }
    break;
  }
  return lines.join('');
}

/**
 * Whether a containerd `imports` pattern names `hostPath` (containerd expands patterns with
 * Go's filepath.Glob: `*`, `?` and `[...]` within one path component; relative patterns are
 * relative to the main file's directory).
 */
export function importCovers(pattern: string, hostPath: string, mainDir: string): boolean {
  const absolute = pattern.startsWith('/') ? pattern : `${mainDir.replace(/\/$/, '')}/${pattern}`;
  const source = absolute.split('').map((c) => {
    if (c === '*') return '[^/]*';
    if (c === '?') return '[^/]';
    return /[.+^${}()|\\]/.test(c) ? `\\${c}` : c;
  }).join('');
  try {
    return new RegExp(`^${source}$`).test(hostPath);
  } catch {
    return false;
  }
}
