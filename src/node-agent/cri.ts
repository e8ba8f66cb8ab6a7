import * as http from 'http';
import * as http2 from 'http2';
import * as net from 'net';

/**
 * The few CRI calls the agent makes to the node's running container runtime, over its unix
 * socket: gRPC is HTTP/2 with length-prefixed protobuf messages, small enough to speak with
 * Node's http2 module and a hand-written decoder (field numbers from Kubernetes' cri-api
 * `api.proto`, package runtime.v1).
 */

/** What the running runtime says about itself. */
export interface RuntimeStatusReport {
  /** The handlers it serves: `runtime_handlers` (CRI 1.30+) or, from containerd's verbose info, its CRI config. */
  readonly handlers?: string[];
  /** Where `handlers` came from (for messages). */
  readonly source: string;
}

/** `RuntimeService/Status` with `verbose: true`. Rejects when the socket does not answer. */
export async function criStatus(socket: string, timeoutMs: number): Promise<RuntimeStatusReport> {
  // StatusRequest { bool verbose = 1; }
  const reply = await grpcCall(socket, '/runtime.v1.RuntimeService/Status', Buffer.from([0x08, 0x01]), timeoutMs);
  const fields = decodeMessage(reply);
  // StatusResponse { RuntimeStatus status = 1; map<string, string> info = 2; repeated RuntimeHandler runtime_handlers = 3; }
  const handlerEntries = fields.filter((f) => f.number === 3);
  if (handlerEntries.length > 0) {
    // RuntimeHandler { string name = 1; RuntimeHandlerFeatures features = 2; } (the default handler has name "")
    const names = handlerEntries.map((f) => stringField(decodeMessage(f.bytes!), 1) ?? '').filter((n) => n !== '');
    return { handlers: names.sort(), source: 'CRI runtime_handlers' };
  }
  const info = new Map<string, string>();
  for (const entry of fields.filter((f) => f.number === 2)) {
    const kv = decodeMessage(entry.bytes!);
    info.set(stringField(kv, 1) ?? '', stringField(kv, 2) ?? '');
  }
  const config = info.get('config');
  if (config !== undefined) {
    // containerd: the CRI plugin's effective config as JSON (containerd.runtimes.<handler>).
    const runtimes = JSON.parse(config)?.containerd?.runtimes;
    if (runtimes && typeof runtimes === 'object') return { handlers: Object.keys(runtimes).sort(), source: 'containerd\'s CRI config (verbose status)' };
  }
  return { handlers: undefined, source: 'CRI status (no handler list)' };
}

/** CRI-O's own `/config` endpoint on its socket (HTTP/1.1): the TOML it runs with. */
export function crioConfig(socket: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath: socket, path: '/config', timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`HTTP ${response.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

function grpcCall(socket: string, method: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    const fail = (e: Error) => {
      client.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
    client.on('error', (e) => { clearTimeout(timer); fail(e); });
    const request = client.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', 'te': 'trailers' });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let statusMessage = '';
    const readStatus = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) {
        status = String(headers['grpc-status']);
        statusMessage = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      }
    };
    request.on('response', readStatus);
    request.on('trailers', readStatus);
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('error', (e) => { clearTimeout(timer); fail(e); });
    request.on('end', () => {
      clearTimeout(timer);
      client.close();
      const body = Buffer.concat(chunks);
      if (status !== undefined && status !== '0') reject(new Error(`gRPC status ${status}: ${statusMessage}`));
      else if (body.length < 5) reject(new Error('empty gRPC response'));
      else resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
    });
    request.end(frame);
  });
}

interface Field {
  readonly number: number;
  readonly bytes?: Buffer;
}

/** The top-level fields of a protobuf message (length-delimited ones keep their bytes). */
function decodeMessage(buffer: Buffer): Field[] {
  const fields: Field[] = [];
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (offset >= buffer.length) throw new Error('truncated protobuf message');
      const byte = buffer[offset++];
      // Seven bits of value per byte; a byte below 128 is the last one.
      result += (byte % 128) * 2 ** shift;
      if (byte < 128) return result;
      shift += 7;
    }
  };
  while (offset < buffer.length) {
    const key = varint();
    const wire = key % 8;
    const number = Math.floor(key / 8);
    if (wire === 0) {varint();} else if (wire === 1) {offset += 8;} else if (wire === 5) {offset += 4;} else if (wire === 2) {
      const length = varint();
      fields.push({ number, bytes: buffer.subarray(offset, offset + length) });
      offset += length;
    } else {throw new Error(`unsupported protobuf wire type ${wire}`);}
  }
  return fields;
}

function stringField(fields: Field[], number: number): string | undefined {
  const field = fields.find((f) => f.number === number);
  return field?.bytes?.toString('utf8');
}
