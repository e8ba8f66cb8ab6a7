/**
 * Ownership of host paths between node setups on one node: two gVisor classes in two apps (two
 * NodeSetups, each with its own state) whose release artifacts both go to /usr/local/bin/runsc and
 * the shim's path (/opt/gvisor/bin/runsc and /usr/local/bin/containerd-shim-runsc-v1), installed from file:// URLs by the agent on a node with its own containerd
 * (Debian's 1.6) that runs their check sandboxes through gVisor. Needs root, containerd, runsc and
 * gVisor's shim; skipped with the reason otherwise, unless `CI` is set.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { agentState, NODE_NAME, TestNode } from './helpers';
import { GvisorPlatform, GvisorRuntime } from '../../src';
import { InstallerArtifact, InstallerSpec } from '../../src/node-agent/setup-spec';
import { assertContainerdAvailable, describeIfContainerd, testCriConfig } from '../support/containerd';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';
import { assertAvailable, describeIfAvailable, GVISOR_SHIM, gvisorUnavailableReason, NODE_GVISOR_SHIM_PATH, RUNSC } from '../support/sandbox-runtimes';

/** Where both classes put runsc: a directory the node does not have, which the setups create. */
const RUNSC_PATH = '/opt/gvisor/bin/runsc';
const CONFIG = '/etc/containerd/config.toml';
/** The NodeSetups that GvisorRuntime 'gvisor-a' and 'gvisor-b' make. */
const SETUP_A = 'gvisor-a-node-setup';
const SETUP_B = 'gvisor-b-node-setup';

function sha512(file: string): string {
  return createHash('sha512').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The spec of a gVisor class `name` (its own NodeSetup, in an app of its own) whose release
 * artifacts are `runsc` and the machine's gVisor shim, served from file:// URLs.
 */
function gvisorSpec(name: string, runsc: string): InstallerSpec {
  const chart = new Chart(Testing.app(), name);
  new GvisorRuntime(chart, 'gvisor', {
    name,
    platform: GvisorPlatform.PTRACE,
    hostNetworking: true,
    runscPath: RUNSC_PATH,
    artifacts: GvisorRuntime.releaseArtifacts('20221219.0', { runscAmd64: sha512(runsc), shimAmd64: sha512(GVISOR_SHIM), runscArm64: sha512(runsc), shimArm64: sha512(GVISOR_SHIM) }),
  });
  const configMap = Testing.synth(chart).find((m) => m.kind === 'ConfigMap' && m.data?.['spec.json'] !== undefined);
  const spec: InstallerSpec = JSON.parse(configMap.data['spec.json']);
  const local = (url: string) => `file://${url.endsWith('/runsc') ? runsc : GVISOR_SHIM}`;
  const destination = (a: InstallerArtifact) => (a.destination?.endsWith('/runsc') ? RUNSC_PATH : a.destination);
  return { ...spec, artifacts: spec.artifacts.map((a) => ({ ...a, location: local(a.location), destination: destination(a) })) };
}

/** The `kubectl label` calls of a run that set or removed `handler`'s ready label. */
function labelCalls(node: TestNode, handler: string): string[] {
  return node.labelCalls().filter((c) => c.includes(`runtimeclass.cdk8s.io/${handler}`));
}

describeIfContainerd('node setups sharing a node', () => {
  beforeAll(() => assertContainerdAvailable());

  describeIfAvailable('two gVisor classes with release artifacts to the same paths', gvisorUnavailableReason, () => {
    let node: TestNode | undefined;
    let work: string;
    let pauseTar: string;

    beforeAll(() => {
      assertAvailable(gvisorUnavailableReason);
      // 0755: runsc's sandbox (uid 65534) must reach what lives below the test's temp dirs.
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'ownership-test-'));
      fs.chmodSync(work, 0o755);
      pauseTar = buildPauseImageTar(work);
    });
    afterEach(async () => {
      await node?.cleanup();
      node = undefined;
    });
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    /** A node running containerd with the pause image, the first setup's ConfigMap as its own, the second's in `cm-b`. */
    async function twoSetups(specA: InstallerSpec, specB: InstallerSpec): Promise<{ node: TestNode; cmB: string }> {
      node = new TestNode(specA, {}, { ownContainerd: true });
      node.root.write(CONFIG, testCriConfig());
      await node.containerd!.start();
      await importImage(node.containerd!, pauseTar, PAUSE_IMAGE);
      return { node, cmB: node.writeConfigMap(specB, {}, path.join(node.dir, 'cm-b')) };
    }

    test('Setups do not own shared artifacts: uninstalling one of two setups that installed the same runsc leaves the other its binary and its ready label', async () => {
      const { node: n, cmB } = await twoSetups(gvisorSpec('gvisor-a', RUNSC), gvisorSpec('gvisor-b', RUNSC));
      const before = n.snapshot();
      const a = n.install({ timeoutMs: 120_000 });
      expect(a.stderr).toContain('labelled node node-1 runtimeclass.cdk8s.io/gvisor-a=ready');
      expect(a.status).toBe(0);
      const b = n.install({ cmDir: cmB, timeoutMs: 120_000 });
      expect(b.stderr).toContain('labelled node node-1 runtimeclass.cdk8s.io/gvisor-b=ready');
      expect(b.status).toBe(0);
      const recordsOfB = agentState(n, SETUP_B).records;

      n.clearCalls();
      const uninstallA = n.uninstall({ timeoutMs: 120_000 });
      expect(uninstallA.status).toBe(0);
      expect(n.root.exists(RUNSC_PATH)).toBe(true);
      expect(n.bytes(RUNSC_PATH)!.equals(fs.readFileSync(RUNSC))).toBe(true);
      expect(n.bytes(NODE_GVISOR_SHIM_PATH)!.equals(fs.readFileSync(GVISOR_SHIM))).toBe(true);
      expect(n.root.exists('/etc/containerd/runsc-gvisor-a.toml')).toBe(false);
      expect(labelCalls(n, 'gvisor-a')).toEqual([`kubectl label node ${NODE_NAME} runtimeclass.cdk8s.io/gvisor-a-`]);
      expect(labelCalls(n, 'gvisor-b')).toEqual([]);
      expect(uninstallA.stderr).toContain(`kept ${RUNSC_PATH}: node setup ${SETUP_B} installed it too`);
      // The second setup shared the paths: it recorded the node's original (nothing there), not the first one's binary.
      const shared = recordsOfB.filter((r: any) => r.path === RUNSC_PATH || r.path === NODE_GVISOR_SHIM_PATH);
      expect(shared.map((r: any) => [r.path, r.original.type]).sort()).toEqual([[RUNSC_PATH, 'absent'], [NODE_GVISOR_SHIM_PATH, 'absent']].sort());

      // The other setup still runs its pods: its check sandbox starts and it stays labelled.
      n.clearCalls();
      const again = n.install({ cmDir: cmB, timeoutMs: 120_000 });
      expect(again.status).toBe(0);
      expect(again.stderr).toMatch(/runtime handler gvisor-b: a check sandbox reached SANDBOX_READY/);
      expect(labelCalls(n, 'gvisor-b').filter((c) => c.endsWith('-'))).toEqual([]);

      // The last one out gives the paths back as the node had them, the directories the first one created included.
      expect(n.uninstall({ cmDir: cmB, timeoutMs: 120_000 }).status).toBe(0);
      expect(n.root.exists(RUNSC_PATH)).toBe(false);
      expect(n.root.exists(NODE_GVISOR_SHIM_PATH)).toBe(false);
      expect(n.root.exists('/opt/gvisor')).toBe(false);
      expect(n.snapshot()).toEqual(before);
    }, 300_000);

    test('Setups do not own shared artifacts: a different runsc for the same path is refused, naming both setups, and changes nothing', async () => {
      const otherRunsc = path.join(work, 'runsc-other');
      fs.writeFileSync(otherRunsc, Buffer.concat([fs.readFileSync(RUNSC), Buffer.from('\n')]), { mode: 0o755 });
      const { node: n, cmB } = await twoSetups(gvisorSpec('gvisor-a', RUNSC), gvisorSpec('gvisor-b', otherRunsc));
      expect(n.install({ timeoutMs: 120_000 }).status).toBe(0);
      const before = n.snapshot();
      n.clearCalls();

      const b = n.install({ cmDir: cmB, timeoutMs: 120_000 });
      expect(b.status).toBe(1);
      expect(n.readiness().reason).toBe(`refusing to install ${RUNSC_PATH} for node setup ${SETUP_B}: node setup ${SETUP_A} installed a different version there. `
        + `A node setup never overwrites or deletes what another one installed. Fix: give the runtimes of ${SETUP_B} and ${SETUP_A} the same artifact `
        + '(same URL and sha512, or the same image and path), or different destinations (e.g. GvisorRuntime\'s runscPath)');
      expect(n.bytes(RUNSC_PATH)!.equals(fs.readFileSync(RUNSC))).toBe(true);
      expect(n.snapshot()).toEqual(before);
      expect(agentState(n, SETUP_B)).toBeUndefined();
      expect(n.restarts()).toEqual([]);
      expect(labelCalls(n, 'gvisor-a')).toEqual([]);
    }, 300_000);
  });
});
