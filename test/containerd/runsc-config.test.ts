import { parse } from 'smol-toml';
import { renderRunscToml, RunscTomlOptions } from '../../src/containerd';

const REALISTIC: RunscTomlOptions = {
  binaryName: '/usr/local/bin/runsc',
  root: '/run/containerd/runsc',
  logPath: '/var/log/runsc/%ID%/shim.log',
  logLevel: 'debug',
  runscFlags: { 'platform': 'systrap', 'overlay2': 'root:self', 'net-raw': 'false', 'debug-log': '/var/log/runsc/%ID%/gvisor.%COMMAND%.log' },
};

describe('renderRunscToml', () => {
  test('writes the exact file: top-level keys, then sorted flags', () => {
    expect(renderRunscToml(REALISTIC)).toBe([
      'binary_name = "/usr/local/bin/runsc"',
      'root = "/run/containerd/runsc"',
      'log_path = "/var/log/runsc/%ID%/shim.log"',
      'log_level = "debug"',
      '',
      '[runsc_config]',
      'debug-log = "/var/log/runsc/%ID%/gvisor.%COMMAND%.log"',
      'net-raw = "false"',
      'overlay2 = "root:self"',
      'platform = "systrap"',
      '',
    ].join('\n'));
  });

  test('reads back with every key, flag values as strings', () => {
    expect(parse(renderRunscToml(REALISTIC))).toEqual({
      binary_name: '/usr/local/bin/runsc',
      root: '/run/containerd/runsc',
      log_path: '/var/log/runsc/%ID%/shim.log',
      log_level: 'debug',
      runsc_config: {
        'platform': 'systrap',
        'overlay2': 'root:self',
        'net-raw': 'false',
        'debug-log': '/var/log/runsc/%ID%/gvisor.%COMMAND%.log',
      },
    });
  });

  test('only flags: no top-level keys, no leading blank line', () => {
    expect(renderRunscToml({ runscFlags: { platform: 'kvm' } })).toBe('[runsc_config]\nplatform = "kvm"\n');
  });

  test('no flags: no runsc_config table', () => {
    expect(renderRunscToml({ logLevel: 'info', runscFlags: {} })).toBe('log_level = "info"\n');
  });

  test('nothing at all: an empty file', () => {
    expect(renderRunscToml({ runscFlags: {} })).toBe('');
  });

  test('sorts flags by code unit, whatever the input order', () => {
    const text = renderRunscToml({ runscFlags: { 'z': '1', 'a': '2', 'a-b': '3', '0x': '4', 'ab': '5' } });
    expect(text).toBe('[runsc_config]\n0x = "4"\na = "2"\na-b = "3"\nab = "5"\nz = "1"\n');
  });

  test('flag values needing escapes round-trip exactly', () => {
    const tricky = 'quote " backslash \\ newline \n unicode é✓😀';
    const parsed = parse(renderRunscToml({ runscFlags: { 'strace-syscalls': tricky, 'empty': '' } })) as { runsc_config: object };
    expect(parsed.runsc_config).toEqual({ 'strace-syscalls': tricky, 'empty': '' });
  });

  test('is deterministic', () => {
    const reordered: RunscTomlOptions = {
      ...REALISTIC,
      runscFlags: Object.fromEntries(Object.entries(REALISTIC.runscFlags).reverse()),
    };
    expect(renderRunscToml(reordered)).toBe(renderRunscToml(REALISTIC));
  });

  test('snapshot', () => {
    expect(renderRunscToml(REALISTIC)).toMatchSnapshot();
  });

  describe('rejects invalid input', () => {
    test.each(['--platform', 'Platform', 'net_raw', '-x', 'a b', 'a=b', 'a.b', ''])('the flag name %j', (flag) => {
      expect(() => renderRunscToml({ runscFlags: { [flag]: 'x' } })).toThrow(
        `runsc.toml: runsc flag name ${JSON.stringify(flag)} is invalid: use lowercase letters, digits and "-", `
        + 'starting with a letter or digit, without the leading "--" (e.g. "platform", "overlay2")',
      );
    });

    test.each<[string, unknown]>([['a boolean', true], ['a number', 1], ['null', null]])('a flag value that is %s', (_name, value) => {
      expect(() => renderRunscToml({ runscFlags: { 'net-raw': value as string } })).toThrow(
        `runsc.toml: runsc flag "net-raw" must have a string value (the shim reads strings), got ${JSON.stringify(value)}`,
      );
    });

    test('a flag value with a lone surrogate', () => {
      expect(() => renderRunscToml({ runscFlags: { platform: '\uD800' } })).toThrow(
        'runsc.toml: runsc flag "platform": TOML string "\\ud800" contains a lone UTF-16 surrogate',
      );
    });

    test.each([undefined, null, ['platform'], 'platform=kvm'])('runscFlags %p', (runscFlags) => {
      expect(() => renderRunscToml({ runscFlags: runscFlags as unknown as RunscTomlOptions['runscFlags'] })).toThrow(
        `runsc.toml: runscFlags must be an object of flag name to value, got ${JSON.stringify(runscFlags)}`,
      );
    });

    test('missing options', () => {
      expect(() => renderRunscToml(undefined as unknown as RunscTomlOptions)).toThrow('runsc.toml: options expected, got undefined');
    });

    test.each(['', 'run sc'])('the binaryName %j', (binaryName) => {
      expect(() => renderRunscToml({ binaryName, runscFlags: {} })).toThrow(/^runsc\.toml: binaryName \(binary_name\) /);
    });

    test.each(['', 'run/runsc'])('the relative root %j', (root) => {
      expect(() => renderRunscToml({ root, runscFlags: {} })).toThrow(
        `runsc.toml: root must be an absolute path starting with "/", got ${JSON.stringify(root)}`,
      );
    });

    test.each(['', 'shim.log'])('the relative logPath %j', (logPath) => {
      expect(() => renderRunscToml({ logPath, runscFlags: {} })).toThrow(
        `runsc.toml: logPath (log_path) must be an absolute path starting with "/", got ${JSON.stringify(logPath)}`,
      );
    });

    test.each(['', 'de bug'])('the logLevel %j', (logLevel) => {
      expect(() => renderRunscToml({ logLevel, runscFlags: {} })).toThrow(/^runsc\.toml: logLevel \(log_level\) /);
    });
  });
});
