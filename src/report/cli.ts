// The `cdk8s-runtimeclass` command line: argument parsing and the report pipeline
// (read -> model -> problems -> render), with every side effect behind `CliIo` so that tests can
// run it in-process. `src/cli.ts` binds it to the process.
import * as path from 'path';
import { ModelBuilder } from './model';
import { findProblems } from './problems';
import { displayName, fileChunks, InputError, listInputFiles, readError, STDIN, streamYamlDocuments } from './read';
import { ReportFormat, writeReport } from './render';

/** Exit status: the report ran (and, with `--check`, found no problem). */
export const EXIT_OK = 0;
/** Exit status: `--check` found problems. */
export const EXIT_PROBLEMS = 1;
/** Exit status: a usage error, or an input that could not be read or parsed. */
export const EXIT_ERROR = 2;

/** Above this many files, progress is written to stderr. */
export const DEFAULT_PROGRESS_THRESHOLD = 200;

const PROGRAM = 'cdk8s-runtimeclass';

/** What the command line reads and writes. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Reads all of standard input (for the path `-`). */
  readonly readStdin: () => string;
  /** Reads standard input in chunks (preferred over readStdin when given: large dumps are never held whole). */
  readonly stdinChunks?: () => Iterable<string>;
  /** Files above which progress is shown. @default DEFAULT_PROGRESS_THRESHOLD */
  readonly progressThreshold?: number;
}

/** Options of `report`. */
export interface ReportOptions {
  readonly paths: string[];
  readonly format: ReportFormat;
  readonly check: boolean;
  readonly knownClasses: string[];
}

export const USAGE = `Usage: ${PROGRAM} report [options] <file or directory>...

Reads Kubernetes YAML (cdk8s synth output or any other manifests) and reports, for each
workload, its RuntimeClass, replicas, requests per pod, the class's overhead, the footprint
per pod and in total; totals per RuntimeClass; and problems that Kubernetes would reject
pods for. Directories are searched for *.yaml and *.yml files; "-" reads standard input.

Given a live cluster's nodes too, it shows per class the nodes ready for it, the nodes that
report its handler, and its pods per node:
  kubectl get nodes,pods,runtimeclasses -A -o yaml | ${PROGRAM} report -

Options:
  --format <text|markdown|json>  output format (default: text); markdown suits pull requests,
                                 json has a stable schema (schemaVersion 2)
  --check                        exit with status 1 when there are problems
  --known-class <name>           a RuntimeClass that exists in the cluster although the input
                                 does not define it (repeatable); its overhead stays unknown
  -h, --help                     show this help

Exit status: 0 report written (with --check: no problems); 1 problems found with --check;
2 usage error, or an input that could not be read or parsed, or that is empty (listed in the
report, whatever the format, and on stderr).
`;

class UsageError extends Error {}

/** Parses the arguments after `report`. */
export function parseReportArguments(args: readonly string[]): ReportOptions | 'help' {
  const paths: string[] = [];
  const knownClasses: string[] = [];
  let format = ReportFormat.TEXT;
  let check = false;
  let onlyPaths = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (onlyPaths || arg === '-' || !arg.startsWith('-')) {
      paths.push(arg);
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) throw new UsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    switch (flag) {
      case '--':
        onlyPaths = true;
        break;
      case '-h':
      case '--help':
        return 'help';
      case '--check':
        if (inline !== undefined) throw new UsageError('--check takes no value');
        check = true;
        break;
      case '--format': {
        const given = value();
        const match = Object.values(ReportFormat).find((f) => f === given);
        if (!match) throw new UsageError(`--format must be one of ${Object.values(ReportFormat).join(', ')} (got "${given}")`);
        format = match;
        break;
      }
      case '--known-class': {
        const name = value();
        if (name === '') throw new UsageError('--known-class needs a RuntimeClass name');
        knownClasses.push(name);
        break;
      }
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (paths.length === 0) throw new UsageError('give at least one file or directory to read (or - for standard input)');
  return { paths, format, check, knownClasses };
}

/** Runs the command line; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (command !== 'report') {
    io.stderr(`${PROGRAM}: ${command === undefined ? 'no command given' : `unknown command "${command}"`}: the command is "report"\n\n${USAGE}`);
    return EXIT_ERROR;
  }
  let options: ReportOptions | 'help';
  try {
    options = parseReportArguments(rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${PROGRAM} report: ${e.message}\nRun "${PROGRAM} report --help" for usage.\n`);
    return EXIT_ERROR;
  }
  if (options === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  return report(options, io);
}

/**
 * Inputs that hold no YAML document: an empty file or standard input (a command before the pipe
 * that failed) would otherwise read as "No problems found." A directory counts as one input: an
 * empty file in it (cdk8s writes one for a chart without objects) is fine while others have documents.
 */
export function emptyInputErrors(paths: readonly string[], documentsPerFile: ReadonlyMap<string, number>): InputError[] {
  const errors: InputError[] = [];
  for (const given of new Set(paths)) {
    const under = given === STDIN ? undefined : path.resolve(given) + path.sep;
    const read = [...documentsPerFile]
      .filter(([file]) => file === given || (under !== undefined && file !== STDIN && path.resolve(file).startsWith(under)));
    if (read.length === 0 || read.some(([, count]) => count > 0)) continue; // unreadable, or has documents
    const name = displayName(given);
    errors.push({
      file: name,
      message: read.length === 1 && read[0][0] === given
        ? `${name}: is empty (no YAML document): there is nothing to report on; if it is a command's output, check that the command succeeded`
        : `${name}: every *.yaml and *.yml file under it is empty (no YAML document): there is nothing to report on`,
    });
  }
  return errors;
}

function report(options: ReportOptions, io: CliIo): number {
  const { files, errors } = listInputFiles(options.paths);
  const threshold = io.progressThreshold ?? DEFAULT_PROGRESS_THRESHOLD;
  const showProgress = files.length > threshold;
  const step = Math.max(100, Math.ceil(files.length / 10));
  if (showProgress) io.stderr(`${PROGRAM} report: reading ${files.length} files\n`);
  const builder = new ModelBuilder();
  const parseErrors: InputError[] = [];
  const documentsPerFile = new Map<string, number>();
  const stdinChunks = io.stdinChunks ?? (() => [io.readStdin()]);
  files.forEach((file, index) => {
    // One document (or list item) at a time, from chunks: a cluster dump is never held whole.
    const errorsBefore = parseErrors.length;
    try {
      const documents = streamYamlDocuments(fileChunks(file, stdinChunks), file, {
        document: (value, location, itemLines) => builder.document(value, location, itemLines),
        listItem: (value, itemIndex, location) => builder.listItem(value, itemIndex, location),
        listEnd: (rest, location) => builder.listEnd(rest, location),
        error: (error) => { parseErrors.push(error); },
      });
      if (parseErrors.length === errorsBefore) documentsPerFile.set(file, documents);
    } catch (e: any) {
      if (typeof e?.code !== 'string') throw e;
      parseErrors.push(readError(file, e));
    }
    const done = index + 1;
    if (showProgress && (done % step === 0 || done === files.length)) io.stderr(`${PROGRAM} report: read ${done} of ${files.length} files\n`);
  });
  const allErrors = [...errors, ...emptyInputErrors(options.paths, documentsPerFile), ...parseErrors];
  const model = builder.build(files.length);
  const problems = findProblems(model, { knownClasses: options.knownClasses });
  writeReport(options.format, { model, problems, errors: allErrors }, io.stdout);
  for (const error of allErrors) io.stderr(`${PROGRAM} report: error: ${error.message}\n`);
  if (allErrors.length > 0) return EXIT_ERROR;
  return options.check && problems.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
}
