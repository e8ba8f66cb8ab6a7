import * as fs from 'fs';
import * as path from 'path';

/** The line of the `ready` file that says until when it holds. */
export const READY_UNTIL = 'valid until: ';

/**
 * Why the agent stops without finishing: the message is logged, written to the readiness
 * file and becomes the pod's not-ready reason. Exit status 1, or 2 when the node cannot run
 * these runtimes at all (no /dev/kvm, no artifact for its architecture).
 */
export class Refusal extends Error {
  public constructor(message: string, public readonly exitCode: 1 | 2 = 1) {
    super(message);
  }
}

/**
 * A node that can run none of the setup's handlers (their classes select other nodes, no KVM, no
 * artifact for its CPU, a runtime that cannot take them): nothing of the setup belongs here. The
 * node is never labelled, and the agent's pod is ready all the same: a DaemonSet rollout must not
 * wait for nodes that are right as they are.
 */
export class NothingToRun extends Refusal {}

/** Log lines on stderr, each prefixed with the setup's name. */
export class Log {
  public constructor(private readonly setupName: string) {}

  public info(message: string): void {
    process.stderr.write(`[${this.setupName}] ${message}\n`);
  }

  public warn(message: string): void {
    this.info(`WARNING: ${message}`);
  }
}

/**
 * The pod's readiness, as files in STATE_DIR: `ready` once the node is labelled (with the time
 * until which that verification stands; the probe, `probe.js`, checks it), or `not-ready`
 * holding the reason.
 */
export class Readiness {
  public constructor(private readonly stateDir: string) {}

  public notReady(reason: string): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.rmSync(path.join(this.stateDir, 'ready'), { force: true });
    fs.writeFileSync(path.join(this.stateDir, 'not-ready'), `${reason}\n`);
  }

  /** @param validUntil epoch ms after which the probe no longer counts this verification (undefined: for good) */
  public ready(summary: string, validUntil?: number): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.rmSync(path.join(this.stateDir, 'not-ready'), { force: true });
    const until = validUntil === undefined ? '' : `${READY_UNTIL}${new Date(validUntil).toISOString()}\n`;
    // Replaced atomically: the probe never reads half a file.
    const temp = path.join(this.stateDir, '.ready.tmp');
    fs.writeFileSync(temp, `ready: ${summary}\n${until}`);
    fs.renameSync(temp, path.join(this.stateDir, 'ready'));
  }

  /** Whether the pod reads as ready (the `ready` file stands, whatever its deadline). */
  public isReady(): boolean {
    return fs.existsSync(path.join(this.stateDir, 'ready'));
  }

  /** Handlers of the setup this node does not run, and why. */
  public unavailable(reason: string): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.writeFileSync(path.join(this.stateDir, 'unavailable'), `${reason}\n`);
  }

  /** Every handler of the setup runs on this node: no `unavailable` reason stands. */
  public available(): void {
    fs.rmSync(path.join(this.stateDir, 'unavailable'), { force: true });
  }
}
