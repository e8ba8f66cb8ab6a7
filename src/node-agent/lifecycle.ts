import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { artifactsFor, download, needed, noArtifactMessage, nodeArchitecture, planArtifacts } from './artifacts';
import { HostContainerd } from './containerd';
import { PROTECTED_PATHS } from './destinations';
import { detectDistribution, detectUnit, DistributionFacts } from './distributions';
import { HostFs } from './host-fs';
import { Kube } from './kube';
import { LOCK_FILE, NodeLock } from './lock';
import { Log, NothingToRun, Readiness, Refusal } from './log';
import { runscProblem } from './runsc';
import { ContainerRuntime, Served } from './runtime';
import { planRuntimeConfig } from './runtime-config';
import { checkSandbox, removeLeftoverChecks, SandboxCheckOptions } from './sandbox-check';
import { InstallerSpec } from './setup-spec';
import { otherSetupsClaims, SetupState, SpecGeneration, specOrderProblem, specToRecord, STATE_ROOT, StateStore } from './state';
import { step } from './steps';
import { markers } from './toml-text';
import { Change, Transaction } from './transaction';

/** How the agent reaches the host and the cluster (from the environment; see agent.ts). */
export interface Settings {
  readonly hostRoot: string;
  readonly configDir: string;
  readonly stateDir: string;
  readonly artifactsDir: string;
  readonly workDir: string;
  readonly systemctl: string[];
  readonly containerd?: string[];
  readonly containerdConfig: string;
  readonly criSocket?: string;
  readonly restartUnit?: string;
  readonly nodeName?: string;
  readonly podNamespace?: string;
  readonly verifyTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  /** The pod template generation of the agent's DaemonSet pod (orders overlapping agents); unknown when run by hand. */
  readonly specGeneration?: number;
  /** How long one check sandbox may take to start (a VM boots inside RunPodSandbox). */
  readonly sandboxTimeoutSeconds: number;
}

/** Directories where a killed run may have left temporary files of ours: those of the paths the agent manages. */
const RUNTIME_CONFIG_DIRS = [...new Set(PROTECTED_PATHS.flatMap((p) => [p, path.posix.dirname(p)]))];

/** One node setup's install and uninstall on this node. */
export class Lifecycle {
  private readonly host: HostFs;
  private readonly handlers: string[];
  private distribution: DistributionFacts | undefined;
  /** The CRI socket of the runtime last verified (a real path). */
  private socket: string | undefined;
  /**
   * The configuration change whose restart was not verified and was rolled back, with the reason:
   * not applied again by this process (each attempt restarts the runtime twice), only once the
   * planned bytes differ (a new spec, or the node's files changed) or the pod restarts.
   */
  private rejected: { digest: string; reason: string } | undefined;
  /** `containerd --version`, started before the lock is taken (the command it ran, and its answer). */
  private earlyProbe: { command: string; result: Promise<HostContainerd> } | undefined;
  /** The ready labels this process last set on the node (a re-check patches only on change). */
  private labelled: string[] | undefined;
  /** The spec this agent runs, as recorded in the state. */
  private readonly specGeneration: SpecGeneration;
  /**
   * What the last install found this node can run: the handlers its node labels and devices
   * allow (`offered`) and those of them it installed (`installed`). A re-check that finds
   * other node labels or devices installs again instead.
   */
  private placed: { offered: string[]; installed: string[] } | undefined;
  /** The handlers the last install left out on this node, with their reasons (the `unavailable` file's first line). */
  private notInstalled: string | undefined;

  public constructor(
    private readonly spec: InstallerSpec,
    private readonly settings: Settings,
    private readonly kube: Kube,
    private readonly log: Log,
    private readonly readiness: Readiness,
  ) {
    this.host = new HostFs(settings.hostRoot);
    this.handlers = spec.handlers.map((h) => h.handler);
    this.specGeneration = {
      sha256: createHash('sha256').update(JSON.stringify(spec)).digest('hex'),
      ...(settings.specGeneration !== undefined ? { generation: settings.specGeneration } : {}),
    };
  }

  // ---- install ------------------------------------------------------------------------------

  /**
   * Installs, restarts once if needed, verifies each handler with a real check sandbox, then
   * labels the verified ones. Any handler not verified loses its label, under the node lock,
   * before the run reports (a Refusal naming each failure). Returns the handlers labelled.
   */
  public async install(): Promise<string[]> {
    let offered: string[];
    let skipped: { [handler: string]: string };
    let artifacts: ReturnType<typeof artifactsFor>['artifacts'];
    let downloads: Awaited<ReturnType<typeof download>>;
    try {
      ({ offered, skipped } = await this.placement());
      // (A setup without handlers has nothing to skip: it runs as before, installing its files.)
      if (offered.length === 0 && this.handlers.length > 0) {
        await this.underLock(async () => {
          const { tx, distribution } = await this.open();
          this.refuseOlderSpec(tx.state);
          await this.withdraw(tx, () => this.runtimeOf(distribution, tx.state.unit));
        });
        this.reportSkipped(skipped);
        throw this.nothingRunnable(skipped);
      }
      ({ artifacts } = artifactsFor(this.spec, nodeArchitecture(), offered));
      downloads = await download(artifacts, this.settings.workDir, this.log);
    } catch (e) {
      await this.unlabelUnderLock();
      throw e;
    }
    let labelled: string[] = [];
    let installed: string[] = [];
    // The host's containerd tells its version while this run waits for the node lock.
    this.startContainerdProbe();
    await this.underLock(async () => {
      const { tx, distribution } = await this.open();
      try {
        this.refuseOlderSpec(tx.state);
        const runtime = await this.runtimeOf(distribution, tx.state.unit);
        this.distribution = distribution;
        const containerd = distribution.name === 'crio' ? undefined : await this.probeContainerd(distribution);
        this.removeStaleTemps(artifacts.map((a) => a.destination ?? a.location));
        const plan = await planRuntimeConfig({
          setupName: this.spec.setupName,
          handlers: this.spec.handlers.filter((h) => offered.includes(h.handler)),
          host: this.host,
          configDir: this.settings.configDir,
          distribution,
          containerd,
          containerdConfig: this.settings.containerdConfig,
          log: this.log,
        });
        installed = plan.handlers;
        this.reportSkipped({ ...skipped, ...plan.skipped });
        if (installed.length === 0 && this.handlers.length > 0) {
          await this.withdraw(tx, async () => runtime);
          throw this.nothingRunnable({ ...skipped, ...plan.skipped });
        }
        // The artifacts and host files of the handlers installed here, not those of the skipped ones.
        const changes: Change[] = [
          ...planArtifacts({
            spec: this.spec,
            handlers: installed,
            artifacts: artifacts.filter((a) => needed(a.handlers, installed)),
            downloads,
            artifactsDir: this.settings.artifactsDir,
            host: this.host,
            records: tx.state.records,
            ownership: { setupName: this.spec.setupName, claims: this.otherClaims(), differs: (c) => tx.differs(c) },
          }),
        ];
        changes.push(
          ...plan.changes.map((c): Change => ({
            path: c.path,
            kind: c.kind,
            followLast: true,
            restart: true,
            skeleton: c.skeleton,
            importPath: c.importPath,
            content: c.bytes === undefined ? { type: 'absent' } : { type: 'file', data: c.bytes },
          })),
        );
        const digest = planDigest(changes);
        if (this.rejected?.digest === digest && changes.some((c) => tx.differs(c))) {
          throw new Refusal(`${this.rejected.reason}; not applied again, since the same change was rolled back before: fix the node, then delete this node-setup pod to try again`);
        }
        // What the runtime served before our first change goes into the state with that change.
        const before = tx.state.records.length === 0 ? await runtime.served() : undefined;
        const spec = specToRecord(this.specGeneration, tx.state.spec);
        const changed = tx.apply(changes, { unit: runtime.unit, spec, ...(before && 'handlers' in before ? { handlersBefore: before.handlers } : {}) });
        // A run that changed nothing still marks the node as having run this spec.
        if (this.store().exists()) tx.save({ ...tx.state, spec });
        for (const hostPath of changed) this.log.info(`wrote ${hostPath}`);
        try {
          await this.converge(tx, runtime, changed.length > 0, installed);
        } catch (e) {
          if (e instanceof Refusal) this.rejected = { digest, reason: e.message };
          throw e;
        }
        this.placed = { offered, installed };
        labelled = await this.verifyAndLabel(tx, runtime, installed);
        tx.save({ ...tx.state, phase: 'installed' });
      } catch (e) {
        // Handlers that did verify keep their labels; verifyAndLabel already removed the others'.
        if (!(e instanceof NotVerified)) await this.unlabelAfterFailure(tx);
        throw e;
      }
    });
    this.log.info(`ready: runtime handler(s) ${labelled.join(' ') || 'none'} verified on ${this.settings.nodeName ?? 'this node'}`);
    return labelled;
  }

  /**
   * Verifies every offered handler again, changing and restarting nothing: the runtime serves
   * it and a check sandbox reaches SANDBOX_READY. Labels follow the result (under the node lock);
   * a failure is a Refusal naming it. Returns the handlers labelled.
   */
  public async recheck(): Promise<string[]> {
    let labelled: string[] = [];
    // A node whose labels or devices changed since the install gets the handlers it can run now.
    let offered: string[];
    try {
      offered = (await this.placement()).offered;
    } catch (e) {
      await this.unlabelUnderLock();
      throw e;
    }
    const placed = this.placed;
    if (placed === undefined || !sameMembers(placed.offered, offered)) {
      this.log.info(`the runtime handlers this node can run changed (${placed?.offered.join(' ') || 'none'} -> ${offered.join(' ')}): installing again`);
      return this.install();
    }
    await this.underLock(async () => {
      const { tx, distribution } = await this.open();
      try {
        this.refuseOlderSpec(tx.state);
        if (tx.state.restartPending) throw new Refusal('a configuration change still waits for its verified restart');
        const runtime = await this.runtimeOf(distribution, tx.state.unit);
        labelled = await this.verifyAndLabel(tx, runtime, placed.installed, true);
      } catch (e) {
        // Handlers that did verify keep their labels; verifyAndLabel already removed the others'.
        if (!(e instanceof NotVerified)) await this.unlabelAfterFailure(tx);
        throw e;
      }
    });
    return labelled;
  }

  /** The identity of the running runtime's CRI socket (its inode and change time): a restart makes a new one. */
  public runtimeIdentity(): string | undefined {
    if (this.socket === undefined) return undefined;
    try {
      const st = fs.statSync(this.socket);
      return `${st.dev}:${st.ino}:${st.ctimeMs}`;
    } catch {
      return undefined;
    }
  }

  /**
   * Served, runnable (runsc), then a check sandbox per handler; labels the verified ones and
   * removes every other label of this setup. Throws a Refusal when an offered handler failed.
   */
  private async verifyAndLabel(tx: Transaction, runtime: ContainerRuntime, offered: string[], onlyIfChanged = false): Promise<string[]> {
    this.socket = runtime.socket;
    const failures: string[] = [];
    let candidates = offered;
    if (candidates.length > 0) {
      const served = await runtime.served();
      const missing = candidates.filter((h) => !('handlers' in served) || !served.handlers.includes(h));
      if (missing.length > 0) {
        failures.push(`${runtime.unit} does not serve runtime handler(s) ${missing.join(' ')} (${describe(served)})`);
        candidates = candidates.filter((h) => !missing.includes(h));
      }
    }
    const runnable = await this.runnable(candidates);
    const options = this.sandboxOptions();
    if (runnable.length > 0) await removeLeftoverChecks(options);
    const verified: string[] = [];
    for (const handler of runnable) {
      const verdict = await checkSandbox(handler, options);
      if (verdict.ready) {
        verified.push(handler);
        this.log.info(`runtime handler ${handler}: a check sandbox reached SANDBOX_READY in ${verdict.ms} ms`);
      } else {
        failures.push(verdict.reason);
      }
    }
    await this.label(tx, verified, onlyIfChanged);
    if (failures.length > 0) {
      const notReady = offered.filter((h) => !verified.includes(h));
      throw new NotVerified(`${failures.join('; ')}. The node is not labelled ready for ${notReady.join(' ')}`);
    }
    return verified;
  }

  private sandboxOptions(): SandboxCheckOptions {
    return {
      socket: this.socket ?? '',
      setupName: this.spec.setupName,
      namespace: this.settings.podNamespace ?? 'runtimeclass-system',
      callTimeoutMs: this.settings.sandboxTimeoutSeconds * 1000,
      networkTimeoutMs: this.settings.verifyTimeoutSeconds * 1000,
      log: this.log,
    };
  }

  /** A run that failed before it took the lock: its labels go all the same, under the lock. */
  private async unlabelUnderLock(): Promise<void> {
    try {
      await this.underLock(async () => this.unlabelAfterFailure((await this.open()).tx));
    } catch (e: any) {
      this.log.warn(`could not remove this setup's ready labels: ${e.message}`);
    }
  }

  /**
   * After a failed run: every ready label of this setup goes (under the lock the caller holds).
   * Writes no state that was not there: a refused first run leaves the node as it was.
   */
  private async unlabelAfterFailure(tx: Transaction): Promise<void> {
    const node = this.settings.nodeName;
    if (node === undefined) return;
    // An agent of an older spec changes no label: the newer one owns them now.
    if (specOrderProblem(this.specGeneration, tx.state.spec) !== undefined) return;
    // Every label of this setup, unless this process knows which it has set since it last removed them all.
    const known = this.labelled === undefined ? Object.values(this.spec.readyLabels) : this.labelled;
    for (const key of [...new Set([...known, ...tx.state.labels])]) {
      step(`unlabel:${key}`);
      try {
        await this.kube.setLabel(node, key, undefined);
      } catch (e: any) {
        this.log.warn(`could not remove label ${key} from node ${node}: ${e.message} (check the node setup's RBAC: nodes get/patch)`);
        continue;
      }
      if (this.labelled?.includes(key) || tx.state.labels.includes(key)) this.log.info(`removed label ${key} from node ${node}`);
    }
    if (tx.state.labels.length > 0) tx.save({ ...tx.state, labels: [] });
    this.labelled = [];
  }

  /**
   * The handlers this node can run, and why not for the others: a handler needs the labels one
   * of its classes selects (read from this node's Node object), for a VM /dev/kvm, and an
   * artifact for this node's CPU architecture in place of each it installs. With
   * none left the node cannot run this setup at all (exit 2, nothing installed).
   */
  private async placement(): Promise<{ offered: string[]; skipped: { [handler: string]: string } }> {
    const skipped: { [handler: string]: string } = {};
    const needKvm = this.spec.kvmHandlers;
    const kvm = needKvm.length === 0 || this.hasKvm();
    const selectors = this.spec.classNodeSelectors ?? {};
    let labels: { [key: string]: string } | undefined;
    if (this.handlers.some((h) => selectors[h] !== undefined)) {
      const node = this.nodeName();
      try {
        labels = await this.kube.nodeLabels(node);
      } catch (e: any) {
        throw new Refusal(`could not read the labels of node ${node}, which decide the runtime handlers it can run: ${e.message} (check the node setup's RBAC: nodes get)`);
      }
    }
    const arch = nodeArchitecture();
    const { missing } = artifactsFor(this.spec, arch, this.handlers);
    for (const handler of this.handlers) {
      const unmatched = labels === undefined ? undefined : selectorMismatch(selectors[handler], labels);
      if (unmatched !== undefined) skipped[handler] = unmatched;
      else if (!kvm && needKvm.includes(handler)) skipped[handler] = NO_KVM;
      else if (missing[handler] !== undefined) skipped[handler] = `${NO_ARTIFACT}(${arch}) for ${missing[handler].join(' ')}. Fix: add an artifact for ${arch} to the runtime, or keep its class off ${arch} nodes (nodeSelector kubernetes.io/arch)`;
    }
    return { offered: this.handlers.filter((h) => skipped[h] === undefined), skipped };
  }

  /**
   * A node that can run none of the handlers (under the lock): the labels go, then the
   * configuration an earlier run installed for them is taken out again (one restart).
   */
  private async withdraw(tx: Transaction, runtime: () => Promise<ContainerRuntime>): Promise<void> {
    await this.unlabelAfterFailure(tx);
    const undo = tx.undo((r) => r.kind === 'config' || r.kind === 'runtime-config').filter((c) => tx.differs(c));
    if (undo.length === 0) return;
    this.log.info('taking out the runtime configuration an earlier run installed for handlers this node can no longer run');
    tx.save({ ...tx.state, restartPending: true });
    await this.rollBack(tx, await runtime());
  }

  /** The refusal of a node that can run none of the handlers (exit 2: retrying changes nothing). */
  private nothingRunnable(skipped: { [handler: string]: string }): NothingToRun {
    const needKvm = this.spec.kvmHandlers;
    if (needKvm.length === this.handlers.length && Object.values(skipped).every((r) => r === NO_KVM)) {
      return new NothingToRun(`this node has no /dev/kvm: the runtime handler(s) ${needKvm.join(' ')} run virtual machines and need hardware virtualization. The node is not labelled ready and nothing was installed. Fix: run these pods on nodes with KVM (bare metal, or VMs with nested virtualization enabled), e.g. select nodes labelled feature.node.kubernetes.io/cpu-cpuid.VMX or .SVM by node-feature-discovery`, 2);
    }
    if (Object.values(skipped).every((r) => r.startsWith(NO_ARTIFACT))) {
      const arch = nodeArchitecture();
      return new NothingToRun(noArtifactMessage(arch, [...new Set(Object.values(artifactsFor(this.spec, arch, this.handlers).missing).flat())]), 2);
    }
    // A node's labels change (a device or a containerd does not, without a pod restart): such a node is tried again.
    const byLabels = Object.values(skipped).some((r) => r.startsWith(SELECTOR_MISMATCH));
    const retry = byLabels ? '; tried again, since the node\'s labels may change' : '';
    return new NothingToRun(`this node can run none of the runtime handlers of node setup '${this.spec.setupName}': ${skippedText(skipped)}. `
      + `The node is not labelled ready for any of them and their configuration was not installed${retry}`, byLabels ? 1 : 2);
  }

  /** Each handler left out on this node, with its reason: in the log and the agent's readiness files. */
  private reportSkipped(skipped: { [handler: string]: string }): void {
    this.notInstalled = Object.keys(skipped).length === 0 ? undefined : `not installed here: ${skippedText(skipped)}`;
    if (this.notInstalled === undefined) {
      this.readiness.available();
      return;
    }
    for (const [handler, reason] of Object.entries(skipped)) {
      this.log.warn(`runtime handler ${handler} is not installed on this node and not labelled ready here: ${reason}`);
    }
    this.readiness.unavailable(this.notInstalled);
  }

  /**
   * The offered handlers whose runtime can run pods here: a gVisor handler's runsc must run a
   * sandbox with the class's flags (a runsc without the class's platform runs none of its pods).
   * With none left, the node cannot run this setup (exit 2); otherwise the others are labelled.
   */
  private async runnable(offered: string[]): Promise<string[]> {
    const refusals: string[] = [];
    const runnable: string[] = [];
    for (const handler of offered) {
      const check = this.spec.runscChecks?.[handler];
      // From the agent's own root, not chroot: runsc cannot create its sandbox from a chroot.
      const problem = check ? await runscProblem([this.host.resolve(check.binary, true)], check.flags) : undefined;
      if (problem) refusals.push(`runtime handler ${handler}: ${problem}`);
      else runnable.push(handler);
    }
    if (refusals.length === 0) return runnable;
    const reason = `${refusals.join('; ')}. The node is not labelled ready for ${offered.filter((h) => !runnable.includes(h)).join(' ')}`;
    if (runnable.length === 0) throw new Refusal(reason, 2);
    this.readiness.unavailable(this.notInstalled === undefined ? reason : `${this.notInstalled}\n${reason}`);
    this.log.warn(reason);
    return runnable;
  }

  private hasKvm(): boolean {
    try {
      return fs.statSync(this.host.resolve('/dev/kvm', true)).isCharacterDevice();
    } catch {
      return false;
    }
  }

  /**
   * Restarts the runtime while a restart is pending or the running runtime does not serve the
   * handlers on disk, then proves over CRI that it serves them. On failure our configuration
   * is taken out again and the runtime restarted on it.
   */
  private async converge(tx: Transaction, runtime: ContainerRuntime, changedNow: boolean, handlers: string[]): Promise<void> {
    if (handlers.length === 0) return;
    if (!tx.state.restartPending) {
      const served = await runtime.served();
      if ('handlers' in served && handlers.every((h) => served.handlers.includes(h))) {
        this.log.info(`nothing changed: no restart (${runtime.unit} serves ${handlers.join(' ')}, per ${served.source})`);
        return;
      }
      this.log.info(`${runtime.unit} does not serve ${handlers.join(' ')} (${describe(served)}): restarting it`);
      tx.save({ ...tx.state, restartPending: true });
    } else if (!changedNow) {
      this.log.info('a previous run changed the configuration but did not finish its restart: restarting now');
    } else {
      this.log.info(`restarting ${runtime.unit} (once, to load the new configuration)`);
    }
    const restarted = await runtime.restart();
    const verified = restarted ? await runtime.waitServes(handlers, true) : undefined;
    if (verified?.ok) {
      step('verified');
      tx.save({ ...tx.state, restartPending: false });
      this.log.info(`${runtime.unit} serves runtime handler(s) ${handlers.join(' ')} (per ${'source' in verified.last ? verified.last.source : 'CRI'})`);
      return;
    }
    const rendered = this.distribution?.renderedConfig;
    const unrendered = rendered !== undefined && !(this.host.read(rendered)?.toString('utf8') ?? '').includes(markers(this.spec.setupName).begin);
    let reason = `${runtime.unit} did not come back active within ${this.settings.verifyTimeoutSeconds}s after the restart`;
    if (restarted && unrendered) reason = `${runtime.unit} did not render our runtime tables into ${rendered} within ${this.settings.verifyTimeoutSeconds}s`;
    else if (restarted) reason = `${runtime.unit} came back but does not serve runtime handler(s) ${handlers.join(' ')} within ${this.settings.verifyTimeoutSeconds}s (${describe(verified!.last)})`;
    this.log.info(`ERROR: ${reason}: rolling back`);
    await this.rollBack(tx, runtime);
    throw new Refusal(`${reason}; the previous configuration was restored and ${runtime.unit} restarted again. Check '${runtime.unit}' logs on the node (journalctl -u ${runtime.unit})`);
  }

  /** Takes our runtime configuration out again and restarts on it ("restart pending" stays until that restart is verified). */
  private async rollBack(tx: Transaction, runtime: ContainerRuntime): Promise<void> {
    for (const change of tx.undo((r) => r.kind === 'config' || r.kind === 'runtime-config')) {
      if (tx.differs(change)) {
        step(`rollback:${change.path}`);
        tx.write(change);
        this.log.info(`rolled back ${change.path}`);
      }
    }
    if ((await runtime.restart()) && 'handlers' in (await runtime.served())) tx.save({ ...tx.state, restartPending: false });
  }

  /**
   * Removes the ready labels of handlers not offered here (a node that lost /dev/kvm), then sets
   * those of the offered ones; the labels are recorded in the state before they are set.
   */
  private async label(tx: Transaction, offered: string[], onlyIfChanged = false): Promise<void> {
    const node = this.nodeName();
    const wanted = offered.filter((h) => this.spec.readyLabels[h] !== undefined).map((h) => this.spec.readyLabels[h]);
    if (onlyIfChanged && this.labelled !== undefined && sameMembers(this.labelled, wanted)) return;
    this.labelled = undefined;
    const stale = [...new Set([...Object.values(this.spec.readyLabels), ...tx.state.labels])].filter((k) => !wanted.includes(k));
    tx.save({ ...tx.state, labels: [...new Set([...tx.state.labels, ...wanted])] });
    for (const key of stale) {
      step(`unlabel:${key}`);
      try {
        await this.kube.setLabel(node, key, undefined);
      } catch (e: any) {
        throw new Refusal(`could not remove label ${key} from node ${node}: ${e.message} (check the node setup's RBAC: nodes get/patch)`);
      }
      this.log.info(`removed label ${key} (its handler is not offered on this node)`);
    }
    for (const key of wanted) {
      step(`label:${key}`);
      try {
        await this.kube.setLabel(node, key, 'ready');
      } catch (e: any) {
        throw new Refusal(`could not label node ${node} with ${key}=ready: ${e.message} (check the node setup's RBAC: nodes get/patch)`);
      }
      this.log.info(`labelled node ${node} ${key}=ready`);
    }
    tx.save({ ...tx.state, labels: wanted });
    this.labelled = wanted;
  }

  // ---- uninstall ----------------------------------------------------------------------------

  /**
   * Removes the labels first, gives back every recorded path, restarts last, then deletes the state.
   * An agent whose spec is older than the one recorded refuses (a newer agent of the DaemonSet
   * decides), unless `anySpec` (an explicit ACTION=uninstall).
   */
  public async uninstall(options: { anySpec?: boolean } = {}): Promise<void> {
    this.readiness.notReady('uninstalling');
    this.log.info('uninstalling: removing the ready labels first');
    await this.underLock(async () => {
      const store = this.store();
      // A state that cannot be read (a link planted in its place) is refused, after the labels go.
      let state: SetupState | undefined;
      let unreadable: unknown;
      try {
        state = store.exists() ? store.load() : undefined;
      } catch (e) {
        unreadable = e;
      }
      // An agent of an older spec changes nothing, labels included.
      if (!options.anySpec && state) this.refuseOlderSpec(state);
      await this.removeLabels([...Object.values(this.spec.readyLabels), ...(state?.labels ?? [])]);
      if (unreadable !== undefined) throw unreadable;
      if (store.hasTombstone()) {
        this.log.info('finishing the removal of this setup\'s state that an earlier uninstall started');
        store.removeTombstone();
      }
      if (state === undefined) {
        this.log.info(`nothing recorded in ${STATE_ROOT}/${this.spec.setupName}: nothing to undo`);
        return;
      }
      const tx = new Transaction(this.host, store, state, this.log);
      this.removeStaleTemps(state.records.map((r) => r.path));
      // What another setup installed too stays: that setup records the original and gives it back.
      const claims = this.otherClaims();
      for (const record of state.records.filter((r) => claims.has(r.path))) {
        this.log.info(`kept ${record.path}: node setup ${[...new Set(claims.get(record.path)!.map((c) => c.setup))].join(', ')} installed it too`);
      }
      const undo = tx.undo((r) => !claims.has(r.path)).filter((c) => tx.differs(c));
      const restart = state.restartPending || undo.some((c) => c.restart);
      tx.save({ ...state, phase: 'uninstalling', labels: [], restartPending: restart });
      for (const change of undo) {
        tx.write(change);
        this.log.info(`${change.content.type === 'absent' ? 'removed' : 'restored'} ${change.path}`);
      }
      if (restart) await this.restartAfterUninstall(tx);
      else this.log.info('no runtime configuration changed: no restart');
      store.remove();
    });
    this.readiness.notReady('uninstalled');
    this.log.info('uninstalled');
  }

  private async restartAfterUninstall(tx: Transaction): Promise<void> {
    const { facts } = detectDistribution(this.host, this.spec.distribution);
    const runtime = await this.runtimeOf(facts, tx.state.unit);
    this.log.info(`restarting ${runtime.unit} (last step of the uninstall)`);
    // Only what exists because of us goes away (CRI-O serves crun by itself whenever crun is installed).
    const added = this.handlers.filter((h) => !(tx.state.handlersBefore ?? []).includes(h));
    const back = (await runtime.restart()) ? await runtime.waitServes(added, false) : undefined;
    if (!back?.ok) {
      const why = back ? `still serves runtime handler(s) ${added.join(' ')} or does not answer (${describe(back.last)})` : 'did not come back after the restart';
      throw new Refusal(`the configuration was restored, but ${runtime.unit} ${why}: check 'journalctl -u ${runtime.unit}' on the node; a re-run restarts it again`);
    }
    step('verified');
    tx.save({ ...tx.state, restartPending: false });
  }

  /** Removes this setup's ready labels (refusing to go on when one cannot be removed). */
  public async removeLabels(keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return;
    const node = this.nodeName();
    for (const key of unique) {
      step(`unlabel:${key}`);
      try {
        await this.kube.setLabel(node, key, undefined);
      } catch (e: any) {
        throw new Refusal(`could not remove label ${key} from node ${node}: ${e.message} - not uninstalling, so that no pod lands on a node being unconfigured. Retry with ACTION=uninstall`);
      }
      this.log.info(`removed label ${key} from node ${node}`);
    }
  }

  // ---- shared -------------------------------------------------------------------------------

  private nodeName(): string {
    if (!this.settings.nodeName) throw new Refusal('NODE_NAME is not set: the DaemonSet passes it from the downward API (spec.nodeName)');
    return this.settings.nodeName;
  }

  /** The host paths other setups on this node installed (their states, read under the node lock). */
  private otherClaims(): ReturnType<typeof otherSetupsClaims> {
    try {
      return otherSetupsClaims(this.host.resolve(STATE_ROOT, true), this.spec.setupName);
    } catch (e: any) {
      throw new Refusal(e.message);
    }
  }

  /** Refuses (changing nothing, labels included) when an agent of a newer spec of this setup already ran here. */
  private refuseOlderSpec(state: SetupState): void {
    const problem = specOrderProblem(this.specGeneration, state.spec);
    if (problem !== undefined) throw new OlderSpec(problem);
  }

  private store(): StateStore {
    return new StateStore(this.host.resolve(STATE_ROOT, false), this.spec.setupName);
  }

  private async underLock(work: () => Promise<void>): Promise<void> {
    const hostFlock = ['/usr/bin/flock', '/bin/flock', '/usr/sbin/flock', '/sbin/flock', '/usr/local/bin/flock'].find((p) => this.host.entry(p, true).type === 'file');
    const lock = new NodeLock(this.host.resolve(LOCK_FILE, false), this.settings.hostRoot, hostFlock, this.log);
    await lock.acquire(this.settings.lockTimeoutSeconds);
    try {
      await work();
    } finally {
      lock.release();
    }
  }

  /** The state (a tombstone finished first) and the distribution. */
  private async open(): Promise<{ tx: Transaction; distribution: DistributionFacts }> {
    const store = this.store();
    if (store.hasLegacyJournal()) {
      throw new Refusal(`${STATE_ROOT}/${this.spec.setupName} holds state of the shell installer of an earlier release: uninstall with that release first (ACTION=uninstall), then install this one`);
    }
    if (store.hasTombstone()) store.removeTombstone();
    const { facts, detected } = detectDistribution(this.host, this.spec.distribution);
    this.log.info(`distribution: ${facts.name}${detected ? ' (detected)' : ''}`);
    return { tx: new Transaction(this.host, store, store.load(), this.log), distribution: facts };
  }

  private async runtimeOf(distribution: DistributionFacts, recordedUnit: string | undefined): Promise<ContainerRuntime> {
    const unit = recordedUnit ?? await detectUnit(this.host, distribution.name, this.settings.systemctl, this.settings.restartUnit);
    const socket = this.host.resolve(this.settings.criSocket ?? distribution.criSocket, true);
    return new ContainerRuntime(this.settings.systemctl, unit, socket, distribution.name === 'crio', this.settings.verifyTimeoutSeconds, this.log);
  }

  /** Starts `containerd --version` of the distribution the node has now, if it is a containerd one (read-only: no lock needed). */
  private startContainerdProbe(): void {
    try {
      const { facts } = detectDistribution(this.host, this.spec.distribution);
      if (facts.name === 'crio') return;
      const command = this.containerdCommand(facts);
      this.earlyProbe = { command: command.join('\0'), result: HostContainerd.probe(command) };
    } catch {
      // open() detects again under the lock and reports what it finds.
    }
  }

  private containerdCommand(distribution: DistributionFacts): string[] {
    return this.settings.containerd ?? ['chroot', this.settings.hostRoot, distribution.containerdBinary!];
  }

  private async probeContainerd(distribution: DistributionFacts): Promise<HostContainerd> {
    const command = this.containerdCommand(distribution);
    const early = this.earlyProbe;
    this.earlyProbe = undefined;
    const containerd = early?.command === command.join('\0') ? await early.result : await HostContainerd.probe(command);
    if (containerd.runs) this.log.info(`host containerd ${containerd.version} (${containerd.commandLine})`);
    else this.log.info(`cannot run the host's containerd ('${containerd.commandLine} --version' failed)`);
    return containerd;
  }

  private removeStaleTemps(paths: string[]): void {
    const written = [this.settings.containerdConfig, ...paths, ...Object.keys(this.spec.hostFiles)];
    const dirs = new Set([...RUNTIME_CONFIG_DIRS, ...written.map((p) => path.posix.dirname(p))]);
    for (const dir of dirs) this.host.removeStaleTemps(dir);
  }
}

const NO_KVM = 'it runs virtual machines and this node has no /dev/kvm';
const SELECTOR_MISMATCH = 'its class\'s node selector ';
const NO_ARTIFACT = 'no artifact for this node\'s CPU architecture ';

/** Some offered handlers failed their checks: their labels are removed, the verified ones' set. */
class NotVerified extends Refusal {}

/** An agent of a newer spec of this setup ran on this node: this one changes nothing. */
class OlderSpec extends Refusal {}

/** Why a node with `labels` is none of those the selectors pick (undefined when one picks it, or there are none). */
function selectorMismatch(
  selectors: ReadonlyArray<{ readonly [key: string]: string }> | undefined,
  labels: { [key: string]: string },
): string | undefined {
  if (selectors === undefined || selectors.length === 0) return undefined;
  const misses: string[] = [];
  for (const selector of selectors) {
    const wrong = Object.entries(selector).filter(([key, value]) => labels[key] !== value);
    if (wrong.length === 0) return undefined;
    const wants = wrong.map(([key, value]) => `${key}=${value}`).join(', ');
    const has = wrong.map(([key]) => (key in labels ? `${key}=${labels[key]}` : `no ${key}`)).join(', ');
    misses.push(`wants ${wants}, this node has ${has}`);
  }
  return `${SELECTOR_MISMATCH}${misses.join('; another class\'s ')}`;
}

function skippedText(skipped: { [handler: string]: string }): string {
  return Object.entries(skipped).map(([handler, reason]) => `${handler} (${reason})`).join('; ');
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The planned changes' paths and bytes, as one digest. */
function planDigest(changes: Change[]): string {
  const hash = createHash('sha256');
  for (const change of changes) {
    const content = change.content;
    hash.update(`${change.path}\0${content.type}\0`);
    if (content.type === 'file') hash.update(Buffer.isBuffer(content.data) ? content.data : content.data.localPath);
    if (content.type === 'link') hash.update(content.target);
    hash.update('\0');
  }
  return hash.digest('hex');
}

function describe(served: Served): string {
  return 'handlers' in served ? `it serves ${served.handlers.join(' ') || 'no handlers'}, per ${served.source}` : served.error;
}
