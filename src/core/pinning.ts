import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { workloadAdmissionProblems } from './app-checks';
import { hostNamespaceProblems } from './host-namespaces';
import { PodOverhead } from './overhead';
import { describeManifest, effectiveRequests, podSpecOf, podSpecPointer, readPointer, WORKLOAD_KINDS } from './pod-spec';
import { ResourceList } from './resources';
import type { IRuntimeClass } from './runtime-class';
import { schedulingProblems } from './scheduling';
import { describeValue, nameText, resolveValue } from './values';
import { checkWrittenManifest } from './written-manifests';

interface Pin {
  readonly runtimeClass: IRuntimeClass;
  /** runtimeClassName in the manifest before this pin, when it could be read. */
  readonly previousName?: string;
}

const pins = new WeakMap<ApiObject, Pin[]>();

/** The classes an object is pinned to, in pin order. */
export function pinsOf(object: ApiObject): IRuntimeClass[] {
  return (pins.get(object) ?? []).map((p) => p.runtimeClass);
}

/** The workload objects a construct stands for: itself, its `Resource`/`Default` child, or those inside an Include. */
export function workloadObjectsOf(workload: IConstruct): ApiObject[] {
  if (workload instanceof ApiObject) return [workload];
  const own = workload.node.tryFindChild('Resource') ?? workload.node.tryFindChild('Default');
  if (own instanceof ApiObject) return [own];
  return workload.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && podSpecPointer(c.kind) !== undefined);
}

/** Pins every workload object of `workload` to `runtimeClass` (see `IRuntimeClass.pin`). */
export function pinWorkload(runtimeClass: IRuntimeClass, workload: IConstruct): void {
  if (workload === undefined || workload === null || typeof (workload as { node?: unknown }).node !== 'object') {
    throw new Error(`RuntimeClass "${runtimeClass.runtimeClassName}": pin() was given ${describeValue(workload)}, not a construct: `
      + 'give it the workload to pin (a cdk8s-plus Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod, a Kube* object, or an Include)');
  }
  // A JSON patch is applied after cdk8s resolves Lazy values: a Lazy name is produced now, or the Lazy itself would be written.
  const name = resolveValue(runtimeClass.runtimeClassName);
  if (typeof name.value !== 'string') {
    const label = Construct.isConstruct(runtimeClass) ? `RuntimeClass at ${runtimeClass.node.path}` : `RuntimeClass ${describeValue(runtimeClass.runtimeClassName)}`;
    throw new Error(`${label}: pin() writes runtimeClassName into ${workload.node.path} when it is called, `
      + `but the name is ${describeValue(runtimeClass.runtimeClassName)}: give the name as a string, or a Lazy that can be produced before pin() is called`);
  }
  const objects = workloadObjectsOf(workload);
  if (objects.length === 0) {
    throw new Error(`${workload.node.path}: cannot pin to RuntimeClass "${runtimeClass.runtimeClassName}": it holds no workload object (${WORKLOAD_KINDS.join(', ')})`);
  }
  for (const object of objects) {
    const pointer = podSpecPointer(object.kind);
    if (!pointer) {
      throw new Error(`${object.node.path}: cannot pin a ${object.kind} to RuntimeClass "${runtimeClass.runtimeClassName}": only ${WORKLOAD_KINDS.join(', ')} carry a pod spec`);
    }
    const existing = pins.get(object);
    const pin: Pin = { runtimeClass, previousName: currentRuntimeClassName(object, pointer) };
    if (existing) {
      existing.push(pin);
      continue;
    }
    pins.set(object, [pin]);
    object.addJsonPatch(JsonPatch.add(`${pointer}/runtimeClassName`, name.value));
    // Checked once per synth, on the manifest written (see written-manifests.ts).
    checkWrittenManifest(object, { problemsIn: (manifest) => manifestProblems(object, manifest), problemsNow: () => pinProblems(object) });
  }
}

/**
 * runtimeClassName as the object stands before the pin. A cdk8s-plus workload renders its
 * manifest lazily and has no runtimeClassName setter, so only a JSON patch can have set one:
 * read its patches rather than render it (a render per pin would double the cost of a synth).
 * Other objects (Kube*, ApiObject, Include) are cheap to render.
 */
function currentRuntimeClassName(object: ApiObject, pointer: string): string | undefined {
  const target = `${pointer}/runtimeClassName`;
  if (object.node.scope instanceof kplus.AbstractPod) {
    /** Whether a patch at `path` writes or deletes the target: the target itself or one of its parents. */
    const reaches = (path: unknown) => typeof path === 'string' && (path === target || target.startsWith(`${path}/`));
    let found: string | undefined;
    for (const patch of earlierPatches(object)) {
      // A copy or move into the target brings a value from elsewhere in the manifest: only a render knows it.
      if ((patch.op === 'copy' || patch.op === 'move') && reaches(patch.path)) return renderedValue(object, target);
      if (patch.op === 'add' || patch.op === 'replace') {
        // At the target itself the remaining pointer is empty, and readPointer gives the value whole.
        if (reaches(patch.path)) found = readPointer(patch.value, target.slice(patch.path.length));
      } else if ((patch.op === 'remove' && reaches(patch.path)) || (patch.op === 'move' && reaches(patch.from))) {
        found = undefined;
      }
    }
    return found;
  }
  return renderedValue(object, target);
}

/** The value at `pointer` in the object rendered now; undefined when it cannot be rendered yet. */
function renderedValue(object: ApiObject, pointer: string): any {
  try {
    return readPointer(object.toJson(), pointer);
  } catch {
    return undefined;
  }
}

/** The JSON patches already added to an object (cdk8s keeps them in a private field). */
function earlierPatches(object: ApiObject): Array<{ op: string; path: string; from?: string; value?: any }> {
  const patches: unknown = (object as any).patches;
  if (!Array.isArray(patches)) return [];
  return patches.flatMap((p) => (typeof p?._toJson === 'function' ? [p._toJson()] : []));
}

/** Every reason the pinned object's pods would be rejected or fail, read from its manifest rendered now. */
export function pinProblems(object: ApiObject): string[] {
  const objectPins = pins.get(object) ?? [];
  if (objectPins.length === 0) return [];
  let manifest: any;
  try {
    manifest = object.toJson();
  } catch (e: any) {
    return [`cannot be rendered, so its pinning to RuntimeClass "${objectPins[0].runtimeClass.runtimeClassName}" cannot be checked: ${e.message}`];
  }
  return manifestProblems(object, manifest);
}

/** Every reason the pinned object's pods would be rejected or fail, read from `manifest`, the object's final manifest. */
function manifestProblems(object: ApiObject, manifest: any): string[] {
  const objectPins = pins.get(object) ?? [];
  if (objectPins.length === 0) return [];
  const runtimeClass = objectPins[0].runtimeClass;
  const name = nameText(runtimeClass.runtimeClassName);
  const podSpec = podSpecOf(manifest) ?? {};
  const where = `${describeManifest(manifest)} (pinned to RuntimeClass "${name}")`;
  const problems: string[] = [];

  if (objectPins.length > 1) {
    const names = objectPins.map((p) => `"${p.runtimeClass.runtimeClassName}"`).join(', ');
    problems.push(`is pinned ${objectPins.length} times (to ${names}): a pod runs with one RuntimeClass; call pin() once`);
  }
  const previous = objectPins[0].previousName;
  if (previous !== undefined && previous !== name) {
    problems.push(`already set runtimeClassName "${previous}" before it was pinned: remove that runtimeClassName or pin to "${previous}" instead`);
  }
  if (podSpec.runtimeClassName !== name) {
    const now = podSpec.runtimeClassName === undefined ? 'no runtimeClassName' : `runtimeClassName "${podSpec.runtimeClassName}"`;
    problems.push(`has ${now} in its final manifest (changed after pin(), e.g. by a JSON patch): remove that change`);
  }
  if (podSpec.overhead !== undefined) {
    problems.push(`sets spec.overhead ${JSON.stringify(podSpec.overhead)} in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it`);
  }

  problems.push(...workloadAdmissionProblems(object, manifest, podSpec.runtimeClassName, where));

  // A reference (RuntimeClass.fromName) is validated here; a RuntimeClass construct validates itself.
  if (!Construct.isConstruct(runtimeClass)) {
    problems.push(...(runtimeClass.overhead?.validate() ?? []).map((p) => `RuntimeClass "${name}": ${p}`));
    problems.push(...schedulingProblems(runtimeClass.scheduling).map((p) => `RuntimeClass "${name}": ${p}`));
  }

  // RuntimeClass admission merges the class's nodeSelector into the pod's and rejects conflicts.
  const podSelector = podSpec.nodeSelector ?? {};
  for (const [key, value] of Object.entries(runtimeClass.scheduling.nodeSelector ?? {})) {
    if (key in podSelector && podSelector[key] !== value) {
      problems.push(`conflict: runtimeClass.scheduling.nodeSelector[${key}] = ${value}; pod.nodeSelector[${key}] = ${podSelector[key]}: the pods would be rejected at creation; remove the key from the pod's nodeSelector or use the class's value`);
    }
  }

  problems.push(...affinityConflicts(podSpec, runtimeClass.scheduling.nodeSelector ?? {}));

  const limits = runtimeClass.limits;
  problems.push(...hostNamespaceProblems(podSpec, name, limits));

  // Footprints only matter against a declared ceiling; without one the API server checks quantities.
  if (limits.nodeAllocatable) {
    const { requests, problems: requestProblems } = effectiveRequests(podSpec);
    problems.push(...requestProblems);
    const overhead = overheadOf(runtimeClass);
    const footprint = requests.plus(overhead);
    const { list: ceiling, problems: ceilingProblems } = ResourceList.parse(PodOverhead.of(limits.nodeAllocatable).amounts);
    if (!Construct.isConstruct(runtimeClass)) problems.push(...ceilingProblems.map((p) => `RuntimeClass "${name}" limits.nodeAllocatable.${p}`));
    for (const resource of footprint.exceeding(ceiling)) {
      const parts = `requests ${requests.toStrings()[resource] ?? '0'} + overhead ${overhead.toStrings()[resource] ?? '0'}`;
      problems.push(`needs ${footprint.toStrings()[resource]} of ${resource} per pod (${parts}), more than the ${ceiling.toStrings()[resource]} `
        + `a node of RuntimeClass "${name}" can give: lower the requests or raise ${nodeAllocatableFieldOf(runtimeClass)}`);
    }
  }
  return problems.map((p) => `${where} ${p}`);
}

/** The prop the ceiling was given with: `nodeAllocatable` on a runtime preset, `limits.nodeAllocatable` otherwise. */
function nodeAllocatableFieldOf(runtimeClass: IRuntimeClass): string {
  const field = (runtimeClass as { _nodeAllocatableField?: unknown })._nodeAllocatableField;
  return typeof field === 'string' ? field : 'limits.nodeAllocatable';
}

/** The class's overhead as amounts; empty when it has none or it is invalid (reported elsewhere). */
export function overheadOf(runtimeClass: IRuntimeClass): ResourceList {
  const overhead = runtimeClass.overhead;
  return overhead && overhead.validate().length === 0 ? overhead._toResourceList() : ResourceList.empty();
}

/**
 * A required node affinity that no node carrying the class's labels can satisfy: every term
 * (terms are ORed) has an expression on a class selector key that rejects the class's value.
 * cdk8s-plus writes node affinity (`scheduling.attract`) rather than a nodeSelector.
 */
function affinityConflicts(podSpec: any, classSelector: { [key: string]: string }): string[] {
  const terms: any[] = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return [];
  const reasons = terms.map((term) => (term.matchExpressions ?? []).flatMap((e: any) => {
    if (!(e.key in classSelector)) return [];
    const value = classSelector[e.key];
    const values: string[] = e.values ?? [];
    const rejects = (e.operator === 'In' && !values.includes(value)) || (e.operator === 'NotIn' && values.includes(value)) || e.operator === 'DoesNotExist';
    return rejects ? [`${e.key} ${e.operator}${values.length ? ` [${values.join(', ')}]` : ''}`] : [];
  }));
  if (reasons.some((r) => r.length === 0)) return [];
  const keys = [...new Set(reasons.flat())].join('; ');
  return [`requires node affinity (${keys}) that no node selected by the class (${Object.entries(classSelector).map(([k, v]) => `${k}=${v}`).join(', ')}) can satisfy: its pods would stay Pending; change the affinity or the class`];
}
