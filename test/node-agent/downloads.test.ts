/**
 * URL artifacts, downloaded by the agent from a local HTTPS server (the API server's recorder,
 * serving files and redirects on other paths). The agent trusts the server's self-signed CA only
 * when it is given the way Node takes extra CAs: NODE_EXTRA_CA_CERTS in the agent's environment.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { corpus, RunResult, testSpec, TestNode } from './helpers';
import { RecordingApiServer } from '../support/api-server';
import { assertContainerdAvailable, describeIfContainerd } from '../support/containerd';

const CONFIG = '/etc/containerd/config.toml';
const DESTINATION = '/opt/gvisor/bin/runsc';
/** The stated limits: redirects followed per download, and bytes per download (the spec declares no sizes). */
const REDIRECT_LIMIT = 5;
const DOWNLOAD_LIMIT_BYTES = 512 * 1024 * 1024;
const PAYLOAD = Buffer.from('#!/bin/sh\necho runsc\n');

function sha512(data: Buffer): string {
  return crypto.createHash('sha512').update(data).digest('hex');
}

describeIfContainerd('URL artifacts: https only at every hop, a redirect limit, a size limit, TLS verified', () => {
  let api: RecordingApiServer;
  let plain: http.Server;
  let plainRequests: string[];
  let httpsBase: string;
  let httpBase: string;
  let node: TestNode | undefined;

  beforeAll(async () => {
    assertContainerdAvailable();
    api = new RecordingApiServer();
    httpsBase = `https://127.0.0.1:${await api.start()}`;
    plainRequests = [];
    plain = http.createServer((req, res) => {
      plainRequests.push(req.url!);
      res.end(PAYLOAD);
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    httpBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await api?.stop();
    await new Promise((resolve) => plain?.close(resolve));
  });
  beforeEach(() => {
    api.routes.clear();
    api.calls.length = 0;
    plainRequests.length = 0;
  });
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  /** Installs one URL artifact (no handlers: nothing else to do) with the recorder's CA trusted, unless `trustCa` is false. */
  async function install(location: string, sha: string, trustCa = true): Promise<RunResult> {
    node = new TestNode(testSpec({
      handlers: [],
      artifacts: [{ arch: 'any', source: 'url', location, sha512: sha, destination: DESTINATION }],
    }));
    node.root.write(CONFIG, corpus('containerd-1.6-default.toml'));
    fs.mkdirSync(path.join(node.dir, 'tmp'));
    return node.spawn({ env: { TMPDIR: path.join(node.dir, 'tmp'), NODE_EXTRA_CA_CERTS: trustCa ? path.join(api.dir, 'ca.crt') : undefined } }).done;
  }

  /** Files left in the agent's work directories (its TMPDIR). */
  function leftInWorkDir(): string[] {
    const tmp = path.join(node!.dir, 'tmp');
    return fs.readdirSync(tmp).flatMap((d) => fs.readdirSync(path.join(tmp, d)).map((f) => `${d}/${f}`));
  }

  function redirect(from: string, to: string): void {
    api.routes.set(from, (_req, res) => {
      res.writeHead(302, { Location: to });
      res.end();
    });
  }

  function serve(at: string, data: Buffer): void {
    api.routes.set(at, (_req, res) => res.end(data));
  }

  test('control: an https download redirected to https, checked against the CA given in NODE_EXTRA_CA_CERTS, is installed', async () => {
    redirect('/release/runsc', '/objects/runsc');
    serve('/objects/runsc', PAYLOAD);
    const run = await install(`${httpsBase}/release/runsc`, sha512(PAYLOAD));
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`${httpsBase}/release/runsc redirects to ${httpsBase}/objects/runsc`);
    expect(node!.bytes(DESTINATION)).toEqual(PAYLOAD);
  });

  test('Download redirects are followed to http://: a redirect to http:// is refused, naming both URLs, and nothing is fetched over http', async () => {
    redirect('/runsc', `${httpBase}/runsc`);
    const run = await install(`${httpsBase}/runsc`, sha512(PAYLOAD));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toBe(`could not download ${httpsBase}/runsc (for ${DESTINATION}): refused the redirect from ${httpsBase}/runsc `
      + `to ${httpBase}/runsc: only https:// is followed. Check the URL and that the node can reach it (proxy, egress rules)`);
    expect(plainRequests).toEqual([]);
    expect(node!.bytes(DESTINATION)).toBeUndefined();
  });

  test('Download redirects are followed to file://: a redirect to file:///etc/passwd is refused and the file is not read', async () => {
    const passwd = fs.readFileSync('/etc/passwd');
    redirect('/runsc', 'file:///etc/passwd');
    // The sha512 matches /etc/passwd: a download that read it would install it.
    const run = await install(`${httpsBase}/runsc`, sha512(passwd));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toContain(`refused the redirect from ${httpsBase}/runsc to file:///etc/passwd: only https:// is followed`);
    expect(node!.bytes(DESTINATION)).toBeUndefined();
    expect(run.stderr).not.toContain(sha512(passwd));
  });

  test(`a redirect loop stops at the limit (${REDIRECT_LIMIT} redirects followed)`, async () => {
    redirect('/loop', '/loop');
    const run = await install(`${httpsBase}/loop`, sha512(PAYLOAD));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toContain(`more than ${REDIRECT_LIMIT} redirects (the last from ${httpsBase}/loop to ${httpsBase}/loop): stopped`);
    expect(api.calls.filter((c) => c.path === '/loop')).toHaveLength(REDIRECT_LIMIT + 1);
  });

  test('an initial http:// URL is refused without a request', async () => {
    const run = await install(`${httpBase}/runsc`, sha512(PAYLOAD));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toContain(`could not download ${httpBase}/runsc (for ${DESTINATION}): only https:// URLs are downloaded, not http://`);
    expect(plainRequests).toEqual([]);
  });

  test('a self-signed certificate the agent was not given is refused', async () => {
    serve('/runsc', PAYLOAD);
    const run = await install(`${httpsBase}/runsc`, sha512(PAYLOAD), false);
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toBe(`could not download ${httpsBase}/runsc (for ${DESTINATION}): self-signed certificate. `
      + 'Check the URL and that the node can reach it (proxy, egress rules)');
    expect(node!.bytes(DESTINATION)).toBeUndefined();
  });

  test('a body announced larger than the limit is not read', async () => {
    api.routes.set('/huge', (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(DOWNLOAD_LIMIT_BYTES + 1) });
      res.write(PAYLOAD);
    });
    const run = await install(`${httpsBase}/huge`, sha512(PAYLOAD));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toContain(`${httpsBase}/huge announces ${DOWNLOAD_LIMIT_BYTES + 1} bytes, more than the limit of ${DOWNLOAD_LIMIT_BYTES}: not downloaded`);
  });

  test('an oversized body (no length announced) is stopped once past the limit, and its partial file removed', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    api.routes.set('/endless', (_req, res) => {
      const pump = () => {
        while (!res.destroyed && sent < 4 * DOWNLOAD_LIMIT_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      res.writeHead(200);
      pump();
    });
    const run = await install(`${httpsBase}/endless`, sha512(PAYLOAD));
    expect(run.status).toBe(1);
    expect(node!.readiness().reason).toContain(`${httpsBase}/endless sent more than the limit of ${DOWNLOAD_LIMIT_BYTES} bytes: stopped reading`);
    // What was in flight when the agent hung up: socket and TLS buffers, not another limit's worth.
    expect(sent).toBeLessThan(DOWNLOAD_LIMIT_BYTES + 64 * 1024 * 1024);
    expect(node!.bytes(DESTINATION)).toBeUndefined();
    expect(leftInWorkDir()).toEqual([]);
    expect(run.stderr).not.toMatch(/sha512 mismatch/);
  }, 120_000);
});
