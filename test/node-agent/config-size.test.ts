/**
 * The largest configuration file the agent reads, and the agent's memory on it: a file above
 * MAX_CONFIG_BYTES is refused before it is read; on a file at the limit, shaped for the most
 * work (every line a runtime table: containerd's `config dump` of it is five times its size),
 * the agent's peak resident memory, its children's included, fits the DaemonSet's memory limit.
 * The agent runs as the DaemonSet runs it, against Debian's real containerd 1.6.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { corpus, RUNC_TEST, testSpec, TestNode } from './helpers';
import { RuncRuntime } from '../../src';
import { MAX_CONFIG_BYTES } from '../../src/node-agent/runtime-config';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
const TIME = '/usr/bin/time';

/** containerd 1.6's default config, then runtime tables up to exactly `size` bytes. */
function tableHeavyConfig(size: number): Buffer {
  const parts = [corpus('containerd-1.6-default.toml')];
  let length = parts[0].length;
  for (let i = 0; ; i++) {
    const table = `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.r${i}]\n  runtime_type = "io.containerd.runc.v2"\n`;
    if (length + table.length > size) break;
    parts.push(table);
    length += table.length;
  }
  parts.push(`${'#'.repeat(size - length - 1)}\n`);
  return Buffer.from(parts.join(''));
}

/** The node agent's memory limit in the synthesized DaemonSet, in bytes. */
function daemonSetMemoryLimit(): number {
  const chart = new Chart(Testing.app(), 'test');
  new RuncRuntime(chart, 'audit', { handler: 'runc-audit', binaryPath: '/usr/local/bin/runc-audit' });
  const daemonSet = Testing.synth(chart).find((m) => m.kind === 'DaemonSet');
  const agent = daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent') ?? daemonSet.spec.template.spec.containers[0];
  const limit: string = agent.resources.limits.memory;
  const m = /^([0-9]+)Mi$/.exec(limit);
  if (!m) throw new Error(`unexpected memory limit ${limit}`);
  return Number(m[1]) * 1024 * 1024;
}

describeIfContainerd('the size of a configuration file the agent reads, and its memory', () => {
  let node: TestNode;
  beforeAll(() => {
    assertContainerdAvailable();
    if (!fs.existsSync(TIME)) throw new Error(`prerequisite missing: ${TIME} (Debian package time) measures the agent's peak memory`);
  });
  afterEach(async () => node?.cleanup());

  /**
   * One agent run under GNU time: its result, the peak resident memory (bytes) of the agent or
   * of any child it waited for (`containerd config dump`...), and of the agent's own process.
   */
  function measured(action: 'install' | 'uninstall'): { status: number | null; stderr: string; peak: number; agentPeak: number } {
    const report = path.join(node.dir, `time-${action}`);
    const own = path.join(node.dir, `own-${action}`);
    const preload = path.join(node.dir, 'max-rss.js');
    fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(own)}, String(process.resourceUsage().maxRSS)));\n`);
    const r = spawnSync(TIME, ['-f', '%M', '-o', report, process.execPath, '--require', preload, path.join(node.cmDir, 'agent.js')], {
      env: node.env({ action }), encoding: 'utf8', timeout: 180_000,
    });
    const kib = (file: string) => Number(fs.readFileSync(file, 'utf8').trim().split('\n').pop()) * 1024;
    return { status: r.status, stderr: r.stderr, peak: kib(report), agentPeak: kib(own) };
  }

  test.each([
    ['50 MiB', 50 * 1024 * 1024],
    ['one byte over the limit', MAX_CONFIG_BYTES + 1],
  ])('A 50 MB config peaks at 571 MiB in the agent (limit 256Mi): a config above the limit (%s) is refused before it is read, naming the file, its size, the limit and the fix', (_name, size) => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    node.root.write(CONFIG, tableHeavyConfig(size));
    const before = node.snapshot();
    const r = measured('install');
    expect(r.status).toBe(1);
    expect(node.readiness().reason).toBe(`refusing to read ${CONFIG}: it is ${size} bytes, more than the ${MAX_CONFIG_BYTES} bytes (1 MiB) the node agent reads in a configuration file (containerd and CRI-O configurations are a few KB; the agent's memory limit is sized for this one). Nothing was changed. Fix: make ${CONFIG} smaller (move what makes it large to another file or remove it), then restart this pod`);
    expect(node.snapshot()).toEqual(before);
    expect(r.peak).toBeLessThan(100 * 1024 * 1024);
    // eslint-disable-next-line no-console
    console.log(`peak resident memory refusing a ${size}-byte config: agent ${(r.agentPeak / 1048576).toFixed(1)} MiB, agent or a child ${(r.peak / 1048576).toFixed(1)} MiB`);
  });

  test('a config at the limit refused when our block would take it over (uninstall reads back what install writes)', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    node.root.write(CONFIG, tableHeavyConfig(MAX_CONFIG_BYTES));
    const before = node.snapshot();
    expect(node.install().status).toBe(1);
    const reason = node.readiness().reason!;
    expect(reason).toMatch(new RegExp(`^refusing to change ${CONFIG}: with our runtimes added it would be [0-9]+ bytes, more than the ${MAX_CONFIG_BYTES} bytes \\(1 MiB\\)[^]*Nothing was changed. Fix: make ${CONFIG} smaller`));
    expect(Number(/would be ([0-9]+) bytes/.exec(reason)![1])).toBeGreaterThan(MAX_CONFIG_BYTES);
    expect(node.snapshot()).toEqual(before);
  });

  test('a config just under the limit (16 KiB left for our block): installed and uninstalled byte for byte, the agent and its children within the DaemonSet\'s memory limit', () => {
    node = new TestNode(testSpec({ handlers: [RUNC_TEST] }));
    const original = tableHeavyConfig(MAX_CONFIG_BYTES - 16 * 1024);
    node.root.write(CONFIG, original);
    const limit = daemonSetMemoryLimit();
    const install = measured('install');
    expect(install.stderr).toContain('ready: runtime handler(s) runc-test verified');
    expect(install.status).toBe(0);
    // The agent runs one child at a time; containerd's `config dump` of the edited file is the largest.
    const dumpReport = path.join(node.dir, 'time-dump');
    expect(spawnSync(TIME, ['-f', '%M', '-o', dumpReport, 'chroot', node.root.path, 'containerd', '--config', CONFIG, 'config', 'dump'], { stdio: 'ignore' }).status).toBe(0);
    const dumpPeak = Number(fs.readFileSync(dumpReport, 'utf8').trim().split('\n').pop()) * 1024;
    const uninstall = measured('uninstall');
    expect(uninstall.status).toBe(0);
    expect(node.bytes(CONFIG)!.equals(original)).toBe(true);
    // eslint-disable-next-line no-console
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    // eslint-disable-next-line no-console
    console.log(`peak resident memory on a ${original.length}-byte config (agent alone / agent or a child): install ${mib(install.agentPeak)} / ${mib(install.peak)}, uninstall ${mib(uninstall.agentPeak)} / ${mib(uninstall.peak)} (limit ${mib(limit)})`);
    // eslint-disable-next-line no-console
    console.log(`containerd config dump of it: ${mib(dumpPeak)}`);
    // The container's memory counts the agent and its child together.
    expect(Math.max(install.peak, uninstall.peak, install.agentPeak + dumpPeak, uninstall.agentPeak + dumpPeak)).toBeLessThan(limit);
  });
});
