import * as fs from 'fs';
import * as path from 'path';

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
 * The pod's readiness, as files in STATE_DIR: `ready` (the probe reads it) once the node is
 * labelled, or `not-ready` holding the reason.
 */
export class Readiness {
  public constructor(private readonly stateDir: string) {}

  public notReady(reason: string): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.rmSync(path.join(this.stateDir, 'ready'), { force: true });
    fs.writeFileSync(path.join(this.stateDir, 'not-ready'), `${reason}\n`);
  }

  public ready(summary: string): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.rmSync(path.join(this.stateDir, 'not-ready'), { force: true });
    fs.writeFileSync(path.join(this.stateDir, 'ready'), `ready: ${summary}\n`);
  }

  /** Handlers installed but not offered on this node, and why. */
  public unavailable(reason: string): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.writeFileSync(path.join(this.stateDir, 'unavailable'), `${reason}\n`);
  }
}
