/**
 * End to end: the node agent adds a runc-based handler with its own name (its BinaryName is a
 * wrapper around runc that records each call); containerd started on the result runs a pod
 * sandbox through that handler over the CRI, and the wrapper proves it was the one used.
 */
import * as fs from 'fs';
import * as path from 'path';
import { testSpec, TestNode } from './helpers';
import { HandlerConfig } from '../../src/containerd/handler-config';
import {
  assertContainerdAvailable, CRI_PLUGIN_V1, describeIfContainerd, mergedConfig, startContainerd, testCriConfig, writeRuncWrapper,
} from '../support/containerd';
import { CriClient } from '../support/cri-client';
import { buildPauseImageTar, importImage, PAUSE_IMAGE } from '../support/pause-image';

const CONFIG = '/etc/containerd/config.toml';

describeIfContainerd('node agent end to end (real containerd, CRI RunPodSandbox; recording kubectl stand-in)', () => {
  beforeAll(() => assertContainerdAvailable());

  test('a handler added by the agent runs a pod sandbox through its own binary', async () => {
    const node = new TestNode(testSpec({ handlers: [] }));
    const marker = path.join(node.dir, 'wrapper-calls.log');
    const wrapper = writeRuncWrapper(path.join(node.dir, 'bin'), marker, 'runc-e2e');
    const handler: HandlerConfig = {
      handler: 'runc-e2e',
      runtimeType: 'io.containerd.runc.v2',
      // The daemon below runs outside the fake root, so the wrapper's real path is used.
      options: { BinaryName: wrapper },
      systemdCgroupFromNode: true,
    };
    node.writeConfigMap(testSpec({ handlers: [handler] }));
    node.root.write(CONFIG, testCriConfig());

    const daemonConfig = (): string => mergedConfig(CONFIG, { chrootDir: node.root.path });
    try {
      expect(node.install().status).toBe(0);
      expect(node.labelCalls()).toEqual(['kubectl label node node-1 runtimeclass.cdk8s.io/runc-e2e=ready --overwrite']);

      const daemon = await startContainerd({ config: daemonConfig() });
      const cri = new CriClient(daemon.address);
      try {
        expect(daemon.pluginStatus(CRI_PLUGIN_V1)).toBe('ok');
        await importImage(daemon, buildPauseImageTar(node.dir), PAUSE_IMAGE);

        const id = await cri.runPodSandbox({ name: 'e2e', handler: 'runc-e2e' });
        const status = await cri.podSandboxStatus(id);
        expect(status.status.state).toBe('SANDBOX_READY');
        expect(status.status.runtime_handler).toBe('runc-e2e');
        const calls = fs.readFileSync(marker, 'utf8');
        expect(calls).toMatch(/\bcreate\b/);
        expect(calls).toMatch(/\bstart\b/);

        // A handler the agent did not add fails the way a real node does.
        await expect(cri.runPodSandbox({ name: 'unknown', handler: 'kata-fc' }))
          .rejects.toThrow('no runtime for "kata-fc" is configured');
        await cri.removeAll();
      } finally {
        cri.close();
        await daemon.stop();
      }

      // After uninstall the handler is gone again.
      expect(node.uninstall().status).toBe(0);
      expect(node.root.read(CONFIG)).toBe(testCriConfig());
    } finally {
      await node.cleanup();
    }
  });
});
