// Which workloads of the input are made by another workload of the input, so that their pods are
// counted once: `kubectl get all` prints a Deployment, its ReplicaSets and their Pods, a CronJob,
// its Jobs and theirs. An object is counted in its topmost owner that is in the input.
import { detached } from './read';
import { podSpecPointer, readPointer } from '../core/pod-spec';

/** What identifies a workload and its maker, read from its manifest. */
export interface OwnerIdentity {
  readonly kind: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  /** `metadata.ownerReferences` with a kind and a name; undefined when the object has none. */
  readonly ownerReferences?: Array<{ readonly kind: string; readonly name: string; readonly uid?: string; readonly controller: boolean }>;
  /** The labels its pods carry: the pod template's (a Pod's own for a Pod). */
  readonly podLabels: { readonly [key: string]: string };
  /** The names of the pods' containers, in order. */
  readonly containerNames: readonly string[];
  /** A Pod's `metadata.generateName` (`<ReplicaSet>-`). */
  readonly generateName?: string;
}

/**
 * The owners a controller gives its objects' names to, and how: the owner's name, then a dash and
 * what the controller adds (a ReplicaSet's `pod-template-hash`, 5 random characters, an ordinal,
 * a Job's index, a CronJob's scheduled minute).
 */
const MADE_BY: { [kind: string]: Array<{ owner: string; suffix: RegExp }> } = {
  ReplicaSet: [{ owner: 'Deployment', suffix: /^[a-z0-9]+$/ }],
  Job: [{ owner: 'CronJob', suffix: /^[0-9]+$/ }],
  Pod: [
    { owner: 'ReplicaSet', suffix: /^[a-z0-9]{5}$/ },
    { owner: 'Job', suffix: /^(?:[0-9]+-)?[a-z0-9]{5}$/ },
    { owner: 'StatefulSet', suffix: /^[0-9]+$/ },
    { owner: 'DaemonSet', suffix: /^[a-z0-9]{5}$/ },
    { owner: 'ReplicationController', suffix: /^[a-z0-9]{5}$/ },
  ],
};

/**
 * The identity of a workload manifest (any shape: wrong types read as absent). `known`, what the
 * model read of the same object, lends its strings, so that they are kept once.
 */
export function ownerIdentityOf(object: { [key: string]: unknown }, known?: { readonly name: string; readonly namespace?: string }): OwnerIdentity {
  const kind = String(object.kind);
  const metadata = mapping(object.metadata);
  let ownerReferences: OwnerIdentity['ownerReferences'];
  if (Array.isArray(metadata.ownerReferences) && metadata.ownerReferences.length > 0) {
    ownerReferences = metadata.ownerReferences.map(mapping)
      .filter((r) => typeof r.kind === 'string' && typeof r.name === 'string')
      .map((r) => ({ kind: detached(r.kind as string), name: detached(r.name as string), uid: text(r.uid), controller: r.controller === true }));
  }
  // A Pod made by a controller is matched by its ownerReferences, and makes nothing: its labels and containers are not needed.
  const trimmed = kind === 'Pod' && ownerReferences !== undefined;
  let podLabels = NO_LABELS;
  let containerNames = NO_NAMES;
  if (!trimmed) {
    const pointer = podSpecPointer(kind);
    // The pod template is the pod spec's parent; a Pod is its own template.
    const template = kind === 'Pod' ? object : mapping(pointer === undefined ? undefined : readPointer(object, pointer.endsWith('/spec') ? pointer.slice(0, -5) : pointer));
    const podSpec = mapping(template.spec);
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers.map(mapping) : [];
    podLabels = labels(mapping(template.metadata).labels);
    containerNames = containers.map((c) => detached(String(c.name)));
  }
  const name = typeof metadata.name === 'string' && metadata.name !== '' ? (known?.name === metadata.name ? known.name : detached(metadata.name)) : undefined;
  const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== ''
    ? (known?.namespace === metadata.namespace ? known.namespace : detached(metadata.namespace)) : undefined;
  return {
    kind: detached(kind),
    name,
    namespace,
    uid: text(metadata.uid),
    ownerReferences,
    podLabels,
    containerNames,
    // Only an object without ownerReferences is matched by the name its controller gave it.
    generateName: ownerReferences === undefined ? text(metadata.generateName) : undefined,
  };
}

/**
 * For each workload, the index of the topmost workload of the input that made it (directly or
 * through others), or undefined when it is counted on its own. The maker is found by the
 * object's ownerReferences (controller first, uid checked when both sides have one); an object
 * without ownerReferences is matched by template identity: the name its controller would have
 * given it, its owner's pod labels among its own, and the same containers.
 */
export function topOwners(identities: readonly OwnerIdentity[]): Array<number | undefined> {
  // namespace -> kind -> name -> indexes: no key string built per object.
  const byKey = new Map<string, Map<string, Map<string, number[]>>>();
  const lookup = (namespace: string | undefined, kind: string, name: string): number[] | undefined => byKey.get(namespace ?? '')?.get(kind)?.get(name);
  identities.forEach((identity, index) => {
    if (identity.name === undefined) return;
    const namespace = identity.namespace ?? '';
    let kinds = byKey.get(namespace);
    if (kinds === undefined) byKey.set(namespace, kinds = new Map());
    let names = kinds.get(identity.kind);
    if (names === undefined) kinds.set(identity.kind, names = new Map());
    const list = names.get(identity.name);
    if (list) list.push(index);
    else names.set(identity.name, [index]);
  });

  const parentOf = (index: number): number | undefined => {
    const child = identities[index];
    if (child.ownerReferences !== undefined) {
      const controllers = child.ownerReferences.filter((r) => r.controller);
      for (const reference of controllers.length > 0 ? controllers : child.ownerReferences) {
        const uid = (candidate: number) => identities[candidate].uid;
        const sameUid = (candidate: number) => reference.uid === undefined || uid(candidate) === undefined || uid(candidate) === reference.uid;
        const candidates = lookup(child.namespace, reference.kind, reference.name) ?? [];
        const found = candidates.find((candidate) => candidate !== index && sameUid(candidate));
        if (found !== undefined) return found;
      }
      return undefined; // its owner is not in the input: it counts on its own
    }
    const names = [child.name, child.generateName?.replace(/-$/, '-xxxxx')].filter((n): n is string => n !== undefined);
    for (const { owner, suffix } of MADE_BY[child.kind] ?? []) {
      for (const name of names) {
        for (let dash = name.indexOf('-'); dash > 0; dash = name.indexOf('-', dash + 1)) {
          if (!suffix.test(name.slice(dash + 1))) continue;
          const candidates = lookup(child.namespace, owner, name.slice(0, dash)) ?? [];
          const found = candidates.find((candidate) => sameTemplate(identities[candidate], child));
          if (found !== undefined) return found;
        }
      }
    }
    return undefined;
  };

  const parents = identities.map((_, index) => parentOf(index));
  return parents.map((parent, index) => {
    const seen = new Set<number>([index]);
    let top: number | undefined;
    for (let next = parent; next !== undefined && !seen.has(next); next = parents[next]) {
      seen.add(next);
      top = next;
    }
    return top;
  });
}

/** The owner's pod labels are all on the child's pods (a controller adds its own, never drops one), and the containers are the same. */
function sameTemplate(owner: OwnerIdentity, child: OwnerIdentity): boolean {
  if (owner.containerNames.length === 0 || owner.containerNames.join('\u0000') !== child.containerNames.join('\u0000')) return false;
  return Object.entries(owner.podLabels).every(([k, v]) => child.podLabels[k] === v);
}

const NO_LABELS: { readonly [key: string]: string } = Object.freeze({});
const NO_NAMES: readonly string[] = Object.freeze([]);

function mapping(value: unknown): { [key: string]: unknown } {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as { [key: string]: unknown } : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? detached(value) : undefined;
}

function labels(value: unknown): { [key: string]: string } {
  const result: { [key: string]: string } = {};
  for (const [k, v] of Object.entries(mapping(value))) if (typeof v === 'string') result[detached(k)] = detached(v);
  return result;
}
