// The node agent's check sandbox per runtime (numbers, not pass/fail): the agent's own
// `checkSandbox` (RunPodSandbox on the pod network, PodSandboxStatus, StopPodSandbox,
// RemovePodSandbox) against a node's real containerd in a fake root, for each runtime that runs
// here. Needs root, containerd and the tools the integration tests use; a runtime that is
// missing is reported as skipped, with the reason.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Log } from '../src/node-agent/log';
import { checkSandbox } from '../src/node-agent/sandbox-check';
import { containerdUnavailableReason, testCriConfig } from '../test/support/containerd';
import { createHostRoot, HostRoot } from '../test/support/host-root';
import {
  containerd2UnavailableReason, CRUN_121, crun121UnavailableReason, gvisor2024UnavailableReason, installContainerd2, runsc2024,
} from '../test/support/newer-runtimes';
import { installIntoRoot, nodeContainerd } from '../test/support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../test/support/pause-image';
import {
  crunUnavailableReason, GVISOR_SHIM, gvisorHandlerTable, gvisorUnavailableReason, NODE_GVISOR_SHIM_PATH, RUNSC, runcShimHandlerTable, runscToml,
} from '../test/support/sandbox-runtimes';

const RUNS = 10;

interface Case {
  readonly name: string;
  readonly handler: string;
  readonly unavailable: () => string | undefined;
  /** Writes the node's config and binaries. */
  readonly prepare: (root: HostRoot) => void;
}

const RUNSC_TOML = '/etc/containerd/runsc.toml';

const CASES: Case[] = [
  {
    name: 'runc (containerd 1.6)',
    handler: 'runc',
    unavailable: containerdUnavailableReason,
    prepare: (root) => root.write('/etc/containerd/config.toml', testCriConfig()),
  },
  {
    name: 'crun 1.8.1 (containerd 1.6)',
    handler: 'crun',
    unavailable: () => containerdUnavailableReason() ?? crunUnavailableReason(),
    prepare: (root) => root.write('/etc/containerd/config.toml', testCriConfig(runcShimHandlerTable('crun', '/usr/bin/crun'))),
  },
  {
    name: 'gVisor runsc 20221219, ptrace, host network (containerd 1.6)',
    handler: 'runsc',
    unavailable: () => containerdUnavailableReason() ?? gvisorUnavailableReason(),
    prepare: (root) => {
      root.write('/etc/containerd/config.toml', testCriConfig(gvisorHandlerTable('runsc', RUNSC_TOML)));
      root.write(RUNSC_TOML, runscToml({ network: 'host' }));
      installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
    },
  },
  {
    name: 'crun 1.21 (containerd 2.1.9)',
    handler: 'crun',
    unavailable: () => containerd2UnavailableReason() ?? crun121UnavailableReason(),
    prepare: (root) => {
      installContainerd2(root);
      installIntoRoot(root, CRUN_121, '/usr/local/bin/crun');
      root.write('/etc/containerd/config.toml', testCriConfig(runcShimHandlerTable('crun', '/usr/local/bin/crun')));
    },
  },
  {
    name: 'gVisor runsc 20240729, systrap, host network (containerd 2.1.9)',
    handler: 'runsc',
    unavailable: () => containerd2UnavailableReason() ?? gvisor2024UnavailableReason(),
    prepare: (root) => {
      installContainerd2(root);
      installIntoRoot(root, runsc2024(), '/usr/local/bin/runsc');
      root.write('/etc/containerd/config.toml', testCriConfig(gvisorHandlerTable('runsc', RUNSC_TOML)));
      root.write(RUNSC_TOML, runscToml({ network: 'host', platform: 'systrap' }).replace(RUNSC, '/usr/local/bin/runsc'));
      installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
    },
  },
];

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`;
}

/** Each runtime's check sandbox times (ms), or why it was skipped. */
export async function benchmarkCheckSandbox(): Promise<Array<{ name: string; times?: number[]; skipped?: string }>> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'check-bench-'));
  const pauseTar = buildPauseImageTar(work);
  const results: Array<{ name: string; times?: number[]; skipped?: string }> = [];
  try {
    for (const c of CASES) {
      const why = c.unavailable();
      if (why) {
        results.push({ name: c.name, skipped: why });
        continue;
      }
      const root = createHostRoot({ nodeMounts: true });
      const node = nodeContainerd(root);
      try {
        c.prepare(root);
        await node.start();
        await importImage(node, pauseTar, PAUSE_IMAGE);
        const options = {
          socket: node.address,
          setupName: 'benchmark',
          namespace: 'runtimeclass-system',
          callTimeoutMs: 120_000,
          networkTimeoutMs: 30_000,
          log: new Log('benchmark'),
        };
        const times: number[] = [];
        for (let i = 0; i <= RUNS; i++) {
          const verdict = await checkSandbox(c.handler, options);
          if (!verdict.ready) throw new Error(`${c.name}: ${verdict.reason}`);
          // The first run pays for unpacking the pause image: not counted.
          if (i > 0) times.push(verdict.ms);
        }
        results.push({ name: c.name, times });
      } finally {
        await node.stop();
        root.cleanup();
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return results;
}

/** The lines `npx projen benchmark` prints. */
export function describeCheckSandbox(results: Array<{ name: string; times?: number[]; skipped?: string }>): string[] {
  return [
    `the node agent's check sandbox, time to SANDBOX_READY on the pod network (RunPodSandbox and PodSandboxStatus; stop and remove follow), ${RUNS} runs each:`,
    ...results.map((r) => (r.times ? `  ${r.name}: ${stats(r.times)}` : `  ${r.name}: skipped (${r.skipped})`)),
  ];
}

if (require.main === module) {
  benchmarkCheckSandbox().then((r) => {
    // eslint-disable-next-line no-console
    for (const line of describeCheckSandbox(r)) console.log(line);
  }).catch((e) => {
    // eslint-disable-next-line no-console
    console.error(e);
    process.exitCode = 1;
  });
}
