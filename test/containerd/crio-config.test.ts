import { parse, TomlTable } from 'smol-toml';
import { CRUN, KATA_FC, KATA_QEMU, REALISTIC_HANDLERS, RUNSC } from './fixtures';
import { CrioHandlerConfig, HandlerConfig, renderCrioDropIn } from '../../src/containerd';

/** The parsed `crio.runtime.runtimes` table. */
function crioRuntimesOf(text: string): TomlTable {
  const parsed = parse(text) as { crio: { runtime: { runtimes: TomlTable } } };
  return parsed.crio.runtime.runtimes;
}

function withCrio(crio: Partial<CrioHandlerConfig> | null): HandlerConfig {
  return { handler: 'sandbox', runtimeType: 'io.containerd.sandbox.v2', crio: { runtimePath: '/usr/bin/sandbox', runtimeType: 'oci', ...crio } };
}

describe('renderCrioDropIn', () => {
  test('writes the exact table for a handler with every key', () => {
    expect(renderCrioDropIn([KATA_QEMU])).toBe([
      '[crio.runtime.runtimes.kata-qemu]',
      'runtime_path = "/opt/kata/bin/containerd-shim-kata-v2"',
      'runtime_type = "vm"',
      'runtime_root = "/run/vc"',
      'runtime_config_path = "/opt/kata/share/defaults/kata-containers/configuration-qemu.toml"',
      'privileged_without_host_devices = true',
      'allowed_annotations = ["io.katacontainers.*"]',
      '',
    ].join('\n'));
  });

  test('reads back with every field, and skips handlers without crio', () => {
    const runtimes = crioRuntimesOf(renderCrioDropIn(REALISTIC_HANDLERS));
    // kata-fc has no CRI-O entry.
    expect(Object.keys(runtimes)).toEqual(['kata-qemu', 'runsc', 'crun']);
    expect(runtimes['kata-qemu']).toEqual({
      runtime_path: '/opt/kata/bin/containerd-shim-kata-v2',
      runtime_type: 'vm',
      runtime_root: '/run/vc',
      runtime_config_path: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml',
      privileged_without_host_devices: true,
      allowed_annotations: ['io.katacontainers.*'],
    });
    expect(runtimes.runsc).toEqual({ runtime_path: '/usr/local/bin/runsc', runtime_type: 'oci', runtime_root: '/run/runsc' });
  });

  test('writes only the required keys when nothing else is set', () => {
    expect(renderCrioDropIn([withCrio({})])).toBe('[crio.runtime.runtimes.sandbox]\nruntime_path = "/usr/bin/sandbox"\nruntime_type = "oci"\n');
  });

  test('writes false and empty lists that were set explicitly', () => {
    const runtimes = crioRuntimesOf(renderCrioDropIn([withCrio({ privilegedWithoutHostDevices: false, allowedAnnotations: [] })]));
    expect(runtimes.sandbox).toMatchObject({ privileged_without_host_devices: false, allowed_annotations: [] });
  });

  test('returns an empty string when no handler has a crio entry', () => {
    expect(renderCrioDropIn([KATA_FC])).toBe('');
    expect(renderCrioDropIn([])).toBe('');
  });

  test('does not validate handlers it skips', () => {
    expect(renderCrioDropIn([{ ...KATA_FC, handler: 'Not_Valid' }, CRUN])).toBe(renderCrioDropIn([CRUN]));
  });

  test('strings needing escapes round-trip exactly', () => {
    const tricky = 'io.katacontainers.* "quoted" \\ back\nslash é✓😀';
    const runtimes = crioRuntimesOf(renderCrioDropIn([withCrio({ runtimeRoot: '/run/ü "x"\\y', allowedAnnotations: [tricky] })]));
    expect(runtimes.sandbox).toMatchObject({ runtime_root: '/run/ü "x"\\y', allowed_annotations: [tricky] });
  });

  test('separates tables with one blank line and ends with exactly one newline', () => {
    const text = renderCrioDropIn(REALISTIC_HANDLERS);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    expect(text).not.toContain('\n\n\n');
    expect(text.split('\n\n')).toHaveLength(3);
  });

  test('is deterministic', () => {
    const first = renderCrioDropIn(REALISTIC_HANDLERS);
    expect(renderCrioDropIn(REALISTIC_HANDLERS.map((h) => ({ ...h })))).toBe(first);
  });

  test('snapshot of the realistic set', () => {
    expect(renderCrioDropIn(REALISTIC_HANDLERS)).toMatchSnapshot();
  });

  describe('rejects invalid input', () => {
    test('something other than a list', () => {
      expect(() => renderCrioDropIn(undefined as unknown as HandlerConfig[])).toThrow('CRI-O drop-in: a list of handlers is required');
    });

    test('the same handler twice', () => {
      expect(() => renderCrioDropIn([RUNSC, { ...RUNSC }])).toThrow(
        'CRI-O drop-in: handler "runsc" is given more than once; each handler can be configured only once',
      );
    });

    test.each(['Kata', 'kata_qemu', '-x', 'x-', 'a'.repeat(64)])('the handler name %j', (handler) => {
      expect(() => renderCrioDropIn([{ ...withCrio({}), handler }])).toThrow(
        `CRI-O handler: handler ${JSON.stringify(handler)} is not a DNS-1123 label`,
      );
    });

    test('a crio entry that is not an object', () => {
      expect(() => renderCrioDropIn([{ ...withCrio({}), crio: null as unknown as CrioHandlerConfig }]))
        .toThrow('CRI-O handler "sandbox": crio must be an object, got null');
    });

    test.each([undefined, '', 'usr/bin/crun', 'crun'])('the runtimePath %p', (runtimePath) => {
      expect(() => renderCrioDropIn([withCrio({ runtimePath: runtimePath as string })])).toThrow(
        `CRI-O handler "sandbox": crio.runtimePath (runtime_path) must be an absolute path starting with "/", got ${JSON.stringify(runtimePath)}`,
      );
    });

    test.each([undefined, '', 'OCI', 'io.containerd.runc.v2', 'pod '])('the runtimeType %p', (runtimeType) => {
      expect(() => renderCrioDropIn([withCrio({ runtimeType: runtimeType as string })])).toThrow(
        `CRI-O handler "sandbox": crio.runtimeType (runtime_type) must be one of "oci", "vm", got ${JSON.stringify(runtimeType)}`,
      );
    });

    test('a relative runtimeRoot', () => {
      expect(() => renderCrioDropIn([withCrio({ runtimeRoot: 'run/vc' })])).toThrow(
        'CRI-O handler "sandbox": crio.runtimeRoot (runtime_root) must be an absolute path starting with "/", got "run/vc"',
      );
    });

    test('a relative runtimeConfigPath', () => {
      expect(() => renderCrioDropIn([withCrio({ runtimeConfigPath: 'configuration.toml' })])).toThrow(
        'CRI-O handler "sandbox": crio.runtimeConfigPath (runtime_config_path) must be an absolute path starting with "/", got "configuration.toml"',
      );
    });

    test('a privilegedWithoutHostDevices that is not a boolean', () => {
      expect(() => renderCrioDropIn([withCrio({ privilegedWithoutHostDevices: 'yes' as unknown as boolean })])).toThrow(
        'CRI-O handler "sandbox": crio.privilegedWithoutHostDevices must be true or false, got "yes"',
      );
    });

    test('allowedAnnotations that are not a list of non-empty strings', () => {
      expect(() => renderCrioDropIn([withCrio({ allowedAnnotations: 'io.katacontainers.*' as unknown as string[] })])).toThrow(
        'CRI-O handler "sandbox": crio.allowedAnnotations must be an array of strings, got "io.katacontainers.*"',
      );
      expect(() => renderCrioDropIn([withCrio({ allowedAnnotations: [''] })])).toThrow(
        'CRI-O handler "sandbox": crio.allowedAnnotations[0] must be a non-empty string, got ""',
      );
    });

    test('an annotation with a lone surrogate', () => {
      expect(() => renderCrioDropIn([withCrio({ allowedAnnotations: ['\uDC00'] })])).toThrow(
        'CRI-O handler "sandbox" "allowed_annotations": TOML string "\\udc00" contains a lone UTF-16 surrogate',
      );
    });
  });
});
