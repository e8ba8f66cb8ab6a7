import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CRI_V1, CRI_V2, HostContainerd } from './containerd';
import { DistributionFacts } from './distributions';
import { HostFs } from './host-fs';
import { Log, Refusal } from './log';
import { assembleCrioFragment, assembleFragment, FragmentName } from './setup-spec';
import {
  addImport, appendBlock, bytesOf, extractBlock, importCovers, importsOf, markers, ourText, rootVersion, runtimeHandlers,
  snapshotterPool, stripBlock, systemdCgroupOf, tableLine, textOf,
} from './toml-text';
import type { HandlerConfig } from '../containerd/handler-config';

/**
 * The largest configuration file the agent reads (containerd and CRI-O files are a few KB). The
 * agent holds a few copies of a file while it edits it: the DaemonSet's memory limit is sized
 * for a file of this size.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The bytes of the configuration file at `hostPath` (links followed), or undefined; a file above {@link MAX_CONFIG_BYTES} is refused before it is read. */
export function readConfig(host: HostFs, hostPath: string): Buffer | undefined {
  let size: number;
  try {
    const stat = fs.statSync(host.resolve(hostPath, true));
    size = stat.isFile() ? stat.size : 0;
  } catch {
    size = 0;
  }
  if (size > MAX_CONFIG_BYTES) throw tooLarge(`refusing to read ${hostPath}: it is ${size} bytes`, hostPath);
  return host.read(hostPath);
}

/** Refuses a file the agent would not read back (uninstall reads what install wrote). */
function refuseLargeEdit(hostPath: string, bytes: Buffer): void {
  if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(`refusing to change ${hostPath}: with our runtimes added it would be ${bytes.length} bytes`, hostPath);
}

function tooLarge(what: string, hostPath: string): Refusal {
  return new Refusal(`${what}, more than the ${MAX_CONFIG_BYTES} bytes (${MAX_CONFIG_BYTES / 1024 / 1024} MiB) the node agent reads in a configuration file (containerd and CRI-O configurations are a few KB; the agent's memory limit is sized for this one). Nothing was changed. Fix: make ${hostPath} smaller (move what makes it large to another file or remove it), then restart this pod`);
}

function optionalText(bytes: Buffer | undefined): string | undefined {
  return bytes === undefined ? undefined : textOf(bytes);
}

/** A change to the runtime's configuration, computed and checked before anything is written. */
export interface ConfigChange {
  readonly path: string;
  /** `config`: a file we edit in place; `runtime-config`: a whole file of ours. */
  readonly kind: 'config' | 'runtime-config';
  /** The new bytes, or undefined to remove the file. */
  readonly bytes: Buffer | undefined;
  /** For a `config` that does not exist yet: what it is created from (removed again on uninstall when unchanged). */
  readonly skeleton?: Buffer;
  /** For a containerd 2.x main file: the drop-in its `imports` gained. */
  readonly importPath?: string;
}

/** What planning needs to know. */
export interface ConfigContext {
  readonly setupName: string;
  readonly handlers: readonly HandlerConfig[];
  readonly host: HostFs;
  /** The ConfigMap directory holding the rendered fragments. */
  readonly configDir: string;
  readonly distribution: DistributionFacts;
  readonly containerd?: HostContainerd;
  /** CONTAINERD_CONFIG: containerd's main file on the host. */
  readonly containerdConfig: string;
  readonly log: Log;
}

const HEADER = (setupName: string, handlers: string) => [
  `# Managed by the cdk8s-runtimeclass node setup '${setupName}' (runtime handlers: ${handlers}).`,
  '# Rewritten on every install and removed on uninstall: do not edit between these markers.',
];

const DROPIN_HEADER = (setupName: string, handlers: string) => [
  `# Written by the cdk8s-runtimeclass node setup '${setupName}' (runtime handlers: ${handlers}).`,
  '# Rewritten on every install and removed on uninstall: do not edit.',
];

/** The configuration changes for the handlers this node can run, and the handlers it cannot run with the reason for each. */
export interface RuntimeConfigPlan {
  readonly changes: ConfigChange[];
  /** The handlers planned (in the spec's order). */
  readonly handlers: string[];
  /** Handler -> why this node's runtime cannot run it (a snapshotter it lacks): not in the plan. */
  readonly skipped: { readonly [handler: string]: string };
}

/**
 * The configuration changes that add this setup's handlers on this node (none when they are in
 * place). A handler the node's runtime cannot run (a per-handler snapshotter that containerd does
 * not set up or ignores) is left out, with its reason, and the others are planned without it.
 * With none left: no change, every handler skipped.
 */
export async function planRuntimeConfig(ctx: ConfigContext): Promise<RuntimeConfigPlan> {
  const skipped: { [handler: string]: string } = {};
  let handlers = ctx.handlers;
  for (;;) {
    if (handlers.length === 0) return { changes: [], handlers: [], skipped };
    try {
      const changes = await planFor({ ...ctx, handlers });
      return { changes, handlers: handlers.map((h) => h.handler), skipped };
    } catch (e) {
      if (!(e instanceof Unplaceable)) throw e;
      Object.assign(skipped, e.reasons);
      handlers = handlers.filter((h) => e.reasons[h.handler] === undefined);
    }
  }
}

function planFor(ctx: ConfigContext): Promise<ConfigChange[]> {
  const planner = new Planner(ctx);
  switch (ctx.distribution.name) {
    case 'containerd': return planner.containerd();
    case 'k3s':
    case 'rke2': return planner.rancher();
    case 'microk8s': return planner.microk8s();
    case 'k0s': return planner.k0s();
    case 'crio': return planner.crio();
  }
}

/** Handlers this node's runtime cannot run, with the reason for each: planning starts again without them. */
class Unplaceable extends Error {
  public constructor(public readonly reasons: { readonly [handler: string]: string }) {
    super(Object.entries(reasons).map(([h, r]) => `${h}: ${r}`).join('; '));
  }
}

class Planner {
  private readonly names: string[];
  private readonly handlerList: string;

  public constructor(private readonly ctx: ConfigContext) {
    this.names = ctx.handlers.map((h) => h.handler);
    this.handlerList = this.names.join(' ');
  }

  // ---- plain containerd -------------------------------------------------------------------

  public async containerd(): Promise<ConfigChange[]> {
    const ctr = this.runnableContainerd();
    // A per-handler snapshotter arrived in containerd 1.7; 1.6 accepts the key and drops it.
    if (ctr.major === 1 && (ctr.minor ?? 0) <= 6 && this.ctx.handlers.some((h) => h.snapshotter)) {
      const reasons: { [handler: string]: string } = {};
      for (const h of this.ctx.handlers.filter((x) => x.snapshotter)) {
        reasons[h.handler] = `containerd ${ctr.version} ignores per-handler snapshotters (they arrived in 1.7) and this handler needs the ${h.snapshotter} snapshotter: its pods would fail at sandbox creation. Fix: upgrade containerd to 1.7 or later on this node, or keep the class off it with a nodeSelector`;
      }
      throw new Unplaceable(reasons);
    }
    const main = this.ctx.containerdConfig;
    const current = this.read(main);
    if (current === undefined) {
      if ((ctr.major ?? 1) >= 2) {
        this.ctx.log.info(`${main} does not exist: creating it (config version 3) to import our drop-in`);
        return this.containerdDropIn(ctr);
      }
      this.ctx.log.info(`${main} does not exist: creating a version 2 config that keeps containerd's runc default`);
      return this.inPlace({ target: main, fragment: 'containerd-v2', mode: 'direct', plugin: CRI_V1, skeleton: Buffer.from(this.v2Skeleton(main)) });
    }
    const schema = rootVersion(textOf(current));
    if (schema === undefined) {
      throw new Refusal(`refusing to change anything: ${main} has an unreadable root 'version' line`);
    }
    this.ctx.log.info(`${main}: config version ${schema}`);
    if (schema >= 3) {
      if ((ctr.major ?? 1) < 2) {
        throw new Refusal(`refusing to change anything: ${main} is config version ${schema}, but this node runs containerd ${ctr.version}, which loads such a file and silently ignores every io.containerd.cri.v1.* setting in it. Fix: use a version 2 config with containerd 1.x (containerd config default), or upgrade containerd to 2.x`);
      }
      return this.containerdDropIn(ctr);
    }
    // Versions 1 and 2: tables appended between markers (containerd 1.x imports replace a
    // plugin's whole table, so a drop-in holding only our runtimes would drop runc).
    // The skeleton goes with every setup's record: whichever setup leaves last removes a file another one created.
    return this.inPlace({ target: main, fragment: schema === 1 ? 'containerd-v1' : 'containerd-v2', mode: 'direct', plugin: ctr.criPlugin, skeleton: Buffer.from(this.v2Skeleton(main)) });
  }

  private v2Skeleton(main: string): string {
    return [
      `# Written by a cdk8s-runtimeclass node setup: ${main} did not exist.`,
      '# containerd\'s defaults (runc as the default runtime) plus the runtimes between the markers below.',
      '# Removed on uninstall.',
      'version = 2', '',
      '[plugins."io.containerd.grpc.v1.cri".containerd]', '  default_runtime_name = "runc"', '',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]', '  runtime_type = "io.containerd.runc.v2"', '', '',
    ].join('\n');
  }

  private runnableContainerd(): HostContainerd {
    const ctr = this.ctx.containerd;
    if (!ctr?.runs) {
      throw new Refusal(`cannot run the host's containerd ('${ctr?.commandLine ?? 'containerd'} --version' failed); every change is validated with it. Fix: make sure containerd is installed on the node, or set HOST_CONTAINERD to a command that runs it`);
    }
    return ctr;
  }

  /** containerd 2.x (or a main file of version 3/4): our drop-in, imported by the main file. */
  private async containerdDropIn(ctr: HostContainerd): Promise<ConfigChange[]> {
    const main = this.ctx.containerdConfig;
    const mainDir = path.posix.dirname(main);
    // containerd 2.2+ also imports conf.d/*.toml by default; older 2.x need the main file to import it.
    const dropIn = `${mainDir}/conf.d/${this.ctx.setupName}.toml`;
    const current = this.read(main);
    const old: string[] = [];
    let systemd = false;
    let before: string | undefined;
    if (current !== undefined) {
      before = await this.dump(main, `refusing to change anything: containerd cannot read ${main} as it is now`, 'Fix the file on the node, then restart this pod');
      const ownDropIn = this.read(dropIn) !== undefined;
      for (const handler of runtimeHandlers(before, CRI_V2)) {
        if (!this.names.includes(handler)) old.push(handler);
        else if (!ownDropIn) this.refuseConflict(`${main} (or a file it imports)`, handler, undefined);
      }
      systemd = systemdCgroupOf(before, CRI_V2);
      this.refuseTextConflicts(textOf(current), main);
    }
    for (const name of this.ctx.host.list(`${mainDir}/conf.d`).filter((n) => n.endsWith('.toml'))) {
      const other = `${mainDir}/conf.d/${name}`;
      if (other !== dropIn) this.refuseTextConflicts(textOf(this.read(other) ?? Buffer.alloc(0)), other);
    }
    const dropInBytes = Buffer.from([...DROPIN_HEADER(this.ctx.setupName, this.handlerList), this.fragment('containerd-v3', systemd)].join('\n'));
    const skeleton = Buffer.from(`# Written by a cdk8s-runtimeclass node setup: ${main} did not exist. Removed on uninstall.\nversion = 3\n`);
    const base = textOf(current ?? skeleton!);
    const covered = importsOf(base).some((pattern) => importCovers(pattern, dropIn, mainDir));
    const candidate = covered ? base : addImport(base, dropIn);
    refuseLargeEdit(main, bytesOf(candidate));
    if (current !== undefined && candidate === base && this.read(dropIn)?.equals(dropInBytes)) {
      // Nothing to change: the dump of the main file as it is (our drop-in imported) must list every handler.
      this.checkHandlers(before!, CRI_V2, old, main, ctr);
      return [];
    }
    // Check the candidate as containerd will read it: the main file importing the new drop-in.
    const after = await this.withCheckFile(dropIn, dropInBytes, (checkDropIn) =>
      this.withCheckFile(main, bytesOf(addImport(base, checkDropIn)), (checkMain) =>
        this.dump(checkMain, 'containerd rejects the configuration with our drop-in imported', 'Nothing was changed')));
    this.checkHandlers(after, CRI_V2, old, main, ctr);
    const changes: ConfigChange[] = [];
    if (!this.read(dropIn)?.equals(dropInBytes)) changes.push({ path: dropIn, kind: 'runtime-config', bytes: dropInBytes });
    if (current === undefined || candidate !== base) {
      changes.push({ path: main, kind: 'config', bytes: bytesOf(candidate), skeleton, importPath: candidate !== base ? dropIn : undefined });
    }
    return changes;
  }

  // ---- k3s, rke2, microk8s, k0s, CRI-O ------------------------------------------------------

  /**
   * k3s / rke2: their containerd config template, rendered into config.toml when they start
   * (k3s pkg/agent/containerd/config.go: config-v3.toml.tmpl, else config.toml.tmpl; both may
   * start with `{{ template "base" . }}` to extend the built-in template).
   */
  public async rancher(): Promise<ConfigChange[]> {
    const dir = `/var/lib/rancher/${this.ctx.distribution.name}/agent/etc/containerd`;
    const rendered = `${dir}/config.toml`;
    const renderedText = optionalText(this.read(rendered));
    if (renderedText === undefined) {
      throw new Refusal(`${rendered} does not exist: ${this.ctx.distribution.name} has not configured containerd on this node yet. This pod retries when restarted`);
    }
    const renderedVersion = rootVersion(renderedText) ?? 2;
    let template: string;
    let schema: number;
    if (this.read(`${dir}/config-v3.toml.tmpl`) !== undefined) [template, schema] = [`${dir}/config-v3.toml.tmpl`, 3];
    else if (this.read(`${dir}/config.toml.tmpl`) !== undefined) [template, schema] = [`${dir}/config.toml.tmpl`, renderedVersion];
    else if (renderedVersion >= 3) [template, schema] = [`${dir}/config-v3.toml.tmpl`, 3];
    else [template, schema] = [`${dir}/config.toml.tmpl`, 2];
    const fragment: FragmentName = schema >= 3 ? 'containerd-v3-tables' : schema === 1 ? 'containerd-v1' : 'containerd-v2';
    if (this.fragment(fragment, false).includes('{{')) {
      throw new Refusal(`the runtime tables contain '{{', which ${this.ctx.distribution.name}'s template engine would interpret`);
    }
    if (!this.ctx.containerd?.runs) this.ctx.log.warn(`cannot run ${this.ctx.distribution.name}'s containerd: checking ${rendered} as text only`);
    return this.inPlace({
      target: template,
      fragment,
      mode: 'rendered',
      rendered,
      plugin: this.pluginFor(schema),
      // The Go template comment renders to nothing; it marks the file as ours to remove.
      skeleton: Buffer.from('{{ template "base" . }}{{/* Written by a cdk8s-runtimeclass node setup: this template did not exist. Removed on uninstall. */}}\n'),
    });
  }

  /**
   * microk8s: args/containerd-template.toml, which the snap renders into args/containerd.toml
   * (filling in ${SNAP}, ${SNAP_DATA}, ${RUNTIME}) each time its containerd starts.
   */
  public async microk8s(): Promise<ConfigChange[]> {
    const template = '/var/snap/microk8s/current/args/containerd-template.toml';
    const schema = rootVersion(textOf(this.read(template) ?? Buffer.alloc(0))) ?? 2;
    if (!this.ctx.containerd?.runs) this.ctx.log.warn(`cannot run microk8s' containerd: checking ${template} as text only`);
    return this.inPlace({
      target: template, fragment: schema >= 3 ? 'containerd-v3-tables' : schema === 1 ? 'containerd-v1' : 'containerd-v2', mode: 'microk8s', plugin: this.pluginFor(schema),
    });
  }

  /**
   * k0s: a drop-in in /etc/k0s/containerd.d, which k0s merges into the CRI config it generates
   * (/run/k0s/containerd-cri.toml) as long as /etc/k0s/containerd.toml is k0s-managed.
   */
  public async k0s(): Promise<ConfigChange[]> {
    const main = '/etc/k0s/containerd.toml';
    const dropIn = `/etc/k0s/containerd.d/${this.ctx.setupName}.toml`;
    const mainText = optionalText(this.read(main));
    if (mainText !== undefined && mainText.split('\n')[0].replace(/\r$/, '') !== '# k0s_managed=true') {
      throw new Refusal(`refusing to change anything: ${main} is not managed by k0s (its first line is not '# k0s_managed=true'), so k0s ignores /etc/k0s/containerd.d. Fix: restore the k0s-managed file, or set the node setup's distribution to containerd with CONTAINERD_CONFIG=${main}`);
    }
    for (const name of this.ctx.host.list('/etc/k0s/containerd.d').filter((n) => n.endsWith('.toml'))) {
      const other = `/etc/k0s/containerd.d/${name}`;
      if (other !== dropIn) this.refuseTextConflicts(textOf(this.read(other) ?? Buffer.alloc(0)), other);
    }
    // The drop-in's schema follows k0s' containerd: 1.x reads version 2, 2.x version 3.
    const v2 = (this.ctx.containerd?.major ?? 1) >= 2;
    const plugin = v2 ? CRI_V2 : CRI_V1;
    const generated = optionalText(this.read('/run/k0s/containerd-cri.toml'));
    const systemd = generated !== undefined && systemdCgroupOf(generated, plugin);
    const body = v2 ? this.fragment('containerd-v3', systemd) : `version = 2\n\n${this.fragment('containerd-v2', systemd)}`;
    const bytes = Buffer.from([...DROPIN_HEADER(this.ctx.setupName, this.handlerList), body].join('\n'));
    if (this.read(dropIn)?.equals(bytes)) return [];
    if (this.ctx.containerd?.runs) {
      const after = await this.withCheckFile(dropIn, bytes, (check) => this.dump(check, 'containerd rejects our drop-in', 'Nothing was changed'));
      this.checkHandlers(after, plugin, [], dropIn, this.ctx.containerd);
    }
    return [{ path: dropIn, kind: 'runtime-config', bytes }];
  }

  /** CRI-O: a drop-in in /etc/crio/crio.conf.d (crio.conf(5)); CRI-O reads it on restart. */
  public async crio(): Promise<ConfigChange[]> {
    const dropIn = `/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-${this.ctx.setupName}.conf`;
    // A handler without a CRI-O table is left out here; the setup's other handlers install as usual.
    const missing = this.ctx.handlers.filter((h) => !h.crio).map((h) => h.handler);
    if (missing.length > 0) {
      throw new Unplaceable(Object.fromEntries(missing.map((h) => [h, 'this node runs CRI-O and this handler has a containerd configuration only. Fix: keep its class off CRI-O nodes with a nodeSelector, or give the runtime a CRI-O configuration'])));
    }
    this.refuseTextConflicts(textOf(this.read('/etc/crio/crio.conf') ?? Buffer.alloc(0)), '/etc/crio/crio.conf');
    for (const name of this.ctx.host.list('/etc/crio/crio.conf.d')) {
      const other = `/etc/crio/crio.conf.d/${name}`;
      if (other !== dropIn) this.refuseTextConflicts(textOf(this.read(other) ?? Buffer.alloc(0)), other);
    }
    const bytes = Buffer.from([...DROPIN_HEADER(this.ctx.setupName, this.handlerList), assembleCrioFragment(this.names, (key) => this.configMapFile(key))].join('\n'));
    return this.read(dropIn)?.equals(bytes) ? [] : [{ path: dropIn, kind: 'runtime-config', bytes }];
  }

  /**
   * The CRI plugin that holds runtimes in what the check reads: containerd's dump when it runs
   * (1.x shows version 1 files under io.containerd.grpc.v1.cri too), else the file's own tables.
   */
  private pluginFor(schema: number): string {
    if (this.ctx.containerd?.runs) return this.ctx.containerd.criPlugin;
    if (schema === 1) return 'cri';
    return schema >= 3 ? CRI_V2 : CRI_V1;
  }

  // ---- in-place edits -----------------------------------------------------------------------

  /**
   * A containerd 1.x-style edit of `target` (a config or template): our tables appended between
   * marker comments, nothing outside them touched.
   */
  private async inPlace(edit: InPlaceEdit): Promise<ConfigChange[]> {
    const current = this.read(edit.target);
    const stripped = stripBlock(textOf(current ?? edit.skeleton ?? Buffer.alloc(0)), this.ctx.setupName);
    if (!stripped.paired) {
      const { begin, end } = markers(this.ctx.setupName);
      throw new Refusal(`refusing to change anything: ${edit.target} has a '${begin}' line without its '${end}' line (or the other way round). Fix: delete the broken block by hand, then restart this pod`);
    }
    const base = stripped.text;
    if (current !== undefined && await this.alreadyInPlace(edit, current, base)) return [];
    // 1. The node as it is, without our block: must parse, must not define our handlers.
    const before = await this.checkRendered(edit, base, `refusing to change anything: containerd cannot read ${edit.target} as it is now`, 'Fix the file on the node, then restart this pod');
    const old = runtimeHandlers(before, edit.plugin);
    for (const handler of this.names.filter((h) => old.includes(h))) {
      const line = tableLine(base, handler);
      if (line === undefined && edit.rendered) {
        const rendered = stripBlock(textOf(this.read(edit.rendered) ?? Buffer.alloc(0)), this.ctx.setupName).text;
        this.refuseConflict(edit.rendered, handler, tableLine(rendered, handler));
      }
      this.refuseConflict(edit.target, handler, line);
    }
    this.refuseTextConflicts(base, edit.target);
    const systemd = systemdCgroupOf(before, edit.plugin);
    // 2. The candidate: the same bytes, then our block.
    const candidate = bytesOf(appendBlock(base, this.block(edit.fragment, systemd)));
    refuseLargeEdit(edit.target, candidate);
    const after = await this.checkRendered(edit, textOf(candidate), 'containerd rejects the configuration with our runtimes added', `${edit.target} was not changed`);
    this.checkHandlers(after, edit.plugin, old, edit.target, this.ctx.containerd);
    if (current?.equals(candidate)) {
      this.ctx.log.info(`${edit.target} already has runtime handler(s) ${this.handlerList} (SystemdCgroup = ${systemd})`);
      return [];
    }
    return [{ path: edit.target, kind: 'config', bytes: candidate, skeleton: edit.skeleton }];
  }

  /** Our marker block (as a binary string, without a final line end) with the fragment's tables for the node's cgroup driver. */
  private block(fragment: FragmentName, systemdCgroup: boolean): string {
    const { begin, end } = markers(this.ctx.setupName);
    return ourText([begin, ...HEADER(this.ctx.setupName, this.handlerList), this.fragment(fragment, systemdCgroup) + end].join('\n'));
  }

  /**
   * A re-run on a node that has our block as it would write it: containerd's dump of the file as
   * it is lists every handler, and nothing is written, not even a check file.
   */
  private async alreadyInPlace(edit: InPlaceEdit, current: Buffer, base: string): Promise<boolean> {
    if (edit.mode !== 'direct' || !this.ctx.containerd?.runs || extractBlock(textOf(current), this.ctx.setupName) === '') return false;
    const dump = await this.ctx.containerd.dump(edit.target);
    if (!dump.ok) return false;
    const systemd = systemdCgroupOf(dump.text, edit.plugin);
    const expected = appendBlock(base, this.block(edit.fragment, systemd));
    // An admin may have re-saved the whole file with CRLF line ends, our block included: still ours, as written.
    const withCrlf = base + expected.slice(base.length).replace(/\r?\n/g, '\r\n');
    if (!current.equals(bytesOf(expected)) && !current.equals(bytesOf(withCrlf))) return false;
    this.refuseTextConflicts(base, edit.target);
    this.checkHandlers(dump.text, edit.plugin, [], edit.target, this.ctx.containerd);
    this.ctx.log.info(`${edit.target} already has runtime handler(s) ${this.handlerList} (SystemdCgroup = ${systemd})`);
    return true;
  }

  /** `config dump` of what containerd would read for `text` as the edited file (or the text itself when containerd cannot run). */
  private async checkRendered(edit: InPlaceEdit, text: string, failure: string, fix: string): Promise<string> {
    let checked = text;
    if (edit.mode === 'microk8s') {
      checked = text.replace(/\$\{SNAP_DATA\}/g, '/var/snap/microk8s/current').replace(/\$\{SNAP\}/g, '/snap/microk8s/current');
    } else if (edit.mode === 'rendered') {
      const rendered = stripBlock(textOf(this.read(edit.rendered!) ?? Buffer.alloc(0)), this.ctx.setupName);
      if (!rendered.paired) throw new Refusal(`${edit.rendered} has unpaired '${markers(this.ctx.setupName).begin}' / '${markers(this.ctx.setupName).end}' lines: remove them by hand`);
      checked = rendered.text + extractBlock(text, this.ctx.setupName);
    }
    if (!this.ctx.containerd?.runs) return checked;
    const near = edit.mode === 'rendered' ? edit.rendered! : edit.target;
    return this.withCheckFile(near, bytesOf(checked), (check) => this.dump(check, failure, fix));
  }

  // ---- checks -------------------------------------------------------------------------------

  private async dump(hostPath: string, failure: string, fix: string): Promise<string> {
    const result = await this.ctx.containerd!.dump(hostPath);
    if (!result.ok) throw new Refusal(`${failure}: ${result.error}. ${fix}`);
    return result.text;
  }

  /** Every old and new handler is in containerd's merged view, each with the snapshotter it needs. */
  private checkHandlers(dump: string, plugin: string, old: string[], file: string, ctr: HostContainerd | undefined): void {
    const have = runtimeHandlers(dump, plugin);
    const missing = [...old, ...this.names].filter((h) => !have.includes(h));
    if (missing.length > 0) {
      const hint = plugin === CRI_V1 && ctr?.major === 1
        ? ` (containerd ${ctr.version} silently ignores io.containerd.cri.v1.* tables and version 3 or 4 files, and a file it imports that sets the CRI plugin replaces the plugin's whole table)`
        : '';
      throw new Refusal(`with the change, containerd's merged configuration for ${file} would not list runtime handler(s) ${missing.join(' ')} under plugins."${plugin}".containerd.runtimes${hint}. ${file} was not changed`);
    }
    if (!ctr?.runs) return;
    const reasons: { [handler: string]: string } = {};
    for (const handler of this.ctx.handlers.filter((h) => h.snapshotter)) {
      const snapshotter = handler.snapshotter!;
      const pool = snapshotterPool(dump, snapshotter);
      if (pool === undefined || (snapshotter === 'devmapper' && pool === '')) {
        reasons[handler.handler] = `it needs the ${snapshotter} snapshotter, and containerd's merged config for ${file} does not set it up (plugins."io.containerd.snapshotter.v1.${snapshotter}"${snapshotter === 'devmapper' ? ' has no pool_name' : ' is missing'}): its pods would fail at sandbox creation. Fix: configure the ${snapshotter} snapshotter on this node (for devmapper: a thin pool and its pool_name), or keep the class off it with a nodeSelector`;
      }
    }
    if (Object.keys(reasons).length > 0) throw new Unplaceable(reasons);
  }

  private refuseTextConflicts(text: string, file: string): void {
    for (const handler of this.names) {
      const line = tableLine(text, handler);
      if (line !== undefined) this.refuseConflict(file, handler, line);
    }
  }

  private refuseConflict(file: string, handler: string, line: string | undefined): never {
    const hint = ['k3s', 'rke2'].includes(this.ctx.distribution.name)
      ? ` (${this.ctx.distribution.name} adds runtimes it finds installed, e.g. crun, nvidia and wasm shims, to the config it renders)`
      : '';
    throw new Refusal(`refusing to change anything: ${file} already defines the runtime handler '${handler}'${line ? ` (line ${line})` : ''} and it was not written by the cdk8s-runtimeclass node setup '${this.ctx.setupName}'${hint}. Fix: remove or rename that table on the node, or give the RuntimeClass another handler name; then restart this pod`);
  }

  // ---- files --------------------------------------------------------------------------------

  /** A configuration file's bytes (undefined when absent), refused above {@link MAX_CONFIG_BYTES}. */
  private read(hostPath: string): Buffer | undefined {
    return readConfig(this.ctx.host, hostPath);
  }

  /** The fragment of the handlers planned, assembled from their per-handler tables in the ConfigMap. */
  private fragment(name: FragmentName, systemdCgroup: boolean): string {
    try {
      return assembleFragment(name, this.names, systemdCgroup, (key) => this.configMapFile(key));
    } catch (e: any) {
      throw new Refusal(e.message);
    }
  }

  private configMapFile(key: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.ctx.configDir, key), 'utf8');
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `check` with `bytes` in a temporary file next to `near` (so relative imports resolve
   * alike), removed afterwards; a killed run's leftover is removed by the next one. The file is
   * new (never one that was there, never through a link), under a name no one can guess, with
   * the mode and owner of `near` (0600 when `near` does not exist): a config holding
   * credentials is never copied to a file others can read.
   */
  private async withCheckFile<T>(near: string, bytes: Buffer, check: (hostPath: string) => Promise<T>): Promise<T> {
    const dir = this.ctx.host.nearestDirectory(path.posix.dirname(near));
    const hostPath = `${dir.replace(/\/$/, '')}/.${path.posix.basename(near)}.cdk8s-tmp-check-${randomBytes(8).toString('hex')}`;
    const source = this.ctx.host.entry(near, true);
    try {
      this.ctx.host.createFile(hostPath, bytes, source.type === 'file' ? { mode: source.mode, owner: source } : { mode: 0o600 });
    } catch (e: any) {
      throw new Refusal(`refusing to change anything: cannot write a check file next to ${near} on the node (${e.message}): the agent checks every change with containerd before making it. Fix the node (space, permissions, a read-only mount), then restart this pod`);
    }
    try {
      return await check(hostPath);
    } finally {
      fs.rmSync(this.ctx.host.resolve(hostPath, false), { force: true });
    }
  }
}

interface InPlaceEdit {
  readonly target: string;
  readonly fragment: FragmentName;
  /** direct: the file itself; rendered: a template whose rendering is `rendered`; microk8s: its template. */
  readonly mode: 'direct' | 'rendered' | 'microk8s';
  readonly rendered?: string;
  readonly plugin: string;
  readonly skeleton?: Buffer;
}
