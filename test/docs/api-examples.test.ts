// Every `@example` of the public API (the doc comments of src/, which become API.md) is
// type-checked against the package, run, and synthesized with the app's validations.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk8s from 'cdk8s';
import { App } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as constructs from 'constructs';
import * as ts from 'typescript';
import * as library from '../../src';

const repo = path.join(__dirname, '..', '..');
const SRC = path.join(repo, 'src');

/**
 * What every example starts from, as in the README's `chart` preamble: cdk8s, cdk8s-plus and
 * everything the package exports are imported, and `app` and `chart` exist.
 */
const PREAMBLE = "const app = new App();\nconst chart = new Chart(app, 'docs');";

interface Example {
  /** The documented API element: `KataRuntime`, `RuntimeClass.fromName`. */
  readonly owner: string;
  /** src/ file and 1-based line of the `@example` tag. */
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The code of an `@example` tag: its text, without a Markdown fence if it has one. */
function exampleCode(text: string): string {
  const fenced = /^\s*```\w*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return (fenced ? fenced[1] : text).replace(/^\n+|\s+$/g, '');
}

/** Every `@example` of exported declarations (and their members) under src/. */
function examplesIn(files: string[]): Example[] {
  const examples: Example[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node, owner: string) => {
      for (const tag of ts.getJSDocTags(node)) {
        if (tag.tagName.text !== 'example') continue;
        examples.push({
          owner,
          file: path.relative(repo, file),
          line: source.getLineAndCharacterOfPosition(tag.getStart()).line + 1,
          code: exampleCode(ts.getTextOfJSDocComment(tag.comment) ?? ''),
        });
      }
    };
    for (const statement of source.statements) {
      const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue;
      const declaration = ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)
        || ts.isEnumDeclaration(statement) || ts.isFunctionDeclaration(statement);
      if (!declaration) continue;
      const name = statement.name?.text ?? '(anonymous)';
      visit(statement, name);
      if (ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) {
        for (const member of statement.members) {
          const memberName = member.name && (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name)) ? member.name.text : 'constructor';
          visit(member, `${name}.${memberName}`);
        }
      }
    }
  }
  return examples;
}

const EXAMPLES = examplesIn(sourceFiles(SRC));

function nameOf(example: Example): string {
  return `${example.owner} (${example.file}:${example.line})`;
}

/** The imports of every example: cdk8s, cdk8s-plus and everything the package exports. */
function imports(): string {
  const entry = path.join(SRC, 'index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, skipLibCheck: true, noEmit: true,
  });
  const checker = program.getTypeChecker();
  const names = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map((s) => s.name).sort();
  return [
    "import { App, Chart, Cron, Duration, Size } from 'cdk8s';",
    "import * as kplus from 'cdk8s-plus-27';",
    `import { ${names.join(', ')} } from 'cdk8s-runtimeclass';`,
  ].join('\n');
}

/** The TypeScript an example stands for: the imports and the preamble, then the example. */
function sourceOf(example: Example, header: string): { source: string; prefixLines: number } {
  const prefix = `${header}\n${PREAMBLE}\n`;
  return { source: prefix + example.code, prefixLines: prefix.split('\n').length - 1 };
}

/** Type errors of every example, compiled together with the tests' settings. */
function typeErrors(header: string): Map<Example, string[]> {
  const configPath = path.join(repo, 'test', 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } })!;
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    // An example may declare what it does not use, to show what a call returns.
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: { 'cdk8s-runtimeclass': [path.join(SRC, 'index.ts')] },
  };
  const files = new Map<string, { example: Example; source: string; prefixLines: number }>();
  EXAMPLES.forEach((example, index) => {
    files.set(path.join(repo, 'test', 'docs', `api-example-${index}.ts`), { example, ...sourceOf(example, header) });
  });
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const virtual = files.get(path.resolve(fileName));
    return virtual ? ts.createSourceFile(fileName, virtual.source, languageVersion, true) : getSourceFile(fileName, languageVersion, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => files.has(path.resolve(fileName)) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => files.get(path.resolve(fileName))?.source ?? readFile(fileName);
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<Example, string[]>(EXAMPLES.map((e) => [e, []]));
  const diagnostics = [...files.keys()].flatMap((fileName) => {
    const sourceFile = program.getSourceFile(fileName)!;
    return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
  });
  for (const diagnostic of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...diagnostics]) {
    const virtual = diagnostic.file ? files.get(path.resolve(diagnostic.file.fileName)) : undefined;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!virtual) throw new Error(`type error outside the examples: ${diagnostic.file?.fileName}: ${message}`);
    const line = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line - virtual.prefixLines;
    errors.get(virtual.example)!.push(`TS${diagnostic.code} at example line ${line + 1}: ${message}`);
  }
  return errors;
}

/** What an example may import: the package (as src/) and its peer dependencies. */
const MODULES: { [id: string]: unknown } = {
  'cdk8s': cdk8s,
  'cdk8s-plus-27': kplus,
  'constructs': constructs,
  'cdk8s-runtimeclass': library,
};

/** Runs an example after its preamble, then synthesizes its app (validations included). */
function run(example: Example, header: string): { app: App; manifests: any[] } {
  const { source } = sourceOf(example, header);
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const js = ts.transpileModule(source, { compilerOptions }).outputText;
  const load = (id: string) => {
    if (!(id in MODULES)) throw new Error(`${nameOf(example)} imports ${id}: an example may import ${Object.keys(MODULES).join(', ')}`);
    return MODULES[id];
  };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-example-'));
  const previous = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    const { app } = new Function('require', 'exports', 'module', `${js}\nreturn { app };`)(load, {}, { exports: {} });
    app.synth();
    return { app, manifests: app.charts.flatMap((chart: cdk8s.Chart) => chart.toJson()) };
  } finally {
    if (previous === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = previous;
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The exported construct classes: every one must have an example. */
const CONSTRUCTS = Object.entries(library)
  .filter(([, value]) => typeof value === 'function' && value.prototype instanceof constructs.Construct)
  .map(([name]) => name)
  .sort();

/** The props interfaces of those constructs (`KataRuntimeProps`), as declared in src/. */
function propsInterfaces(): string[] {
  const declared = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/^export interface (\w+Props)\b/gm)) declared.add(match[1]);
  }
  return CONSTRUCTS.map((name) => `${name}Props`).filter((name) => declared.has(name));
}

/** The construct an example is about: the class itself, or the class a props interface is for. */
function documentedConstruct(owner: string): string | undefined {
  if (owner.includes('.')) return undefined; // a method's example shows the method
  const name = owner;
  const construct = name.endsWith('Props') ? name.slice(0, -'Props'.length) : name;
  return CONSTRUCTS.includes(construct) ? construct : undefined;
}

describe('API @example blocks', () => {
  let header: string;
  let errors: Map<Example, string[]>;
  beforeAll(() => {
    header = imports();
    errors = typeErrors(header);
  });

  test('every exported construct and its props interface has an example', () => {
    expect(CONSTRUCTS.length).toBeGreaterThanOrEqual(15);
    const documented = new Set(EXAMPLES.map((e) => e.owner));
    const required = [...CONSTRUCTS, ...propsInterfaces(), 'RuntimeLimits', 'RuntimeToleration', 'RuntimeScheduling', 'PodOverhead', 'ManagedRuntimeClass', 'WorkloadFootprint'];
    expect(required.filter((name) => !documented.has(name))).toEqual([]);
  });

  test('examples are short', () => {
    const long = EXAMPLES.filter((e) => e.code.split('\n').length > 25).map(nameOf);
    expect(long).toEqual([]);
  });

  describe.each(EXAMPLES.map((example) => [nameOf(example), example]))('%s', (_name, example) => {
    test('type-checks against the package', () => {
      expect(errors.get(example)).toEqual([]);
    });

    test('runs, synthesizes without validation errors, and makes the construct it documents', () => {
      const { app, manifests } = run(example, header);
      expect(manifests.length).toBeGreaterThan(0);
      const construct = documentedConstruct(example.owner);
      if (construct) {
        const type = (library as any)[construct];
        const made = app.node.findAll().some((c) => c instanceof type);
        expect({ example: nameOf(example), makes: construct, made }).toEqual({ example: nameOf(example), makes: construct, made: true });
      }
    });
  });
});
