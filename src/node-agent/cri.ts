import * as http from 'http';
import * as http2 from 'http2';
import * as net from 'net';
import { waitingOn } from './waits';

/**
 * The few CRI calls the agent makes to the node's running container runtime, over its unix
 * socket: gRPC is HTTP/2 with length-prefixed protobuf messages, small enough to speak with
 * Node's http2 module and a hand-written decoder (field numbers from Kubernetes' cri-api
 * `api.proto`, package runtime.v1).
 */

/** A CRI runtime condition (`RuntimeReady`, `NetworkReady`). */
export interface RuntimeCondition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** What the running runtime says about itself. */
export interface RuntimeStatusReport {
  /** The handlers it serves: `runtime_handlers` (CRI 1.30+) or, from containerd's verbose info, its CRI config. */
  readonly handlers?: string[];
  /** Where `handlers` came from (for messages). */
  readonly source: string;
  /** Its conditions, by type. */
  readonly conditions: { readonly [type: string]: RuntimeCondition };
}

/** `RuntimeService/Status` with `verbose: true`. Rejects when the socket does not answer. */
export async function criStatus(socket: string, timeoutMs: number): Promise<RuntimeStatusReport> {
  // StatusRequest { bool verbose = 1; }
  const reply = await grpcCall(socket, '/runtime.v1.RuntimeService/Status', encode([[1, true]]), timeoutMs);
  const fields = decodeMessage(reply);
  // StatusResponse { RuntimeStatus status = 1; map<string, string> info = 2; repeated RuntimeHandler runtime_handlers = 3; }
  // RuntimeStatus { repeated RuntimeCondition conditions = 1; }
  // RuntimeCondition { string type = 1; bool status = 2; string reason = 3; string message = 4; }
  const conditions: { [type: string]: RuntimeCondition } = {};
  const status = fields.find((f) => f.number === 1);
  for (const entry of status ? decodeMessage(status.bytes!).filter((f) => f.number === 1) : []) {
    const c = decodeMessage(entry.bytes!);
    const type = stringField(c, 1) ?? '';
    conditions[type] = { type, status: varintField(c, 2) === 1, reason: stringField(c, 3) ?? '', message: stringField(c, 4) ?? '' };
  }
  const handlerEntries = fields.filter((f) => f.number === 3);
  if (handlerEntries.length > 0) {
    // RuntimeHandler { string name = 1; RuntimeHandlerFeatures features = 2; } (the default handler has name "")
    const names = handlerEntries.map((f) => stringField(decodeMessage(f.bytes!), 1) ?? '').filter((n) => n !== '');
    return { handlers: names.sort(), source: 'CRI runtime_handlers', conditions };
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
    if (runtimes && typeof runtimes === 'object') return { handlers: Object.keys(runtimes).sort(), source: 'containerd\'s CRI config (verbose status)', conditions };
  }
  return { handlers: undefined, source: 'CRI status (no handler list)', conditions };
}

/** How a pod sandbox is set up: what `RunPodSandbox` needs here. */
export interface SandboxRequest {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly labels: { readonly [key: string]: string };
  /** The runtime handler (the RuntimeClass's `handler`). */
  readonly handler: string;
  /** The node's network namespace instead of the pod network. */
  readonly nodeNetwork: boolean;
  /** `linux.cgroup_parent`, as the kubelet gives it for the node's cgroup driver. */
  readonly cgroupParent: string;
}

/** A pod sandbox as `ListPodSandbox` and `PodSandboxStatus` describe it. */
export interface SandboxInfo {
  readonly id: string;
  readonly ready: boolean;
  readonly labels: { readonly [key: string]: string };
}

/** `RuntimeService/RunPodSandbox`; resolves to the sandbox's id. */
export async function runPodSandbox(socket: string, request: SandboxRequest, timeoutMs: number): Promise<string> {
  // PodSandboxMetadata { string name = 1; string uid = 2; string namespace = 3; uint32 attempt = 4; }
  const metadata = encode([[1, request.name], [2, request.uid], [3, request.namespace]]);
  // NamespaceOption { NamespaceMode network = 1; pid = 2; ipc = 3; } with POD = 0, CONTAINER = 1, NODE = 2.
  // One PID namespace for the pod (as with shareProcessNamespace): CRI-O then starts the sandbox's
  // infra container through the handler (with a namespace per container it starts none, and the
  // runtime would not run until the first app container); containerd always starts one.
  const namespaces = encode([[1, request.nodeNetwork ? 2 : 0], [2, 0], [3, 0]]);
  // LinuxSandboxSecurityContext { NamespaceOption namespace_options = 1; };
  // LinuxPodSandboxConfig { string cgroup_parent = 1; LinuxSandboxSecurityContext security_context = 2; }
  const linux = encode([[1, request.cgroupParent], [2, encode([[1, namespaces]])]]);
  // PodSandboxConfig { metadata = 1; map<string, string> labels = 6; LinuxPodSandboxConfig linux = 8; }
  const config = encode([[1, metadata], ...mapEntries(6, request.labels), [8, linux]]);
  // RunPodSandboxRequest { PodSandboxConfig config = 1; string runtime_handler = 2; } -> { string pod_sandbox_id = 1; }
  const reply = await grpcCall(socket, '/runtime.v1.RuntimeService/RunPodSandbox', encode([[1, config], [2, request.handler]]), timeoutMs);
  const id = stringField(decodeMessage(reply), 1);
  if (!id) throw new Error('RunPodSandbox answered without a sandbox id');
  return id;
}

/** `RuntimeService/PodSandboxStatus`. */
export async function podSandboxStatus(socket: string, id: string, timeoutMs: number): Promise<SandboxInfo> {
  // PodSandboxStatusRequest { string pod_sandbox_id = 1; } -> { PodSandboxStatus status = 1; }
  const reply = await grpcCall(socket, '/runtime.v1.RuntimeService/PodSandboxStatus', encode([[1, id]]), timeoutMs);
  const status = decodeMessage(reply).find((f) => f.number === 1);
  if (!status) throw new Error(`PodSandboxStatus of ${id} answered without a status`);
  // PodSandboxStatus { string id = 1; PodSandboxState state = 3; map<string, string> labels = 7; }
  return sandboxInfo(decodeMessage(status.bytes!), 3, 7);
}

/** `RuntimeService/ListPodSandbox` of the sandboxes carrying every one of `labels`. */
export async function listPodSandboxes(socket: string, labels: { readonly [key: string]: string }, timeoutMs: number): Promise<SandboxInfo[]> {
  // ListPodSandboxRequest { PodSandboxFilter filter = 1; }; PodSandboxFilter { map<string, string> label_selector = 3; }
  const request = encode([[1, encode(mapEntries(3, labels))]]);
  const reply = await grpcCall(socket, '/runtime.v1.RuntimeService/ListPodSandbox', request, timeoutMs);
  // ListPodSandboxResponse { repeated PodSandbox items = 1; }; PodSandbox { id = 1; state = 3; map labels = 5; }
  return decodeMessage(reply).filter((f) => f.number === 1).map((f) => sandboxInfo(decodeMessage(f.bytes!), 3, 5));
}

/** `RuntimeService/StopPodSandbox` (idempotent in CRI). */
export async function stopPodSandbox(socket: string, id: string, timeoutMs: number): Promise<void> {
  await grpcCall(socket, '/runtime.v1.RuntimeService/StopPodSandbox', encode([[1, id]]), timeoutMs);
}

/** `RuntimeService/RemovePodSandbox` (idempotent in CRI). */
export async function removePodSandbox(socket: string, id: string, timeoutMs: number): Promise<void> {
  await grpcCall(socket, '/runtime.v1.RuntimeService/RemovePodSandbox', encode([[1, id]]), timeoutMs);
}

function sandboxInfo(fields: Field[], stateField: number, labelsField: number): SandboxInfo {
  const labels: { [key: string]: string } = {};
  for (const entry of fields.filter((f) => f.number === labelsField)) {
    const kv = decodeMessage(entry.bytes!);
    labels[stringField(kv, 1) ?? ''] = stringField(kv, 2) ?? '';
  }
  // PodSandboxState { SANDBOX_READY = 0; SANDBOX_NOTREADY = 1; }: proto3 leaves 0 out.
  return { id: stringField(fields, 1) ?? '', ready: (varintField(fields, stateField) ?? 0) === 0, labels };
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
  return waitingOn('runtime', new Promise((resolve, reject) => {
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
  }));
}

interface Field {
  readonly number: number;
  readonly bytes?: Buffer;
  readonly value?: number;
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
    if (wire === 0) {
      fields.push({ number, value: varint() });
    } else if (wire === 1) {
      offset += 8;
    } else if (wire === 5) {
      offset += 4;
    } else if (wire === 2) {
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

function varintField(fields: Field[], number: number): number | undefined {
  return fields.find((f) => f.number === number)?.value;
}

/** A protobuf field to encode: a string or nested message (length-delimited), a number or boolean (varint). */
type FieldValue = string | Buffer | number | boolean;

/** Encodes fields in order; empty strings, zero and false are left out, as proto3 does. */
function encode(fields: Array<[number, FieldValue]>): Buffer {
  const parts: Buffer[] = [];
  for (const [number, value] of fields) {
    if (typeof value === 'number' || typeof value === 'boolean') {
      const n = Number(value);
      if (n !== 0) parts.push(varintBytes(number * 8), varintBytes(n));
      continue;
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (typeof value === 'string' && bytes.length === 0) continue;
    parts.push(varintBytes(number * 8 + 2), varintBytes(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/** A `map<string, string>` field: one entry message (key = 1, value = 2) per pair, sorted by key. */
function mapEntries(number: number, map: { readonly [key: string]: string }): Array<[number, FieldValue]> {
  return Object.keys(map).sort().map((key): [number, FieldValue] => [number, encode([[1, key], [2, map[key]]])]);
}

function varintBytes(n: number): Buffer {
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
