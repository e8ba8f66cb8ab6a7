/**
 * Hand-made mutations of the node agent: each entry puts one realistic bug into one file of
 * src/node-agent/ (a text replacement), runs the tests that should catch it, and restores the
 * file. A mutation the tests do not catch "survives": the run lists it and exits 1.
 *
 *   ts-node --transpile-only --project test/tsconfig.json test/mutations/run.ts [--list] [--baseline] [name...]
 *
 * `--baseline` first runs each entry's tests on the unchanged code (they must pass, else a
 * failure under the mutation proves nothing). Names select entries (default: all).
 * The tests need what they need without the mutation (root, containerd): run where they run.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MUTATIONS, Mutation } from './mutations';

const REPO = path.resolve(__dirname, '..', '..');

type Verdict = 'killed' | 'survived' | 'no test ran' | 'no result' | 'baseline fails';

interface JestSummary { passed: number; failed: number; suitesFailed: number; failedNames: string[]; noResult?: boolean }

function runJest(m: Mutation): JestSummary {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-mutation-')), 'result.json');
  const args = ['jest', '--ci', '--coverage=false', '--runInBand', '--json', `--outputFile=${out}`, ...m.tests];
  if (m.testNamePattern) args.push('-t', m.testNamePattern);
  spawnSync('npx', args, {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
    timeout: (m.timeoutMinutes ?? 30) * 60_000,
  });
  try {
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    const failedNames: string[] = [];
    for (const suite of r.testResults ?? []) {
      for (const t of suite.assertionResults ?? []) if (t.status === 'failed') failedNames.push(t.fullName);
      if (suite.status === 'failed' && (suite.assertionResults ?? []).every((t: any) => t.status !== 'failed')) {
        const reason = String(suite.message).split('\n').find((l: string) => l.trim()) ?? 'failed';
        failedNames.push(`${path.relative(REPO, suite.name)} (suite: ${reason})`);
      }
    }
    const suitesFailed = r.numFailedTestSuites + (r.numRuntimeErrorTestSuites ?? 0);
    return { passed: r.numPassedTests, failed: r.numFailedTests, suitesFailed, failedNames };
  } catch {
    // No result: jest timed out or was killed. Not counted as caught: the run decides nothing.
    return { passed: 0, failed: 0, suitesFailed: 0, failedNames: [], noResult: true };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** Applies a mutation's replacements to its file; returns the original text to restore. */
function apply(m: Mutation): string {
  const file = path.join(REPO, m.file);
  const original = fs.readFileSync(file, 'utf8');
  let text = original;
  for (const [from, to] of m.replace) {
    const count = text.split(from).length - 1;
    if (count !== 1) throw new Error(`mutation "${m.name}": ${m.file} holds ${count} copies of ${JSON.stringify(from)}, not exactly one: update the entry`);
    text = text.replace(from, () => to);
  }
  fs.writeFileSync(file, text);
  return original;
}

function main(argv: string[]): number {
  const list = argv.includes('--list');
  const baseline = argv.includes('--baseline');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !MUTATIONS.some((m) => m.name === n));
  if (unknown.length > 0) throw new Error(`no such mutation: ${unknown.join(', ')} (--list shows them)`);
  const selected = MUTATIONS.filter((m) => names.length === 0 || names.includes(m.name));
  if (list) {
    for (const m of selected) console.log(`${m.name}\n  ${m.file}: ${m.bug}\n  tests: ${m.tests.join(' ')}${m.testNamePattern ? ` -t "${m.testNamePattern}"` : ''}`);
    return 0;
  }

  const results: { m: Mutation; verdict: Verdict; detail: string }[] = [];
  for (const m of selected) {
    const started = Date.now();
    if (baseline) {
      const base = runJest(m);
      if (base.failed > 0 || base.suitesFailed > 0) {
        results.push({ m, verdict: 'baseline fails', detail: base.failedNames.join('; ') });
        console.log(`[${m.name}] baseline fails: ${base.failedNames.join('; ')}`);
        continue;
      }
    }
    const file = path.join(REPO, m.file);
    let original: string | undefined;
    const restore = () => { if (original !== undefined) fs.writeFileSync(file, original); };
    const onSignal = () => { restore(); process.exit(130); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let summary: JestSummary;
    try {
      original = apply(m);
      summary = runJest(m);
    } finally {
      restore();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    let verdict: Verdict;
    let detail: string;
    if (summary.noResult) {
      verdict = 'no result';
      detail = `jest gave no result (timed out after ${m.timeoutMinutes ?? 30} min, or was stopped): undecided`;
    } else if (summary.failed > 0 || summary.suitesFailed > 0) {
      verdict = 'killed';
      detail = `by ${summary.failedNames.slice(0, 3).join('; ')}${summary.failedNames.length > 3 ? ` and ${summary.failedNames.length - 3} more` : ''}`;
    } else if (summary.passed === 0) {
      verdict = 'no test ran';
      detail = 'no test matched: nothing checks this';
    } else {
      verdict = 'survived';
      detail = `${summary.passed} test(s) passed with the bug in place`;
    }
    results.push({ m, verdict, detail });
    console.log(`[${m.name}] ${verdict.toUpperCase()} (${seconds} s): ${detail}`);
  }

  const survivors = results.filter((r) => r.verdict !== 'killed');
  console.log(`\n${results.length - survivors.length} of ${results.length} mutation(s) killed.`);
  if (survivors.length > 0) {
    console.log('SURVIVORS (a bug the tests let through):');
    for (const r of survivors) console.log(`  - ${r.m.name} [${r.verdict}]: ${r.m.file}: ${r.m.bug}\n      ${r.detail}`);
  }
  return survivors.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
