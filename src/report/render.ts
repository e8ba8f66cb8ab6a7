// Stage 4 of the footprint report: text, Markdown and JSON renderings of the model and problems.
import { ClassNodes, ClassTotals, NODE_READY_VALUE, NodeEntry, OverheadStatus, ReportModel, WorkloadFootprintRow } from './model';
import { describeWorkload, ReportProblem } from './problems';
import { InputError, SourceLocation } from './read';
import { ResourceList } from '../core/resources';
import { NODE_READY_LABEL_PREFIX } from '../node-setup/ready-label';

/** The output formats. */
export enum ReportFormat {
  TEXT = 'text',
  MARKDOWN = 'markdown',
  JSON = 'json',
}

/** What a rendering shows. */
export interface RenderInput {
  readonly model: ReportModel;
  readonly problems: readonly ReportProblem[];
  /** Inputs that could not be read or parsed: shown in every format (the report is incomplete), and on stderr by the CLI. */
  readonly errors: readonly InputError[];
}

/** Renders the report in a format; the result ends with a newline. */
export function renderReport(format: ReportFormat, input: RenderInput): string {
  const parts: string[] = [];
  writeReport(format, input, (text) => parts.push(text));
  return parts.join('');
}

/**
 * Renders the report in a format and hands it to `write` in pieces (a few thousand lines each),
 * so that the report of a cluster dump is never held whole; the pieces joined are renderReport's text.
 */
export function writeReport(format: ReportFormat, input: RenderInput, write: (text: string) => void): void {
  const out = new LineWriter(write);
  switch (format) {
    case ReportFormat.MARKDOWN:
      renderMarkdown(input, out);
      break;
    case ReportFormat.JSON:
      renderJson(input, out);
      break;
    default:
      renderText(input, out);
  }
  out.flush();
}

/** Lines, each ending with a newline, handed on in batches. */
class LineWriter {
  private batch: string[] = [];

  constructor(private readonly write: (text: string) => void) {}

  public line(text: string): void {
    this.batch.push(text);
    if (this.batch.length >= LINES_PER_WRITE) this.flush();
  }

  public lines(texts: readonly string[]): void {
    for (const text of texts) this.line(text);
  }

  public flush(): void {
    if (this.batch.length === 0) return;
    this.write(`${this.batch.join('\n')}\n`);
    this.batch = [];
  }
}

const LINES_PER_WRITE = 4096;

/** formatResources's text of each list met (the model shares one list among the workloads that have the same amounts). */
const FORMATTED = new WeakMap<ResourceList, string>();

/** toStrings of each list met, for the JSON output (read, never changed). */
const AMOUNTS = new WeakMap<ResourceList, { [name: string]: string }>();

function amounts(list: ResourceList): { [name: string]: string } {
  let strings = AMOUNTS.get(list);
  if (strings === undefined) {
    strings = list.toStrings();
    AMOUNTS.set(list, strings);
  }
  return strings;
}

/** `cpu 250m, memory 320Mi`, or `-` for nothing. */
export function formatResources(list: ResourceList): string {
  let text = FORMATTED.get(list);
  if (text === undefined) {
    const entries = Object.entries(list.toStrings());
    text = entries.length === 0 ? '-' : entries.map(([name, amount]) => `${name} ${amount}`).join(', ');
    FORMATTED.set(list, text);
  }
  return text;
}

function location(where: SourceLocation): string {
  return `${where.file}:${where.line}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function summary({ model, problems, errors }: RenderInput): string {
  return `${plural(model.files, 'file')}, ${plural(model.documents, 'document')}, ${plural(model.workloads.length, 'workload')}, `
    + `${model.runtimeClasses.length} RuntimeClass${model.runtimeClasses.length === 1 ? '' : 'es'} defined, `
    + `${model.nodes.length > 0 ? `${plural(model.nodes.length, 'node')}, ` : ''}${plural(problems.length, 'problem')}`
    + `${errors.length > 0 ? `, ${errors.length} unreadable input${errors.length === 1 ? '' : 's'}` : ''}`;
}

/** The closing line when nothing was found: never a plain "no problems" when some input could not be read. */
function noProblems(errors: number): string {
  if (errors === 0) return 'No problems found.';
  return `No problems found in the input that could be read, but ${errors === 1 ? '1 input' : `${errors} inputs`} could not be read or parsed `
    + '(see "Unreadable input" above): this report is incomplete.';
}

const ERRORS_INTRO = 'these could not be read or parsed, so everything below leaves them out';

/** How many node names a cell lists before "and N more". */
const NAMED_NODES = 5;

function nodeList(names: readonly string[]): string {
  if (names.length === 0) return '0';
  const more = names.length > NAMED_NODES ? ` and ${names.length - NAMED_NODES} more` : '';
  return `${names.length}: ${names.slice(0, NAMED_NODES).join(', ')}${more}`;
}

/** The cells of a class's live-cluster row, shared by text and Markdown. */
function liveCells(totals: ClassTotals, nodes: ClassNodes): { handler: string; ready: string; reported: string; pods: string } {
  const handler = totals.definition?.handler;
  const entries = nodes.podsByNode.slice(0, NAMED_NODES).map(({ node, pods }) => `${node ?? 'not scheduled'} ${pods.length}`);
  const more = nodes.podsByNode.length > NAMED_NODES ? ` and ${nodes.podsByNode.length - NAMED_NODES} more nodes` : '';
  return {
    handler: totals.definition === undefined ? 'not in input' : handler ?? '?',
    ready: handler === undefined ? '-' : nodeList(nodes.readyNodes),
    reported: nodes.handlerNodes === undefined ? 'not reported' : handler === undefined ? '-' : nodeList(nodes.handlerNodes),
    pods: entries.length === 0 ? '-' : `${entries.join(', ')}${more}`,
  };
}

function liveIntro(model: ReportModel): string {
  const reporting = model.nodes.filter((n) => n.runtimeHandlers !== undefined).length;
  return `${plural(model.nodes.length, 'node')}, ${reporting === 0 ? 'none' : reporting === model.nodes.length ? 'all' : reporting} reporting runtime handlers; `
    + `ready = labelled ${NODE_READY_LABEL_PREFIX}<handler>=${NODE_READY_VALUE} by the node setup`;
}

/** The cells of a workload row, shared by text and Markdown. */
function workloadCells(row: WorkloadFootprintRow): { replicas: string; requests: string; overhead: string; perPod: string; total: string } {
  const w = row.workload;
  const unknown = row.overheadStatus === OverheadStatus.UNKNOWN;
  const lowerBound = (list: ResourceList) => (unknown && !list.isEmpty ? `at least ${formatResources(list)}` : formatResources(list));
  return {
    replicas: w.perNode ? 'per node' : w.replicas === undefined ? '?' : String(w.replicas),
    requests: formatResources(w.requests),
    overhead: unknown ? 'unknown' : formatResources(row.overhead),
    perPod: lowerBound(row.perPod),
    total: row.countedIn ? `in ${describeWorkload(row.countedIn, false)}` : row.total === undefined ? '-' : lowerBound(row.total),
  };
}

function classCells(totals: ClassTotals): { name: string; handler: string; overhead: string; pods: string; total: string; perNode: string } {
  const defined = totals.definition !== undefined;
  const unknown = totals.name !== undefined && !defined;
  const lowerBound = (list: ResourceList) => (unknown && !list.isEmpty ? `at least ${formatResources(list)}` : formatResources(list));
  return {
    name: totals.name ?? '(none)',
    handler: totals.name === undefined ? '-' : defined ? totals.definition!.handler ?? '?' : 'not in input',
    overhead: totals.name === undefined ? '-' : defined ? formatResources(totals.definition!.overhead) : 'unknown',
    pods: totals.unknownReplicas > 0 ? `${totals.pods} (+${totals.unknownReplicas} workload${totals.unknownReplicas === 1 ? '' : 's'} unknown)` : String(totals.pods),
    total: lowerBound(totals.total),
    perNode: totals.daemonSets === 0 ? '-' : lowerBound(totals.perNode),
  };
}

/**
 * Columns padded to their widest cell, two spaces apart, no trailing blanks; `row(i)` gives the
 * cells of row i, twice (for the widths, then for the text), so that no row is kept.
 */
function writeTextTable(line: (text: string) => void, header: string[], count: number, row: (index: number) => string[]): void {
  const widths = header.map((h) => h.length);
  for (let r = 0; r < count; r++) {
    const cells = row(r).map(oneLine);
    for (let i = 0; i < cells.length; i++) if (cells[i].length > widths[i]) widths[i] = cells[i].length;
  }
  const text = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  line(text(header));
  for (let r = 0; r < count; r++) line(text(row(r).map(oneLine)));
}

/** Text on one line of the text report: line breaks (only in hand-written input) become a space. */
function oneLine(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]+/g, ' ') : text;
}

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
function textTable(header: string[], rows: string[][]): string[] {
  const lines: string[] = [];
  writeTextTable((text) => lines.push(text), header, rows.length, (r) => rows[r]);
  return lines;
}

function renderText(input: RenderInput, out: LineWriter): void {
  const { model, problems, errors } = input;
  out.lines([`RuntimeClass footprint report: ${summary(input)}`, '']);
  if (errors.length > 0) {
    out.line(`Unreadable input (${errors.length}): ${ERRORS_INTRO}:`);
    for (const e of errors) out.line(`  ${oneLine(e.message)}`);
    out.line('');
  }
  if (model.workloads.length === 0) {
    out.lines(['No workloads found.', '']);
  } else {
    writeTextTable(
      (text) => out.line(text),
      ['WORKLOAD', 'CLASS', 'REPLICAS', 'REQUESTS PER POD', 'OVERHEAD', 'PER POD', 'TOTAL'],
      model.workloads.length,
      (index) => {
        const row = model.workloads[index];
        const c = workloadCells(row);
        return [describeWorkload(row.workload, false), row.workload.runtimeClassName ?? '(none)', c.replicas, c.requests, c.overhead, c.perPod, c.total];
      },
    );
    out.line('');
  }
  const lines: string[] = [];
  if (model.totals.length > 0) {
    lines.push(...textTable(
      ['RUNTIMECLASS', 'HANDLER', 'OVERHEAD', 'WORKLOADS', 'PODS', 'TOTAL', 'PER NODE (DAEMONSETS)'],
      model.totals.map((t) => {
        const c = classCells(t);
        return [c.name, c.handler, c.overhead, String(t.workloads), c.pods, c.total, c.perNode];
      }),
    ), '');
  }
  const live = model.totals.filter((t) => t.nodes !== undefined);
  if (model.nodes.length > 0) {
    lines.push(`Live cluster: ${liveIntro(model)}`, '');
    if (live.length > 0) {
      lines.push(...textTable(
        ['RUNTIMECLASS', 'HANDLER', 'READY NODES', 'NODES REPORTING HANDLER', 'PODS PER NODE'],
        live.map((t) => {
          const c = liveCells(t, t.nodes!);
          return [t.name!, c.handler, c.ready, c.reported, c.pods];
        }),
      ), '');
    }
  }
  out.lines(lines);
  if (problems.length === 0) {
    out.line(noProblems(errors.length));
  } else {
    out.line(`Problems (${problems.length}):`);
    for (const p of problems) out.line(`  ${location(p.location)}: ${oneLine(p.message)}`);
  }
  if (model.notes.length > 0) {
    out.lines(['', `Notes (${model.notes.length}):`]);
    for (const n of model.notes) out.line(`  ${location(n.location)}: ${oneLine(n.message)}`);
  }
}

/** Text safe inside a Markdown table cell or list item. */
function markdownText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([*_`[\]])/g, '\\$1');
}

/**
 * A code span; backticks inside are replaced (Kubernetes names never contain them). Text with a
 * backslash is escaped text instead: in a table cell GitHub reads `\\|` as an escaped backslash
 * and the pipe after it as the cell's end, and a code span cannot escape the backslash.
 */
function markdownCode(text: string): string {
  if (text.includes('\\')) return markdownText(text);
  return `\`${text.replace(/[\r\n]+/g, ' ').replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

function markdownTable(header: string[], align: Array<'left' | 'right'>, rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.map((a) => (a === 'right' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function renderMarkdown(input: RenderInput, out: LineWriter): void {
  const { model, problems, errors } = input;
  out.lines(['### RuntimeClass footprint report', '', `${summary(input)}.`, '']);
  if (errors.length > 0) {
    out.lines([`#### Unreadable input (${errors.length})`, '', `**The report is incomplete:** ${ERRORS_INTRO}.`, '']);
    for (const e of errors) out.line(`- ${markdownText(e.message)}`);
    out.line('');
  }
  if (model.workloads.length === 0) {
    out.lines(['No workloads found.', '']);
  } else {
    out.lines(markdownTable(
      ['Workload', 'RuntimeClass', 'Replicas', 'Requests per pod', 'Overhead', 'Per pod', 'Total'],
      ['left', 'left', 'right', 'left', 'left', 'left', 'left'],
      [],
    ));
    for (const row of model.workloads) {
      const c = workloadCells(row);
      const w = row.workload;
      const name = `${w.namespace === undefined ? '' : `${w.namespace}/`}${w.name}`;
      const cells = [`${markdownText(w.kind)} ${markdownCode(name)}`, w.runtimeClassName === undefined ? '(none)' : markdownCode(w.runtimeClassName),
        c.replicas, c.requests, c.overhead, c.perPod, c.total].map((cell, i) => (i < 2 ? cell : markdownText(cell)));
      out.line(`| ${cells.join(' | ')} |`);
    }
    out.line('');
  }
  const lines: string[] = [];
  if (model.totals.length > 0) {
    lines.push('#### Totals per RuntimeClass', '', ...markdownTable(
      ['RuntimeClass', 'Handler', 'Overhead', 'Workloads', 'Pods', 'Total', 'Per node (DaemonSets)'],
      ['left', 'left', 'left', 'right', 'right', 'left', 'left'],
      model.totals.map((t) => {
        const c = classCells(t);
        return [t.name === undefined ? '(none)' : markdownCode(t.name), ...[c.handler, c.overhead, String(t.workloads), c.pods, c.total, c.perNode].map(markdownText)];
      }),
    ), '');
  }
  const live = model.totals.filter((t) => t.nodes !== undefined);
  if (model.nodes.length > 0) {
    lines.push('#### Live cluster', '', `${markdownText(liveIntro(model))}.`, '');
    if (live.length > 0) {
      lines.push(...markdownTable(
        ['RuntimeClass', 'Handler', 'Ready nodes', 'Nodes reporting handler', 'Pods per node'],
        ['left', 'left', 'left', 'left', 'left'],
        live.map((t) => {
          const c = liveCells(t, t.nodes!);
          return [markdownCode(t.name!), ...[c.handler, c.ready, c.reported, c.pods].map(markdownText)];
        }),
      ), '');
    }
  }
  out.lines(lines);
  if (problems.length === 0) {
    out.line(markdownText(noProblems(errors.length)));
  } else {
    out.lines([`#### Problems (${problems.length})`, '']);
    for (const p of problems) out.line(`- ${markdownCode(location(p.location))} ${markdownText(p.message)}`);
  }
  if (model.notes.length > 0) {
    out.lines(['', `#### Notes (${model.notes.length})`, '']);
    for (const n of model.notes) out.line(`- ${markdownCode(location(n.location))} ${markdownText(n.message)}`);
  }
}

/** Version of the JSON output's schema; raised on any change to it. */
export const JSON_SCHEMA_VERSION = 3;

/**
 * The JSON output (schema version 3). Every key is always present; absent values are `null`.
 *
 * ```
 * {
 *   schemaVersion: 3,
 *   summary: { files, documents, workloads, runtimeClasses, nodes, problems, notes, errors },  // counts
 *   workloads: [{
 *     kind, namespace (string|null), name, source ("file:line"),
 *     runtimeClassName (string|null),
 *     replicas (number|null: null for a DaemonSet or unreadable replicas), perNode (true for a DaemonSet),
 *     requests, overhead ({}|null: null when the class is not in the input), overheadKnown,
 *     perPod (requests + overhead; a lower bound when overheadKnown is false),
 *     total (perPod x replicas, or null; null too when countedIn is set),
 *     countedIn (string|null: "Kind namespace/name" of the workload of the input that made this one, directly or
 *                through others, and whose pods count for it: a Deployment for its ReplicaSets and Pods),
 *     live (read from a cluster: metadata.uid set), nodeName (a Pod's spec.nodeName, or null)
 *   }],
 *   runtimeClasses: [{   // each class defined or used, by name; name null = pods without runtimeClassName
 *     name, defined, handler, source, overhead, nodeSelector,   // null when not defined in the input
 *     workloads, pods, total, daemonSets, perNode, unknownReplicas,   // workloads with countedIn set are left out
 *     nodes: null | {    // null unless the input has Nodes (a live cluster), and for name null
 *       readyLabel (string|null), readyNodes [names], handlerNodes ([names]|null: null when no node reports runtime handlers),
 *       matchingNodes [names], pods: [{ node (string|null: not scheduled), pods: ["namespace/name"] }]
 *     }
 *   }],
 *   nodes: [{ name, source, readyHandlers [handlers labelled ready], runtimeHandlers ([{ name, features }]|null) }],
 *   problems: [{ code, source, message }],   // code: see ProblemCode
 *   notes: [{ source, message }],            // documents skipped as not Kubernetes objects
 *   errors: [{ source, message }]            // inputs that could not be read or parsed: the rest is incomplete
 * }
 * ```
 * Resource amounts are objects `{ "cpu": "250m", "memory": "320Mi" }` with canonical quantities,
 * keys sorted. Version 1 had no `summary.nodes`, `workloads[].live`, `workloads[].nodeName`,
 * `runtimeClasses[].nodes` or `nodes`; version 2 had no `workloads[].countedIn` and counted
 * every workload in the totals (a Deployment's Pods twice when both were in the input).
 */
function renderJson({ model, problems, errors }: RenderInput, out: LineWriter): void {
  const podName = (w: { namespace?: string; name: string }) => `${w.namespace === undefined ? '' : `${w.namespace}/`}${w.name}`;
  const document = {
    schemaVersion: JSON_SCHEMA_VERSION,
    summary: {
      files: model.files,
      documents: model.documents,
      workloads: model.workloads.length,
      runtimeClasses: model.runtimeClasses.length,
      nodes: model.nodes.length,
      problems: problems.length,
      notes: model.notes.length,
      errors: errors.length,
    },
    workloads: new StreamedList(model.workloads, (row) => ({
      kind: row.workload.kind,
      namespace: row.workload.namespace ?? null,
      name: row.workload.name,
      source: location(row.workload.location),
      runtimeClassName: row.workload.runtimeClassName ?? null,
      replicas: row.workload.replicas ?? null,
      perNode: row.workload.perNode,
      requests: amounts(row.workload.requests),
      overhead: row.overheadStatus === OverheadStatus.UNKNOWN ? null : amounts(row.overhead),
      overheadKnown: row.overheadStatus !== OverheadStatus.UNKNOWN,
      perPod: amounts(row.perPod),
      total: row.total === undefined ? null : amounts(row.total),
      countedIn: row.countedIn ? describeWorkload(row.countedIn, false) : null,
      live: row.workload.live,
      nodeName: row.workload.nodeName ?? null,
    })),
    runtimeClasses: model.totals.map((t) => ({
      name: t.name ?? null,
      defined: t.definition !== undefined,
      handler: t.definition?.handler ?? null,
      source: t.definition ? location(t.definition.location) : null,
      overhead: t.definition?.overhead.toStrings() ?? null,
      nodeSelector: t.definition ? sortedObject(t.definition.nodeSelector) : null,
      workloads: t.workloads,
      pods: t.pods,
      total: t.total.toStrings(),
      daemonSets: t.daemonSets,
      perNode: t.perNode.toStrings(),
      unknownReplicas: t.unknownReplicas,
      nodes: t.nodes === undefined ? null : {
        readyLabel: t.nodes.readyLabel ?? null,
        readyNodes: t.nodes.readyNodes,
        handlerNodes: t.nodes.handlerNodes ?? null,
        matchingNodes: t.nodes.matchingNodes,
        pods: t.nodes.podsByNode.map(({ node, pods }) => ({ node: node ?? null, pods: pods.map(podName) })),
      },
    })),
    nodes: model.nodes.map((n) => ({
      name: n.name,
      source: location(n.location),
      readyHandlers: readyHandlersOf(n),
      runtimeHandlers: n.runtimeHandlers?.map((h) => ({ name: h.name, features: sortedObject(h.features) })) ?? null,
    })),
    problems: new StreamedList(problems, (p) => ({ code: p.code, source: location(p.location), message: p.message })),
    notes: new StreamedList(model.notes, (n) => ({ source: location(n.location), message: n.message })),
    errors: errors.map((e) => ({ source: e.location ? location(e.location) : e.file, message: e.message })),
  };
  writeJson(out, document);
}

/** What JSON.stringify({ k: [element] }, undefined, 2) puts around the element's text. */
const ELEMENT_PREFIX = '{\n  "k": [\n    ';
const ELEMENT_SUFFIX = '\n  ]\n}';

/** A list of the JSON output made one element at a time as it is written. */
class StreamedList<T> {
  constructor(public readonly items: readonly T[], public readonly element: (item: T) => unknown) {}
}

/**
 * `JSON.stringify(document, undefined, 2)` plus a newline, written a line at a time; the elements
 * of a StreamedList value (of a top-level key) are made and written one at a time.
 */
function writeJson(out: LineWriter, document: { [key: string]: unknown }): void {
  // Each value's own text, indented for its depth: the line breaks of JSON.stringify's text are all indentation (strings escape theirs).
  const nested = (value: unknown, indent: string) => JSON.stringify(value, undefined, 2).replace(/\n/g, `\n${indent}`);
  // An element of a list under a top-level key, at its depth: cut out of the document that holds only it.
  const element = (value: unknown) => JSON.stringify({ k: [value] }, undefined, 2).slice(ELEMENT_PREFIX.length, -ELEMENT_SUFFIX.length);
  const keys = Object.keys(document);
  out.line('{');
  keys.forEach((key, k) => {
    const value = document[key];
    const comma = k < keys.length - 1 ? ',' : '';
    if (!(value instanceof StreamedList)) {
      out.line(`  ${JSON.stringify(key)}: ${nested(value, '  ')}${comma}`);
      return;
    }
    if (value.items.length === 0) {
      out.line(`  ${JSON.stringify(key)}: []${comma}`);
      return;
    }
    out.line(`  ${JSON.stringify(key)}: [`);
    value.items.forEach((item, i) => out.line(`    ${element(value.element(item))}${i < value.items.length - 1 ? ',' : ''}`));
    out.line(`  ]${comma}`);
  });
  out.line('}');
}

/** The handlers a node is labelled ready for, sorted. */
function readyHandlersOf(node: NodeEntry): string[] {
  return Object.entries(node.labels)
    .filter(([key, value]) => key.startsWith(NODE_READY_LABEL_PREFIX) && value === NODE_READY_VALUE)
    .map(([key]) => key.slice(NODE_READY_LABEL_PREFIX.length))
    .sort();
}

function sortedObject<T>(map: { readonly [key: string]: T }): { [key: string]: T } {
  const result: { [key: string]: T } = {};
  for (const key of Object.keys(map).sort()) result[key] = map[key];
  return result;
}
