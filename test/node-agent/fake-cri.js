// A fake CRI server for tests of distributions that cannot run on these machines (k3s, rke2,
// k0s, microk8s): answers RuntimeService/Status with the handlers listed in a file (one per line)
// as `runtime_handlers` (CRI 1.30+, field 3 of StatusResponse in Kubernetes' cri-api api.proto),
// and plays pod sandboxes: RunPodSandbox succeeds for a listed handler (else fails as containerd
// does: `no runtime for "<handler>" is configured`), PodSandboxStatus says SANDBOX_READY, Stop,
// Remove and List answer empty.
// Usage: node fake-cri.js SOCKET HANDLERS_FILE
const fs = require('fs');
const http2 = require('http2');
const [socket, handlersFile] = process.argv.slice(2);

function bytes(field, payload) {
  const length = [];
  let n = payload.length;
  do { length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>= 7; } while (n > 0);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), payload]);
}

/** The string in top-level field `field` of a protobuf message, if any. */
function stringField(message, field) {
  let offset = 0;
  const varint = () => { let r = 0; let shift = 0; for (;;) { const b = message[offset++]; r += (b & 0x7f) * 2 ** shift; if (b < 128) return r; shift += 7; } };
  while (offset < message.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) { varint(); continue; }
    if (wire !== 2) return undefined;
    const length = varint();
    const bytes = message.subarray(offset, offset + length);
    offset += length;
    if (key >> 3 === field) return bytes.toString('utf8');
  }
  return undefined;
}

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    const request = body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0);
    const method = headers[':path'].replace('/runtime.v1.RuntimeService/', '');
    const names = fs.readFileSync(handlersFile, 'utf8').split('\n').filter(Boolean);
    let message = Buffer.alloc(0);
    let status = '0';
    let error = '';
    if (method === 'Status') {
      // The default handler (name "") comes first, as CRI runtimes report it.
      message = Buffer.concat([bytes(1, Buffer.alloc(0)), bytes(3, Buffer.alloc(0)), ...names.map((n) => bytes(3, bytes(1, Buffer.from(n))))]);
    } else if (method === 'RunPodSandbox') {
      const handler = stringField(request, 2) ?? '';
      if (names.includes(handler)) message = bytes(1, Buffer.from(`fake-${handler}`));
      else { status = '2'; error = `failed to get sandbox runtime: no runtime for "${handler}" is configured`; }
    } else if (method === 'PodSandboxStatus') {
      message = bytes(1, bytes(1, Buffer.from(stringField(request, 1) ?? '')));
    } else if (!['StopPodSandbox', 'RemovePodSandbox', 'ListPodSandbox'].includes(method)) {
      status = '12';
    }
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': status, 'grpc-message': encodeURIComponent(error) }));
    stream.end(frame);
  });
});
server.listen(socket);
process.on('SIGTERM', () => process.exit(0));
