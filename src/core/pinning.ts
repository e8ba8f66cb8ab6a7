import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ResourceList } from './resources';
import type { IRuntimeClass } from './runtime-class';
import { describeManifest, effectiveRequests, podSpecOf, podSpecPointer, readPointer, WORKLOAD_KINDS } from './pod-spec';
import { schedulingProblems } from './scheduling';

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
  const objects = workloadObjectsOf(workload);
  if (objects.length === 0) {
    throw new Error(`${workload.node.path}: cannot pin to RuntimeClass "${runtimeClass.runtimeClassName}": it holds no workload object (${WORKLOAD_KINDS.join(', ')})`);
  }
  // A construct that renders its object lazily (cdk8s-plus) has no runtimeClassName setter, so
  // only raw objects (Kube*, ApiObject, Include) can already name a class before the pin.
  const raw = workload instanceof ApiObject || objects.length !== 1 || objects[0].node.scope !== workload;
  for (const object of objects) {
    const pointer = podSpecPointer(object.kind);
    if (!pointer) {
      throw new Error(`${object.node.path}: cannot pin a ${object.kind} to RuntimeClass "${runtimeClass.runtimeClassName}": only ${WORKLOAD_KINDS.join(', ')} carry a pod spec`);
    }
    const existing = pins.get(object);
    const pin: Pin = { runtimeClass, previousName: raw ? currentRuntimeClassName(object, pointer) : undefined };
    if (existing) {
      existing.push(pin);
      continue;
    }
    pins.set(object, [pin]);
    object.addJsonPatch(JsonPatch.add(`${pointer}/runtimeClassName`, runtimeClass.runtimeClassName));
    const render = reuseRenderWithinTick(object);
    object.node.addValidation({ validate: () => pinProblems(object, render()) });
  }
}

/**
 * Checks read the final manifest, and `cdk8s synth` renders each object right after
 * validating it. Rendering a cdk8s-plus workload is the costly part of a synth, so the
 * validation's render is handed to the next `toJson()` of the same object and dropped after
 * it, or at the end of the tick. Validation itself always renders afresh, so its verdict
 * never comes from an earlier render.
 */
function reuseRenderWithinTick(object: ApiObject): () => any {
  const render = object.toJson.bind(object);
  let rendered: any;
  object.toJson = () => {
    if (rendered === undefined) return render();
    const result = rendered;
    rendered = undefined;
    return result;
  };
  renderFresh.set(object, render);
  return () => {
    const result = render();
    rendered = result;
    queueMicrotask(() => { rendered = undefined; });
    return result;
  };
}

const renderFresh = new WeakMap<ApiObject, () => any>();

/** The object's manifest rendered now, never a render kept for synth. */
export function freshManifestOf(object: ApiObject): any {
  return (renderFresh.get(object) ?? object.toJson.bind(object))();
}

/** runtimeClassName as the object stands now; undefined if unset or not yet renderable. */
function currentRuntimeClassName(object: ApiObject, pointer: string): string | undefined {
  try {
    return readPointer(object.toJson(), `${pointer}/runtimeClassName`);
  } catch {
    // A cdk8s-plus workload with no container yet cannot render; nothing can be set on it either.
    return undefined;
  }
}

/** Every reason the pinned object's pods would be rejected or fail, read from the final manifest. */
export function pinProblems(object: ApiObject, manifest: any = object.toJson()): string[] {
  const objectPins = pins.get(object) ?? [];
  if (objectPins.length === 0) return [];
  const runtimeClass = objectPins[0].runtimeClass;
  const name = runtimeClass.runtimeClassName;
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
    problems.push(`has runtimeClassName "${podSpec.runtimeClassName}" in its final manifest (changed after pin(), e.g. by a JSON patch): remove the change`);
  }
  if (podSpec.overhead !== undefined) {
    problems.push(`sets spec.overhead ${JSON.stringify(podSpec.overhead)} in its pod template: RuntimeClass admission sets it from the class and rejects pods that set their own ("Pod's Overhead doesn't match RuntimeClass's defined Overhead"); remove it`);
  }

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

  const limits = runtimeClass.limits;
  const because = limits.reason ? ` (${limits.reason})` : '';
  const hostNamespaces: Array<[string, boolean | undefined]> = [
    ['hostNetwork', limits.hostNetwork], ['hostPID', limits.hostPid], ['hostIPC', limits.hostIpc],
  ];
  for (const [field, allowed] of hostNamespaces) {
    if (podSpec[field] === true && allowed === false) {
      problems.push(`sets ${field}: true, which RuntimeClass "${name}" cannot give${because}: remove ${field} or run this workload with another runtime`);
    }
  }

  // Footprints only matter against a declared ceiling; without one the API server checks quantities.
  if (limits.nodeAllocatable) {
    const { requests, problems: requestProblems } = effectiveRequests(podSpec);
    problems.push(...requestProblems);
    const overhead = overheadOf(runtimeClass);
    const footprint = requests.plus(overhead);
    const { list: ceiling, problems: ceilingProblems } = ResourceList.parse(allocatableAmounts(limits));
    problems.push(...ceilingProblems.map((p) => `RuntimeClass "${name}" limits.nodeAllocatable.${p}`));
    for (const resource of footprint.exceeding(ceiling)) {
      problems.push(`needs ${footprint.toStrings()[resource]} of ${resource} per pod (requests ${requests.toStrings()[resource] ?? '0'} + overhead ${overhead.toStrings()[resource] ?? '0'}), more than the ${ceiling.toStrings()[resource]} a node of RuntimeClass "${name}" can give: lower the requests or raise limits.nodeAllocatable`);
    }
  }
  return problems.map((p) => `${where} ${p}`);
}

/** The class's overhead as amounts; empty when it has none or it is invalid (reported elsewhere). */
export function overheadOf(runtimeClass: IRuntimeClass): ResourceList {
  const overhead = runtimeClass.overhead;
  return overhead && overhead.validate().length === 0 ? overhead._toResourceList() : ResourceList.empty();
}

/** `limits.nodeAllocatable` as `{ resource: quantity }`. */
export function allocatableAmounts(limits: { nodeAllocatable?: { cpu?: string; memory?: string; ephemeralStorage?: string; resources?: { [name: string]: string } } }): { [name: string]: string } {
  const a = limits.nodeAllocatable ?? {};
  const amounts: { [name: string]: string } = { ...(a.resources ?? {}) };
  if (a.cpu !== undefined) amounts.cpu = a.cpu;
  if (a.memory !== undefined) amounts.memory = a.memory;
  if (a.ephemeralStorage !== undefined) amounts['ephemeral-storage'] = a.ephemeralStorage;
  return amounts;
}
