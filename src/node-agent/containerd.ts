import { CommandResult, errorSummary, runCommand } from './process';

/** The CRI plugin that holds runtime handlers in a `config dump` of containerd 1.x (schema 1 and 2 files). */
export const CRI_V1 = 'io.containerd.grpc.v1.cri';
/** ... and of containerd 2.x (schema 3 and 4 files). */
export const CRI_V2 = 'io.containerd.cri.v1.runtime';

/**
 * The host's own containerd binary (HOST_CONTAINERD, default `chroot $HOST_ROOT <binary>`):
 * every configuration is checked with the binary that will load it before anything changes.
 */
export class HostContainerd {
  public static async probe(command: string[]): Promise<HostContainerd> {
    const result = await runCommand([...command, '--version'], { timeoutMs: 30_000 });
    // "containerd github.com/containerd/containerd v1.6.20 <commit>" (Debian: "containerd containerd.io 1.6.20 ...").
    const word = result.status === 0 ? result.stdout.trim().split(/\s+/)[2] : undefined;
    const version = word?.replace(/^v/, '');
    return new HostContainerd(command, version && /^[0-9]+\.[0-9]+/.test(version) ? version : undefined);
  }

  private constructor(
    private readonly command: string[],
    /** `1.6.20`, or undefined when the binary cannot run. */
    public readonly version: string | undefined,
  ) {}

  public get runs(): boolean {
    return this.version !== undefined;
  }

  public get major(): number | undefined {
    return this.version === undefined ? undefined : Number(this.version.split('.')[0]);
  }

  public get minor(): number | undefined {
    return this.version === undefined ? undefined : Number(this.version.split('.')[1]);
  }

  public get commandLine(): string {
    return this.command.join(' ');
  }

  /** The CRI plugin that holds runtimes in this containerd's dump. */
  public get criPlugin(): string {
    return (this.major ?? 1) >= 2 ? CRI_V2 : CRI_V1;
  }

  /** `containerd --config <hostPath> config dump`: the merged configuration (imports applied), or why it failed. */
  public async dump(hostPath: string): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
    const result: CommandResult = await runCommand([...this.command, '--config', hostPath, 'config', 'dump'], { timeoutMs: 60_000 });
    return result.status === 0 ? { ok: true, text: result.stdout } : { ok: false, error: errorSummary(result) };
  }
}
