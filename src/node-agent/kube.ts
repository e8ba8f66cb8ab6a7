import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { Refusal } from './log';
import { CommandResult, errorSummary, runCommand, splitCommand } from './process';

/** What the agent asks of the Kubernetes API: its node's labels and its own DaemonSet. */
export interface Kube {
  /** Sets `key` to `value` on the node, or removes it (`undefined`; a missing label is no error). */
  setLabel(node: string, key: string, value: string | undefined): Promise<void>;
  /** The node's labels. */
  nodeLabels(node: string): Promise<{ [key: string]: string }>;
  /** Whether the DaemonSet exists, and its deletionTimestamp when it is being deleted. */
  daemonSet(namespace: string, name: string): Promise<{ exists: boolean; deleting?: string }>;
}

/** The DaemonSet's default: the API server, with the token projected into the agent container. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The default deadline of one API call, in seconds (API_TIMEOUT): from the request to the end of the answer. */
export const API_TIMEOUT_SECONDS = 30;

/**
 * The Kube of this environment: KUBECTL when set, else the API server from inside the pod.
 * API_TIMEOUT (seconds) bounds each call from start to finish, so that a slow answer cannot hold
 * the node lock for long.
 */
export function kubeFromEnvironment(env: NodeJS.ProcessEnv): Kube {
  const seconds = Number(env.API_TIMEOUT ?? API_TIMEOUT_SECONDS);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Refusal(`API_TIMEOUT must be a whole number of seconds, at least 1, got '${env.API_TIMEOUT}'`);
  if (env.KUBECTL) return new KubectlCommand(splitCommand(env.KUBECTL), seconds * 1000);
  return new ApiServer(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, env.SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR, seconds * 1000);
}

/** A kubectl-compatible command (tests, debugging): `KUBECTL="kubectl --context x"`. */
export class KubectlCommand implements Kube {
  /** @param timeoutMs the command is killed after this long */
  public constructor(private readonly command: string[], private readonly timeoutMs = API_TIMEOUT_SECONDS * 1000) {}

  public async setLabel(node: string, key: string, value: string | undefined): Promise<void> {
    const args = value === undefined ? ['label', 'node', node, `${key}-`] : ['label', 'node', node, `${key}=${value}`, '--overwrite'];
    const result = await this.run(args);
    // Older kubectl fail on removing a label that is not there ("label "x" not found.").
    if (result.status !== 0 && !(value === undefined && /not found/.test(result.stderr) && !/NotFound/.test(result.stderr))) {
      throw new Error(errorSummary(result));
    }
  }

  public async nodeLabels(node: string): Promise<{ [key: string]: string }> {
    // A plain get of this node: the setup's RBAC grants get and patch on nodes, not list.
    const result = await this.run(['get', 'node', node, '-o', 'go-template={{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\\n"}}{{end}}']);
    if (result.status !== 0) throw new Error(errorSummary(result));
    const labels: { [key: string]: string } = {};
    for (const line of result.stdout.split('\n').filter((l) => l.includes('='))) {
      const at = line.indexOf('=');
      labels[line.slice(0, at)] = line.slice(at + 1);
    }
    return labels;
  }

  public async daemonSet(namespace: string, name: string): Promise<{ exists: boolean; deleting?: string }> {
    const result = await this.run(['get', 'daemonset', name, '-n', namespace, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    if (result.status === 0) return { exists: true, deleting: result.stdout.trim() || undefined };
    if (/NotFound/.test(result.stderr)) return { exists: false };
    throw new Error(errorSummary(result));
  }

  private run(args: string[]): Promise<CommandResult> {
    return runCommand([...this.command, ...args], { timeoutMs: this.timeoutMs });
  }
}

/** The API server, reached from the pod with its service-account token (re-read for every call: it rotates). */
export class ApiServer implements Kube {
  public constructor(
    private readonly host: string | undefined,
    private readonly port: string | undefined,
    private readonly accountDir: string,
    /** The deadline of each call, from the request to the end of the answer (not only between bytes). */
    private readonly timeoutMs = API_TIMEOUT_SECONDS * 1000,
  ) {}

  public async setLabel(node: string, key: string, value: string | undefined): Promise<void> {
    const patch = { metadata: { labels: { [key]: value ?? null } } };
    await this.request('PATCH', `/api/v1/nodes/${encodeURIComponent(node)}`, patch);
  }

  public async nodeLabels(node: string): Promise<{ [key: string]: string }> {
    const found = await this.request('GET', `/api/v1/nodes/${encodeURIComponent(node)}`);
    return found.body?.metadata?.labels ?? {};
  }

  public async daemonSet(namespace: string, name: string): Promise<{ exists: boolean; deleting?: string }> {
    const found = await this.request('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`, undefined, [404]);
    if (found.status === 404) return { exists: false };
    return { exists: true, deleting: found.body?.metadata?.deletionTimestamp };
  }

  private request(method: string, apiPath: string, body?: unknown, accepted: number[] = []): Promise<{ status: number; body: any }> {
    if (!this.host || !this.port) {
      return Promise.reject(new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (the agent runs in a pod, or set KUBECTL)'));
    }
    let token: string;
    let ca: Buffer;
    try {
      token = fs.readFileSync(path.join(this.accountDir, 'token'), 'utf8').trim();
      ca = fs.readFileSync(path.join(this.accountDir, 'ca.crt'));
    } catch (e: any) {
      return Promise.reject(new Error(`cannot read the service-account token in ${this.accountDir}: ${e.message}`));
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: { [key: string]: string } = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (payload !== undefined) headers['Content-Type'] = 'application/merge-patch+json';
    const seconds = Math.round(this.timeoutMs / 1000);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, result?: { status: number; body: any }) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error) {
          request.destroy();
          reject(error);
        } else {
          resolve(result!);
        }
      };
      // A total deadline: a server that trickles its answer a byte at a time never trips an idle timeout.
      const deadline = setTimeout(() => settle(new Error(`${method} ${apiPath}: no complete answer within ${seconds}s`)), this.timeoutMs);
      const request = https.request({ host: this.host, port: Number(this.port), path: apiPath, method, headers, ca }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', (e) => settle(e));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if ((status >= 200 && status < 300) || accepted.includes(status)) settle(undefined, { status, body: parsed });
          else settle(new Error(`${method} ${apiPath}: HTTP ${status}${parsed?.message ? `: ${parsed.message}` : ''}`));
        });
      });
      request.on('error', (e) => settle(e));
      request.end(payload);
    });
  }
}
