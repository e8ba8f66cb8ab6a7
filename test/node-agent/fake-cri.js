// A fake CRI server for tests of runtimes that cannot run on these machines (containerd 2.x,
// CRI-O): answers RuntimeService/Status with the handlers listed in a file (one per line) as
// `runtime_handlers` (CRI 1.30+, field 3 of StatusResponse in Kubernetes' cri-api api.proto).
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

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  stream.on('data', () => undefined);
  stream.on('end', () => {
    let message = Buffer.alloc(0);
    if (headers[':path'] === '/runtime.v1.RuntimeService/Status') {
      const names = fs.readFileSync(handlersFile, 'utf8').split('\n').filter(Boolean);
      // The default handler (name "") comes first, as CRI runtimes report it.
      message = Buffer.concat([bytes(1, Buffer.alloc(0)), bytes(3, Buffer.alloc(0)), ...names.map((n) => bytes(3, bytes(1, Buffer.from(n))))]);
    }
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': headers[':path'] === '/runtime.v1.RuntimeService/Status' ? '0' : '12' }));
    stream.end(frame);
  });
});
server.listen(socket);
process.on('SIGTERM', () => process.exit(0));
