// Installer timings on one fake node with the real containerd validating every change (numbers,
// not pass/fail). Needs root, containerd and dash, like the integration tests.
import { TestNode, corpus } from '../test/node-setup/installer/helpers';

const RUNS = 5;
const CONFIG = '/etc/containerd/config.toml';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(run: () => { status: number | null; stderr: string }, what: string): number {
  const start = process.hrtime.bigint();
  const r = run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`installer ${what} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/**
 * Median wall time of `install` (a kubeadm-style containerd 1.6 config gains two handlers and
 * one recorded restart), a no-op re-run, and `uninstall`, each over `RUNS` runs on one node.
 */
export async function benchmarkInstaller(): Promise<{ installMs: number; noopMs: number; uninstallMs: number }> {
  const node = new TestNode();
  try {
    const original = corpus('kubeadm-systemd-cgroup.toml');
    const install: number[] = [];
    const noop: number[] = [];
    const uninstall: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      node.root.write(CONFIG, original);
      install.push(timed(() => node.install(), 'install'));
      noop.push(timed(() => node.install(), 'no-op re-run'));
      uninstall.push(timed(() => node.uninstall(), 'uninstall'));
      if (node.root.read(CONFIG) !== original) throw new Error('uninstall did not restore the config');
    }
    return { installMs: median(install), noopMs: median(noop), uninstallMs: median(uninstall) };
  } finally {
    node.cleanup();
  }
}

if (require.main === module) {
  benchmarkInstaller().then((r) => {
    // eslint-disable-next-line no-console
    console.log(`installer, one node, median of ${RUNS}: install ${r.installMs.toFixed(0)} ms, no-op ${r.noopMs.toFixed(0)} ms, uninstall ${r.uninstallMs.toFixed(0)} ms`);
  }).catch((e) => {
    // eslint-disable-next-line no-console
    console.error(e);
    process.exitCode = 1;
  });
}
