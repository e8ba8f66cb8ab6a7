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
    tests: ['test/node-agent/faults.test.ts', 'test/node-agent/crash-default.test.ts'],
    testNamePattern: 'killed between the config change and the restart|upgrade|killed before each step',
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
    tests: ['test/node-agent/faults.test.ts', 'test/node-agent/readiness.test.ts'],
    testNamePattern: 'does not serve|does not come back|rolled back',
  },
  {
    name: 'unreadable-file-read-as-empty',
    file: 'src/node-agent/host-fs.ts',
    bug: 'a path that exists but is not a readable file (a directory where a config should be) reads as an empty file instead of refusing',
    replace: [["    return entryAt(real).type === 'file' ? fs.readFileSync(real) : undefined;",
      "    const found = entryAt(real);\n    return found.type === 'file' ? fs.readFileSync(real) : found.type === 'absent' ? undefined : Buffer.alloc(0);"]],
    tests: ['test/node-agent'],
    testNamePattern: 'unreadable|is a directory|not a file',
  },
];
