/**
 * The node agent's hand-made mutations (see run.ts): one realistic bug each, as exact text
 * replacements in one file, and the tests that must catch it. An entry whose text no longer
 * occurs exactly once fails the run: update it with the code.
 */
export interface Mutation {
  readonly name: string;
  /** The file changed, relative to the repository. */
  readonly file: string;
  /** The bug, in words. */
  readonly bug: string;
  /** [from, to]: each `from` must occur exactly once. */
  readonly replace: ReadonlyArray<readonly [string, string]>;
  /** Test files (or directories) to run. */
  readonly tests: readonly string[];
  /** jest -t: only the tests whose names match. */
  readonly testNamePattern?: string;
  readonly timeoutMinutes?: number;
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'no-directory-fsync-after-rename',
    file: 'src/node-agent/host-fs.ts',
    bug: 'a file replaced by rename is not followed by an fsync of its directory (the rename may be lost at power loss)',
    replace: [['      fs.renameSync(temp, real);\n    } catch (e) {\n      fs.rmSync(temp, { force: true });\n      throw e;\n    }\n    syncDirectory(dir);\n',
      '      fs.renameSync(temp, real);\n    } catch (e) {\n      fs.rmSync(temp, { force: true });\n      throw e;\n    }\n']],
    tests: ['test/node-agent/links.test.ts'],
    testNamePattern: 'No fsync of the directory after rename',
  },
  {
    name: 'state-saved-after-host-files',
    file: 'src/node-agent/transaction.ts',
    bug: 'the undo records and "restart pending" are saved after the host files are written, not before',
    replace: [
      ['    const importPath = pending.find((c) => c.importPath)?.importPath ?? this.state.importPath;\n',
        '    for (const change of pending) this.write(change);\n    const importPath = pending.find((c) => c.importPath)?.importPath ?? this.state.importPath;\n'],
      ['    });\n    for (const change of pending) this.write(change);\n    return pending.map((c) => c.path);', '    });\n    return pending.map((c) => c.path);'],
    ],
    tests: ['test/node-agent/crash-default.test.ts', 'test/node-agent/crash-crlf.test.ts', 'test/node-agent/crash-nvidia.test.ts'],
    timeoutMinutes: 45,
  },
  {
    name: 'restart-pending-not-recorded',
    file: 'src/node-agent/transaction.ts',
    bug: 'a change that needs a runtime restart does not record "restart pending"',
    replace: [['      restartPending: this.state.restartPending || pending.some((c) => c.restart),', '      restartPending: this.state.restartPending,']],
    // An uninterrupted upgrade of a table under the same handler name restarts nothing with this bug.
    tests: ['test/node-agent/crash-upgrade.test.ts'],
    testNamePattern: 'a changed table under the same handler name',
  },
  {
    name: 'crlf-kept-by-bare',
    file: 'src/node-agent/toml-text.ts',
    bug: 'bare() keeps the \\r of a CRLF line, so our markers and the imports line are not recognised in a CRLF file',
    replace: [["  return line.replace(/\\r?\\n$/, '');", "  return line.replace(/\\n$/, '');"]],
    tests: ['test/node-agent/crash-crlf.test.ts', 'test/node-agent/imports-undo.test.ts', 'test/node-agent/corpus.test.ts'],
    testNamePattern: 'CRLF|crlf|killed before each step',
  },
  {
    name: 'state-deleted-in-place',
    file: 'src/node-agent/state.ts',
    bug: 'the state directory is deleted in place instead of being renamed to a tombstone first (same step names)',
    replace: [['      fs.renameSync(this.dir, this.tombstone);\n', '      fs.rmSync(this.dir, { recursive: true, force: true });\n']],
    tests: ['test/node-agent/defects.test.ts', 'test/node-agent/crash-default.test.ts'],
    testNamePattern: 'deletes its own state|uninstall: killed',
  },
  {
    name: 'restart-taken-as-verification',
    file: 'src/node-agent/lifecycle.ts',
    bug: 'a runtime that came back after the restart counts as serving the handlers, without asking it',
    replace: [['    if (verified?.ok) {\n', '    if (restarted) {\n']],
    tests: ['test/node-agent/faults.test.ts', 'test/node-agent/readiness.test.ts', 'test/node-agent/crash-without-handler.test.ts'],
    testNamePattern: 'does not serve|does not come back|rolled back',
    timeoutMinutes: 30,
  },
  {
    name: 'unreadable-file-read-as-empty',
    file: 'src/node-agent/host-fs.ts',
    bug: 'a path that exists but is not a readable file (a directory where a config should be) reads as an empty file instead of refusing',
    replace: [["    return entryAt(real).type === 'file' ? fs.readFileSync(real) : undefined;",
      "    const found = entryAt(real);\n    return found.type === 'file' ? fs.readFileSync(real) : found.type === 'absent' ? undefined : Buffer.alloc(0);"]],
    tests: ['test/node-agent/defects.test.ts'],
    testNamePattern: 'a directory where containerd',
  },
  {
    name: 'imports-line-added-with-lf',
    file: 'src/node-agent/toml-text.ts',
    bug: 'the imports line added to a CRLF containerd 2.x file without one ends with a bare LF',
    replace: [["  const newline = versionAt >= 0 && lines[versionAt].endsWith('\\r\\n') ? '\\r\\n' : '\\n';", "  const newline = '\\n';"]],
    tests: ['test/node-agent/containerd2-crlf.test.ts', 'test/node-agent/imports-undo.test.ts'],
    testNamePattern: 'CRLF',
  },
  {
    name: 'crlf-resave-undone-to-lf-original',
    file: 'src/node-agent/transaction.ts',
    bug: 'uninstall compares the edited file with its original ignoring line ends, so an admin\'s CRLF re-save is replaced by the old LF bytes',
    replace: [['    if (originalBytes && sameText(undone, textOf(originalBytes))) return',
      "    if (originalBytes && sameText(undone.replace(/\\r\\n/g, '\\n'), textOf(originalBytes))) return"]],
    tests: ['test/node-agent/containerd2-crlf.test.ts'],
    testNamePattern: 'admin re-saves',
  },
  {
    name: 'failed-check-sandbox-ignored-for-served-handler',
    file: 'src/node-agent/lifecycle.ts',
    bug: 'a handler the runtime serves is labelled even when its check sandbox fails (its binary is missing)',
    replace: [['      if (verdict.ready) {\n', '      if (verdict.ready || candidates.includes(handler)) {\n']],
    tests: ['test/node-agent/readiness.test.ts'],
    testNamePattern: 'binary',
  },
  {
    name: 'uninstall-forgets-before-removing',
    file: 'src/node-agent/lifecycle.ts',
    bug: 'uninstall drops the records of what it is about to remove from the state before removing it, so a kill midway leaves files nobody removes',
    replace: [["      tx.save({ ...state, phase: 'uninstalling', labels: [], restartPending: restart });",
      "      tx.save({ ...state, records: state.records.filter((r) => !undo.some((c) => c.path === r.path)), phase: 'uninstalling', labels: [], restartPending: restart });"]],
    tests: ['test/node-agent/crash-artifacts.test.ts'],
    testNamePattern: 'directory artifact of',
  },
  {
    name: 'artifact-copied-in-place',
    file: 'src/node-agent/host-fs.ts',
    bug: 'a file artifact is copied straight to its destination (unlink, copy) instead of a temp file renamed over it',
    replace: [['    this.replace(hostPath, real, (temp) => {\n      if (!Buffer.isBuffer(data))',
      '    if (!Buffer.isBuffer(data)) {\n      step(`write:${hostPath}`);\n      fs.rmSync(real, { force: true });\n      fs.copyFileSync(data.localPath, real);\n      fs.chmodSync(real, mode);\n      return;\n    }\n    this.replace(hostPath, real, (temp) => {\n      if (!Buffer.isBuffer(data))']],
    tests: ['test/node-agent/crash-artifacts.test.ts'],
    testNamePattern: 'artifact of 64 MiB',
  },
  {
    name: 'state-blob-written-in-place',
    file: 'src/node-agent/state.ts',
    bug: 'a blob (the copy of an original) is written under its final, content-addressed name instead of a temp name renamed into place',
    replace: [['    write(`${file}.new`);\n    fs.renameSync(`${file}.new`, file);', '    write(file);']],
    tests: ['test/node-agent/crash-artifacts.test.ts'],
    testNamePattern: 'older binary',
  },
];
