// gVisor's per-pod overhead, measured: pods whose one container holds a known amount of memory,
// under a gVisor handler and under runc as the baseline, through a real containerd's CRI on a
// fake node. Prints numbers; never fails on one. Needs root, containerd, runsc and gVisor's shim
// (see test/support/sandbox-runtimes.ts); says why and skips otherwise.
//
// Method, per pod (one pod at a time, each in its own cgroup parent `/cdk8s-bench-<pid>/<name>`):
// 1. RunPodSandbox (host network) + CreateContainer + StartContainer of busybox running
//    `dd if=/dev/zero bs=<N>M count=1 iflag=fullblock | sleep 3600`: dd fills an N MiB buffer from
//    /dev/zero (every page written, so committed) and then blocks forever writing it to a pipe
//    nobody reads, holding the memory. Start time = RunPodSandbox until the pod cgroup holds N MiB
//    and stops growing.
// 2. Two seconds later, from the pod's cgroup parent (cgroup v1, hierarchical): working set =
//    memory.usage_in_bytes - total_inactive_file (kubelet's definition), and cpuacct.usage over
//    those two seconds (idle CPU). The containers' own working set comes from CRI ContainerStats,
//    what kubelet sees per container (runc: the container's cgroup; gVisor: the Sentry's account of
//    the container, since its processes live inside the sandbox's one host process).
// 3. Overhead = pod working set - the containers' working set: what RuntimeClass.overhead must
//    cover on top of the containers' requests. gVisor's per-container stats count the pod's memory
//    more than once in a pod with two containers, so the figure that sets GvisorRuntime's default
//    is the pod against the same containers under runc ("vs runc containers").
// The smallest size runs once more with an idle sidecar container: what another container costs.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GvisorRuntime } from '../src';
import { testCriConfig } from '../test/support/containerd';
import { CriClient } from '../test/support/cri-client';
import { createHostRoot } from '../test/support/host-root';
import { installIntoRoot, nodeContainerd } from '../test/support/node-containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../test/support/pause-image';
import {
  GVISOR_SHIM, gvisorHandlerTable, gvisorUnavailableReason, NODE_GVISOR_SHIM_PATH, RUNSC, runscToml,
} from '../test/support/sandbox-runtimes';

const MIB = 2 ** 20;
/** Memory each pod's container holds, in MiB. */
export const SIZES_MIB = [16, 64, 256];
const HANDLERS = [
  { handler: 'runc', label: 'runc' },
  { handler: 'runsc', label: 'gVisor' },
] as const;

/** One pod's figures. */
export interface PodSample {
  readonly startMs: number;
  readonly podMiB: number;
  readonly containersMiB: number;
  readonly overheadMiB: number;
  readonly idleMillicores: number;
}

/** The figures of one runtime and size. */
export interface OverheadRow {
  readonly runtime: string;
  readonly sizeMiB: number;
  /** Idle `sleep` containers beside the one holding memory. */
  readonly sidecars: number;
  readonly samples: PodSample[];
}

/** What the benchmark measured, or why it did not run. */
export interface GvisorOverheadResult {
  readonly skipped?: string;
  readonly runscVersion?: string;
  readonly containerdVersion?: string;
  readonly platform?: string;
  readonly podsPerSize?: number;
  readonly rows: OverheadRow[];
}

export interface GvisorOverheadOptions {
  /** Pods per runtime and size. Default 10 (`GVISOR_BENCH_PODS`). */
  readonly pods?: number;
}

/** Run the measurement (about 4 minutes on 2 cores with 10 pods per size). */
export async function benchmarkGvisorOverhead(opts: GvisorOverheadOptions = {}): Promise<GvisorOverheadResult> {
  const reason = gvisorUnavailableReason() ?? (fs.existsSync('/bin/busybox') ? undefined : '/bin/busybox is missing (apt-get install -y busybox-static)');
  if (reason) return { skipped: reason, rows: [] };
  const pods = opts.pods ?? Number(process.env.GVISOR_BENCH_PODS ?? 10);
  const platform = 'ptrace'; // the platform Debian's runsc knows that runs without KVM

  const root = createHostRoot({ nodeMounts: true });
  root.write('/etc/containerd/config.toml', testCriConfig(gvisorHandlerTable('runsc', '/etc/containerd/runsc.toml')));
  root.write('/etc/containerd/runsc.toml', runscToml({ platform }));
  installIntoRoot(root, GVISOR_SHIM, NODE_GVISOR_SHIM_PATH);
  const node = nodeContainerd(root);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gvisor-bench-'));
  const cgroupRoot = `/cdk8s-bench-${process.pid}`;
  const rows: OverheadRow[] = [];
  let cri: CriClient | undefined;
  try {
    await node.start();
    await importImage(node, buildPauseImageTar(work), PAUSE_IMAGE);
    cri = new CriClient(node.address, { hostRoot: root });
    // Each size, then the smallest again with one idle sidecar: what another container costs.
    const cases = [...SIZES_MIB.map(size => ({ size, sidecars: 0 })), { size: SIZES_MIB[0], sidecars: 1 }];
    for (const { size, sidecars } of cases) {
      for (const { handler, label } of HANDLERS) {
        const samples: PodSample[] = [];
        for (let i = 0; i < pods; i++) {
          samples.push(await measurePod(cri, handler, size, sidecars, `${cgroupRoot}/${handler}-${size}-${sidecars}-${i}`));
        }
        rows.push({ runtime: label, sizeMiB: size, sidecars, samples });
      }
    }
    return {
      runscVersion: /runsc version (\S+)/.exec(execFileSync(RUNSC, ['--version'], { encoding: 'utf8' }))?.[1],
      containerdVersion: execFileSync('containerd', ['--version'], { encoding: 'utf8' }).trim().split(/\s+/)[2],
      platform,
      podsPerSize: pods,
      rows,
    };
  } finally {
    if (cri) {
      await cri.removeAll();
      cri.close();
    }
    await node.stop();
    root.cleanup();
    removeCgroupTree(cgroupRoot);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function measurePod(cri: CriClient, handler: string, sizeMiB: number, sidecars: number, cgroupParent: string): Promise<PodSample> {
  const memoryDir = `/sys/fs/cgroup/memory${cgroupParent}`;
  const cpuDir = `/sys/fs/cgroup/cpuacct${cgroupParent}`;
  const start = Date.now();
  const id = await cri.runPodSandbox({ name: `bench-${path.basename(cgroupParent)}`, handler, cgroupParent });
  const cid = await cri.createContainer(id, {
    name: 'toucher',
    command: ['/bin/busybox', 'sh', '-c', `dd if=/dev/zero bs=${sizeMiB}M count=1 iflag=fullblock | sleep 3600`],
  });
  await cri.startContainer(cid);
  const sidecarIds: string[] = [];
  for (let i = 0; i < sidecars; i++) {
    const sidecar = await cri.createContainer(id, { name: `sidecar-${i}`, command: ['/bin/busybox', 'sleep', '3600'] });
    await cri.startContainer(sidecar);
    sidecarIds.push(sidecar);
  }
  // Ready once the pod holds the container's memory and has stopped growing for a second.
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const now = workingSetBytes(memoryDir);
    if (Math.abs(now - last) > MIB / 2) stableSince = Date.now();
    last = now;
    if (now >= sizeMiB * MIB && Date.now() - stableSince >= 1000) break;
    if (Date.now() - start > 60_000) throw new Error(`pod ${cgroupParent} did not reach ${sizeMiB} MiB within 60 s (at ${(now / MIB).toFixed(1)} MiB)`);
    await sleep(100);
  }
  const startMs = stableSince - start;
  const cpuBefore = Number(readFile(path.join(cpuDir, 'cpuacct.usage')));
  const windowStart = process.hrtime.bigint();
  await sleep(2000);
  const cpuAfter = Number(readFile(path.join(cpuDir, 'cpuacct.usage')));
  const windowNs = Number(process.hrtime.bigint() - windowStart);
  const pod = workingSetBytes(memoryDir);
  let containers = 0;
  for (const container of [cid, ...sidecarIds]) {
    containers += Number((await cri.containerStats(container)).stats.memory.working_set_bytes.value);
  }

  for (const container of [cid, ...sidecarIds]) {
    await cri.stopContainer(container, 0);
    await cri.removeContainer(container);
  }
  await cri.stopPodSandbox(id);
  await cri.removePodSandbox(id);
  return {
    startMs,
    podMiB: pod / MIB,
    containersMiB: containers / MIB,
    overheadMiB: (pod - containers) / MIB,
    idleMillicores: ((cpuAfter - cpuBefore) / windowNs) * 1000,
  };
}

function readFile(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Kubelet's working set of a cgroup v1 memory directory: usage minus inactive file pages. */
function workingSetBytes(memoryDir: string): number {
  const usage = Number(readFile(path.join(memoryDir, 'memory.usage_in_bytes')));
  const inactiveFile = Number(/^total_inactive_file (\d+)$/m.exec(readFile(path.join(memoryDir, 'memory.stat')))?.[1] ?? 0);
  return Math.max(0, usage - inactiveFile);
}

/** Remove `relPath` and the cgroups below it in every v1 hierarchy (deepest first). */
function removeCgroupTree(relPath: string): void {
  for (const controller of fs.readdirSync('/sys/fs/cgroup')) {
    const top = path.join('/sys/fs/cgroup', controller, relPath);
    if (!fs.existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
      dirs.push(dir);
    };
    walk(top);
    for (const dir of dirs) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // still in use: left for the kernel to report
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank 95th percentile. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)];
}

/** The result as printed lines. */
export function formatGvisorOverhead(result: GvisorOverheadResult): string[] {
  if (result.skipped) return [`gVisor overhead: skipped: ${result.skipped}`];
  const lines = [
    `gVisor overhead per pod: runsc ${result.runscVersion} (platform ${result.platform}, network none), containerd ${result.containerdVersion}, `
      + `${result.podsPerSize} pods per runtime and size, one at a time; MiB are median / p95`,
    '  runtime  pod                start ms  pod working set  containers (CRI)  overhead         vs runc containers  idle CPU (millicores)',
  ];
  const pair = (values: number[], digits = 1) => `${median(values).toFixed(digits)} / ${p95(values).toFixed(digits)}`;
  let worstVsRunc = 0;
  let worstIdleCpu = 0;
  for (const row of result.rows) {
    const s = row.samples;
    // The pod against what the same containers use under runc: the overhead for a user who sized
    // requests from runc.
    const runc = result.rows.find(r => r.runtime === 'runc' && r.sizeMiB === row.sizeMiB && r.sidecars === row.sidecars)!;
    const runcContainers = median(runc.samples.map(x => x.containersMiB));
    const vsRunc = s.map(x => x.podMiB - runcContainers);
    if (row.runtime !== 'runc') {
      worstVsRunc = Math.max(worstVsRunc, p95(vsRunc));
      worstIdleCpu = Math.max(worstIdleCpu, p95(s.map(x => x.idleMillicores)));
    }
    const pod = `${row.sizeMiB} MiB${row.sidecars ? ` + ${row.sidecars} idle` : ''}`;
    lines.push(`  ${row.runtime.padEnd(7)}  ${pod.padEnd(17)}  ${median(s.map(x => x.startMs)).toFixed(0).padStart(8)}  `
      + `${pair(s.map(x => x.podMiB)).padEnd(15)}  ${pair(s.map(x => x.containersMiB)).padEnd(16)}  ${pair(s.map(x => x.overheadMiB)).padEnd(15)}  `
      + `${pair(vsRunc).padEnd(18)}  ${pair(s.map(x => x.idleMillicores))}`);
  }
  const library = GvisorRuntime.defaultOverhead();
  const libraryMiB = Number(/^(\d+)Mi$/.exec(library.memory ?? '')?.[1] ?? NaN);
  lines.push(`  largest gVisor p95: ${worstVsRunc.toFixed(1)} MiB over the runc containers, ${worstIdleCpu.toFixed(1)} millicores idle; `
    + `GvisorRuntime's default overhead: ${library.memory} (${(libraryMiB / worstVsRunc).toFixed(1)}x that memory), ${library.cpu} CPU`);
  return lines;
}

if (require.main === module) {
  benchmarkGvisorOverhead().then((result) => {
    // eslint-disable-next-line no-console
    for (const line of formatGvisorOverhead(result)) console.log(line);
  }).catch((e) => {
    // eslint-disable-next-line no-console
    console.error(e);
    process.exitCode = 1;
  });
}
