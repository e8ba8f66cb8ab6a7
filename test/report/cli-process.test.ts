import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { CLEAN_YAML, PROBLEMS_YAML } from './fixtures';
import { EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS } from '../../src/report/cli';

// The package's binary (src/cli.ts) as a process: its exit status, its output streams and its
// standard input read in chunks. What the report says is tested in-process (cli.test.ts).

const REPO = path.join(__dirname, '..', '..');

/**
 * src/ compiled once for this file's child processes: starting each with a TypeScript compiler
 * loaded (ts-node) took about a second apiece.
 */
let compiledCli: string | undefined;
function cliScript(): string {
  if (compiledCli) return compiledCli;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'report-cli-build-'));
  const compile = (from: string, to: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const source = path.join(from, entry.name);
      const target = path.join(to, entry.name);
      if (entry.isDirectory()) {
        fs.mkdirSync(target);
        compile(source, target);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const js = ts.transpileModule(fs.readFileSync(source, 'utf8'), {
          fileName: source,
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        }).outputText;
        fs.writeFileSync(target.replace(/\.ts$/, '.js'), js);
      } else {
        fs.copyFileSync(source, target);
      }
    }
  };
  compile(path.join(REPO, 'src'), out);
  compiledCli = path.join(out, 'cli.js');
  return compiledCli;
}

afterAll(() => {
  if (compiledCli) fs.rmSync(path.dirname(compiledCli), { recursive: true, force: true });
});

/** Runs `cdk8s-runtimeclass <args>` as a child process, from src/ compiled. */
function cli(args: string[], options: { cwd: string; input?: string }): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliScript(), ...args], {
    cwd: options.cwd,
    input: options.input ?? '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // The compiled files live outside the repository: resolve packages from its node_modules.
    env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'report-cli-process-'));
fs.writeFileSync(path.join(root, 'shop.yaml'), PROBLEMS_YAML);
fs.writeFileSync(path.join(root, 'clean.yaml'), CLEAN_YAML);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('as a process: exit status 0 for a clean file, 1 with --check on problems, 2 on unreadable input; errors on stderr only', () => {
  expect(cli(['report', '--check', 'clean.yaml'], { cwd: root })).toMatchObject({ status: EXIT_OK, stderr: '' });
  const problems = cli(['report', '--check', 'shop.yaml'], { cwd: root });
  expect(problems).toMatchObject({ status: EXIT_PROBLEMS, stderr: '' });
  expect(problems.stdout).toMatch(/^RuntimeClass footprint report: 1 file, 6 documents, 3 workloads, 2 RuntimeClasses defined, 4 problems\n/);
  const missing = cli(['report', 'missing.yaml'], { cwd: root });
  expect(missing.status).toBe(EXIT_ERROR);
  expect(missing.stderr).toBe('cdk8s-runtimeclass report: error: cannot read "missing.yaml": no such file or directory\n');
  expect(cli(['report'], { cwd: root })).toMatchObject({ status: EXIT_ERROR, stdout: '' });
});

test('as a process: standard input is read to its end in chunks, and an empty or binary one is an error', () => {
  // Far larger than one read (and than a pipe's buffer): documents cut across chunks are read whole.
  const copies = 6000;
  const deployment = (i: number) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api-${i}}\n`
    + `spec:\n  replicas: 2\n  selector: {matchLabels: {app: api-${i}}}\n  template:\n    metadata: {labels: {app: api-${i}}}\n`
    + '    spec:\n      runtimeClassName: gvisor\n      containers:\n        - {name: api, resources: {requests: {cpu: 200m, memory: 256Mi}}}\n';
  const large = [CLEAN_YAML, ...Array.from({ length: copies }, (_, i) => deployment(i))].join('---\n');
  expect(Buffer.byteLength(large)).toBeGreaterThan(1024 * 1024);
  const read = cli(['report', '--format', 'json', '-'], { cwd: root, input: large });
  expect(read.stderr).toBe('');
  expect(read.status).toBe(EXIT_OK);
  const clean = JSON.parse(cli(['report', '--format', 'json', 'clean.yaml'], { cwd: root }).stdout);
  const report = JSON.parse(read.stdout);
  expect(report.summary).toMatchObject({
    files: 1, documents: clean.summary.documents + copies, workloads: clean.summary.workloads + copies, errors: 0,
  });
  expect(report.runtimeClasses.find((c: any) => c.name === 'gvisor')).toMatchObject({ workloads: 1 + copies, pods: 2 * copies });

  const stdin = cli(['report', '--check', '-'], { cwd: root, input: PROBLEMS_YAML });
  expect(stdin.status).toBe(EXIT_PROBLEMS);
  expect(stdin.stdout).toContain('\n  <stdin>:48: Pod "manual" sets overhead ');

  const empty = cli(['report', '--check', '-'], { cwd: root, input: '' });
  expect(empty.status).toBe(EXIT_ERROR);
  expect(empty.stderr).toMatch(/^cdk8s-runtimeclass report: error: <stdin>: is empty \(no YAML document\)/);
  const binary = cli(['report', '--check', '-'], { cwd: root, input: '\u0000\u0001' });
  expect(binary.status).toBe(EXIT_ERROR);
  expect(binary.stdout).toContain('  <stdin>: is a binary file, not YAML\n');
});
