import * as fs from 'fs';
import * as path from 'path';
import { APPEND_NO_FOLLOW } from './host-fs';
import { Log, Refusal } from './log';
import { CommandResult, runCommand } from './process';
import { step } from './steps';

/** One lock for every node setup on a node: they edit the same runtime configuration. */
export const LOCK_FILE = '/run/cdk8s-runtimeclass.lock';

/**
 * The node lock: flock(2) on a file on the host, taken by flock(1) on a descriptor this process
 * holds. The lock belongs to the open file, so it stays held after flock(1) exits and the
 * kernel releases it when this process dies, SIGKILL included: no stale lock is ever left.
 * flock(1) comes from the agent's image, else from the host (`chroot HOST_ROOT flock`); it is
 * polled with `-n` until LOCK_TIMEOUT, since BusyBox's flock (Alpine images) has no `-w`.
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
    let fd: number;
    try {
      // Never through a link (O_NOFOLLOW): a link planted here would make us create its target.
      fd = fs.openSync(this.realPath, APPEND_NO_FOLLOW, 0o644);
    } catch (e: any) {
      if (e.code !== 'ELOOP') throw e;
      throw new Refusal(`refusing to use ${LOCK_FILE}: it is a symbolic link (to ${fs.readlinkSync(this.realPath)}). The agent never follows a link it did not create. Fix: remove the link (rm ${LOCK_FILE} on the node), then run the node setup again`);
    }
    this.log.info(`waiting for the node lock (${LOCK_FILE})`);
    const deadline = Date.now() + timeoutSeconds * 1000;
    let flock = ['flock'];
    let delayMs = 50;
    for (;;) {
      let attempt = await tryLock(flock, fd);
      if (attempt.outcome === 'cannot-run' && attempt.result.status === null && this.hostFlock && flock.length === 1) {
        // No flock(1) in the image: the host's, run through chroot, on the same inherited descriptor.
        flock = ['chroot', this.hostRoot, this.hostFlock];
        attempt = await tryLock(flock, fd);
      }
      if (attempt.outcome === 'locked') break;
      if (attempt.outcome === 'cannot-run') {
        fs.closeSync(fd);
        const result = attempt.result;
        throw new Refusal(`cannot take the node lock ${LOCK_FILE}: flock(1) is needed in the agent's image or on the host (${result.failure ?? (result.stderr.trim() || `exit status ${result.status}`)})`);
      }
      if (Date.now() >= deadline) {
        fs.closeSync(fd);
        throw new Refusal(`another cdk8s-runtimeclass node setup has held ${LOCK_FILE} for more than ${timeoutSeconds}s; it may be stuck: check the other node-setup pods on this node`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, Math.max(0, deadline - Date.now()))));
      delayMs = Math.min(delayMs * 2, 1000);
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

/**
 * One non-blocking attempt: `flock -n -x 3` on the inherited descriptor, the only form both
 * BusyBox's flock (which knows `-s -x -u -n` and no `-w`) and util-linux's accept. A lock held
 * by another process makes both exit 1 and print nothing (seen with BusyBox 1.36.1 and
 * util-linux 2.38.1); every other failure prints a message: BusyBox exits 1 with it (a bad
 * option, a bad descriptor), util-linux exits 64 or more (sysexits). So "held" is exit 1 with
 * nothing on stderr, and anything else but 0 means this flock cannot do the job.
 */
async function tryLock(flock: string[], fd: number): Promise<{ outcome: 'locked' | 'held' | 'cannot-run'; result: CommandResult }> {
  const result = await runCommand([...flock, '-n', '-x', '3'], { extraFds: [fd] });
  if (result.status === 0) return { outcome: 'locked', result };
  if (result.status === 1 && result.stderr.trim() === '') return { outcome: 'held', result };
  return { outcome: 'cannot-run', result };
}
