#!/usr/bin/env node
// A read-only registry (the pull side of the OCI distribution API, plain HTTP) serving the
// images of one OCI image layout directory, for container runtimes that can only pull (CRI-O).
// Tests only.
//
//   node oci-registry.js <layout dir> <host:port> [ready file]
//
// Each manifest of the layout's index.json is served under the repository and tag of its
// `org.opencontainers.image.ref.name` annotation (`localhost:5000/a/b:tag` -> repository `a/b`,
// tag `tag`), and by digest; blobs by digest. The ready file is written once it listens.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const [layout, listen, readyFile] = process.argv.slice(2);
if (!layout || !listen) {
  process.stderr.write('usage: oci-registry.js <layout dir> <host:port> [ready file]\n');
  process.exit(2);
}
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];

/** repository -> reference (tag or digest) -> { digest, mediaType } */
const manifests = new Map();
const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
for (const m of index.manifests || []) {
  const ref = (m.annotations || {})['org.opencontainers.image.ref.name'] || '';
  // Drop a registry host (the first component when it has a dot or a colon, or is localhost).
  const parts = ref.split('/');
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost')) parts.shift();
  const rest = parts.join('/');
  const colon = rest.lastIndexOf(':');
  const repository = colon > 0 ? rest.slice(0, colon) : rest;
  const tag = colon > 0 ? rest.slice(colon + 1) : 'latest';
  if (!manifests.has(repository)) manifests.set(repository, new Map());
  const entry = { digest: m.digest, mediaType: m.mediaType };
  manifests.get(repository).set(tag, entry);
  manifests.get(repository).set(m.digest, entry);
}

function blobPath(digest) {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m ? path.join(layout, 'blobs', 'sha256', m[1]) : undefined;
}

function send(res, status, headers, body, head) {
  res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  res.end(head ? undefined : body);
}

const server = http.createServer((req, res) => {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, 405, {}, '');
  const url = new URL(req.url, 'http://registry');
  if (url.pathname === '/v2/' || url.pathname === '/v2') return send(res, 200, { 'Content-Type': 'application/json' }, '{}', head);
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
  const notFound = () => send(res, 404, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: url.pathname }] }), head);
  if (!m) return notFound();
  const [, repository, kind, reference] = m;
  let digest = reference;
  let mediaType = 'application/octet-stream';
  if (kind === 'manifests') {
    const entry = manifests.get(repository)?.get(reference);
    if (!entry) return notFound();
    digest = entry.digest;
    mediaType = entry.mediaType;
  }
  const file = blobPath(digest);
  if (!file || !fs.existsSync(file)) return notFound();
  const body = fs.readFileSync(file);
  send(res, 200, { 'Content-Type': mediaType, 'Content-Length': body.length, 'Docker-Content-Digest': digest }, body, head);
});

server.listen(port, host, () => {
  if (readyFile) fs.writeFileSync(readyFile, `${process.pid}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
