/**
 * Self-test of `node-crio.ts`: the node's real CRI-O 1.34 in a fake root pulls its pause image
 * from the node's registry, runs a pod on its CNI network and one on the node's network, keeps
 * them across a restart by the `systemctl` stand-in, and leaves nothing behind.
 */
import * as fs from 'fs';
import { CriClient } from './cri-client';
import { createHostRoot } from './host-root';
import { processesOf } from './node-containerd';
import { assertCrioAvailable, CRIO_PAUSE_IMAGE, crioUnavailableReason, nodeCrio } from './node-crio';
import { describeIfAvailable } from './sandbox-runtimes';

describeIfAvailable('a node\'s own CRI-O (node-crio.ts)', crioUnavailableReason, () => {
  beforeAll(() => assertCrioAvailable());

  test('pulls the pause image from the node\'s registry, runs pods on the CNI bridge and on the node\'s network, keeps them across a restart', async () => {
    const root = createHostRoot({ nodeMounts: true });
    const node = nodeCrio(root);
    let stateDir = '';
    try {
      await node.start();
      stateDir = node.stateDir;
      const cri = new CriClient(node.address, { hostRoot: root });
      try {
        expect(await cri.version()).toEqual(expect.objectContaining({ runtime_name: 'cri-o', runtime_version: '1.34.11' }));
        // "" is the default handler (runc here); crun is CRI-O's own, since crun is on its PATH.
        expect((await cri.status()).runtime_handlers.map((h) => h.name).sort()).toEqual(['', 'crun', 'runc']);

        const bridged = await cri.runPodSandbox({ name: 'bridged', network: 'POD' });
        const status = await cri.podSandboxStatus(bridged);
        expect(status.status.state).toBe('SANDBOX_READY');
        expect(status.status.network.ip).toMatch(/^10\.89\.\d+\.\d+$/);
        const cid = await cri.createContainer(bridged, { name: 'c', image: CRIO_PAUSE_IMAGE, command: ['/bin/busybox', 'sh', '-c', 'ip -4 -o addr show eth0; sleep 3600'] });
        await cri.startContainer(cid);
        expect(await cri.waitForLog(cid, /inet /)).toContain(`inet ${status.status.network.ip}/16`);

        const hostNetwork = await cri.runPodSandbox({ name: 'host-network' });
        expect((await cri.podSandboxStatus(hostNetwork)).status.state).toBe('SANDBOX_READY');

        const before = node.pid();
        await node.restart();
        expect(node.pid()).not.toBe(before);
        expect((await cri.containerStatus(cid)).status.state).toBe('CONTAINER_RUNNING');
        expect((await cri.listPodSandbox()).map((s) => s.id).sort()).toEqual([bridged, hostNetwork].sort());
        expect(await cri.removeAll()).toEqual([]);
      } finally {
        cri.close();
      }
    } finally {
      await node.stop();
      root.cleanup();
    }
    expect(processesOf(stateDir)).toEqual([]);
    expect(fs.existsSync(stateDir)).toBe(false);
  }, 120_000);
});
