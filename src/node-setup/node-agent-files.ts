import * as fs from 'fs';
import * as path from 'path';
import { renderContainerdRuntimeTables, renderCrioDropIn } from '../containerd';
import { assertUniqueHandlers } from '../containerd/validation';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from '../core/names';
import { destinationProblem, hostPathProblem } from '../node-agent/destinations';
import { DISTRIBUTIONS } from '../node-agent/distributions';
import { crioHandlerKey, handlerTablesKey, InstallerArtifact, InstallerSpec, SPEC_FILE, TablesName } from '../node-agent/setup-spec';

const ARCHES: readonly string[] = ['amd64', 'arm64', 'any'];
const SOURCES: readonly string[] = ['image', 'url', 'preinstalled'];
const SHA512_HEX = /^[0-9a-f]{128}$/;

/** The ConfigMap key of the agent's entry point (the DaemonSet runs `node <dir>/agent.js`). */
export const AGENT_ENTRY = 'agent.js';

/** The ConfigMap key of the agent container's readiness probe (`node <dir>/probe.js`). */
export const PROBE_ENTRY = 'probe.js';

/**
 * Builds the node setup ConfigMap's `data`: the node agent's code, its spec, and the rendered
 * configuration it writes.
 *
 * Keys (the contract with the agent, which reads them from its own directory):
 * - the agent's modules (`agent.js`, `lifecycle.js`, ...): plain CommonJS that needs only Node;
 * - `spec.json`: the {@link InstallerSpec}, host files and artifacts included;
 * - per handler: `containerd-v1.<handler>.toml`, `containerd-v2.<handler>.toml` and
 *   `containerd-v3.<handler>.toml`, its runtime tables for each CRI plugin layout; for handlers
 *   that follow the node's runc cgroup driver, each also as `<...>.systemd.toml`. On each node the
 *   agent joins the tables of the handlers that node can run into the fragment it writes
 *   (`assembleFragment`): for every handler, byte for byte the fragment of the whole set;
 * - `crio.<handler>.conf`: the handler's CRI-O table, when it has a CRI-O configuration.
 *
 * Deterministic: the same spec gives the same keys and bytes.
 *
 * @throws Error for an invalid spec (setup name not a DNS-1123 label, a ready label for an unknown
 *   handler, a bad label key, an unknown distribution, an artifact without a 128-hex-digit sha512
 *   for a URL, a destination the node setup may not write, ...).
 */
export function renderNodeAgentFiles(spec: InstallerSpec): { [key: string]: string } {
  validateSpec(spec);
  const files: { [key: string]: string } = { ...nodeAgentCode() };
  files[SPEC_FILE] = `${JSON.stringify(spec, undefined, 2)}\n`;
  // Per handler, so that the agent installs on each node the handlers its classes can run there.
  for (const handler of spec.handlers) {
    const variants = handler.systemdCgroupFromNode ? [false, true] : [false];
    for (const systemdCgroup of variants) {
      const render = (name: TablesName, schema: 1 | 2 | 3) => {
        files[handlerTablesKey(name, handler.handler, systemdCgroup)] = renderContainerdRuntimeTables([handler], schema, { systemdCgroup });
      };
      render('containerd-v1', 1);
      render('containerd-v2', 2);
      render('containerd-v3', 3);
    }
    const crio = renderCrioDropIn([handler]);
    if (crio !== '') files[crioHandlerKey(handler.handler)] = crio;
  }
  const sorted: { [key: string]: string } = {};
  for (const key of Object.keys(files).sort()) sorted[key] = files[key];
  return sorted;
}

let agentCode: { [key: string]: string } | undefined;

/**
 * The node agent's modules as ConfigMap entries. In the published package they are the
 * compiled files next to this one; run from the TypeScript sources (this library's own tests)
 * they are transpiled with the same compiler settings.
 */
export function nodeAgentCode(): { [key: string]: string } {
  if (agentCode) return agentCode;
  const dir = path.join(__dirname, '..', 'node-agent');
  const compiled = fs.existsSync(path.join(dir, AGENT_ENTRY));
  const load = (name: string): string | undefined => {
    if (compiled) {
      const file = path.join(dir, name);
      return fs.existsSync(file) ? withoutSourceMap(fs.readFileSync(file, 'utf8')) : undefined;
    }
    const source = path.join(dir, name.replace(/\.js$/, '.ts'));
    if (!fs.existsSync(source)) return undefined;
    // Only this library's own tests run from the sources, with TypeScript installed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
    const ts = require('typescript');
    return ts.transpileModule(fs.readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: path.basename(source),
    }).outputText;
  };
  // The modules agent.js and probe.js reach through `require('./...')`: exactly what they run, nothing stale.
  const code: { [key: string]: string } = {};
  const pending = [AGENT_ENTRY, PROBE_ENTRY];
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (code[name] !== undefined) continue;
    const text = load(name);
    if (text === undefined) throw new Error(`the node agent's module ${name} is missing from ${dir}: reinstall cdk8s-runtimeclass`);
    code[name] = text;
    for (const m of text.matchAll(/require\("\.\/([^"]+)"\)/g)) pending.push(m[1].endsWith('.js') ? m[1] : `${m[1]}.js`);
  }
  agentCode = {};
  for (const name of Object.keys(code).sort()) agentCode[name] = code[name];
  return agentCode;
}

function withoutSourceMap(text: string): string {
  return text.replace(/\n\/\/# sourceMappingURL=data:[^\n]*\n?$/, '\n');
}

function validateSpec(spec: InstallerSpec): void {
  if (spec === null || typeof spec !== 'object') {
    throw new Error(`installer spec expected, got ${JSON.stringify(spec)}`);
  }
  // Names files on the node and the marker comments: a DNS-1123 label.
  if (typeof spec.setupName !== 'string' || dns1123LabelProblem(spec.setupName) !== undefined) {
    throw new Error(
      `node setup name ${JSON.stringify(spec.setupName)} is not a DNS-1123 label (at most 63 lowercase letters, digits and "-"): `
      + 'it names files on the node and the marker comments in containerd\'s config',
    );
  }
  const context = `node setup ${JSON.stringify(spec.setupName)}`;
  if (!Array.isArray(spec.handlers)) {
    throw new Error(`${context}: handlers must be a list`);
  }
  const names = spec.handlers.map((h) => h?.handler);
  assertUniqueHandlers(names, context);
  for (const [handler, key] of Object.entries(spec.readyLabels ?? {})) {
    if (!names.includes(handler)) {
      throw new Error(`${context}: ready label ${JSON.stringify(key)} is for handler ${JSON.stringify(handler)}, which is not one of its handlers (${names.join(', ') || 'none'})`);
    }
    assertLabelKey(key, `${context}: ready label of handler ${JSON.stringify(handler)}`);
  }
  if (spec.distribution !== 'auto' && !(DISTRIBUTIONS as readonly string[]).includes(spec.distribution)) {
    throw new Error(`${context}: distribution ${JSON.stringify(spec.distribution)} is not one of auto, ${DISTRIBUTIONS.join(', ')}`);
  }
  for (const [handler, selectors] of Object.entries(spec.classNodeSelectors ?? {})) {
    if (!names.includes(handler)) throw new Error(`${context}: classNodeSelectors names "${handler}", which is not one of the handlers`);
    if (!Array.isArray(selectors) || selectors.length === 0) throw new Error(`${context}: classNodeSelectors of "${handler}" must be a non-empty list of node selectors`);
    for (const selector of selectors) {
      for (const [key, value] of Object.entries(selector ?? {})) {
        assertLabelKey(key, `${context}: class node selector of handler "${handler}"`);
        if (typeof value !== 'string' || labelValueProblem(value) !== undefined) {
          throw new Error(`${context}: class node selector value ${JSON.stringify(value)} of ${JSON.stringify(key)} (handler "${handler}") is not a valid label value`);
        }
      }
    }
  }
  for (const handler of spec.kvmHandlers ?? []) {
    if (!names.includes(handler)) throw new Error(`${context}: kvmHandlers names "${handler}", which is not one of the handlers`);
  }
  if (spec.daemonSetName !== undefined && (typeof spec.daemonSetName !== 'string' || dns1123SubdomainProblem(spec.daemonSetName) !== undefined)) {
    throw new Error(`${context}: daemonSetName ${JSON.stringify(spec.daemonSetName)} is not a valid object name`);
  }
  for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) {
    assertLabelKey(key, `${context}: nodeSelector`);
    if (typeof value !== 'string' || labelValueProblem(value) !== undefined) {
      throw new Error(`${context}: nodeSelector value ${JSON.stringify(value)} of ${JSON.stringify(key)} is not a valid label value`);
    }
  }
  (spec.artifacts ?? []).forEach((artifact, i) => {
    validateArtifact(artifact, `${context}: artifact ${i + 1}`);
    assertHandlers(artifact.handlers, names, `${context}: artifact ${i + 1}`);
  });
  for (const [handler, check] of Object.entries(spec.runscChecks ?? {})) {
    if (!names.includes(handler)) throw new Error(`${context}: runscChecks names "${handler}", which is not one of the handlers`);
    const problem = hostPathProblem(check.binary);
    if (problem) throw new Error(`${context}: runsc binary ${JSON.stringify(check.binary)} of handler "${handler}" ${problem}`);
  }
  for (const hostPath of Object.keys(spec.hostFiles ?? {})) {
    assertDestination(hostPath, false, `${context}: host file`);
    if (typeof spec.hostFiles[hostPath] !== 'string') {
      throw new Error(`${context}: host file ${hostPath}: content must be a string`);
    }
  }
  for (const [hostPath, handlers] of Object.entries(spec.hostFileHandlers ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(spec.hostFiles ?? {}, hostPath)) throw new Error(`${context}: hostFileHandlers names ${hostPath}, which is not one of the host files`);
    assertHandlers(handlers, names, `${context}: host file ${hostPath}`);
  }
}

/** The handlers a file is installed for: absent (every handler), or a list of the setup's handlers. */
function assertHandlers(handlers: unknown, names: readonly string[], context: string): void {
  if (handlers === undefined) return;
  if (!Array.isArray(handlers) || handlers.length === 0) throw new Error(`${context}: handlers must be a non-empty list of the setup's handlers, got ${JSON.stringify(handlers)}`);
  for (const handler of handlers) {
    if (!names.includes(handler)) throw new Error(`${context}: handlers names ${JSON.stringify(handler)}, which is not one of the setup's handlers (${names.join(', ')})`);
  }
}

function validateArtifact(artifact: InstallerArtifact, context: string): void {
  if (!ARCHES.includes(artifact.arch)) {
    throw new Error(`${context}: arch ${JSON.stringify(artifact.arch)} is not one of ${ARCHES.join(', ')}`);
  }
  if (!SOURCES.includes(artifact.source)) {
    throw new Error(`${context}: source ${JSON.stringify(artifact.source)} is not one of ${SOURCES.join(', ')}`);
  }
  if (typeof artifact.location !== 'string' || artifact.location === '' || /[\t\n\r]/.test(artifact.location)) {
    throw new Error(`${context}: location ${JSON.stringify(artifact.location)} must be a non-empty string without TAB or newline characters`);
  }
  if (artifact.source === 'url') {
    if (typeof artifact.sha512 !== 'string' || !SHA512_HEX.test(artifact.sha512)) {
      throw new Error(`${context}: a URL artifact needs its sha512 as 128 lowercase hex digits, got ${JSON.stringify(artifact.sha512)}`);
    }
  } else if (artifact.sha512 !== undefined) {
    throw new Error(`${context}: sha512 is only checked for URL artifacts`);
  }
  if (artifact.source === 'preinstalled') {
    const problem = hostPathProblem(artifact.location);
    if (problem) throw new Error(`${context}: preinstalled location ${JSON.stringify(artifact.location)} ${problem}`);
    if (artifact.destination !== undefined) {
      throw new Error(`${context}: a preinstalled artifact has no destination (it is only checked at ${artifact.location})`);
    }
  } else {
    if (artifact.destination === undefined) {
      throw new Error(`${context}: destination (absolute host path) is required for ${artifact.source} artifacts`);
    }
    // An image artifact may be a directory: check it as one (the stricter rule).
    assertDestination(artifact.destination, artifact.source === 'image', `${context}: destination`);
  }
}

function assertDestination(value: string, tree: boolean, context: string): void {
  const problem = destinationProblem(value, tree);
  if (problem) throw new Error(`${context} ${JSON.stringify(value)} ${problem}`);
}

function assertLabelKey(key: unknown, context: string): void {
  if (typeof key !== 'string') {
    throw new Error(`${context}: label key must be a string, got ${JSON.stringify(key)}`);
  }
  if (qualifiedNameProblem(key) !== undefined) {
    throw new Error(`${context}: ${JSON.stringify(key)} is not a valid label key ([prefix/]name, name at most 63 characters)`);
  }
}
