// Rewrites the compiled entry point (lib/index.js) so that `require('cdk8s-runtimeclass')` loads
// no module until one of its exports is read: each folder's code (policy, monitoring, node setup...)
// then loads when first used. Run after jsii, which compiles src/index.ts's re-exports into
// eager requires; the types (lib/index.d.ts) and the jsii assembly are not touched, and the
// rewritten file must export exactly the names the compiled one did, or this fails the build.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const repo = path.join(__dirname, '..');
const source = path.join(repo, 'src', 'index.ts');
const entryPoint = path.join(repo, 'lib', 'index.js');

/** `export * from './x'` (names undefined) or `export { a, b as c } from './x'`. */
interface ReExport {
  readonly from: string;
  readonly names?: ReadonlyArray<{ readonly exported: string; readonly imported: string }>;
}

/** The re-exports of src/index.ts, or undefined when it holds anything else (then it stays as compiled). */
function reExportsOf(file: string): ReExport[] | undefined {
  const sourceFile = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: ReExport[] = [];
  for (const statement of sourceFile.statements) {
    // `export type { ... }` has no run-time part.
    if (ts.isExportDeclaration(statement) && statement.isTypeOnly) continue;
    if (!ts.isExportDeclaration(statement) || !statement.moduleSpecifier
      || !ts.isStringLiteral(statement.moduleSpecifier) || !statement.moduleSpecifier.text.startsWith('.')) {
      return undefined;
    }
    const clause = statement.exportClause;
    if (clause && !ts.isNamedExports(clause)) return undefined;
    found.push({
      from: statement.moduleSpecifier.text,
      names: clause?.elements.filter((e) => !e.isTypeOnly).map((e) => ({ exported: e.name.text, imported: (e.propertyName ?? e.name).text })),
    });
  }
  return found;
}

/** The names a compiled module exports at run time (types have none). */
function runtimeNames(modulePath: string): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return Object.keys(require(modulePath)).filter((name) => name !== 'default');
}

function lazyEntryPoint(reExports: ReExport[]): { code: string; names: string[] } {
  const bindings = new Map<string, string>();
  const lines: string[] = [];
  reExports.forEach((reExport, index) => {
    const variable = `${path.basename(reExport.from).replace(/[^A-Za-z0-9]/g, '_')}_${index}`;
    lines.push(`const ${variable} = lazy(() => require(${JSON.stringify(reExport.from)}));`);
    const available = new Set(runtimeNames(path.resolve(path.dirname(entryPoint), reExport.from)));
    const names = reExport.names ?? [...available].map((name) => ({ exported: name, imported: name }));
    for (const { exported, imported } of names) {
      // The first binding of a name wins, as with the compiled `__exportStar`.
      if (!available.has(imported) || bindings.has(exported)) continue;
      bindings.set(exported, `${variable}.${imported}`);
    }
  });
  for (const [name, target] of bindings) {
    // The getter keeps the shape TypeScript emits, which Node's CommonJS lexer reads to offer
    // these names to ES module importers (`import { KataRuntime } from 'cdk8s-runtimeclass'`).
    lines.push(`Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: function () { return ${target}; } });`);
  }
  const code = [
    '"use strict";',
    '// Written by projenrc/lazy-entry-point.ts from the compiled src/index.ts: each module loads',
    '// when one of its exports is first read, not when the package is required.',
    'Object.defineProperty(exports, "__esModule", { value: true });',
    '/** The exports of a module that is loaded on first use. */',
    'function lazy(load) {',
    '    let loaded;',
    '    return new Proxy({}, { get: (_target, name) => (loaded ??= load())[name] });',
    '}',
    ...lines,
    '',
  ].join('\n');
  return { code, names: [...bindings.keys()] };
}

function main(): void {
  const reExports = reExportsOf(source);
  if (!reExports) {
    console.log('lib/index.js left as compiled: src/index.ts holds more than re-exports of its folders');
    return;
  }
  const expected = runtimeNames(entryPoint).sort();
  const { code, names } = lazyEntryPoint(reExports);
  const missing = expected.filter((name) => !names.includes(name));
  const extra = names.filter((name) => !expected.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`the lazy entry point would change the package's exports (missing: ${missing.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'})`);
  }
  fs.writeFileSync(entryPoint, code);
}

main();
