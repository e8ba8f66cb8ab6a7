/**
 * A minimal CRI v1 (`runtime.v1.RuntimeService`) client over a containerd unix socket, for
 * proving that a runtime handler really runs sandboxes:
 *
 *   const cri = new CriClient(daemon.address);
 *   try {
 *     const id = await cri.runPodSandbox({ name: 'p', handler: 'kata' });   // throws on failure
 *     expect((await cri.podSandboxStatus(id)).status.runtime_handler).toBe('kata');
 *   } finally {
 *     await cri.removeAll();
 *     cri.close();
 *   }
 *
 * Sandboxes use the node's network namespace (`NamespaceOption.network = NODE`, so no CNI) and
 * set no hostname (runc refuses one without a private UTS namespace); their log directory is a
 * temp dir owned by the client: inside the host root when the daemon runs chrooted in one
 * (`new CriClient(node.address, { hostRoot: root })`), since containerd opens log paths in its
 * own root. `containerLog(id)` reads a container's output back. Messages use the proto field names (snake_case) as in
 * `cri.proto`; enums come back as their names (`SANDBOX_READY`), 64-bit integers as strings.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PAUSE_IMAGE } from './pause-image';

/** Path of the proto file the client loads. */
export const CRI_PROTO = path.join(__dirname, 'cri.proto');

let packageCache: grpc.GrpcObject | undefined;

function loadPackage(): grpc.GrpcObject {
  packageCache ??= grpc.loadPackageDefinition(protoLoader.loadSync(CRI_PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  }));
  return packageCache;
}

/** Options of `runPodSandbox`. */
export interface RunPodSandboxOptions {
  /** Pod name (metadata). */
  readonly name: string;
  /** Pod UID. Default: a random UUID. */
  readonly uid?: string;
  /** Pod namespace. Default `default`. */
  readonly namespace?: string;
  /** `runtime_handler` (the RuntimeClass handler). Default: empty, the default runtime. */
  readonly handler?: string;
  /** Attempt number. Default 0. */
  readonly attempt?: number;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  /** `linux.cgroup_parent` (cgroupfs style, e.g. `/bench/pod1`). Default: containerd's (`/k8s.io`). */
  readonly cgroupParent?: string;
  /** The pod's network namespace: the node's (default, no CNI) or its own (`POD`: the runtime's CNI network). */
  readonly network?: 'NODE' | 'POD';
}

/** Options of a `CriClient`. */
export interface CriClientOptions {
  /** Deadline of each call in ms. Default 60 s. */
  readonly timeoutMs?: number;
  /** The host root the daemon runs chrooted in: log directories are made inside it. Default: none. */
  readonly hostRoot?: { readonly path: string; resolve(relPath: string): string };
}

/** Options of `createContainer`. */
export interface CreateContainerOptions {
  readonly name: string;
  /** Image reference, present locally. Default `PAUSE_IMAGE` (busybox). */
  readonly image?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: Record<string, string>;
}

/** `Status`'s answer. */
export interface CriStatus {
  readonly status: { readonly conditions: Array<{ type: string; status: boolean; reason: string; message: string }> };
  readonly info: Record<string, string>;
  readonly runtime_handlers: Array<{ name: string }>;
}

/** Error of a CRI call: the gRPC status code and containerd's message. */
export class CriError extends Error {
  constructor(readonly method: string, readonly code: number | undefined, readonly details: string) {
    super(`CRI ${method} failed: ${details}`);
    this.name = 'CriError';
  }
}

/** A CRI RuntimeService client. Call `close()` when done. */
export class CriClient {
  private readonly client: grpc.Client & Record<string, any>;
  /** Where the client's log directories are, as this process sees it. */
  private readonly logRoot: string;
  private readonly hostRootPath?: string;
  private readonly timeoutMs: number;
  private readonly sandboxConfigs = new Map<string, object>();

  /**
   * @param address containerd's socket path (or a `unix://` target)
   * @param options a `CriClientOptions`, or the deadline of each call in ms (default 60 s)
   */
  constructor(readonly address: string, options: number | CriClientOptions = {}) {
    const opts: CriClientOptions = typeof options === 'number' ? { timeoutMs: options } : options;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    const pkg = loadPackage() as any;
    const Service = pkg.runtime.v1.RuntimeService as grpc.ServiceClientConstructor;
    const target = address.startsWith('unix:') ? address : `unix://${path.resolve(address)}`;
    this.client = new Service(target, grpc.credentials.createInsecure()) as any;
    if (opts.hostRoot) {
      this.hostRootPath = opts.hostRoot.path;
      const podLogs = opts.hostRoot.resolve('/var/log/pods');
      fs.mkdirSync(podLogs, { recursive: true });
      this.logRoot = fs.mkdtempSync(path.join(podLogs, 'cri-'));
    } else {
      this.logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cri-logs-'));
    }
  }

  /** A path as the daemon sees it (inside the host root) for one this process sees. */
  private inDaemon(hostPath: string): string {
    return this.hostRootPath ? `/${path.relative(this.hostRootPath, hostPath)}` : hostPath;
  }

  /** A path this process can open for one the daemon reported. */
  private onHost(daemonPath: string): string {
    return this.hostRootPath ? path.join(this.hostRootPath, daemonPath) : daemonPath;
  }

  /** Call any RuntimeService method by name with a plain request object. */
  call<T = any>(method: string, request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.timeoutMs);
      this.client[method](request, { deadline }, (err: grpc.ServiceError | null, res: T) => {
        if (err) reject(new CriError(method, err.code, err.details || err.message));
        else resolve(res);
      });
    });
  }

  /** `Version`: `{ version, runtime_name, runtime_version, runtime_api_version }`. */
  version(): Promise<{ version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call('Version', { version: 'v1' });
  }

  /**
   * `Status`: the runtime's conditions and `runtime_handlers` (CRI 1.30+: the handlers it serves,
   * the default one named `""`), `info` with `verbose`.
   */
  status(verbose = false): Promise<CriStatus> {
    return this.call('Status', { verbose });
  }

  /** The named handlers of `Status`'s `runtime_handlers` (the default one, `""`, left out), sorted. */
  async runtimeHandlers(): Promise<string[]> {
    return ((await this.status()).runtime_handlers ?? []).map((h) => h.name).filter((n) => n !== '').sort();
  }

  /** The `PodSandboxConfig` `runPodSandbox` sends for these options (host network, no hostname). */
  sandboxConfig(opts: RunPodSandboxOptions): object {
    const uid = opts.uid ?? randomUUID();
    const logDirectory = path.join(this.logRoot, `${opts.namespace ?? 'default'}_${opts.name}_${uid}`);
    fs.mkdirSync(logDirectory, { recursive: true });
    return {
      metadata: { name: opts.name, uid, namespace: opts.namespace ?? 'default', attempt: opts.attempt ?? 0 },
      log_directory: this.inDaemon(logDirectory),
      labels: opts.labels ?? {},
      annotations: opts.annotations ?? {},
      linux: {
        cgroup_parent: opts.cgroupParent ?? '',
        security_context: { namespace_options: { network: opts.network ?? 'NODE', pid: 'POD', ipc: 'POD' } },
      },
    };
  }

  /** `RunPodSandbox`; returns the sandbox id. Rejects with a `CriError` (e.g. `no runtime for "x" is configured`). */
  async runPodSandbox(opts: RunPodSandboxOptions): Promise<string> {
    const config = this.sandboxConfig(opts);
    const res = await this.call<{ pod_sandbox_id: string }>('RunPodSandbox', {
      config,
      runtime_handler: opts.handler ?? '',
    });
    this.sandboxConfigs.set(res.pod_sandbox_id, config);
    return res.pod_sandbox_id;
  }

  /** `PodSandboxStatus`: `{ status: { id, state, runtime_handler, ... }, info }`. */
  podSandboxStatus(id: string, verbose = false): Promise<any> {
    return this.call('PodSandboxStatus', { pod_sandbox_id: id, verbose });
  }

  /** `ListPodSandbox`: every sandbox the daemon knows. */
  async listPodSandbox(): Promise<any[]> {
    return (await this.call<{ items: any[] }>('ListPodSandbox', {})).items ?? [];
  }

  stopPodSandbox(id: string): Promise<void> {
    return this.call('StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', { pod_sandbox_id: id });
    this.sandboxConfigs.delete(id);
  }

  /** `CreateContainer` in a sandbox made by this client; returns the container id. */
  async createContainer(sandboxId: string, opts: CreateContainerOptions): Promise<string> {
    const sandboxConfig = this.sandboxConfigs.get(sandboxId);
    if (!sandboxConfig) throw new Error(`sandbox ${sandboxId} was not created by this client`);
    const res = await this.call<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: sandboxId,
      sandbox_config: sandboxConfig,
      config: {
        metadata: { name: opts.name, attempt: 0 },
        image: { image: opts.image ?? PAUSE_IMAGE },
        command: opts.command ?? [],
        args: opts.args ?? [],
        envs: Object.entries(opts.env ?? {}).map(([key, value]) => ({ key, value })),
        log_path: `${opts.name}.log`,
        linux: { security_context: { namespace_options: { network: (sandboxConfig as any).linux.security_context.namespace_options.network, pid: 'CONTAINER', ipc: 'POD' } } },
      },
    });
    return res.container_id;
  }

  startContainer(id: string): Promise<void> {
    return this.call('StartContainer', { container_id: id });
  }

  /** `ContainerStatus`: `{ status: { state, exit_code, reason, log_path, ... } }`. */
  containerStatus(id: string, verbose = false): Promise<any> {
    return this.call('ContainerStatus', { container_id: id, verbose });
  }

  stopContainer(id: string, timeoutSeconds = 0): Promise<void> {
    return this.call('StopContainer', { container_id: id, timeout: timeoutSeconds });
  }

  removeContainer(id: string): Promise<void> {
    return this.call('RemoveContainer', { container_id: id });
  }

  /** `ExecSync`: run `cmd` in a running container; output decoded as UTF-8. */
  async execSync(id: string, cmd: string[], timeoutSeconds = 30): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const res = await this.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>('ExecSync', {
      container_id: id, cmd, timeout: timeoutSeconds,
    });
    return { stdout: Buffer.from(res.stdout ?? []).toString('utf8'), stderr: Buffer.from(res.stderr ?? []).toString('utf8'), exitCode: res.exit_code };
  }

  /** `ContainerStats`: `{ stats: { cpu: { usage_core_nano_seconds: { value } }, memory: { working_set_bytes: { value }, ... } } }`. */
  containerStats(id: string): Promise<any> {
    return this.call('ContainerStats', { container_id: id });
  }

  /** A container's output once it matches `done` (or as it is after `timeoutMs`). */
  async waitForLog(id: string, done: RegExp, timeoutMs = 15_000): Promise<string> {
    let log = await this.containerLog(id);
    for (const until = Date.now() + timeoutMs; !done.test(log) && Date.now() < until;) {
      await new Promise(resolve => setTimeout(resolve, 100));
      log = await this.containerLog(id);
    }
    return log;
  }

  /**
   * What a container wrote so far (its CRI log file, read back from the daemon's `log_path`):
   * the text of every line of `stream` (`stdout`, `stderr`, or both when omitted), partial
   * lines joined as the runtime split them.
   */
  async containerLog(id: string, stream?: 'stdout' | 'stderr'): Promise<string> {
    const logPath = (await this.containerStatus(id)).status.log_path as string;
    if (!logPath) throw new Error(`container ${id} has no log path`);
    let text: string;
    try {
      text = fs.readFileSync(this.onHost(logPath), 'utf8');
    } catch (e: any) {
      if (e.code === 'ENOENT') return '';
      throw e;
    }
    // CRI log lines: "<RFC3339Nano time> <stdout|stderr> <P|F> <text>"; P marks a partial line.
    let out = '';
    for (const line of text.split('\n')) {
      const m = /^\S+ (stdout|stderr) ([PF]) (.*)$/.exec(line);
      if (!m || (stream && m[1] !== stream)) continue;
      out += m[2] === 'P' ? m[3] : `${m[3]}\n`;
    }
    return out;
  }

  /**
   * Stop and remove every container and sandbox the daemon knows (a test daemon is private),
   * ignoring individual failures; returns the errors seen.
   */
  async removeAll(): Promise<string[]> {
    const errors: string[] = [];
    const attempt = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e: any) {
        errors.push(e.message);
      }
    };
    let containers: any[] = [];
    await attempt(this.call<{ containers: any[] }>('ListContainers', {}).then(r => { containers = r.containers ?? []; }));
    for (const c of containers) {
      await attempt(this.stopContainer(c.id));
      await attempt(this.removeContainer(c.id));
    }
    let sandboxes: any[] = [];
    await attempt(this.listPodSandbox().then(items => { sandboxes = items; }));
    for (const s of sandboxes) {
      await attempt(this.stopPodSandbox(s.id));
      await attempt(this.removePodSandbox(s.id));
    }
    return errors;
  }

  /** Close the channel and delete the log directories. */
  close(): void {
    this.client.close();
    fs.rmSync(this.logRoot, { recursive: true, force: true });
  }
}
