/**
 * A local HTTPS recorder standing in for the Kubernetes API server (none can run here): it
 * answers the few calls the node agent makes (GET and merge-PATCH of a node, GET of a
 * DaemonSet), keeps each node's labels as the patches left them, and records every call.
 *
 *   const api = new RecordingApiServer({ nodes: { 'node-1': { 'kubernetes.io/os': 'linux' } } });
 *   const port = await api.start();              // 127.0.0.1:<port>, and api.unixSocket
 *   ... KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=<port>
 *       SERVICE_ACCOUNT_DIR=api.accountDir('token-1') ...
 *   api.nodeLabels('node-1');                    // the labels as the recorder saw them
 *   api.labelChanges;                            // each label set or removed, with when
 *   await api.stop();
 *
 * Its certificate is fresh and self-signed (the CA a pod gets as `ca.crt`), valid for
 * 127.0.0.1 and for `CLUSTER_IP` (the `kubernetes` Service's address in the pod network that
 * `kubelet.ts` gives pods). Besides TCP it listens on a unix socket (`unixSocket`), so that a
 * relay in another network namespace can reach it: the TLS session stays end to end.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

/** The `kubernetes` Service's ClusterIP in the pods `kubelet.ts` runs (kubeadm's default service CIDR). */
export const CLUSTER_IP = '10.96.0.1';

/** One request the recorder answered. */
export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body?: any;
}

/** One label change an accepted PATCH made (a key set to a value, or removed). */
export interface LabelChange {
  /** When the recorder accepted the PATCH. */
  readonly at: Date;
  readonly node: string;
  readonly label: string;
  /** The new value, or null when the PATCH removed the label. */
  readonly value: string | null;
}

/** Options of a RecordingApiServer. */
export interface RecordingApiServerOptions {
  /** The nodes it knows, with their labels. Default: `node-1` labelled `kubernetes.io/os=linux`. */
  readonly nodes?: { [name: string]: { [label: string]: string } };
}

/** A local HTTPS server with a fresh self-signed certificate, answering as the API server would. */
export class RecordingApiServer {
  readonly calls: RecordedCall[] = [];
  /** Every label change of every accepted PATCH, oldest first (to order them against other events). */
  readonly labelChanges: LabelChange[] = [];
  /** What GET of any DaemonSet answers: it exists, or 404. */
  daemonSet: 'present' | 'gone' = 'present';
  /** A status every PATCH answers with (200 by default; others leave the labels as they are). */
  patchStatus = 200;
  /**
   * Answers to requests of this method go out one byte every `everyMs` (headers at once, then
   * the body's bytes one by one): a server that never falls silent long enough for an idle timeout.
   */
  trickle: { method: string; everyMs: number } | undefined;
  /** Called with each request once it is read, before it is answered (e.g. to look at the node lock then). */
  onCall: ((call: RecordedCall) => void) | undefined;
  /**
   * Other paths it serves (files to download, redirects): the path (without query) -> a handler.
   * These requests are recorded in `calls` too.
   */
  readonly routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
  /** Temp dir: `ca.crt`, `key.pem`, `api.sock`, `serviceaccount/`. */
  readonly dir: string;
  /** The TCP port on 127.0.0.1 (after `start()`). */
  port = 0;
  /** The unix socket it also listens on (after `start()`). */
  readonly unixSocket: string;
  private readonly labels = new Map<string, { [label: string]: string }>();
  private servers: https.Server[] = [];

  constructor(options: RecordingApiServerOptions = {}) {
    for (const [name, labels] of Object.entries(options.nodes ?? { 'node-1': { 'kubernetes.io/os': 'linux' } })) this.labels.set(name, { ...labels });
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-server-'));
    this.unixSocket = path.join(this.dir, 'api.sock');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kubernetes',
      '-addext', `subjectAltName=IP:127.0.0.1,IP:${CLUSTER_IP},DNS:kubernetes.default.svc`,
      '-keyout', path.join(this.dir, 'key.pem'), '-out', path.join(this.dir, 'ca.crt')], { stdio: 'pipe' });
  }

  /** The CA certificate (PEM) a pod gets as `ca.crt`. */
  get caCertificate(): string {
    return fs.readFileSync(path.join(this.dir, 'ca.crt'), 'utf8');
  }

  /** Listens on 127.0.0.1 (a free port, returned) and on `unixSocket`. */
  async start(): Promise<number> {
    const options = { key: fs.readFileSync(path.join(this.dir, 'key.pem')), cert: fs.readFileSync(path.join(this.dir, 'ca.crt')) };
    const tcp = https.createServer(options, (req, res) => this.handle(req, res));
    const unix = https.createServer(options, (req, res) => this.handle(req, res));
    this.servers = [tcp, unix];
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => unix.listen(this.unixSocket, resolve));
    this.port = (tcp.address() as AddressInfo).port;
    return this.port;
  }

  /** The node's labels as the recorder holds them (its initial ones, changed by every accepted PATCH). */
  nodeLabels(node = 'node-1'): { [label: string]: string } {
    return { ...(this.labels.get(node) ?? {}) };
  }

  /** Sets (or, with undefined, removes) a label of a node, as an admin or node-feature-discovery would. */
  setNodeLabel(node: string, key: string, value: string | undefined): void {
    const labels = { ...(this.labels.get(node) ?? {}) };
    if (value === undefined) delete labels[key];
    else labels[key] = value;
    this.labels.set(node, labels);
  }

  /** A service-account directory as the projected volume makes it (`token`, `ca.crt`). */
  accountDir(token: string): string {
    const dir = path.join(this.dir, 'serviceaccount');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'token'), token);
    fs.copyFileSync(path.join(this.dir, 'ca.crt'), path.join(dir, 'ca.crt'));
    return dir;
  }

  async stop(): Promise<void> {
    for (const server of this.servers) {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }
    this.servers = [];
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const call: RecordedCall = { method: req.method!, path: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body };
      this.calls.push(call);
      this.onCall?.(call);
      const route = this.routes.get(req.url!.split('?')[0]);
      if (route) {
        route(req, res);
        return;
      }
      const [status, answer] = this.answer(req.method!, req.url!, body);
      const bytes = Buffer.from(JSON.stringify(answer));
      const trickle = this.trickle;
      if (trickle?.method !== req.method) {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(bytes);
        return;
      }
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(bytes.subarray(sent, sent + 1));
        if (++sent === bytes.length) {
          clearInterval(timer);
          res.end();
        }
      }, trickle!.everyMs);
      res.on('close', () => clearInterval(timer));
    });
  }

  private answer(method: string, url: string, body: any): [number, any] {
    const node = /^\/api\/v1\/nodes\/([^/?]+)$/.exec(url);
    if (node) {
      const name = decodeURIComponent(node[1]);
      const labels = this.labels.get(name);
      if (method === 'PATCH') {
        if (this.patchStatus !== 200) {
          return [this.patchStatus, { kind: 'Status', message: `nodes "${name}" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "nodes"` }];
        }
        if (!labels) return [404, { kind: 'Status', reason: 'NotFound', message: `nodes "${name}" not found` }];
        const at = new Date();
        for (const [key, value] of Object.entries(body?.metadata?.labels ?? {})) {
          if (value === null) delete labels[key];
          else labels[key] = String(value);
          this.labelChanges.push({ at, node: name, label: key, value: value === null ? null : String(value) });
        }
        return [200, { kind: 'Node', metadata: { name, labels } }];
      }
      if (method === 'GET') {
        return labels ? [200, { kind: 'Node', metadata: { name, labels } }] : [404, { kind: 'Status', reason: 'NotFound', message: `nodes "${name}" not found` }];
      }
    }
    const daemonSet = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/?]+)$/.exec(url);
    if (daemonSet && method === 'GET') {
      return this.daemonSet === 'present'
        ? [200, { kind: 'DaemonSet', metadata: { namespace: daemonSet[1], name: decodeURIComponent(daemonSet[2]) } }]
        : [404, { kind: 'Status', reason: 'NotFound' }];
    }
    return [404, {}];
  }
}
