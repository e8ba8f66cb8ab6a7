/**
 * Line-based reading and editing of containerd and CRI-O TOML files. Edits never re-serialize
 * a file: the node's bytes outside our marker block (and our one `imports` entry) stay exactly
 * as they were, comments, key order, number formats and line ends included.
 */

const BOM = '\uFEFF';

/** The marker comments around a setup's block in a file we edit in place. */
export function markers(setupName: string): { begin: string; end: string } {
  return { begin: `# BEGIN cdk8s-runtimeclass ${setupName}`, end: `# END cdk8s-runtimeclass ${setupName}` };
}

/** Lines of `text`, keeping each line's own ending (LF or CRLF) with it. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function bare(line: string): string {
  return line.replace(/\r?\n$/, '');
}

/**
 * `text` without the setup's marker block. `paired` is false when a marker has no partner (the
 * block is then removed from its BEGIN line as far as it goes).
 */
export function stripBlock(text: string, setupName: string): { text: string; paired: boolean } {
  const { begin, end } = markers(setupName);
  let inside = false;
  let paired = true;
  const kept: string[] = [];
  for (const line of linesOf(text)) {
    const l = bare(line);
    if (l === begin) {
      if (inside) paired = false;
      inside = true;
    } else if (l === end) {
      if (!inside) paired = false;
      inside = false;
    } else if (!inside) {
      kept.push(line);
    }
  }
  return { text: kept.join(''), paired: paired && !inside };
}

/** `text` without any setup's marker blocks (to compare what is not ours). */
export function stripAllBlocks(text: string): string {
  let inside = false;
  const kept: string[] = [];
  for (const line of linesOf(text)) {
    const l = bare(line);
    if (l.startsWith('# BEGIN cdk8s-runtimeclass ')) inside = true;
    else if (l.startsWith('# END cdk8s-runtimeclass ')) inside = false;
    else if (!inside) kept.push(line);
  }
  return kept.join('');
}

/** Only the setup's marker block, markers included ('' when there is none). */
export function extractBlock(text: string, setupName: string): string {
  const { begin, end } = markers(setupName);
  let inside = false;
  const kept: string[] = [];
  for (const line of linesOf(text)) {
    const l = bare(line);
    if (l === begin) inside = true;
    if (inside) kept.push(line);
    if (l === end) inside = false;
  }
  return kept.join('');
}

/** `text` ending with a newline (a block appended to a file without one must start on its own line). */
export function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** Root-level lines (before the first table header), without comments. */
function rootLines(text: string): string[] {
  const out: string[] = [];
  for (const line of linesOf(text.startsWith(BOM) ? text.slice(1) : text)) {
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
  for (const line of linesOf(text)) {
    const table = headerOf(line);
    if (table === undefined || !table.startsWith(prefix)) continue;
    const rest = table.slice(prefix.length);
    if (rest !== '' && !rest.includes('.')) found.add(rest);
  }
  return [...found].sort();
}

/** Key-value pairs per table (`table -> key -> raw value`), comments and quotes around keys removed. */
function tables(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>([['', new Map()]]);
  let table = '';
  for (const line of linesOf(text)) {
    const header = headerOf(line);
    if (header !== undefined) {
      table = header;
      if (!out.has(table)) out.set(table, new Map());
      continue;
    }
    const m = /^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(bare(line));
    if (!m) continue;
    out.get(table)!.set(unquote(m[1]), m[2].replace(/\s+#.*$/, ''));
  }
  return out;
}

/**
 * The node's runc `SystemdCgroup` in a `config dump`: runc's options table, else the default
 * runtime's (the NVIDIA toolkit makes `nvidia` the default), else false.
 */
export function systemdCgroupOf(dump: string, plugin: string): boolean {
  const t = tables(dump);
  const base = `plugins.${plugin}.containerd`;
  const defaultRuntime = unquote(t.get(base)?.get('default_runtime_name') ?? '');
  const value = t.get(`${base}.runtimes.runc.options`)?.get('SystemdCgroup')
    ?? (defaultRuntime ? t.get(`${base}.runtimes.${defaultRuntime}.options`)?.get('SystemdCgroup') : undefined);
  return value === 'true';
}

/** The `pool_name` of a snapshotter plugin in a `config dump`, '' when empty, undefined when the plugin is not set up. */
export function snapshotterPool(dump: string, snapshotter: string): string | undefined {
  const table = tables(dump).get(`plugins.io.containerd.snapshotter.v1.${snapshotter}`);
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

function rootSection(text: string): string {
  const lines = linesOf(text);
  const first = lines.findIndex((l) => bare(l).trim().startsWith('['));
  return (first < 0 ? lines : lines.slice(0, first)).join('');
}

/**
 * `text` with `importPath` first in its root `imports` array; a new `imports` line after the
 * root `version` line (or first) when there is none. Every other byte stays.
 */
export function addImport(text: string, importPath: string): string {
  const lines = linesOf(text);
  const firstTable = lines.findIndex((l) => bare(l).trim().startsWith('['));
  const rootEnd = firstTable < 0 ? lines.length : firstTable;
  const quoted = JSON.stringify(importPath);
  const importsAt = lines.slice(0, rootEnd).findIndex((l) => /^\s*imports\s*=/.test(l));
  if (importsAt >= 0) {
    const line = lines[importsAt];
    const open = line.indexOf('[');
    const rest = line.slice(open + 1);
    lines[importsAt] = `${line.slice(0, open + 1)}${quoted}${rest.trimStart().startsWith(']') ? '' : ', '}${rest}`;
    return lines.join('');
  }
  const versionAt = lines.slice(0, rootEnd).findIndex((l) => /^\s*version\s*=/.test(l.replace(BOM, '')));
  const newline = versionAt >= 0 && lines[versionAt].endsWith('\r\n') ? '\r\n' : '\n';
  const entry = `imports = [${quoted}]${newline}`;
  if (versionAt < 0) return entry + text;
  lines.splice(versionAt + 1, 0, entry);
  return lines.join('');
}

/** Whether the root of a containerd file has an `imports` line (even `imports = []`). */
export function hasImportsLine(text: string): boolean {
  return linesOf(rootSection(text.startsWith(BOM) ? text.slice(1) : text)).some((l) => /^\s*imports\s*=/.test(l));
}

/**
 * The inverse of {@link addImport}: `importPath` taken out of the root `imports` array. The
 * line `imports = ["<importPath>"]` is deleted when {@link addImport} made it (`hadLine` false:
 * the file had no `imports` line), and becomes `imports = []` again when it had one.
 */
export function removeImport(text: string, importPath: string, hadLine: boolean): string {
  const quoted = JSON.stringify(importPath);
  const lines = linesOf(text);
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*imports\s*=/.test(lines[i])) continue;
    if (!hadLine && bare(lines[i]) === `imports = [${quoted}]`) {
      lines.splice(i, 1);
    } else if (lines[i].includes(`${quoted}, `)) {
      lines[i] = lines[i].replace(`${quoted}, `, '');
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
