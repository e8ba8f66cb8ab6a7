import { parse, TomlTable } from 'smol-toml';
import { CONTAINERD_1_6_DEFAULT_CONFIG } from './containerd-1.6-default';
import { CRUN, KATA_FC, KATA_QEMU, REALISTIC_HANDLERS, RUNSC, withSystemdCgroup } from './fixtures';
import {
  ContainerdSchema, criRuntimesPath, HandlerConfig, renderContainerdDropIn, renderContainerdRuntimeTables,
  SYSTEMD_CGROUP_PLACEHOLDER,
} from '../../src/containerd';

const SCHEMAS: readonly ContainerdSchema[] = [1, 2, 3];

/** Walks `path` down a parsed TOML document. */
function at(document: TomlTable, path: readonly string[]): TomlTable {
  return path.reduce<TomlTable>((table, key) => {
    const next = table[key];
    if (next === undefined) {
      throw new Error(`no ${JSON.stringify(key)} in ${JSON.stringify(Object.keys(table))}`);
    }
    return next as TomlTable;
  }, document);
}

/** The parsed runtimes table of a rendered document. */
function runtimesOf(text: string, schema: ContainerdSchema): TomlTable {
  return at(parse(withSystemdCgroup(text)), criRuntimesPath(schema));
}

const MINIMAL: HandlerConfig = { handler: 'minimal', runtimeType: 'io.containerd.minimal.v1' };

describe('criRuntimesPath', () => {
  test.each<[ContainerdSchema, string[]]>([
    [1, ['plugins', 'cri', 'containerd', 'runtimes']],
    [2, ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']],
    [3, ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes']],
  ])('schema %d', (schema, expected) => {
    expect(criRuntimesPath(schema)).toEqual(expected);
  });

  test('returns a fresh array each time', () => {
    criRuntimesPath(2).push('mutated');
    expect(criRuntimesPath(2)).toHaveLength(4);
  });

  test.each([0, 4, '2', undefined])('rejects the unknown schema %p', (schema) => {
    expect(() => criRuntimesPath(schema as ContainerdSchema)).toThrow(
      `Unknown containerd config schema ${JSON.stringify(schema)}: expected 1, 2 or 3 (use 3 for config version 4)`,
    );
  });
});

describe('renderContainerdRuntimeTables', () => {
  test('writes the exact tables for one handler', () => {
    expect(renderContainerdRuntimeTables([KATA_QEMU], 2)).toBe([
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu]',
      'runtime_type = "io.containerd.kata-qemu.v2"',
      'runtime_path = "/opt/kata/bin/containerd-shim-kata-v2"',
      'privileged_without_host_devices = true',
      'pod_annotations = ["io.katacontainers.*"]',
      '',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu.options]',
      'ConfigPath = "/opt/kata/share/defaults/kata-containers/configuration-qemu.toml"',
      '',
    ].join('\n'));
  });

  test.each(SCHEMAS)('schema %d: every field reads back under the right plugin', (schema) => {
    const runtimes = runtimesOf(renderContainerdRuntimeTables(REALISTIC_HANDLERS, schema), schema);

    expect(Object.keys(runtimes)).toEqual(['kata-qemu', 'kata-fc', 'runsc', 'crun']);
    expect(runtimes['kata-qemu']).toEqual({
      runtime_type: 'io.containerd.kata-qemu.v2',
      runtime_path: '/opt/kata/bin/containerd-shim-kata-v2',
      privileged_without_host_devices: true,
      pod_annotations: ['io.katacontainers.*'],
      options: { ConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml' },
    });
    expect(runtimes['kata-fc']).toMatchObject({ runtime_type: 'io.containerd.kata-fc.v2', snapshotter: 'devmapper' });
    expect(runtimes.runsc).toEqual({
      runtime_type: 'io.containerd.runsc.v1',
      options: { TypeUrl: 'io.containerd.runsc.v1.options', ConfigPath: '/etc/containerd/runsc.toml' },
    });
    expect(runtimes.crun).toEqual({
      runtime_type: 'io.containerd.runc.v2',
      options: { BinaryName: '/usr/bin/crun', SystemdCgroup: true },
    });
  });

  test('schema 2 reads back at the documented path', () => {
    const parsed = parse(renderContainerdRuntimeTables([KATA_QEMU], 2)) as {
      plugins: { [plugin: string]: { containerd: { runtimes: { [handler: string]: { runtime_type: string } } } } };
    };
    expect(parsed.plugins['io.containerd.grpc.v1.cri'].containerd.runtimes['kata-qemu'].runtime_type).toBe('io.containerd.kata-qemu.v2');
  });

  test('writes the SystemdCgroup placeholder unquoted, last in the options table', () => {
    const text = renderContainerdRuntimeTables([CRUN], 3);
    expect(SYSTEMD_CGROUP_PLACEHOLDER).toBe('@SYSTEMD_CGROUP@');
    expect(text.endsWith('BinaryName = "/usr/bin/crun"\nSystemdCgroup = @SYSTEMD_CGROUP@\n')).toBe(true);
    expect(runtimesOf(text.replace('@SYSTEMD_CGROUP@', 'false'), 3).crun).toMatchObject({ options: { SystemdCgroup: false } });
  });

  test('the placeholder alone makes an options table', () => {
    const text = renderContainerdRuntimeTables([{ ...MINIMAL, systemdCgroupFromNode: true }], 2);
    expect(runtimesOf(text, 2).minimal).toEqual({ runtime_type: 'io.containerd.minimal.v1', options: { SystemdCgroup: true } });
  });

  test('systemdCgroupFromNode: false writes no SystemdCgroup', () => {
    const text = renderContainerdRuntimeTables([{ ...CRUN, systemdCgroupFromNode: false }], 2);
    expect(text).not.toContain('SystemdCgroup');
  });

  test('leaves out the options table when there are no options', () => {
    for (const options of [undefined, {}]) {
      const text = renderContainerdRuntimeTables([{ ...MINIMAL, options }], 2);
      expect(text).toBe('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minimal]\nruntime_type = "io.containerd.minimal.v1"\n');
    }
  });

  test('leaves out every optional key that is not set', () => {
    const text = renderContainerdRuntimeTables([MINIMAL], 1);
    for (const key of ['runtime_path', 'privileged_without_host_devices', 'pod_annotations', 'container_annotations', 'snapshotter']) {
      expect(text).not.toContain(key);
    }
  });

  test('writes optional keys in a fixed order, whatever the order of the input object', () => {
    const handler: HandlerConfig = {
      snapshotter: 'devmapper',
      containerAnnotations: ['c.*'],
      podAnnotations: ['p.*'],
      privilegedWithoutHostDevices: false,
      runtimePath: '/bin/shim',
      runtimeType: 'io.containerd.x.v2',
      handler: 'x',
    };
    const keys = renderContainerdRuntimeTables([handler], 2).split('\n').slice(1, 7).map((line) => line.split(' = ')[0]);
    expect(keys).toEqual(['runtime_type', 'runtime_path', 'privileged_without_host_devices', 'pod_annotations', 'container_annotations', 'snapshotter']);
  });

  test('writes empty annotation lists and false values that were set explicitly', () => {
    const handler: HandlerConfig = { ...MINIMAL, podAnnotations: [], containerAnnotations: [], privilegedWithoutHostDevices: false };
    const text = renderContainerdRuntimeTables([handler], 2);
    expect(runtimesOf(text, 2).minimal).toEqual({
      runtime_type: 'io.containerd.minimal.v1',
      privileged_without_host_devices: false,
      pod_annotations: [],
      container_annotations: [],
    });
  });

  test('keeps options in their given order, with their TOML types', () => {
    const options = { 'Zeta': 'z', 'Alpha': true, 'IoUid': 0, 'NoPivotRoot': false, 'Odd.Key': 'quoted' };
    const text = renderContainerdRuntimeTables([{ ...MINIMAL, options }], 2);
    expect(text).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minimal.options]\n'
      + 'Zeta = "z"\nAlpha = true\nIoUid = 0\nNoPivotRoot = false\n"Odd.Key" = "quoted"\n');
    const readBack = runtimesOf(text, 2).minimal as TomlTable;
    expect(readBack.options).toEqual(options);
    expect(Object.keys(readBack.options as TomlTable)).toEqual(Object.keys(options));
  });

  test('strings needing escapes round-trip exactly', () => {
    const tricky = 'quote " backslash \\ newline \n tab \t unicode é✓😀 del \u007F';
    const handler: HandlerConfig = {
      ...MINIMAL,
      runtimePath: '/opt/we"ird\\path/\u00e9/shim',
      podAnnotations: [tricky, 'io.katacontainers.*'],
      containerAnnotations: ['a\nb'],
      options: { ConfigPath: tricky },
    };
    for (const schema of SCHEMAS) {
      const readBack = runtimesOf(renderContainerdRuntimeTables([handler], schema), schema).minimal;
      expect(readBack).toEqual({
        runtime_type: 'io.containerd.minimal.v1',
        runtime_path: '/opt/we"ird\\path/\u00e9/shim',
        pod_annotations: [tricky, 'io.katacontainers.*'],
        container_annotations: ['a\nb'],
        options: { ConfigPath: tricky },
      });
    }
  });

  test('separates tables with one blank line and ends with exactly one newline', () => {
    for (const schema of SCHEMAS) {
      const text = renderContainerdRuntimeTables(REALISTIC_HANDLERS, schema);
      expect(text.endsWith('\n')).toBe(true);
      expect(text.endsWith('\n\n')).toBe(false);
      expect(text).not.toContain('\n\n\n');
      expect(text.startsWith('[')).toBe(true);
      // Every header but the first follows a blank line.
      const lines = text.split('\n');
      lines.forEach((line, index) => {
        if (line.startsWith('[') && index > 0) {
          expect(lines[index - 1]).toBe('');
        }
      });
    }
  });

  test('has no version line', () => {
    expect(renderContainerdRuntimeTables(REALISTIC_HANDLERS, 2)).not.toMatch(/^version/m);
  });

  test('is deterministic', () => {
    for (const schema of SCHEMAS) {
      const first = renderContainerdRuntimeTables(REALISTIC_HANDLERS, schema);
      const second = renderContainerdRuntimeTables(REALISTIC_HANDLERS.map((h) => ({ ...h })), schema);
      expect(Buffer.from(second)).toEqual(Buffer.from(first));
    }
  });

  test('keeps handlers in the given order', () => {
    const text = renderContainerdRuntimeTables([CRUN, KATA_QEMU], 2);
    expect(text.indexOf('runtimes.crun]')).toBeLessThan(text.indexOf('runtimes.kata-qemu]'));
  });

  test('does not modify its input', () => {
    const input = JSON.parse(JSON.stringify(REALISTIC_HANDLERS));
    renderContainerdRuntimeTables(input, 3);
    expect(input).toEqual(JSON.parse(JSON.stringify(REALISTIC_HANDLERS)));
  });

  test.each(SCHEMAS)('snapshot of the realistic set, schema %d', (schema) => {
    expect(renderContainerdRuntimeTables(REALISTIC_HANDLERS, schema)).toMatchSnapshot();
  });

  describe('appended to a containerd 1.6 default config.toml', () => {
    const combined = `${CONTAINERD_1_6_DEFAULT_CONFIG}\n${withSystemdCgroup(renderContainerdRuntimeTables(REALISTIC_HANDLERS, 2))}`;

    test('the result still parses, keeps runc and adds the new handlers', () => {
      const parsed = parse(combined);
      const runtimes = at(parsed, criRuntimesPath(2));
      expect(Object.keys(runtimes).sort()).toEqual(['crun', 'kata-fc', 'kata-qemu', 'runc', 'runsc']);
      expect(runtimes.runc).toMatchObject({ runtime_type: 'io.containerd.runc.v2', options: { SystemdCgroup: true } });
      expect(runtimes['kata-qemu']).toMatchObject({ runtime_type: 'io.containerd.kata-qemu.v2' });
      expect(at(parsed, ['plugins', 'io.containerd.grpc.v1.cri', 'containerd'])).toMatchObject({ default_runtime_name: 'runc' });
      expect(parsed.version).toBe(2);
    });

    test('a handler that the file already has makes it invalid (so the installer must check first)', () => {
      const duplicate = `${CONTAINERD_1_6_DEFAULT_CONFIG}\n${renderContainerdRuntimeTables([{ handler: 'runc', runtimeType: 'io.containerd.runc.v2' }], 2)}`;
      expect(() => parse(duplicate)).toThrow();
    });
  });

  describe('rejects invalid input', () => {
    test('an empty list', () => {
      expect(() => renderContainerdRuntimeTables([], 2)).toThrow('containerd runtime tables: at least one handler is required');
    });

    test('something other than a list', () => {
      expect(() => renderContainerdRuntimeTables(undefined as unknown as HandlerConfig[], 2))
        .toThrow('containerd runtime tables: at least one handler is required');
    });

    test('a missing handler config', () => {
      expect(() => renderContainerdRuntimeTables([null as unknown as HandlerConfig], 2))
        .toThrow('containerd runtime tables: handler config expected, got null');
    });

    test('an unknown schema', () => {
      expect(() => renderContainerdRuntimeTables([MINIMAL], 4 as ContainerdSchema)).toThrow('Unknown containerd config schema 4');
    });

    test('the same handler twice', () => {
      expect(() => renderContainerdRuntimeTables([KATA_QEMU, RUNSC, { ...KATA_QEMU }], 2)).toThrow(
        'containerd runtime tables: handler "kata-qemu" is given more than once; each handler can be configured only once',
      );
    });

    test.each([
      'Kata',
      'kata_qemu',
      'kata.qemu',
      '-kata',
      'kata-',
      'kata qemu',
      'a'.repeat(64),
    ])('the handler name %j', (handler) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, handler }], 2)).toThrow(
        `containerd handler: handler ${JSON.stringify(handler)} is not a DNS-1123 label: use at most 63 lowercase letters, digits and "-", `
        + 'starting and ending with a letter or digit (e.g. "kata-qemu")',
      );
    });

    test('accepts a 63-character handler name', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, handler: 'a'.repeat(63) }], 2)).not.toThrow();
    });

    test.each([undefined, ''])('the handler name %p', (handler) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, handler: handler as string }], 2)).toThrow(
        `containerd handler: handler must be a non-empty string, got ${JSON.stringify(handler)}`,
      );
    });

    test.each([undefined, ''])('the runtimeType %p', (runtimeType) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, runtimeType: runtimeType as string }], 2)).toThrow(
        `containerd handler "minimal": runtimeType (containerd runtime_type) must be a non-empty string, got ${JSON.stringify(runtimeType)}`,
      );
    });

    test.each([' ', 'io.containerd.runc.v2 ', 'io.containerd\n.v2'])('the runtimeType %j', (runtimeType) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, runtimeType }], 2)).toThrow(
        `containerd handler "minimal": runtimeType (containerd runtime_type) ${JSON.stringify(runtimeType)} must not contain whitespace or control characters`,
      );
    });

    test.each(['', 'opt/kata/bin/shim', './shim', 'containerd-shim-kata-v2'])('the relative runtimePath %j', (runtimePath) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, runtimePath }], 2)).toThrow(
        `containerd handler "minimal": runtimePath (containerd runtime_path) must be an absolute path starting with "/", got ${JSON.stringify(runtimePath)}`,
      );
    });

    test('a runtimePath with a control character', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, runtimePath: '/opt/kata\n/shim' }], 2)).toThrow(
        'containerd handler "minimal": runtimePath (containerd runtime_path) "/opt/kata\\n/shim" contains a control character',
      );
    });

    test('a privilegedWithoutHostDevices that is not a boolean', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, privilegedWithoutHostDevices: 'true' as unknown as boolean }], 2))
        .toThrow('containerd handler "minimal": privilegedWithoutHostDevices must be true or false, got "true"');
    });

    test('a systemdCgroupFromNode that is not a boolean', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, systemdCgroupFromNode: 1 as unknown as boolean }], 2))
        .toThrow('containerd handler "minimal": systemdCgroupFromNode must be true or false, got 1');
    });

    test('podAnnotations that are not a list of strings', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, podAnnotations: 'io.katacontainers.*' as unknown as string[] }], 2))
        .toThrow('containerd handler "minimal": podAnnotations must be an array of strings, got "io.katacontainers.*"');
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, podAnnotations: ['ok', ''] }], 2))
        .toThrow('containerd handler "minimal": podAnnotations[1] must be a non-empty string, got ""');
    });

    test('containerAnnotations that are not a list of strings', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, containerAnnotations: [7 as unknown as string] }], 2))
        .toThrow('containerd handler "minimal": containerAnnotations[0] must be a non-empty string, got 7');
    });

    test.each(['', 'dev mapper'])('the snapshotter %j', (snapshotter) => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, snapshotter }], 2)).toThrow(/^containerd handler "minimal": snapshotter /);
    });

    test('options that are not an object', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, options: ['x'] as unknown as HandlerConfig['options'] }], 2))
        .toThrow('containerd handler "minimal": options must be an object of option name to value, got ["x"]');
    });

    test('a blank option name', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, options: { ' ': 'x' } }], 2))
        .toThrow('containerd handler "minimal": option names must not be empty or blank');
    });

    test('options.SystemdCgroup together with systemdCgroupFromNode', () => {
      expect(() => renderContainerdRuntimeTables([{ ...CRUN, options: { SystemdCgroup: true } }], 2)).toThrow(
        'containerd handler "crun": set either options.SystemdCgroup or systemdCgroupFromNode, not both',
      );
    });

    test('accepts options.SystemdCgroup without systemdCgroupFromNode', () => {
      const text = renderContainerdRuntimeTables([{ ...MINIMAL, options: { SystemdCgroup: true } }], 2);
      expect(runtimesOf(text, 2).minimal).toMatchObject({ options: { SystemdCgroup: true } });
    });

    test.each<[string, unknown, string]>([
      ['a float', 1.5, 'TOML integer expected, got 1.5'],
      ['NaN', NaN, 'TOML integer expected, got NaN'],
      ['an array', ['a'], 'must be a string, boolean or integer, got ["a"]'],
      ['null', null, 'must be a string, boolean or integer, got null'],
      ['undefined', undefined, 'must be a string, boolean or integer, got undefined'],
      ['an object', { nested: 1 }, 'must be a string, boolean or integer, got {"nested":1}'],
    ])('an option value that is %s', (_name, value, message) => {
      const options = { Good: 'x', Bad: value } as unknown as HandlerConfig['options'];
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, options }], 2))
        .toThrow(`containerd handler "minimal" option "Bad": ${message}`);
    });

    test('an option string with a lone surrogate', () => {
      expect(() => renderContainerdRuntimeTables([{ ...MINIMAL, options: { ConfigPath: '/x\uD800' } }], 2))
        .toThrow('containerd handler "minimal" option "ConfigPath": TOML string "/x\\ud800" contains a lone UTF-16 surrogate');
    });
  });
});

describe('renderContainerdDropIn', () => {
  test.each<[2 | 3, string]>([
    [2, 'io.containerd.grpc.v1.cri'],
    [3, 'io.containerd.cri.v1.runtime'],
  ])('schema %d: a standalone file with its version line', (schema, plugin) => {
    const text = renderContainerdDropIn(REALISTIC_HANDLERS, schema);
    expect(text.startsWith(`version = ${schema}\n\n[plugins."${plugin}".containerd.runtimes.kata-qemu]\n`)).toBe(true);
    expect(text).toBe(`version = ${schema}\n\n${renderContainerdRuntimeTables(REALISTIC_HANDLERS, schema)}`);

    const parsed = parse(withSystemdCgroup(text));
    expect(parsed.version).toBe(schema);
    expect(Object.keys(parsed.plugins as TomlTable)).toEqual([plugin]);
    expect(at(parsed, criRuntimesPath(schema))['kata-fc']).toMatchObject({ runtime_type: 'io.containerd.kata-fc.v2', snapshotter: 'devmapper' });
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  test('is deterministic', () => {
    expect(renderContainerdDropIn([KATA_FC, CRUN], 3)).toBe(renderContainerdDropIn([{ ...KATA_FC }, { ...CRUN }], 3));
  });

  test.each<2 | 3>([2, 3])('snapshot of the realistic set, schema %d', (schema) => {
    expect(renderContainerdDropIn(REALISTIC_HANDLERS, schema)).toMatchSnapshot();
  });

  test.each([1, 4, 0])('rejects schema %p', (schema) => {
    expect(() => renderContainerdDropIn(REALISTIC_HANDLERS, schema as 2 | 3)).toThrow(
      `containerd drop-in: schema must be 2 or 3, got ${schema} (version 1 files cannot be drop-ins)`,
    );
  });

  test('passes on handler errors', () => {
    expect(() => renderContainerdDropIn([], 3)).toThrow('containerd runtime tables: at least one handler is required');
    expect(() => renderContainerdDropIn([{ ...MINIMAL, runtimePath: 'relative' }], 3)).toThrow('must be an absolute path');
  });
});
