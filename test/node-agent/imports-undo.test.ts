/**
 * The `imports` entry the agent adds to a containerd 2.x main file, and its removal on
 * uninstall: the file comes back byte for byte whatever its `imports` line looked like (none,
 * containerd 2.x's own `imports = []`, a non-empty list, one-line or multi-line, CRLF), and no
 * false "changed since this node setup edited it" warning is logged. Real files in a temp dir,
 * through the agent's own Transaction and StateStore.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HostFs } from '../../src/node-agent/host-fs';
import { Log } from '../../src/node-agent/log';
import { STATE_ROOT, StateStore } from '../../src/node-agent/state';
import { addImport, hasImportsLine, importsOf, IMPORTS_TAG, removeImport } from '../../src/node-agent/toml-text';
import { Change, Transaction } from '../../src/node-agent/transaction';

const MAIN = '/etc/containerd/config.toml';
const DROP_IN = '/etc/containerd/conf.d/test-setup.toml';

/** The start of containerd 2.1.9's `containerd config default`. */
const V3_DEFAULT_HEAD = [
  'version = 3',
  "root = '/var/lib/containerd'",
  "state = '/run/containerd'",
  "temp = ''",
  'disabled_plugins = []',
  'required_plugins = []',
  'oom_score = 0',
  'imports = []',
  '',
  '[grpc]',
  "  address = '/run/containerd/containerd.sock'",
  '',
].join('\n');

const crlf = (text: string) => text.replace(/\n/g, '\r\n');

const CASES: Array<[string, string]> = [
  ['containerd 2.x\'s own `imports = []`', V3_DEFAULT_HEAD],
  ['`imports = []` with CRLF line ends', crlf(V3_DEFAULT_HEAD)],
  ['`imports = [ ]` (a space inside)', V3_DEFAULT_HEAD.replace('imports = []', 'imports = [ ]')],
  ['a non-empty list that does not cover the drop-in', V3_DEFAULT_HEAD.replace('imports = []', 'imports = ["/etc/containerd/site.toml"]')],
  ['a non-empty list, CRLF', crlf(V3_DEFAULT_HEAD.replace('imports = []', 'imports = ["/etc/containerd/site.toml"]'))],
  ['a multi-line list', V3_DEFAULT_HEAD.replace('imports = []', 'imports = [\n  "/etc/containerd/site.toml",\n]')],
  ['no `imports` line', V3_DEFAULT_HEAD.replace('imports = []\n', '')],
  ['no `imports` line, CRLF', crlf(V3_DEFAULT_HEAD.replace('imports = []\n', ''))],
  ['no `imports` line, no final newline', 'version = 3\n[grpc]\n  address = \'/run/containerd/containerd.sock\''],
];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imports-undo-'));
  fs.mkdirSync(path.join(dir, 'etc/containerd/conf.d'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Installs `addImport(original)` as the agent does, then undoes it; returns the bytes after and the log. */
function installAndUndo(original: Buffer, meddle: (text: string) => string = (t) => t): { after: Buffer | undefined; edited: string; log: string } {
  fs.writeFileSync(path.join(dir, MAIN), original);
  const host = new HostFs(dir);
  const store = new StateStore(host.resolve(STATE_ROOT, true), 'test-setup');
  const edited = addImport(original.toString('utf8'), DROP_IN);
  const change: Change = {
    path: MAIN, kind: 'config', followLast: true, restart: true, importPath: DROP_IN, content: { type: 'file', data: Buffer.from(edited) },
  };
  const logged: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
    logged.push(String(chunk));
    return true;
  });
  try {
    const install = new Transaction(host, store, store.load(), new Log('test-setup'));
    expect(install.apply([change])).toEqual([MAIN]);
    fs.writeFileSync(path.join(dir, MAIN), meddle(fs.readFileSync(path.join(dir, MAIN), 'utf8')));
    const uninstall = new Transaction(host, store, store.load(), new Log('test-setup'));
    for (const undo of uninstall.undo(() => true)) uninstall.write(undo);
  } finally {
    spy.mockRestore();
  }
  const file = path.join(dir, MAIN);
  return { after: fs.existsSync(file) ? fs.readFileSync(file) : undefined, edited, log: logged.join('') };
}

describe('uninstall gives back a containerd 2.x main file whose imports gained our drop-in, byte for byte', () => {
  test.each(CASES)('%s', (_name, text) => {
    const original = Buffer.from(text);
    const { after, edited, log } = installAndUndo(original);
    expect(importsOf(edited)[0]).toBe(DROP_IN);
    expect(edited).not.toBe(text);
    expect(after?.equals(original)).toBe(true);
    expect(log).not.toContain('changed since this node setup edited it');
  });

  test('`imports = []`: the edit makes the one-entry list, and the line stays (emptied) when the file changed elsewhere since', () => {
    const { after, edited, log } = installAndUndo(Buffer.from(V3_DEFAULT_HEAD), (t) => t.replace('oom_score = 0', 'oom_score = -999'));
    expect(edited).toContain(`imports = ["${DROP_IN}"]\n`);
    expect(edited).not.toContain(IMPORTS_TAG);
    // The other change stays, our entry goes, the node's `imports = []` line is back as it was.
    expect(after!.toString()).toBe(V3_DEFAULT_HEAD.replace('oom_score = 0', 'oom_score = -999'));
    expect(log).toContain('changed since this node setup edited it');
  });

  test('no `imports` line: our line goes when the file changed elsewhere since', () => {
    const text = V3_DEFAULT_HEAD.replace('imports = []\n', '');
    const { after } = installAndUndo(Buffer.from(text), (t) => t.replace('oom_score = 0', 'oom_score = -999'));
    expect(after!.toString()).toBe(text.replace('oom_score = 0', 'oom_score = -999'));
  });
});

describe('removeImport is the inverse of addImport', () => {
  test.each(CASES)('%s', (_name, text) => {
    expect(removeImport(addImport(text, DROP_IN), DROP_IN, hasImportsLine(text))).toBe(text);
  });

  test('hasImportsLine looks at the root only, comments and tables excluded', () => {
    expect(hasImportsLine(V3_DEFAULT_HEAD)).toBe(true);
    expect(hasImportsLine('\uFEFFimports = []\nversion = 3\n')).toBe(true);
    expect(hasImportsLine('version = 3\n# imports = []\n[plugins.x]\n  imports = []\n')).toBe(false);
  });
});
