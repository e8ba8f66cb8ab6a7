// Stage 1 of the footprint report: find the input files and parse them into YAML documents.
// Nothing here knows about Kubernetes; a document is any parsed YAML value with its location.
import * as fs from 'fs';
import * as path from 'path';
import { StringDecoder } from 'string_decoder';
import type { LineCounter } from 'yaml';
import { parseFastYaml, UNSURE } from './fast-yaml';

/**
 * The yaml package, loaded on first use: input the fast reader reads whole never needs it, and
 * loading it is a good part of a small report's time.
 */
function yamlPackage(): typeof import('yaml') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yaml');
}

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

/**
 * A string that does not keep alive the chunk of input it was cut from (V8 keeps a substring's
 * parent string): what the model keeps of each object must not hold the whole input in memory.
 */
export function detached(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
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
    return { error: readError(file, e) };
  }
}

/** The error for a file that could not be read. */
export function readError(file: string, e: unknown): InputError {
  return { file, message: `cannot read "${displayName(file)}": ${describeFsError(e)}` };
}

/** How a file is named in output. */
export function displayName(file: string): string {
  return file === STDIN ? '<stdin>' : file;
}

/** Receives what a YAML stream holds, one document (or one item of a large list) at a time. */
export interface YamlSink {
  /** A whole document; `itemLines` as in InputDocument. */
  document(value: unknown, location: SourceLocation, itemLines?: number[]): void;
  /**
   * An item of a document's top-level `items` sequence (a `List`, as kubectl prints it), read
   * one at a time so that a cluster dump is never held whole. `value` is undefined when the item
   * could not be parsed (its error has been reported).
   */
  listItem(value: unknown, index: number, location: SourceLocation): void;
  /** The end of a document whose items were given one at a time: the document without `items` (undefined when it could not be parsed). */
  listEnd(rest: unknown, location: SourceLocation): void;
  error(error: InputError): void;
}

/**
 * Reads a YAML stream chunk by chunk, holding one document (or one list item) at a time. Each is
 * read by the fast reader when it vouches for the text, else by the `yaml` package, which also
 * reports errors with their line. Empty documents (a trailing `---`) are dropped silently.
 * Returns how many documents were given to the sink.
 */
export function streamYamlDocuments(chunks: Iterable<string>, file: string, sink: YamlSink): number {
  const name = displayName(file);
  let documents = 0;
  let lineNumber = 0; // of the last line read
  let docLines: string[] = [];
  // The line number of each of docLines: a document whose items are streamed keeps only its other lines.
  let docLineNumbers: number[] = [];
  const pushDoc = (line: string, number: number) => {
    docLines.push(line);
    docLineNumbers.push(number);
  };
  let itemsLine = 0;
  let docStart = 1; // line of docLines[0]
  let libraryOnly = false; // a directive or content after "---": the yaml package reads the document
  // List items
  let inItems = false;
  let itemColumn = -1;
  let itemLines: string[] = [];
  let itemStart = 0;
  let items = 0;
  let restLocation: SourceLocation | undefined;

  const flushItem = () => {
    if (itemLines.length === 0) return;
    const location = { file: name, line: itemStart };
    const value = parseUnit(itemLines, itemStart, name, sink, true);
    sink.listItem(value === FAILED ? undefined : value, items++, location);
    itemLines = [];
  };
  const endItems = () => {
    if (itemColumn === -1) pushDoc('items:', itemsLine); // nothing under it: an ordinary key
    flushItem();
    inItems = false;
  };
  const endDocument = () => {
    if (inItems) endItems();
    if (items > 0) {
      const rest = parseUnit(docLines, docLineNumbers, name, sink, false, libraryOnly);
      const first = firstSignificant(docLines);
      if (rest !== FAILED && rest !== null && (typeof rest !== 'object' || Array.isArray(rest))) {
        sink.error({ file: name, location: { file: name, line: docLineNumbers[first] }, message: `${name}:${docLineNumbers[first]}: invalid YAML: the lines around a top-level "items:" sequence must be keys of a mapping` });
      }
      sink.listEnd(rest === FAILED ? undefined : rest, restLocation ?? { file: name, line: docStart });
      documents++;
    } else if (libraryOnly) {
      documents += parseWithLibrary(docLines, docLineNumbers, name, sink, false, true);
    } else {
      const first = firstSignificant(docLines);
      if (first !== -1) {
        const value = parseUnit(docLines, docLineNumbers, name, sink, false);
        if (value !== FAILED && value !== null && value !== undefined) {
          sink.document(value, { file: name, line: docLineNumbers[first] });
          documents++;
        }
      }
    }
    docLines = [];
    docLineNumbers = [];
    docStart = lineNumber + 1;
    libraryOnly = false;
    itemColumn = -1;
    items = 0;
    restLocation = undefined;
  };

  const onLine = (line: string) => {
    lineNumber++;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const c = line.charCodeAt(0);
    // Document markers, always at column 0.
    if ((c === 45 || c === 46) && (line.startsWith('---') || line.startsWith('...')) && (line.length === 3 || line[3] === ' ' || line[3] === '\t')) {
      const marker = line.startsWith('---');
      if (inItems) endItems();
      if (marker && libraryOnly && items === 0 && docLines.every((l) => l.startsWith('%') || isInsignificant(l))) {
        // Directives, then the document they apply to: the yaml package reads them together.
        pushDoc(line, lineNumber);
        return;
      }
      if (!marker || firstSignificant(docLines) !== -1 || items > 0) endDocument();
      docStart = lineNumber + 1;
      docLines = [];
      docLineNumbers = [];
      const after = line.slice(3).trim();
      if (!marker && after !== '' && after[0] !== '#') {
        sink.error({ file: name, location: { file: name, line: lineNumber }, message: `${name}:${lineNumber}: invalid YAML: content after the document end marker "..."` });
      }
      if (marker && after !== '' && after[0] !== '#') {
        // "--- value": leave the document to the yaml package, marker included.
        libraryOnly = true;
        pushDoc(line, lineNumber);
        docStart = lineNumber;
      }
      return;
    }
    if (inItems) {
      let indent = 0;
      while (line.charCodeAt(indent) === 32) indent++;
      if (isInsignificant(line, indent)) {
        if (itemLines.length > 0) itemLines.push(line);
        else pushDoc(line, lineNumber);
        return;
      }
      const entry = line[indent] === '-' && (line.length === indent + 1 || line[indent + 1] === ' ');
      if (itemColumn === -1) {
        if (entry) {itemColumn = indent;} else {
          // "items:" holds something else than a block sequence: read the document whole.
          inItems = false;
          pushDoc('items:', itemsLine);
        }
      }
      if (inItems) {
        if (indent === itemColumn && entry) {
          flushItem();
          itemStart = lineNumber;
          itemLines.push(line);
          return;
        }
        if (indent > itemColumn && itemLines.length > 0) {
          itemLines.push(line);
          return;
        }
        endItems();
      }
    } else if (c === 105 && !libraryOnly && /^items:[ \t]*(#.*)?$/.test(line)) {
      // A top-level "items:" key: stream the sequence under it.
      inItems = true;
      itemsLine = lineNumber;
      const first = firstSignificant(docLines);
      restLocation = { file: name, line: first === -1 ? lineNumber : docLineNumbers[first] };
      return;
    }
    if (c === 37 && firstSignificant(docLines) === -1) libraryOnly = true; // a directive (%YAML)
    if (docLines.length === 0) docStart = lineNumber;
    pushDoc(line, lineNumber);
  };

  let partial = '';
  let first = true;
  for (let chunk of chunks) {
    if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    first = false;
    if (chunk.includes('\u0000')) {
      sink.error({ file: name, message: `${name}: is a binary file, not YAML` });
      return documents;
    }
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
      const line = partial === '' ? chunk.slice(start, newline) : partial + chunk.slice(start, newline);
      partial = '';
      onLine(line);
      start = newline + 1;
    }
    partial += chunk.slice(start);
  }
  if (partial !== '') onLine(partial);
  endDocument();
  return documents;
}

const FAILED: unique symbol = Symbol('failed');

function firstSignificant(lines: readonly string[]): number {
  for (let i = 0; i < lines.length; i++) if (!isInsignificant(lines[i])) return i;
  return -1;
}

/** A blank or comment-only line; `indent` is where its first non-space character is, if known. */
function isInsignificant(line: string, indent: number = 0): boolean {
  let i = indent;
  while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
  return i >= line.length || line.charCodeAt(i) === 35;
}

/** A document (or a list item, "- " included) by the fast reader, else the yaml package. */
function parseUnit(lines: string[], lineNumbers: LineNumbers, name: string, sink: YamlSink, item: boolean, libraryOnly: boolean = false): unknown {
  if (!libraryOnly) {
    const value = parseFastYaml(lines, 0, lines.length);
    if (value !== UNSURE) {
      if (!item) return value;
      if (Array.isArray(value) && value.length === 1) return value[0];
    }
  }
  let result: unknown = FAILED;
  parseWithLibrary(lines, lineNumbers, name, {
    document: (value) => { result = item ? (Array.isArray(value) ? value[0] : FAILED) : value; },
    listItem: () => undefined,
    listEnd: () => undefined,
    error: (error) => sink.error(error),
  }, true, false);
  return result;
}

/** The line number of each line: the first one's when they follow each other, else one per line. */
type LineNumbers = number | readonly number[];

/** The yaml package on some lines; errors and locations carry the lines' own numbers. Returns the documents given. */
function parseWithLibrary(
  lines: string[], lineNumbers: LineNumbers, name: string, sink: YamlSink, keepNull: boolean, withItemLines: boolean,
): number {
  const text = lines.join('\n');
  const yaml = yamlPackage();
  const lineCounter = new yaml.LineCounter();
  // 1-based line of the text -> line of the input.
  const inputLine = (line: number): number => {
    if (typeof lineNumbers === 'number') return line + lineNumbers - 1;
    if (lineNumbers.length === 0) return line;
    return lineNumbers[Math.min(line, lineNumbers.length) - 1] + Math.max(0, line - lineNumbers.length);
  };
  let parsed: ReturnType<typeof yaml.parseAllDocuments>;
  try {
    parsed = yaml.parseAllDocuments(text, { lineCounter });
  } catch (e: any) {
    sink.error({ file: name, message: `${name}: cannot be parsed as YAML: ${firstLine(e?.message)}` });
    return 0;
  }
  const list = Array.isArray(parsed) ? parsed : [];
  let given = 0;
  for (const document of list) {
    const start = document.contents?.range?.[0] ?? document.range?.[0] ?? 0;
    const location: SourceLocation = { file: name, line: inputLine(lineCounter.linePos(start).line) };
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const line = error.linePos?.[0]?.line === undefined ? location.line : inputLine(error.linePos[0].line);
        const column = error.linePos?.[0]?.col;
        const where = column === undefined ? `${name}:${line}` : `${name}:${line}:${column}`;
        sink.error({ file: name, location: { file: name, line }, message: `${where}: invalid YAML: ${firstLine(error.message).replace(/ at line \d+, column \d+:?$/, '')}` });
      }
      continue;
    }
    try {
      const value = document.toJS();
      if (keepNull || (value !== null && value !== undefined)) {
        const itemLines = withItemLines ? itemLinesOf(document.contents, lineCounter)?.map(inputLine) : undefined;
        sink.document(value, location, itemLines);
        given++;
      }
    } catch (e: any) {
      // e.g. too many aliases (a "billion laughs" document)
      sink.error({ file: name, location, message: `${name}:${location.line}: cannot be read: ${firstLine(e?.message)}` });
    }
  }
  return given;
}

/**
 * Every document of a YAML stream. A document with a syntax error is left out and reported,
 * the others are kept; empty documents (a trailing `---`) are dropped silently. A list read item
 * by item is given back whole, without the items that could not be parsed.
 */
export function parseYamlDocuments(text: string, file: string): { documents: InputDocument[]; errors: InputError[] } {
  const documents: InputDocument[] = [];
  const errors: InputError[] = [];
  let items: unknown[] = [];
  let lines: number[] = [];
  streamYamlDocuments([text], file, {
    document: (value, location, itemLines) => { documents.push(itemLines ? { location, value, itemLines } : { location, value }); },
    listItem: (value, _index, location) => {
      if (value === undefined) return;
      items.push(value);
      lines.push(location.line);
    },
    listEnd: (rest, location) => {
      if (rest !== null && typeof rest === 'object' && !Array.isArray(rest)) documents.push({ location, value: { ...rest, items }, itemLines: lines });
      else if (rest === null) documents.push({ location, value: { items }, itemLines: lines });
      items = [];
      lines = [];
    },
    error: (error) => { errors.push(error); },
  });
  return { documents, errors };
}

/** Reads a file (or standard input) in chunks of text. */
export function* fileChunks(file: string, stdinChunks: () => Iterable<string>): Iterable<string> {
  if (file === STDIN) {
    yield* stdinChunks();
    return;
  }
  const fd = fs.openSync(file, 'r');
  try {
    yield* descriptorChunks(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads an open file descriptor to its end in chunks of text (standard input too: a non-blocking pipe is waited on). */
export function* descriptorChunks(fd: number): Iterable<string> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  const decoder = new StringDecoder('utf8');
  for (;;) {
    let read: number;
    try {
      read = fs.readSync(fd, buffer, 0, buffer.length, null);
    } catch (e: any) {
      if (e?.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (e?.code === 'EOF') break;
      throw e;
    }
    if (read === 0) break;
    yield decoder.write(buffer.subarray(0, read));
  }
  const tail = decoder.end();
  if (tail !== '') yield tail;
}

/**
 * Below V8's largest regular object (128 KiB), so that each chunk's string is made in the young
 * generation: 1 MiB chunks, made in the large-object space, took ten times as long to decode.
 */
const CHUNK_BYTES = 64 * 1024;

function firstLine(message: unknown): string {
  return String(message ?? 'unknown error').split('\n')[0].trim();
}

/** Where each item of a top-level `items` list starts, so that a cluster dump's problems point at their object. */
function itemLinesOf(contents: unknown, lineCounter: LineCounter): number[] | undefined {
  const yaml = yamlPackage();
  if (!yaml.isMap(contents)) return undefined;
  const items = contents.get('items', true);
  if (!yaml.isSeq(items)) return undefined;
  return items.items.map((item: any) => (item?.range ? lineCounter.linePos(item.range[0]).line : lineCounter.linePos(items.range?.[0] ?? 0).line));
}
