import { criStatus, crioConfig } from './cri';
import { Log } from './log';
import { errorSummary, runCommand } from './process';
import { step } from './steps';

/** What the running container runtime serves, or why it could not be asked. */
export type Served = { readonly handlers: string[]; readonly source: string } | { readonly error: string };

/**
 * The node's running container runtime: restarted through the host's systemd
 * (HOST_SYSTEMCTL) and asked over its CRI socket which handlers it serves. The CRI answer is
 * the proof the ready label rests on: a handler in the files on disk is not yet a handler the
 * runtime serves.
 */
export class ContainerRuntime {
  public constructor(
    private readonly systemctl: string[],
    public readonly unit: string,
    /** The CRI socket (a real path inside HOST_ROOT). */
    public readonly socket: string,
    private readonly crio: boolean,
    private readonly verifyTimeoutSeconds: number,
    private readonly log: Log,
  ) {}

  /** `systemctl restart <unit>`, then waits until the unit is active. False (with a log line) when it is not. */
  public async restart(): Promise<boolean> {
    step(`restart:${this.unit}`);
    const result = await runCommand([...this.systemctl, 'restart', this.unit], { timeoutMs: (this.verifyTimeoutSeconds + 60) * 1000 });
    if (result.status !== 0) {
      this.log.info(`systemctl restart ${this.unit} failed: ${errorSummary(result)}`);
      return false;
    }
    return this.waitActive();
  }

  private async waitActive(): Promise<boolean> {
    const deadline = Date.now() + this.verifyTimeoutSeconds * 1000;
    for (;;) {
      const active = await runCommand([...this.systemctl, 'is-active', '--quiet', this.unit], { timeoutMs: 30_000 });
      if (active.status === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(1000);
    }
  }

  /** The handlers the running runtime serves, asked once. */
  public async served(): Promise<Served> {
    try {
      const status = await criStatus(this.socket, 10_000);
      if (status.handlers) return { handlers: status.handlers, source: status.source };
      if (this.crio) return { handlers: crioRuntimes(await crioConfig(this.socket, 10_000)), source: 'CRI-O\'s /config' };
      return { error: `the runtime answers on ${this.socket} but does not say which handlers it serves (${status.source})` };
    } catch (e: any) {
      return { error: `no CRI answer on ${this.socket}: ${e.message}` };
    }
  }

  /**
   * Waits (up to VERIFY_TIMEOUT) until the runtime serves every one of `handlers` (or, with
   * `present` false, none of them). Returns the last answer and whether it held.
   */
  public async waitServes(handlers: readonly string[], present: boolean): Promise<{ ok: boolean; last: Served }> {
    const deadline = Date.now() + this.verifyTimeoutSeconds * 1000;
    for (;;) {
      const last = await this.served();
      const ok = 'handlers' in last && handlers.every((h) => last.handlers.includes(h) === present);
      if (ok || Date.now() >= deadline) return { ok, last };
      await sleep(500);
    }
  }
}

/** Handler names of `[crio.runtime.runtimes.<name>]` tables in CRI-O's config. */
function crioRuntimes(toml: string): string[] {
  const names = new Set<string>();
  for (const line of toml.split('\n')) {
    const m = /^\s*\[\s*crio\.runtime\.runtimes\.("?)([^".\]]+)\1\s*\]/.exec(line);
    if (m) names.add(m[2]);
  }
  return [...names].sort();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
