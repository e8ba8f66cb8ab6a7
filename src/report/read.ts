// Stage 1 of the footprint report: find the input files and parse them into YAML documents.
// Nothing here knows about Kubernetes; a document is any parsed YAML value with its location.
import * as fs from 'fs';
import * as path from 'path';
import { isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';

/** Where a document starts: file (as given or found) and 1-based line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/** One parsed YAML document. */
export interface InputDocument {
  readonly location: SourceLocation;
  readonly value: unknown;
  /** For a document with a top-level `items` list (a `List`, as `kubectl get -o yaml` prints): the line of each item. */
  readonly itemLines?: number[];
}

/** An input that could not be read or parsed; the report cannot be trusted to be complete. */
export interface InputError {
  readonly location?: SourceLocation;
  /** The file or path concerned. */
  readonly file: string;
  readonly message: string;
}

/** Stands for standard input in the list of paths. */
export const STDIN = '-';

/** The files to read: each path given, and every `*.yaml`/`*.yml` under each directory, sorted. */
export function listInputFiles(paths: readonly string[]): { files: string[]; errors: InputError[] } {
  const files: string[] = [];
  const errors: InputError[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (!seen.has(file)) {
      seen.add(file);
      files.push(file);
    }
  };
  for (const given of paths) {
    if (given === STDIN) {
      add(STDIN);
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(given);
    } catch (e: any) {
      errors.push({ file: given, message: `cannot read "${given}": ${describeFsError(e)}` });
      continue;
    }
    if (stat.isDirectory()) {
      let found = 0;
      walk(given, new Set(), (file) => { found++; add(file); }, errors);
      if (found === 0) errors.push({ file: given, message: `no *.yaml or *.yml file under "${given}"` });
    } else {
      // A file named explicitly is read whatever its extension (JSON is YAML too).
      add(given);
    }
  }
  return { files, errors };
}

function walk(directory: string, visited: Set<string>, add: (file: string) => void, errors: InputError[]): void {
  let real: string;
  let entries: fs.Dirent[];
  try {
    real = fs.realpathSync(directory);
    entries = fs.readdirSync(directory, { withFileTypes: true });
  } catch (e: any) {
    errors.push({ file: directory, message: `cannot read directory "${directory}": ${describeFsError(e)}` });
    return;
  }
  // A symbolic link back up the tree would otherwise loop forever.
  if (visited.has(real)) return;
  visited.add(real);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = fs.statSync(full);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      } catch {
        continue; // a dangling link is not an input
      }
    }
    if (isDirectory) walk(full, visited, add, errors);
    else if (isFile && /\.ya?ml$/i.test(entry.name)) add(full);
  }
}

function describeFsError(e: any): string {
  switch (e?.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ELOOP': return 'too many symbolic links';
    default: return String(e?.message ?? e);
  }
}

/** Reads one file (or standard input) as text. */
export function readInputFile(file: string, readStdin: () => string): { text?: string; error?: InputError } {
  try {
    return { text: file === STDIN ? readStdin() : fs.readFileSync(file, 'utf8') };
  } catch (e: any) {
    return { error: { file, message: `cannot read "${displayName(file)}": ${describeFsError(e)}` } };
  }
}

/** How a file is named in output. */
export function displayName(file: string): string {
  return file === STDIN ? '<stdin>' : file;
}

/**
 * Every document of a YAML stream. A document with a syntax error is left out and reported,
 * the others are kept; empty documents (a trailing `---`) are dropped silently.
 */
export function parseYamlDocuments(text: string, file: string): { documents: InputDocument[]; errors: InputError[] } {
  const name = displayName(file);
  const documents: InputDocument[] = [];
  const errors: InputError[] = [];
  if (text.includes('\u0000')) {
    return { documents, errors: [{ file: name, message: `${name}: is a binary file, not YAML` }] };
  }
  const lineCounter = new LineCounter();
  let parsed: ReturnType<typeof parseAllDocuments>;
  try {
    parsed = parseAllDocuments(text, { lineCounter });
  } catch (e: any) {
    return { documents, errors: [{ file: name, message: `${name}: cannot be parsed as YAML: ${firstLine(e?.message)}` }] };
  }
  const list = Array.isArray(parsed) ? parsed : [];
  for (const document of list) {
    const start = document.contents?.range?.[0] ?? document.range?.[0] ?? 0;
    const location: SourceLocation = { file: name, line: lineCounter.linePos(start).line };
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const line = error.linePos?.[0]?.line ?? location.line;
        const column = error.linePos?.[0]?.col;
        const where = column === undefined ? `${name}:${line}` : `${name}:${line}:${column}`;
        errors.push({ file: name, location: { file: name, line }, message: `${where}: invalid YAML: ${firstLine(error.message).replace(/ at line \d+, column \d+:?$/, '')}` });
      }
      continue;
    }
    try {
      const value = document.toJS();
      if (value !== null && value !== undefined) documents.push({ location, value, itemLines: itemLinesOf(document.contents, lineCounter) });
    } catch (e: any) {
      // e.g. too many aliases (a "billion laughs" document)
      errors.push({ file: name, location, message: `${name}:${location.line}: cannot be read: ${firstLine(e?.message)}` });
    }
  }
  return { documents, errors };
}

function firstLine(message: unknown): string {
  return String(message ?? 'unknown error').split('\n')[0].trim();
}

/** Where each item of a top-level `items` list starts, so that a cluster dump's problems point at their object. */
function itemLinesOf(contents: unknown, lineCounter: LineCounter): number[] | undefined {
  if (!isMap(contents)) return undefined;
  const items = contents.get('items', true);
  if (!isSeq(items)) return undefined;
  return items.items.map((item: any) => (item?.range ? lineCounter.linePos(item.range[0]).line : lineCounter.linePos(items.range?.[0] ?? 0).line));
}
