/**
 * The node's configuration is edited as bytes: every byte outside our marker blocks stays as it
 * was (Latin-1, NUL, CRLF, a missing final newline, a user's multi-line string holding
 * marker-like lines), and uninstalling any number of node setups, in any order, gives back the
 * original bytes, or no file when the first install created it. The agent runs as the
 * DaemonSet runs it, against Debian's real containerd 1.6 (the stand-in restarts it on the
 * edited config).
 */
import * as fs from 'fs';
import * as path from 'path';
import { corpus, RUNC_TEST, runtimeHeaders, testSpec, TestNode } from './helpers';
import { HandlerConfig } from '../../src/containerd/handler-config';
import { HostFs } from '../../src/node-agent/host-fs';
import { Log } from '../../src/node-agent/log';
import { STATE_ROOT, StateStore } from '../../src/node-agent/state';
import { Transaction } from '../../src/node-agent/transaction';
import { assertContainerdAvailable, configDump, CRI_PLUGIN_V1, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';

/** The text of a user's multi-line strings: our marker lines, as a note a user could keep. */
const MARKER_LIKE = [
  '# BEGIN cdk8s-runtimeclass setup-a',
  'this is the user\'s text',
  '# END cdk8s-runtimeclass setup-a',
];

/**
 * containerd 1.6's default config (the machine's own 1.6 loads it), with what a byte-level
 * edit must keep: CRLF line ends, a Latin-1 byte and a NUL in a comment, a Latin-1 byte in a
 * value, multi-line strings (basic and literal) holding our marker lines, and no final newline.
 */
function hostileOriginal(): Buffer {
  const text = corpus('containerd-1.6-default.toml')
    .replace('version = 2\n', [
      'version = 2',
      `notes = """\n${MARKER_LIKE.join('\n')}\n"""`,
      `literal_notes = '''\n${MARKER_LIKE.join('\n')}\n'''`,
      '',
    ].join('\n'))
    .replace(/\n$/, '')
    .replace(/\n/g, '\r\n');
  return Buffer.concat([
    Buffer.from('# node config, caf'), Buffer.from([0xe9]), Buffer.from(' (Latin-1), a NUL: '), Buffer.from([0x00]), Buffer.from('\r\n'),
    Buffer.from(`${text}\r\n# r`), Buffer.from([0xe9, 0x73, 0x75, 0x6d, 0xe9]),
  ]);
}

const SETUPS = ['setup-a', 'setup-b', 'setup-c'];

function handlerOf(setup: string): HandlerConfig {
  return { ...RUNC_TEST, handler: `runc-${setup.slice(-1)}` };
}

/** All orders of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describeIfContainerd('configuration edited as bytes: what is not ours stays, uninstalls in any order restore the original', () => {
  let node: TestNode;
  let cmDirs: { [setup: string]: string };
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => node?.cleanup());

  /** A node with three node setups' ConfigMaps (one runc-based handler each). */
  function threeSetups(): void {
    node = new TestNode(testSpec({ setupName: SETUPS[0], handlers: [handlerOf(SETUPS[0])] }));
    cmDirs = {};
    for (const setup of SETUPS) {
      cmDirs[setup] = setup === SETUPS[0]
        ? node.cmDir
        : node.writeConfigMap(testSpec({ setupName: setup, handlers: [handlerOf(setup)] }), {}, path.join(node.dir, `cm-${setup}`));
    }
  }

  function run(action: 'install' | 'uninstall', setup: string): void {
    const r = node.run({ action, cmDir: cmDirs[setup] });
    if (r.status !== 0) throw new Error(`${action} of ${setup} exited ${r.status}:\n${r.stderr}`);
  }

  function dumpedHandlers(): string[] {
    const dump = configDump(CONFIG, { chrootDir: node.root.path });
    expect(dump.stderr).not.toMatch(/failed to load/);
    return runtimeHeaders(dump.stdout, CRI_PLUGIN_V1);
  }

  /** The config and the setups' state, to start each uninstall order from the same node. */
  function saveNode(): () => void {
    const configBytes = node.bytes(CONFIG);
    const dirs = [node.stateDir, node.root.resolve(STATE_ROOT)];
    const saved = dirs.map((dir, i) => {
      const copy = path.join(node.dir, `saved-${i}`);
      fs.cpSync(dir, copy, { recursive: true });
      return copy;
    });
    return () => {
      fs.mkdirSync(node.root.resolve(path.dirname(CONFIG)), { recursive: true });
      fs.writeFileSync(node.root.resolve(CONFIG), configBytes!);
      dirs.forEach((dir, i) => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.cpSync(saved[i], dir, { recursive: true });
      });
    };
  }

  test('Bytes outside our markers change: Latin-1 bytes become U+FFFD; our marker text inside a user\'s multi-line string is deleted', () => {
    threeSetups();
    const original = hostileOriginal();
    node.root.write(CONFIG, original);
    run('install', 'setup-a');
    const edited = node.bytes(CONFIG)!;
    // The original, every byte, then our block (which brings the line end the file lacked).
    expect(edited.subarray(0, original.length).equals(original)).toBe(true);
    expect(edited.subarray(original.length).toString('latin1')).toMatch(/^\n# BEGIN cdk8s-runtimeclass setup-a\n[^]*\n# END cdk8s-runtimeclass setup-a$/);
    expect(dumpedHandlers()).toEqual(['runc', 'runc-a']);
    // A re-run changes nothing.
    run('install', 'setup-a');
    expect(node.bytes(CONFIG)!.equals(edited)).toBe(true);
    run('uninstall', 'setup-a');
    expect(node.bytes(CONFIG)!.equals(original)).toBe(true);
  });

  /**
   * What the agent's uninstall does to the host's files (lifecycle: undo every record, write
   * the changes that differ, remove the state), run in this process: the other orders of the
   * matrix without a daemon restart each.
   */
  function uninstallInProcess(setup: string): void {
    const host = new HostFs(node.root.path);
    const store = new StateStore(host.resolve(STATE_ROOT, true), setup);
    const tx = new Transaction(host, store, store.load(), new Log(setup));
    for (const change of tx.undo(() => true).filter((c) => tx.differs(c))) tx.write(change);
    store.remove();
  }

  test.each([
    ['a config.toml without a final newline (Latin-1, NUL, CRLF, marker-like lines in strings)', true],
    ['no config.toml: the skeleton the first install creates is removed by the last uninstall', false],
  ])('Two setups uninstalled in install order do not restore the original (a skeleton config.toml stays; a missing final newline gains one): three setups, every uninstall order, %s', (_name, withConfig) => {
    threeSetups();
    const original = withConfig ? hostileOriginal() : undefined;
    if (original) node.root.write(CONFIG, original);
    for (const setup of SETUPS) run('install', setup);
    expect(dumpedHandlers()).toEqual(['runc', 'runc-a', 'runc-b', 'runc-c']);
    const restore = saveNode();
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // Install order through the agent (real restarts), then every order.
      for (const [n, order] of [SETUPS, ...permutations(SETUPS)].entries()) {
        restore();
        for (const [i, setup] of order.entries()) {
          if (n === 0) run('uninstall', setup);
          else uninstallInProcess(setup);
          const left = order.slice(i + 1);
          const bytes = node.bytes(CONFIG);
          if (left.length > 0) {
            expect({ order, after: setup, handlers: dumpedHandlers() }).toEqual({ order, after: setup, handlers: ['runc', ...left.map((s) => handlerOf(s).handler).sort()] });
          } else if (original) {
            expect({ order, restored: bytes?.equals(original) }).toEqual({ order, restored: true });
          } else {
            expect({ order, config: bytes?.toString('latin1') }).toEqual({ order, config: undefined });
          }
        }
      }
    } finally {
      stderr.mockRestore();
    }
  });
});
