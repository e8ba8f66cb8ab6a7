import { ResourceList } from './resources';

/** Where each workload kind keeps its pod spec, as a JSON pointer (DESIGN.md, "Rules of the output"). */
const POD_SPEC_POINTERS: { [kind: string]: string } = {
  Pod: '/spec',
  Deployment: '/spec/template/spec',
  StatefulSet: '/spec/template/spec',
  DaemonSet: '/spec/template/spec',
  ReplicaSet: '/spec/template/spec',
  ReplicationController: '/spec/template/spec',
  Job: '/spec/template/spec',
  CronJob: '/spec/jobTemplate/spec/template/spec',
  PodTemplate: '/template/spec',
};

/** The kinds that carry a pod spec. */
export const WORKLOAD_KINDS = Object.keys(POD_SPEC_POINTERS);

/** The JSON pointer of the pod spec in a manifest of this kind, or undefined for other kinds. */
export function podSpecPointer(kind: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(POD_SPEC_POINTERS, kind) ? POD_SPEC_POINTERS[kind] : undefined;
}

/** Reads the value at a JSON pointer, or undefined. */
export function readPointer(document: any, pointer: string): any {
  let node = document;
  for (const part of pointerParts(pointer)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[part];
  }
  return node;
}

/** The unescaped parts of each pointer read (a few pointers, read for each of a cluster dump's objects). */
const POINTER_PARTS = new Map<string, readonly string[]>();

function pointerParts(pointer: string): readonly string[] {
  let parts = POINTER_PARTS.get(pointer);
  if (parts === undefined) {
    parts = pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (POINTER_PARTS.size < 100) POINTER_PARTS.set(pointer, parts);
  }
  return parts;
}

/** The pod spec of a workload manifest, or undefined. */
export function podSpecOf(manifest: any): any {
  const pointer = podSpecPointer(String(manifest?.kind));
  return pointer ? readPointer(manifest, pointer) : undefined;
}

/** How many pods a manifest asks for at once; undefined for DaemonSets (one per node). */
export function replicasOf(manifest: any): number | undefined {
  const spec = manifest?.spec ?? {};
  switch (manifest?.kind) {
    case 'DaemonSet': return undefined;
    case 'Job': return jobPods(spec);
    case 'CronJob': return jobPods(spec.jobTemplate?.spec ?? {});
    case 'Pod': return 1;
    default: return spec.replicas ?? 1;
  }
}

/** A Job never runs more pods at once than completions it needs. */
function jobPods(spec: any): number {
  const parallelism = spec.parallelism ?? 1;
  return spec.completions === undefined ? parallelism : Math.min(parallelism, spec.completions);
}

/** `kind "name"` for messages. */
export function describeManifest(manifest: any): string {
  return `${manifest?.kind ?? 'object'} "${manifest?.metadata?.name ?? '?'}"`;
}

/** A container's requests, where a limit stands in for a missing request (as the API server defaults it). */
function containerRequests(container: any): { list: ResourceList; problems: string[] } {
  const requests = { ...(container?.resources?.limits ?? {}), ...(container?.resources?.requests ?? {}) };
  const asStrings: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(requests)) asStrings[name] = String(value);
  return ResourceList.parse(asStrings);
}

/**
 * The pod's effective requests, without overhead, as the scheduler computes them:
 * max(sum of app containers + sidecars, for each init container: itself + the sidecars
 * started before it). Sidecars are init containers with `restartPolicy: Always`.
 */
export function effectiveRequests(podSpec: any): { requests: ResourceList; problems: string[] } {
  const problems: string[] = [];
  const parse = (container: any) => {
    const { list, problems: p } = containerRequests(container);
    problems.push(...p.map((m) => `container "${container?.name ?? '?'}" resources: ${m}`));
    return list;
  };
  let sidecars = ResourceList.empty();
  let initPeak = ResourceList.empty();
  for (const init of podSpec?.initContainers ?? []) {
    const requests = parse(init);
    if (init?.restartPolicy === 'Always') {
      sidecars = sidecars.plus(requests);
      initPeak = initPeak.max(sidecars);
    } else {
      initPeak = initPeak.max(requests.plus(sidecars));
    }
  }
  let containers = ResourceList.empty();
  for (const container of podSpec?.containers ?? []) containers = containers.plus(parse(container));
  return { requests: containers.plus(sidecars).max(initPeak), problems };
}
