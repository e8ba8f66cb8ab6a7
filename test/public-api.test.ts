// The package root exports the documented API and nothing else: every name it exports is a
// type of API.md (generated from the jsii assembly), and every type of API.md is exported.
// Helpers shared between layers stay importable from their own files, for tests.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as root from '../src';

const repo = path.join(__dirname, '..');

/** Every name `src/index.ts` exports, types included, as the TypeScript compiler sees them. */
function exportedNames(): string[] {
  const entry = path.join(repo, 'src', 'index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(module).map((symbol) => symbol.name).sort();
}

/** The types API.md documents (one `### Name` heading each). */
function documentedNames(): string[] {
  const apiMd = fs.readFileSync(path.join(repo, 'API.md'), 'utf8');
  return [...apiMd.matchAll(/^### (\w+) <a name="\w+" id="cdk8s-runtimeclass\.(\w+)"><\/a>$/gm)].map((m) => m[2]).sort();
}

test('the package root exports exactly the types API.md documents', () => {
  expect(exportedNames()).toEqual(documentedNames());
});

test('every value the package root exports is a class or an enum: no free function, no constant', () => {
  const loose = Object.entries(root).filter(([, value]) => {
    const isClass = typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
    const isEnum = typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number');
    return !isClass && !isEnum;
  }).map(([name]) => name);
  expect(loose).toEqual([]);
  expect(Object.keys(root).length).toBeGreaterThan(30);
});
