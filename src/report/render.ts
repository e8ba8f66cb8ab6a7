// Stage 4 of the footprint report: text, Markdown and JSON renderings of the model and problems.
import { ClassTotals, OverheadStatus, ReportModel, WorkloadFootprintRow } from './model';
import { describeWorkload, ReportProblem } from './problems';
import { InputError, SourceLocation } from './read';
import { ResourceList } from '../core/resources';

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
  /** Inputs that could not be read (shown in JSON; the CLI prints them to stderr). */
  readonly errors: readonly InputError[];
}

/** Renders the report in a format; the result ends with a newline. */
export function renderReport(format: ReportFormat, input: RenderInput): string {
  switch (format) {
    case ReportFormat.MARKDOWN: return renderMarkdown(input);
    case ReportFormat.JSON: return renderJson(input);
    default: return renderText(input);
  }
}

/** `cpu 250m, memory 320Mi`, or `-` for nothing. */
export function formatResources(list: ResourceList): string {
  const entries = Object.entries(list.toStrings());
  return entries.length === 0 ? '-' : entries.map(([name, amount]) => `${name} ${amount}`).join(', ');
}

function location(where: SourceLocation): string {
  return `${where.file}:${where.line}`;
}

function summary(model: ReportModel, problems: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(model.files, 'file')}, ${plural(model.documents, 'document')}, ${plural(model.workloads.length, 'workload')}, `
    + `${model.runtimeClasses.length} RuntimeClass${model.runtimeClasses.length === 1 ? '' : 'es'} defined, ${plural(problems, 'problem')}`;
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
    total: row.total === undefined ? '-' : lowerBound(row.total),
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

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
function textTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

function renderText({ model, problems }: RenderInput): string {
  const lines: string[] = [`RuntimeClass footprint report: ${summary(model, problems.length)}`, ''];
  if (model.workloads.length === 0) {
    lines.push('No workloads found.', '');
  } else {
    lines.push(...textTable(
      ['WORKLOAD', 'CLASS', 'REPLICAS', 'REQUESTS PER POD', 'OVERHEAD', 'PER POD', 'TOTAL'],
      model.workloads.map((row) => {
        const c = workloadCells(row);
        return [describeWorkload(row.workload, false), row.workload.runtimeClassName ?? '(none)', c.replicas, c.requests, c.overhead, c.perPod, c.total];
      }),
    ), '');
  }
  if (model.totals.length > 0) {
    lines.push(...textTable(
      ['RUNTIMECLASS', 'HANDLER', 'OVERHEAD', 'WORKLOADS', 'PODS', 'TOTAL', 'PER NODE (DAEMONSETS)'],
      model.totals.map((t) => {
        const c = classCells(t);
        return [c.name, c.handler, c.overhead, String(t.workloads), c.pods, c.total, c.perNode];
      }),
    ), '');
  }
  if (problems.length === 0) {
    lines.push('No problems found.');
  } else {
    lines.push(`Problems (${problems.length}):`);
    for (const p of problems) lines.push(`  ${location(p.location)}: ${p.message}`);
  }
  if (model.notes.length > 0) {
    lines.push('', `Notes (${model.notes.length}):`);
    for (const n of model.notes) lines.push(`  ${location(n.location)}: ${n.message}`);
  }
  return lines.join('\n') + '\n';
}

/** Text safe inside a Markdown table cell or list item. */
function markdownText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([*_`[\]])/g, '\\$1');
}

/** A code span; backticks inside are replaced (Kubernetes names never contain them). */
function markdownCode(text: string): string {
  return `\`${text.replace(/[\r\n]+/g, ' ').replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

function markdownTable(header: string[], align: Array<'left' | 'right'>, rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.map((a) => (a === 'right' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function renderMarkdown({ model, problems }: RenderInput): string {
  const lines: string[] = ['### RuntimeClass footprint report', '', `${summary(model, problems.length)}.`, ''];
  if (model.workloads.length === 0) {
    lines.push('No workloads found.', '');
  } else {
    lines.push(...markdownTable(
      ['Workload', 'RuntimeClass', 'Replicas', 'Requests per pod', 'Overhead', 'Per pod', 'Total'],
      ['left', 'left', 'right', 'left', 'left', 'left', 'left'],
      model.workloads.map((row) => {
        const c = workloadCells(row);
        const w = row.workload;
        const name = `${w.namespace === undefined ? '' : `${w.namespace}/`}${w.name}`;
        return [`${markdownText(w.kind)} ${markdownCode(name)}`, w.runtimeClassName === undefined ? '(none)' : markdownCode(w.runtimeClassName),
          c.replicas, c.requests, c.overhead, c.perPod, c.total].map((cell, i) => (i < 2 ? cell : markdownText(cell)));
      }),
    ), '');
  }
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
  if (problems.length === 0) {
    lines.push('No problems found.');
  } else {
    lines.push(`#### Problems (${problems.length})`, '');
    for (const p of problems) lines.push(`- ${markdownCode(location(p.location))} ${markdownText(p.message)}`);
  }
  if (model.notes.length > 0) {
    lines.push('', `#### Notes (${model.notes.length})`, '');
    for (const n of model.notes) lines.push(`- ${markdownCode(location(n.location))} ${markdownText(n.message)}`);
  }
  return lines.join('\n') + '\n';
}

/** Version of the JSON output's schema; raised on any change that is not an addition. */
export const JSON_SCHEMA_VERSION = 1;

/**
 * The JSON output (schema version 1). Every key is always present; absent values are `null`.
 *
 * ```
 * {
 *   schemaVersion: 1,
 *   summary: { files, documents, workloads, runtimeClasses, problems, notes, errors },  // counts
 *   workloads: [{
 *     kind, namespace (string|null), name, source ("file:line"),
 *     runtimeClassName (string|null),
 *     replicas (number|null: null for a DaemonSet or unreadable replicas), perNode (true for a DaemonSet),
 *     requests, overhead ({}|null: null when the class is not in the input), overheadKnown,
 *     perPod (requests + overhead; a lower bound when overheadKnown is false), total (perPod x replicas, or null)
 *   }],
 *   runtimeClasses: [{   // each class defined or used, by name; name null = pods without runtimeClassName
 *     name, defined, handler, source, overhead, nodeSelector,   // null when not defined in the input
 *     workloads, pods, total, daemonSets, perNode, unknownReplicas
 *   }],
 *   problems: [{ code, source, message }],   // code: see ProblemCode
 *   notes: [{ source, message }],            // documents skipped as not Kubernetes objects
 *   errors: [{ source, message }]            // inputs that could not be read or parsed
 * }
 * ```
 * Resource amounts are objects `{ "cpu": "250m", "memory": "320Mi" }` with canonical quantities,
 * keys sorted.
 */
function renderJson({ model, problems, errors }: RenderInput): string {
  const document = {
    schemaVersion: JSON_SCHEMA_VERSION,
    summary: {
      files: model.files,
      documents: model.documents,
      workloads: model.workloads.length,
      runtimeClasses: model.runtimeClasses.length,
      problems: problems.length,
      notes: model.notes.length,
      errors: errors.length,
    },
    workloads: model.workloads.map((row) => ({
      kind: row.workload.kind,
      namespace: row.workload.namespace ?? null,
      name: row.workload.name,
      source: location(row.workload.location),
      runtimeClassName: row.workload.runtimeClassName ?? null,
      replicas: row.workload.replicas ?? null,
      perNode: row.workload.perNode,
      requests: row.workload.requests.toStrings(),
      overhead: row.overheadStatus === OverheadStatus.UNKNOWN ? null : row.overhead.toStrings(),
      overheadKnown: row.overheadStatus !== OverheadStatus.UNKNOWN,
      perPod: row.perPod.toStrings(),
      total: row.total?.toStrings() ?? null,
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
    })),
    problems: problems.map((p) => ({ code: p.code, source: location(p.location), message: p.message })),
    notes: model.notes.map((n) => ({ source: location(n.location), message: n.message })),
    errors: errors.map((e) => ({ source: e.location ? location(e.location) : e.file, message: e.message })),
  };
  return JSON.stringify(document, undefined, 2) + '\n';
}

function sortedObject(map: { readonly [key: string]: string }): { [key: string]: string } {
  const result: { [key: string]: string } = {};
  for (const key of Object.keys(map).sort()) result[key] = map[key];
  return result;
}
