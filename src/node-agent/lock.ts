import * as fs from 'fs';
import * as path from 'path';
import { Log, Refusal } from './log';
import { runCommand } from './process';
import { step } from './steps';

/** One lock for every node setup on a node: they edit the same runtime configuration. */
export const LOCK_FILE = '/run/cdk8s-runtimeclass.lock';

/**
 * The node lock: flock(2) on a file on the host, taken by flock(1) on a descriptor this process
 * holds. The lock belongs to the open file, so it stays held after flock(1) exits and the
 * kernel releases it when this process dies, SIGKILL included: no stale lock is ever left.
 * flock(1) comes from the agent's image, else from the host (`chroot HOST_ROOT flock`).
 */
export class NodeLock {
  private fd: number | undefined;

  /**
   * @param realPath the lock file (inside HOST_ROOT)
   * @param hostFlock the host's flock(1) (a host path), if it has one
   */
  public constructor(
    private readonly realPath: string,
    private readonly hostRoot: string,
    private readonly hostFlock: string | undefined,
    private readonly log: Log,
  ) {}

  public async acquire(timeoutSeconds: number): Promise<void> {
    fs.mkdirSync(path.dirname(this.realPath), { recursive: true });
    const fd = fs.openSync(this.realPath, 'a');
    this.log.info(`waiting for the node lock (${LOCK_FILE})`);
    let result = await runCommand(['flock', '-x', '-w', String(timeoutSeconds), '3'], { extraFds: [fd] });
    if (result.status === null && this.hostFlock) {
      result = await runCommand(['chroot', this.hostRoot, this.hostFlock, '-x', '-w', String(timeoutSeconds), '3'], { extraFds: [fd] });
    }
    if (result.status !== 0) {
      fs.closeSync(fd);
      if (result.status === 1) {
        throw new Refusal(`another cdk8s-runtimeclass node setup has held ${LOCK_FILE} for more than ${timeoutSeconds}s; it may be stuck: check the other node-setup pods on this node`);
      }
      throw new Refusal(`cannot take the node lock ${LOCK_FILE}: flock(1) is needed in the agent's image or on the host (${result.failure ?? result.stderr.trim()})`);
    }
    this.fd = fd;
    step('locked');
  }

  public release(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
