// Runs Stryker on each target of stryker-targets.mjs (all, or those named) and prints the mutation
// score of each, and of src/core's and src/report's files together; exits 1 when a target that ran scores below 80% or fails.
// With --scores, runs nothing: prints the scores kept in reports/stryker/ by earlier runs.
//
//   node test/mutations/stryker.mjs [--scores] [target...]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { slugOf, TARGETS } from './stryker-targets.mjs';

const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const THRESHOLD = 80;
const args = process.argv.slice(2);
const scoresOnly = args.includes('--scores');
const named = args.filter((a) => a !== '--scores');
const unknown = named.filter((t) => !Object.prototype.hasOwnProperty.call(TARGETS, t));
if (unknown.length > 0) {
  console.error(`unknown target(s) ${unknown.join(', ')}: the targets are ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const targets = named.length > 0 ? named : Object.keys(TARGETS);

/** Mutant counts by status in a mutation-testing report (Stryker's JSON and incremental files share the schema). */
function counts(file) {
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  for (const entry of Object.values(report.files)) {
    for (const mutant of entry.mutants) {
      if (mutant.status in c) c[mutant.status]++;
      else c.other++; // Ignored (static), RuntimeError, CompileError: not in the score, as Stryker counts it
    }
  }
  return c;
}

function score(c) {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? undefined : (100 * detected) / valid;
}

const failed = [];
const rows = [];
for (const target of targets) {
  const slug = slugOf(target);
  const kept = path.join(REPO, 'reports', 'stryker', `${slug}.json`);
  if (!scoresOnly) {
    console.log(`\n== Stryker: ${target}`);
    const run = spawnSync('npx', ['stryker', 'run'], { cwd: REPO, stdio: 'inherit', env: { ...process.env, MUTATION_TARGET: target } });
    if (run.status !== 0) failed.push(`${target}: Stryker exited ${run.status ?? run.signal}`);
  }
  if (!fs.existsSync(kept)) {
    rows.push({ target, c: undefined });
    continue;
  }
  rows.push({ target, c: counts(kept) });
}

const line = (name, c) => `  ${name.padEnd(24)}${c ? `${score(c)?.toFixed(1).padStart(6) ?? '     -'}%  killed ${c.Killed}, timed out ${c.Timeout}, survived ${c.Survived}, no coverage ${c.NoCoverage} (not scored: ${c.other})` : '  not run yet'}`;
console.log('\nMutation scores (killed or timed out, of the mutants scored):');
for (const { target, c } of rows) {
  console.log(line(target, c));
  if (!scoresOnly && c && (score(c) ?? 100) < THRESHOLD) failed.push(`${target}: ${score(c).toFixed(1)}% is below ${THRESHOLD}%`);
}
// src/core and src/report are scored file by file (fast-yaml in three parts): each module's targets scored so far, together.
for (const module of ['core', 'report']) {
  const fileRows = rows.filter(({ target, c }) => c && target.startsWith(`${module}/`));
  if (fileRows.length > 1) {
    const sum = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
    for (const { c } of fileRows) for (const k of Object.keys(sum)) sum[k] += c[k];
    const all = Object.keys(TARGETS).filter((t) => t.startsWith(`${module}/`)).length;
    console.log(line(`${module} (${fileRows.length} of ${all} targets)`, sum));
  }
}
if (failed.length > 0) {
  console.error(`\n${failed.join('\n')}`);
  process.exit(1);
}
