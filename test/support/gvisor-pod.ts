/**
 * The proof that a pod sandbox runs under gVisor, shared by the harness' self-test and the
 * end-to-end tests through the library: two busybox containers in the sandbox each show
 * gVisor's kernel (`uname -r` 4.4.0, its boot lines), both read one kernel log (one kernel per
 * pod), containerd reports runsc's runtime type with the class's `runsc.toml`; then stop and
 * remove work.
 */
import * as os from 'os';
import { CriClient } from './cri-client';

/** Runs two containers in sandbox `id` and checks they share one gVisor kernel. Returns their ids. */
export async function expectTwoContainersInOneGvisorKernel(cri: CriClient, id: string, runscToml: string): Promise<string[]> {
  const containers: string[] = [];
  for (const name of ['first', 'second']) {
    const cid = await cri.createContainer(id, { name, command: ['/bin/busybox', 'sh', '-c', 'uname -r; dmesg; sleep 3600'] });
    await cri.startContainer(cid);
    containers.push(cid);
  }
  const outputs: string[] = [];
  for (const cid of containers) {
    const status = await cri.containerStatus(cid, true);
    expect(status.status.state).toBe('CONTAINER_RUNNING');
    // What `crictl inspect` prints: the container's runtime type and options.
    const info = JSON.parse(status.info.info);
    expect(info.runtimeType).toBe('io.containerd.runsc.v1');
    expect(info.runtimeOptions).toEqual(expect.objectContaining({ config_path: runscToml }));
    outputs.push(await cri.waitForLog(cid, /Ready!/));
  }
  for (const log of outputs) {
    expect(log.split('\n')[0]).toBe('4.4.0'); // gVisor's kernel, not the host's
    expect(log).toContain('Starting gVisor...');
    expect(log).toContain('Ready!');
  }
  expect(os.release()).not.toBe('4.4.0');
  // One kernel for the pod: both containers read the same kernel log.
  expect(outputs[1]).toBe(outputs[0]);
  const dmesg = await Promise.all(containers.map((cid) => cri.execSync(cid, ['/bin/busybox', 'dmesg'])));
  expect(dmesg.map((d) => d.exitCode)).toEqual([0, 0]);
  expect(dmesg[0].stdout).toContain('Starting gVisor...');
  expect(dmesg[1].stdout).toBe(dmesg[0].stdout);
  return containers;
}

/** Stops and removes the containers and the sandbox, checking each state on the way; no sandbox is left. */
export async function expectStopAndRemove(cri: CriClient, id: string, containers: string[]): Promise<void> {
  for (const cid of containers) {
    await cri.stopContainer(cid, 5);
    expect((await cri.containerStatus(cid)).status.state).toBe('CONTAINER_EXITED');
    await cri.removeContainer(cid);
  }
  await cri.stopPodSandbox(id);
  expect((await cri.podSandboxStatus(id)).status.state).toBe('SANDBOX_NOTREADY');
  await cri.removePodSandbox(id);
  expect(await cri.listPodSandbox()).toEqual([]);
}
