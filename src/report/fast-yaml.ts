// A fast reader for the YAML that machines write (kubectl, cdk8s, Helm, Go and JavaScript YAML
// libraries): block mappings and sequences, one-line scalars and flow collections, literal block
// scalars. It gives the same value as the `yaml` package's `toJS()` (YAML 1.2 core schema) or
// says UNSURE, and the caller then hands the text to the `yaml` package, which also reports
// errors. Anything it does not fully understand is UNSURE: anchors, aliases, tags, directives,
// folded and indented-indicator block scalars, multi-line plain or quoted scalars, complex keys,
// tabs in indentation, duplicate keys, octal and hexadecimal numbers, infinities.
//
// It exists because the report reads cluster dumps of 100,000 objects, where the `yaml`
// package's full syntax tree costs tens of seconds and gigabytes.

/** Returned when the text is outside what this reader vouches for. */
export const UNSURE: unique symbol = Symbol('unsure');

class Unsure extends Error {}

const unsure = (): never => {
  throw new Unsure();
};

/**
 * The value of lines[from..to) as one YAML node (a document's contents, or a sequence item with
 * its "- " at column `itemColumn`), or UNSURE. Lines hold no line break.
 */
export function parseFastYaml(lines: readonly string[], from: number, to: number): unknown {
  try {
    return new BlockReader(lines, from, to).document();
  } catch (e) {
    if (e instanceof Unsure || e instanceof RangeError) return UNSURE;
    throw e;
  }
}

/** Reads lines; a line's indentation and content can be overridden for compact "- key: value" items. */
class BlockReader {
  private index: number;
  /** Per line (from `from`): its indentation, its content without indentation and trailing blanks. */
  private readonly indents: number[];
  private readonly contents: string[];

  constructor(private readonly lines: readonly string[], private readonly from: number, private readonly to: number) {
    this.index = from;
    const count = to - from;
    this.indents = new Array<number>(count);
    this.contents = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const line = lines[from + i];
      let n = 0;
      while (n < line.length && line.charCodeAt(n) === 32) n++;
      this.indents[i] = n;
      let content = n === 0 ? line : line.slice(n);
      // YAML's white space is the blank and the tab only: a no-break space, a BOM or a form feed at the end is content.
      const last = line.charCodeAt(line.length - 1);
      if (last === 32 || last === 9) content = content.replace(/[ \t]+$/, '');
      this.contents[i] = content;
      // A tab in the indentation, blank lines included (the yaml package rejects some of those).
      if (line.charCodeAt(n) === 9) this.contents[i] = '\t';
    }
  }

  public document(): unknown {
    this.skipInsignificant();
    if (this.index >= this.to) return null;
    const value = this.node(this.indent(this.index), -1);
    this.skipInsignificant();
    if (this.index < this.to) unsure();
    return value;
  }

  private indent(i: number): number {
    return this.indents[i - this.from];
  }

  private content(i: number): string {
    const content = this.contents[i - this.from];
    if (content === '\t') unsure();
    return content;
  }

  private override(i: number, indent: number, content: string): void {
    this.indents[i - this.from] = indent;
    this.contents[i - this.from] = content;
  }

  /** Skips blank and comment-only lines. */
  private skipInsignificant(): void {
    while (this.index < this.to) {
      const content = this.contents[this.index - this.from];
      if (content !== '' && content.charCodeAt(0) !== 35) return;
      this.index++;
    }
  }

  /** A block node starting at the current line, indented `indent`, inside a parent indented `parentIndent`. */
  private node(indent: number, parentIndent: number): unknown {
    const content = this.content(this.index);
    if (isSequenceEntry(content)) return this.sequence(indent);
    if (mappingKey(content) !== undefined) return this.mapping(indent);
    if (parentIndent < 0) unsure(); // a document that is one scalar: rare, leave it to the yaml package
    const value = this.inlineValue(content, 0, parentIndent);
    return value;
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    while (this.index < this.to && this.indent(this.index) === indent && isSequenceEntry(this.content(this.index))) {
      const line = this.index;
      const content = this.content(line);
      const rest = content.slice(firstNonSpace(content, 1));
      if (rest === '' || rest[0] === '#') {
        this.index++;
        items.push(this.nestedValue(indent, true));
        continue;
      }
      if (isSequenceEntry(rest)) unsure(); // "- - x"
      // "- key: value": a mapping whose first line starts after the dash.
      const column = indent + content.length - rest.length;
      if (mappingKey(rest) !== undefined) {
        this.override(line, column, rest);
        items.push(this.mapping(column));
      } else {
        items.push(this.inlineValue(rest, 0, indent));
      }
      this.skipInsignificant();
    }
    this.endOfCollection(indent);
    return items;
  }

  private mapping(indent: number): { [key: string]: unknown } {
    const result: { [key: string]: unknown } = {};
    while (this.index < this.to && this.indent(this.index) === indent) {
      const content = this.content(this.index);
      if (isSequenceEntry(content)) break;
      const name = mappingKey(content);
      if (name === undefined) unsure();
      if (name === '__proto__' || Object.prototype.hasOwnProperty.call(result, name!)) unsure();
      const valueStart = firstNonSpace(content, keyEnd);
      if (valueStart >= content.length || content.charCodeAt(valueStart) === 35) {
        this.index++;
        result[name!] = this.nestedValue(indent, false);
      } else {
        result[name!] = this.inlineValue(content, valueStart, indent);
        this.skipInsignificant();
      }
    }
    this.endOfCollection(indent);
    return result;
  }

  /** After a collection: the next line must belong to an enclosing one (less indented). */
  private endOfCollection(indent: number): void {
    this.skipInsignificant();
    if (this.index < this.to && this.indent(this.index) > indent) unsure();
  }

  /** The value on the lines after "key:" or "-": more indented, or (for a key) a sequence at the same indentation; else null. */
  private nestedValue(indent: number, inSequence: boolean): unknown {
    this.skipInsignificant();
    if (this.index >= this.to) return null;
    const next = this.indent(this.index);
    if (next > indent) return this.node(next, indent);
    if (!inSequence && next === indent && isSequenceEntry(this.content(this.index))) return this.sequence(indent);
    return null;
  }

  /** A value that starts on the current line at `start` of `text`, after "key: " or "- " (the line is then consumed). */
  private inlineValue(text: string, start: number, parentIndent: number): unknown {
    const first = text[start];
    let value: unknown;
    let rest: string;
    if (first === '|') {
      return this.literalBlock(text.slice(start), parentIndent);
    } else if (first === '"' || first === "'") {
      [value, rest] = quoted(text, start);
    } else if (first === '[' || first === '{') {
      const flow = new FlowReader(text, start);
      value = flow.value();
      rest = text.slice(flow.position);
    } else {
      // Up to a comment, without the blanks before it (the text has no trailing blank).
      let end = text.indexOf(' #', start);
      if (end === -1) end = text.length;
      while (end > start && text.charCodeAt(end - 1) === 32) end--;
      value = plainScalar(start === 0 && end === text.length ? text : text.slice(start, end), false);
      rest = '';
    }
    if (rest !== '' && !/^ +(#.*)?$/.test(rest)) unsure();
    this.index++;
    // A more indented line next would continue a multi-line scalar (or be an error).
    this.skipInsignificant();
    if (this.index < this.to && this.indent(this.index) > parentIndent) unsure();
    return value;
  }

  /** `|`, `|-` or `|+` and the lines more indented than the parent. */
  private literalBlock(header: string, parentIndent: number): string {
    const match = /^\|([-+]?)( +#.*)?$/.exec(header);
    if (!match) unsure();
    const chomping = match![1];
    this.index++;
    const body: string[] = [];
    let blockIndent = -1;
    while (this.index < this.to) {
      const line = this.lines[this.index];
      const trimmed = line.replace(/ +$/, '');
      if (trimmed === '') {
        if (blockIndent === -1 && line.length > 0) unsure(); // leading spaces-only lines: leave the indentation rules to the yaml package
        if (blockIndent !== -1 && line.length > blockIndent) unsure();
        body.push('');
        this.index++;
        continue;
      }
      let n = 0;
      while (n < line.length && line.charCodeAt(n) === 32) n++;
      if (line.charCodeAt(n) === 9) unsure(); // a tab where indentation could be
      if (blockIndent === -1) {
        if (n <= parentIndent) break;
        blockIndent = n;
      }
      if (n < blockIndent) {
        if (n > parentIndent) unsure(); // less indented than the block, more than its parent: an error
        break;
      }
      body.push(line.slice(blockIndent));
      this.index++;
    }
    // Trailing blank lines belong to the chomping, not to the next node.
    let end = body.length;
    while (end > 0 && body[end - 1] === '') end--;
    const trailing = body.length - end;
    const textBody = body.slice(0, end).join('\n');
    if (end === 0) return chomping === '+' ? '\n'.repeat(trailing) : '';
    if (chomping === '-') return textBody;
    if (chomping === '+') return `${textBody}\n${'\n'.repeat(trailing)}`;
    return `${textBody}\n`;
  }
}

/** "- " or a lone "-" (a sequence entry). */
function isSequenceEntry(content: string): boolean {
  return content.charCodeAt(0) === 45 && (content.length === 1 || content.charCodeAt(1) === 32);
}

/** Where the value of the key last found by mappingKey starts (just after its colon). */
let keyEnd = 0;

/**
 * A mapping entry's key, or undefined when the line is not "key:" or "key: value"; `keyEnd` is
 * then where its value starts. (A module variable rather than a pair: this runs on most lines.)
 */
function mappingKey(content: string): string | undefined {
  const first = content.charCodeAt(0);
  // The common case: a key of letters, digits and "-._/" (Kubernetes field names, labels, annotations).
  if (isKeyStart(first)) {
    let i = 1;
    while (i < content.length && isKeyCharacter(content.charCodeAt(i))) i++;
    if (content.charCodeAt(i) === 58 && (i + 1 === content.length || content.charCodeAt(i + 1) === 32)) {
      if (!(first <= 57 || first === 45 || first === 46)) {
        const key = knownKey(content, 0, i);
        if (!((i === 4 || i === 5) && SPECIAL_KEYS.has(key))) {
          keyEnd = i + 1;
          return key;
        }
      }
    }
  }
  const unusual = unusualMappingKey(content);
  if (unusual === undefined) return undefined;
  keyEnd = unusual[1];
  return unusual[0];
}

/**
 * Keys met before, by length and first character (ASCII): the few dozen names of a manifest are
 * then neither cut out of each line again nor looked up as new property names. At most 8 a slot.
 */
const KEY_SLOTS: Array<string[] | undefined> = new Array(64 * 128);

/** content[start, start + length) as a key, the one met before when there is one. */
function knownKey(content: string, start: number, length: number): string {
  const first = content.charCodeAt(start);
  if (length >= 64 || length === 0 || first >= 128) return content.slice(start, start + length);
  const slot = length * 128 + first;
  let keys = KEY_SLOTS[slot];
  if (keys !== undefined) {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      let i = 1; // the first character is the slot's
      while (i < length && key.charCodeAt(i) === content.charCodeAt(start + i)) i++;
      if (i === length) return key;
    }
  } else {
    keys = KEY_SLOTS[slot] = [];
  }
  const key = content.slice(start, start + length);
  // A property name of its own (internalized), not a slice of the line.
  if (keys.length < 8) keys.push(Object.keys({ [key]: 0 })[0]);
  return key;
}

const SPECIAL_KEYS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);

/** Letters, digits and "_.-/" (1 at their code). */
const KEY_CHARACTERS = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-') KEY_CHARACTERS[c.charCodeAt(0)] = 1;

function isKeyStart(c: number): boolean {
  return c < 128 && KEY_CHARACTERS[c] === 1;
}

function isKeyCharacter(c: number): boolean {
  return c < 128 && KEY_CHARACTERS[c] === 1;
}

function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (text.charCodeAt(i) === 32) i++;
  return i;
}

function unusualMappingKey(content: string): [string, number] | undefined {
  const first = content[0];
  if (first === '"' || first === "'") {
    const [key, rest] = quoted(content, 0);
    if (typeof key !== 'string' || rest[0] !== ':' || (rest.length > 1 && rest[1] !== ' ')) return undefined;
    return [key, content.length - rest.length + 1];
  }
  let colon = content.indexOf(':');
  while (colon !== -1 && colon + 1 < content.length && content[colon + 1] !== ' ') colon = content.indexOf(':', colon + 1);
  if (colon <= 0) return undefined;
  const key = content.slice(0, colon);
  if (/^[?:,[\]{}#&*!|>'"%@`]/.test(key) || key.endsWith(' ') || key.includes(' #') || key.includes('\t')) {
    if (first === '?' || first === '&' || first === '!' || first === '*') unsure();
    return undefined;
  }
  if (isSequenceEntry(key)) return undefined;
  // A key the core schema reads as something else than a string (a number, true, null): leave it.
  if (plainScalar(key, false) !== key) unsure();
  return [key, colon + 1];
}

const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const EXPONENT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;

/** Characters a plain scalar cannot start with (1 at their code). */
const PLAIN_FIRST_INDICATORS = new Uint8Array(128);
for (const c of '&*!|>%@`\'"[]{}#,?') PLAIN_FIRST_INDICATORS[c.charCodeAt(0)] = 1;

/** A plain scalar's value under the YAML 1.2 core schema. */
function plainScalar(text: string, inFlow: boolean): unknown {
  const length = text.length;
  if (length === 0) return null;
  const first = text.charCodeAt(0);
  // "-" or "- x" (a sequence entry), an indicator first; then ": ", a ":" last, a tab, and in flow ",[]{}", anywhere.
  if (first === 45 && (length === 1 || text.charCodeAt(1) === 32)) unsure();
  if (first < 128 && PLAIN_FIRST_INDICATORS[first] === 1) unsure();
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) {
      if (i + 1 === length || text.charCodeAt(i + 1) === 32) unsure();
    } else if (c === 9 || (inFlow && (c === 44 || c === 91 || c === 93 || c === 123 || c === 125))) {
      unsure();
    }
  }
  if (length <= 5) {
    switch (text) {
      case '~': case 'null': case 'Null': case 'NULL': return null;
      case 'true': case 'True': case 'TRUE': return true;
      case 'false': case 'False': case 'FALSE': return false;
    }
  }
  const c = text.charCodeAt(text.length - 1);
  if (c >= 48 && c <= 57 || c === 46) {
    if (INT.test(text)) return parseInt(text, 10);
    if (FLOAT.test(text) || EXPONENT.test(text)) return parseFloat(text);
  }
  // Octal, hexadecimal, infinities and NaN: only after one of "0+-.".
  const f = text.charCodeAt(0);
  if ((f === 48 || f === 43 || f === 45 || f === 46) && /^0o[0-7]+$|^0x[0-9a-fA-F]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/.test(text)) unsure();
  return text;
}

/** Double-quoted escapes: the character after the backslash, then its value. */
const ESCAPES: { [c: string]: string } = Object.fromEntries([
  ['0', '\0'], ['a', '\x07'], ['b', '\b'], ['t', '\t'], ['\t', '\t'], ['n', '\n'], ['v', '\v'], ['f', '\f'], ['r', '\r'], ['e', '\x1b'],
  [' ', ' '], ['"', '"'], ['/', '/'], ['\\', '\\'], ['N', '\u0085'], ['_', '\u00a0'], ['L', '\u2028'], ['P', '\u2029'],
]);

/** A quoted scalar starting at `start` and closed on the same line: its value and the text after it. */
function quoted(text: string, start: number): [string, string] {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  if (quote === "'") {
    for (;;) {
      const end = text.indexOf("'", i);
      if (end === -1) unsure();
      value += text.slice(i, end);
      if (text[end + 1] === "'") {
        value += "'";
        i = end + 2;
        continue;
      }
      return [value, text.slice(end + 1)];
    }
  }
  for (;;) {
    let j = i;
    while (j < text.length && text[j] !== '"' && text[j] !== '\\') j++;
    if (j >= text.length) unsure();
    value += text.slice(i, j);
    if (text[j] === '"') return [value, text.slice(j + 1)];
    const escape = text[j + 1];
    if (escape === undefined) unsure();
    if (escape in ESCAPES) {
      value += ESCAPES[escape];
      i = j + 2;
    } else if (escape === 'x' || escape === 'u' || escape === 'U') {
      const length = escape === 'x' ? 2 : escape === 'u' ? 4 : 8;
      const hex = text.slice(j + 2, j + 2 + length);
      if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) unsure();
      value += String.fromCodePoint(parseInt(hex, 16));
      i = j + 2 + length;
    } else {
      unsure();
    }
  }
}

/** A flow collection on one line: `[a, b]`, `{a: 1, b: [x]}`. */
class FlowReader {
  private depth = 0;

  constructor(private readonly text: string, public position: number = 0) {}

  public value(): unknown {
    this.spaces();
    const c = this.text[this.position];
    if (c === '[') return this.sequence();
    if (c === '{') return this.mapping();
    if (c === '"' || c === "'") {
      const [value, rest] = quoted(this.text, this.position);
      this.position = this.text.length - rest.length;
      return value;
    }
    return plainScalar(this.plain(), true);
  }

  private sequence(): unknown[] {
    if (++this.depth > 100) unsure();
    this.position++;
    const items: unknown[] = [];
    for (;;) {
      this.spaces();
      if (this.text[this.position] === ']') {
        this.position++;
        this.depth--;
        return items;
      }
      const before = this.position;
      const item = this.value();
      this.spaces();
      // "[a: 1]" is a one-pair mapping inside a sequence: rare, leave it.
      if (this.text[this.position] === ':') unsure();
      if (this.position === before && item === null) unsure();
      items.push(item);
      this.separator(']');
    }
  }

  private mapping(): { [key: string]: unknown } {
    if (++this.depth > 100) unsure();
    this.position++;
    const result: { [key: string]: unknown } = {};
    for (;;) {
      this.spaces();
      if (this.text[this.position] === '}') {
        this.position++;
        this.depth--;
        return result;
      }
      const c = this.text[this.position];
      let key: unknown;
      if (c === '"' || c === "'") {
        const [value, rest] = quoted(this.text, this.position);
        this.position = this.text.length - rest.length;
        key = value;
      } else {
        const plain = this.plain(true);
        key = plainScalar(plain, true);
        if (key !== plain) unsure();
      }
      this.spaces();
      if (this.text[this.position] !== ':') unsure();
      this.position++;
      const next = this.text[this.position];
      if (next !== undefined && next !== ' ' && next !== ',' && next !== '}' && next !== ']' && !(c === '"' || c === "'")) unsure();
      this.spaces();
      const value = this.text[this.position] === ',' || this.text[this.position] === '}' ? null : this.value();
      const name = key as string;
      if (Object.prototype.hasOwnProperty.call(result, name) || name === '__proto__' || name === '') unsure();
      result[name] = value;
      this.spaces();
      this.separator('}');
    }
  }

  private separator(close: string): void {
    const c = this.text[this.position];
    if (c === ',') this.position++;
    else if (c !== close) unsure();
  }

  /** A plain scalar in flow context: up to ",", "[", "]", "{", "}", ": " or " #"; a key is taken from the keys met before. */
  private plain(key: boolean = false): string {
    const start = this.position;
    const text = this.text;
    const length = text.length;
    let i = start;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 44 || c === 91 || c === 93 || c === 123 || c === 125) break;
      if (c === 58) {
        if (i + 1 >= length) break;
        const next = text.charCodeAt(i + 1);
        if (next === 32 || next === 44 || next === 91 || next === 93 || next === 123 || next === 125) break;
      }
      if (c === 35 && text.charCodeAt(i - 1) === 32) unsure();
      i++;
    }
    this.position = i;
    if (i >= length) unsure(); // not closed on this line
    let end = i;
    while (end > start && text.charCodeAt(end - 1) === 32) end--;
    return key ? knownKey(text, start, end - start) : text.slice(start, end);
  }

  private spaces(): void {
    while (this.text.charCodeAt(this.position) === 32) this.position++;
  }
}
