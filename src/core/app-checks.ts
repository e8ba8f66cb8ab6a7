// Checks that span constructs of one app, run once per synth on the manifests it writes (see
// written-manifests.ts): a pinned workload against the admission policies that select its
// namespace, and each runtime's class against the node setup that installs its handler.
//
// This layer knows neither policies nor node setups: policies register a rule here, runtimes
// register with the node setup's DaemonSet, and the checks read manifests and rules only.
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import type { IRuntimeClass } from './runtime-class';
import { RuntimeToleration, schedulingProblems, TaintEffect, TolerationOperator } from './scheduling';
import { checkWrittenManifest, oncePerSynth } from './written-manifests';

// ---------------------------------------------------------------------------------------------
// Notes: what a synth could not check, or a risk that is no error. Not fatal, never silent.

/**
 * The construct metadata type of a note. A note is also written to stderr once, as a Node.js
 * warning of type `RuntimeClassWarning`.
 */
export const NOTE_METADATA_TYPE = 'runtimeclass.cdk8s.io/note';
const WARNING_TYPE = 'RuntimeClassWarning';

const noted = new WeakMap<IConstruct, Set<string>>();

/** Records `message` on `construct` (metadata) and prints it once per construct and message. */
export function noteOn(construct: IConstruct, message: string): void {
  let seen = noted.get(construct);
  if (!seen) {
    seen = new Set();
    noted.set(construct, seen);
  }
  if (seen.has(message)) return;
  seen.add(message);
  construct.node.addMetadata(NOTE_METADATA_TYPE, message);
  process.emitWarning(`[${construct.node.path}] ${message}`, { type: WARNING_TYPE });
}

/** The notes recorded on `construct` (its own, not its children's). */
export function notesOf(construct: IConstruct): string[] {
  return construct.node.metadata.filter((m) => m.type === NOTE_METADATA_TYPE).map((m) => String(m.data));
}

// ---------------------------------------------------------------------------------------------
// Pinned workloads against the admission policies of the app.

/** The namespace a workload manifest is applied to, as far as the app tells. */
export interface WorkloadNamespace {
  /** `metadata.namespace`; undefined when the manifest has none (kubectl's current namespace). */
  readonly name?: string;
  /**
   * The namespace's labels when the app defines it (a Namespace object), with
   * `kubernetes.io/metadata.name`, which the API server sets on every namespace; undefined when
   * the app does not define it.
   */
  readonly labels?: { readonly [key: string]: string };
}

/** A pinned workload, as a rule sees it. */
export interface PinnedWorkload {
  readonly kind: string;
  readonly runtimeClassName: string;
  readonly namespace: WorkloadNamespace;
}

/** What a rule says about a workload: problems fail the synth; notes are printed and recorded. */
export interface RuleFindings {
  readonly problems: string[];
  readonly notes: string[];
}

/** An admission policy of the app that constrains `runtimeClassName` in some namespaces. */
export interface WorkloadAdmissionRule {
  check(workload: PinnedWorkload): RuleFindings;
}

/** Where a tree's root keeps its rules (shared by every copy of this library). */
const RULES = Symbol.for('cdk8s-runtimeclass.WorkloadAdmissionRules');

function rulesIn(root: IConstruct): WorkloadAdmissionRule[] {
  const holder = root as unknown as { [RULES]?: WorkloadAdmissionRule[] };
  if (!holder[RULES]) Object.defineProperty(holder, RULES, { value: [] });
  return holder[RULES]!;
}

/** Makes every pinned workload of `construct`'s app checked against `rule`. */
export function registerWorkloadRule(construct: IConstruct, rule: WorkloadAdmissionRule): void {
  rulesIn(construct.node.root).push(rule);
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const NAMESPACES_KEY = {};

/** The labels of each namespace the app defines (Namespace objects in any chart), read once per synth. */
function namespacesOf(scope: IConstruct): Map<string, { [key: string]: string }> {
  return oncePerSynth(scope, NAMESPACES_KEY, () => {
    const namespaces = new Map<string, { [key: string]: string }>();
    for (const construct of scope.node.root.node.findAll()) {
      if (!(construct instanceof ApiObject) || construct.kind !== 'Namespace' || construct.apiVersion !== 'v1') continue;
      let manifest: any;
      try {
        manifest = construct.toJson();
      } catch {
        continue; // its own validation or render reports it
      }
      const name = manifest?.metadata?.name;
      if (typeof name !== 'string' || namespaces.has(name)) continue;
      const labels: { [key: string]: string } = {};
      for (const [key, value] of Object.entries(manifest?.metadata?.labels ?? {})) labels[key] = String(value);
      namespaces.set(name, { ...labels, [NAMESPACE_NAME_LABEL]: name });
    }
    return namespaces;
  });
}

/**
 * Problems of a pinned workload's written manifest with the app's admission policies: a policy
 * that selects its namespace and would deny its class. Notes (a namespace the app does not
 * define, a policy that only warns) are recorded on `object` and printed, prefixed with `where`.
 */
export function workloadAdmissionProblems(object: ApiObject, manifest: any, runtimeClassName: string | undefined, where: string): string[] {
  const rules = rulesIn(object.node.root);
  if (rules.length === 0 || runtimeClassName === undefined) return [];
  const name = manifest?.metadata?.namespace;
  const namespace: WorkloadNamespace = typeof name === 'string'
    ? { name, labels: namespacesOf(object).get(name) }
    : {};
  const workload: PinnedWorkload = { kind: String(manifest?.kind), runtimeClassName, namespace };
  const problems: string[] = [];
  for (const rule of rules) {
    const findings = rule.check(workload);
    problems.push(...findings.problems);
    for (const note of findings.notes) noteOn(object, `${where} ${note}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Runtime classes against the node setup that installs their handlers.

/** A runtime installed by a node setup. */
export interface NodeSetupMember {
  /** The runtime's class: its scheduling is read when the setup is checked. */
  readonly runtimeClass: IRuntimeClass;
  /** The runtime's construct path, for messages. */
  readonly path: string;
  /** The handler the setup installs for it. */
  readonly handler: string;
  /** The node label the setup sets once the handler is ready (the class selects it). */
  readonly readyLabel: string;
  /** The snapshotter the handler needs on each node, if any (the agent skips the handler on a node without it). */
  readonly snapshotter?: string;
}

interface NodeSetupEntry {
  readonly setupName: string;
  readonly members: NodeSetupMember[];
}

const setups = new WeakMap<ApiObject, NodeSetupEntry>();

/**
 * Checks, on the DaemonSet each synth writes for the node setup `setupName`, that the agent runs
 * where `member`'s class sends its pods, and that the classes sharing the setup agree on where
 * that is.
 */
export function checkNodeSetupPlacement(daemonSet: ApiObject, setupName: string, member: NodeSetupMember): void {
  const existing = setups.get(daemonSet);
  if (existing) {
    existing.members.push(member);
    return;
  }
  const entry: NodeSetupEntry = { setupName, members: [member] };
  setups.set(daemonSet, entry);
  checkWrittenManifest(daemonSet, {
    problemsIn: (manifest) => placementProblems(daemonSet, entry, manifest),
    problemsNow: () => {
      let manifest: any;
      try {
        manifest = daemonSet.toJson();
      } catch {
        return []; // the node setup reports what keeps it from rendering
      }
      return placementProblems(daemonSet, entry, manifest);
    },
  });
}

const OS_LABEL = 'kubernetes.io/os';

/** Taints the DaemonSet controller tolerates on every DaemonSet pod (besides the pod's own tolerations). */
const DAEMON_SET_TOLERATIONS: RuntimeToleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_EXECUTE },
  { key: 'node.kubernetes.io/unreachable', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_EXECUTE },
  { key: 'node.kubernetes.io/disk-pressure', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
  { key: 'node.kubernetes.io/memory-pressure', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
  { key: 'node.kubernetes.io/pid-pressure', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
  { key: 'node.kubernetes.io/unschedulable', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_SCHEDULE },
];

/** A member's class selector without the setup's ready label, or undefined when the class's scheduling is invalid (it reports that). */
function poolOf(member: NodeSetupMember): { [key: string]: string } | undefined {
  const scheduling = member.runtimeClass.scheduling;
  if (schedulingProblems(scheduling).length > 0) return undefined;
  const pool: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(scheduling.nodeSelector ?? {})) {
    if (key !== member.readyLabel) pool[key] = String(value);
  }
  return pool;
}

function placementProblems(daemonSet: ApiObject, entry: NodeSetupEntry, manifest: any): string[] {
  const podSpec = manifest?.spec?.template?.spec ?? {};
  const setupSelector: { [key: string]: string } = podSpec.nodeSelector ?? {};
  const terms: any[] = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const setupTolerations: RuntimeToleration[] = [...(podSpec.tolerations ?? []), ...DAEMON_SET_TOLERATIONS];
  const setup = `NodeSetup "${entry.setupName}"`;
  const runsOn = nodesText(setupSelector);
  const problems: string[] = [];
  /** Each usable member's pool on the setup's nodes: its selector merged with the setup's. */
  const effective: Array<{ member: NodeSetupMember; pool: { [key: string]: string }; own: { [key: string]: string } }> = [];

  for (const member of entry.members) {
    const pool = poolOf(member);
    if (!pool) continue;
    const name = `RuntimeClass "${member.runtimeClass.runtimeClassName}" (${member.path})`;
    const pending = `no node can be labelled ${member.readyLabel}=ready, so every pod of the class stays Pending`;

    const clashes = Object.entries(pool).filter(([key, value]) => key in setupSelector && setupSelector[key] !== value);
    if (clashes.length > 0) {
      const classSide = clashes.map(([key, value]) => `${key}=${value}`).join(', ');
      const setupSide = clashes.map(([key]) => `${key}=${setupSelector[key]}`).join(', ');
      problems.push(`${name} runs its pods on nodes with ${classSide}, but the node agent runs only on nodes with ${setupSide} (the NodeSetup's nodeSelector): ${pending}; `
        + `make the NodeSetup's nodeSelector select the class's nodes (${classSide}), or give the runtime its own NodeSetup`);
      continue;
    }
    const affinityReasons = affinityRejections(terms, pool);
    if (affinityReasons) {
      problems.push(`${name} runs its pods on nodes with ${labelsText(pool)}, but the node agent's required node affinity (${affinityReasons}) excludes every such node: ${pending}; `
        + 'change the NodeSetup (for control-plane nodes, includeControlPlane: true; for virtualization labels, requireVirtualizationFeatureLabels) or the class\'s nodeSelector');
      continue;
    }
    (member.runtimeClass.scheduling.tolerations ?? []).forEach((toleration, index) => {
      const untolerated = blockingTaintsOf(toleration).filter((taint) => !setupTolerations.some((t) => tolerates(t, taint)));
      if (untolerated.length === 0) return;
      problems.push(`${name} tolerates the taint ${untolerated.map(taintText).join(' and ')} (scheduling.tolerations[${index}]), but the NodeSetup's DaemonSet does not: the node agent never runs on nodes with that taint, `
        + `so they are never labelled ${member.readyLabel}=ready and the class's pods cannot run there; add ${tolerationCode(toleration)} to the NodeSetup's tolerations, or leave its tolerations unset (it then tolerates every taint)`);
    });
    const own: { [key: string]: string } = {};
    for (const [key, value] of Object.entries(pool)) if (!(key in setupSelector)) own[key] = value;
    effective.push({ member, pool: { ...setupSelector, ...pool }, own });
  }

  // Classes on other pools than the setup's nodes: the agent installs each handler only on the
  // nodes one of its classes selects (and where its snapshotter is set up), with the reason for
  // each handler it skips in the node-setup pod's log; a node that runs none stays not ready.
  const pools = new Set(effective.map((e) => JSON.stringify(sortedLabels(e.pool))));
  const narrower = effective.filter((e) => Object.keys(e.own).length > 0);
  if (pools.size > 1 || narrower.length > 0) {
    const described = effective.map((e) => `"${e.member.runtimeClass.runtimeClassName}" (${Object.keys(e.own).length > 0 ? labelsText(e.own) : runsOn})`).join(', ');
    const snapshotters = narrower.filter((e) => e.member.snapshotter !== undefined)
      .map((e) => `; handler "${e.member.handler}" also needs the ${e.member.snapshotter} snapshotter, and nodes of its pool without it skip it`).join('');
    const idle = narrower.length === effective.length && effective.length > 0
      ? '; nodes outside these pools install nothing, and their node-setup pods stay not ready'
      : '';
    noteOn(daemonSet, `${setup} runs on ${runsOn}, and its classes run on ${pools.size > 1 ? 'different pools' : 'fewer nodes'}: ${described}. Its node agent installs each handler only on the nodes its class selects${snapshotters}${idle}; `
      + 'each node-setup pod logs the handlers it skipped and why. Give each pool its own NodeSetup with that pool\'s nodeSelector if the agent should run only where its handlers do');
  }
  return problems.map((p) => `${setup}: ${p}`);
}

/** A taint as a toleration matches it: `key` absent matches every key, `value` absent every value. */
interface TaintPattern {
  readonly key?: string;
  readonly value?: string;
  readonly effect: TaintEffect;
}

/** The taints that keep pods off a node which `toleration` lets the class's pods onto (PreferNoSchedule keeps nobody off). */
function blockingTaintsOf(toleration: RuntimeToleration): TaintPattern[] {
  const effects = toleration.effect === undefined ? [TaintEffect.NO_SCHEDULE, TaintEffect.NO_EXECUTE] : [toleration.effect];
  const exists = (toleration.operator ?? TolerationOperator.EQUAL) === TolerationOperator.EXISTS;
  const key = toleration.key === undefined || toleration.key === '' ? undefined : toleration.key;
  return effects
    .filter((effect) => effect !== TaintEffect.PREFER_NO_SCHEDULE)
    .map((effect) => ({ key, value: exists ? undefined : (toleration.value ?? ''), effect }));
}

/** True when `toleration` (as the DaemonSet renders it) tolerates every taint `taint` stands for. */
function tolerates(toleration: any, taint: TaintPattern): boolean {
  const key = toleration.key ?? '';
  const exists = (toleration.operator ?? 'Equal') === 'Exists';
  if (key === '') {
    if (!exists) return false;
  } else if (taint.key === undefined || key !== taint.key) {
    return false;
  }
  if (!exists && (taint.value === undefined || (toleration.value ?? '') !== taint.value)) return false;
  return toleration.effect === undefined || toleration.effect === '' || toleration.effect === taint.effect;
}

/**
 * Why no node carrying `labels` can satisfy these required node affinity terms (terms are
 * ORed), or undefined when one can or there are none.
 */
function affinityRejections(terms: any[], labels: { [key: string]: string }): string | undefined {
  if (terms.length === 0) return undefined;
  const reasons: string[] = [];
  for (const term of terms) {
    const rejecting = (term.matchExpressions ?? []).filter((e: any) => {
      if (!(e.key in labels)) return false;
      const value = labels[e.key];
      const values: string[] = e.values ?? [];
      return (e.operator === 'In' && !values.includes(value)) || (e.operator === 'NotIn' && values.includes(value)) || e.operator === 'DoesNotExist';
    });
    if (rejecting.length === 0) return undefined;
    reasons.push(...rejecting.map((e: any) => `${e.key} ${e.operator}${e.values?.length ? ` [${e.values.join(', ')}]` : ''}`));
  }
  return [...new Set(reasons)].join('; ');
}

/** The nodes a selector picks, in words: the os label every setup sets is said as "Linux". */
function nodesText(selector: { [key: string]: string }): string {
  const linux = selector[OS_LABEL] === 'linux';
  const rest: { [key: string]: string } = { ...selector };
  if (linux) delete rest[OS_LABEL];
  const kind = linux ? 'Linux nodes' : 'nodes';
  if (Object.keys(rest).length === 0) return linux ? 'every Linux node' : 'every node';
  return `${kind} with ${labelsText(rest)}`;
}

function sortedLabels(labels: { [key: string]: string }): Array<[string, string]> {
  return Object.keys(labels).sort().map((key) => [key, labels[key]]);
}

function labelsText(labels: { [key: string]: string }): string {
  return sortedLabels(labels).map(([key, value]) => `${key}=${value}`).join(', ');
}

function taintText(taint: TaintPattern): string {
  const key = taint.key ?? '(any key)';
  return `${key}${taint.value === undefined ? '' : `=${taint.value}`}:${taint.effect}`;
}

/** A toleration as code, to add to the NodeSetup. */
function tolerationCode(toleration: RuntimeToleration): string {
  const parts: string[] = [];
  if (toleration.key !== undefined && toleration.key !== '') parts.push(`key: '${toleration.key}'`);
  if ((toleration.operator ?? TolerationOperator.EQUAL) === TolerationOperator.EXISTS) parts.push('operator: TolerationOperator.EXISTS');
  else parts.push(`operator: TolerationOperator.EQUAL, value: '${toleration.value ?? ''}'`);
  const effectName = Object.entries(TaintEffect).find(([, v]) => v === toleration.effect)?.[0];
  if (effectName) parts.push(`effect: TaintEffect.${effectName}`);
  return `{ ${parts.join(', ')} }`;
}
