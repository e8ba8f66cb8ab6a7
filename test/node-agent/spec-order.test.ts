/**
 * Agents of one node setup from two versions of its DaemonSet on one node (a force-deleted pod of
 * the old template still running next to the new one): the state records the spec that ran (its
 * sha256 and the pod template generation, POD_TEMPLATE_GENERATION), and an agent of an older
 * generation changes nothing. Real containerd through the recording stand-ins.
 */
import * as fs from 'fs';
import * as path from 'path';
import { agentState, testSpec, TestNode } from './helpers';
import { InstallerSpec } from '../../src/node-agent/setup-spec';
import { specOrderProblem, specToRecord } from '../../src/node-agent/state';
import { assertContainerdAvailable, describeIfContainerd, testCriConfig } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
const MARKER = '/etc/test-setup/version.conf';

/** The spec of DaemonSet template `version`: it differs from the others in one host file. */
function specOf(version: string): InstallerSpec {
  return testSpec({ hostFiles: { [MARKER]: `${version}\n` } });
}

function generation(n: number): { env: { POD_TEMPLATE_GENERATION: string } } {
  return { env: { POD_TEMPLATE_GENERATION: String(n) } };
}

describe('specOrderProblem and specToRecord', () => {
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);
  test.each([
    ['nothing recorded', false, { sha256: A, generation: 1 }, undefined],
    ['the same spec at an earlier generation', false, { sha256: A, generation: 1 }, { sha256: A, generation: 5 }],
    ['another spec at a later generation', false, { sha256: A, generation: 6 }, { sha256: B, generation: 5 }],
    ['another spec at the same generation', false, { sha256: A, generation: 5 }, { sha256: B, generation: 5 }],
    ['another spec at an earlier generation', true, { sha256: A, generation: 4 }, { sha256: B, generation: 5 }],
    ['an agent run by hand (no generation)', false, { sha256: A }, { sha256: B, generation: 5 }],
    ['a spec recorded by hand (no generation)', false, { sha256: A, generation: 1 }, { sha256: B }],
  ])('%s: refused: %s', (_name, refused, ours, recorded) => {
    expect(specOrderProblem(ours, recorded) !== undefined).toBe(refused);
  });

  test('the record keeps the later generation of the same spec, and takes any other spec that may go on', () => {
    expect(specToRecord({ sha256: A, generation: 1 }, { sha256: A, generation: 5 })).toEqual({ sha256: A, generation: 5 });
    expect(specToRecord({ sha256: A }, { sha256: A, generation: 5 })).toEqual({ sha256: A, generation: 5 });
    expect(specToRecord({ sha256: A, generation: 6 }, { sha256: A, generation: 5 })).toEqual({ sha256: A, generation: 6 });
    expect(specToRecord({ sha256: A, generation: 6 }, { sha256: B, generation: 5 })).toEqual({ sha256: A, generation: 6 });
    expect(specToRecord({ sha256: A }, { sha256: B, generation: 5 })).toEqual({ sha256: A });
  });
});

describeIfContainerd('the order of specs', () => {
  let node: TestNode | undefined;
  beforeAll(() => assertContainerdAvailable());
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  test('An overlapping old agent re-applies its stale spec after the new one: refused with the reason, files, labels and runtime unchanged, at install and at SIGTERM', async () => {
    node = new TestNode(specOf('new'));
    node.root.write(CONFIG, testCriConfig());
    const oldDir = node.writeConfigMap(specOf('old'), {}, `${node.dir}/cm-old`);
    expect(node.install(generation(2)).status).toBe(0);
    expect(node.root.read(MARKER)).toBe('new\n');
    const before = node.snapshot();
    node.clearCalls();

    const old = node.install({ ...generation(1), cmDir: oldDir });
    expect(old.status).toBe(1);
    expect(node.readiness().reason).toMatch(/^this agent's spec \(pod template generation 1, sha256 [0-9a-f]{12}\) is older than the one an agent of the same node setup already applied on this node \(generation 2, sha256 [0-9a-f]{12}\): not applying it and leaving the labels as they are\. .*delete it/);
    expect(node.root.read(MARKER)).toBe('new\n');
    expect(node.snapshot()).toEqual(before);
    expect(node.labelCalls()).toEqual([]);
    expect(node.restarts()).toEqual([]);
    expect(agentState(node).spec.generation).toBe(2);

    // Told to stop while its DaemonSet is gone, the old agent does not uninstall the newer setup either.
    fs.rmSync(path.join(node.stateDir, 'not-ready'), { force: true });
    const running = node.spawn({ ...generation(1), cmDir: oldDir, env: { ...generation(1).env, ONESHOT: undefined, STANDIN_DS: 'notfound' } });
    await waitFor(() => node!.readiness().reason?.startsWith('this agent\'s spec') === true, 30_000);
    running.child.kill('SIGTERM');
    const stopped = await running.done;
    const afterSigterm = stopped.stderr.split(/\bSIGTERM\n/)[1];
    expect(afterSigterm).toMatch(/no longer exists\n[\s\S]*ERROR: this agent's spec \(pod template generation 1/);
    expect(node.snapshot()).toEqual(before);
    expect(node.labelCalls()).toEqual([]);
    expect(node.restarts()).toEqual([]);

    // The newer agent carries on; one of a still newer generation replaces the spec.
    expect(node.install(generation(2)).status).toBe(0);
    expect(node.install({ ...generation(3), cmDir: oldDir }).status).toBe(0);
    expect(node.root.read(MARKER)).toBe('old\n');
    expect(agentState(node).spec.generation).toBe(3);

    // The same spec from an earlier template (only the image changed since) goes on, and the record keeps the later generation.
    expect(node.install({ ...generation(1), cmDir: oldDir }).status).toBe(0);
    expect(agentState(node).spec.generation).toBe(3);
    expect(node.install(generation(2)).status).toBe(1);
    expect(node.root.read(MARKER)).toBe('old\n');
  }, 120_000);
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
