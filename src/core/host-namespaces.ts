// The host namespace check shared by pinned workloads (synth time) and the report (any YAML).
import type { RuntimeLimits } from './runtime-class';

/** Each host namespace: its pod spec field, its limit and the deprecated name of that limit. */
const HOST_NAMESPACES = [
  { field: 'hostNetwork', allow: 'allowHostNetwork', deprecated: 'hostNetwork' },
  { field: 'hostPID', allow: 'allowHostPid', deprecated: 'hostPid' },
  { field: 'hostIPC', allow: 'allowHostIpc', deprecated: 'hostIpc' },
] as const;

/** Whether the limits allow a host namespace (`allowHost*`, else its deprecated name); undefined when neither is set. */
export function hostNamespaceAllowed(limits: RuntimeLimits, allow: 'allowHostNetwork' | 'allowHostPid' | 'allowHostIpc'): boolean | undefined {
  const namespace = HOST_NAMESPACES.find((n) => n.allow === allow)!;
  return limits[allow] ?? limits[namespace.deprecated];
}

/**
 * The limits with each host namespace under both names (`allowHostNetwork` and the deprecated
 * `hostNetwork`, so that readers of either see it), and the problems of giving both names with
 * different values, under `field`.
 */
export function normalizedLimits(limits: RuntimeLimits, field: string): { limits: RuntimeLimits; problems: string[] } {
  const normalized: { -readonly [K in keyof RuntimeLimits]: RuntimeLimits[K] } = { ...limits };
  const problems: string[] = [];
  for (const { allow, deprecated } of HOST_NAMESPACES) {
    const [given, old] = [limits[allow], limits[deprecated]];
    if (given !== undefined && old !== undefined && given !== old) {
      problems.push(`${field}.${allow} is ${given} but the deprecated ${field}.${deprecated} is ${old}: they mean the same; give only ${allow}`);
    }
    const value = given ?? old;
    if (value !== undefined) {
      normalized[allow] = value;
      normalized[deprecated] = value;
    }
  }
  return { limits: normalized, problems };
}

/** The host namespaces (`hostNetwork`, `hostPID`, `hostIPC`) a pod spec asks for and the class's limits refuse. */
export function hostNamespaceProblems(podSpec: any, runtimeClassName: string, limits: RuntimeLimits): string[] {
  const because = limits.reason ? ` (${limits.reason})` : '';
  return HOST_NAMESPACES
    .filter(({ field, allow }) => podSpec[field] === true && hostNamespaceAllowed(limits, allow) === false)
    .map(({ field }) => `sets ${field}: true, which RuntimeClass "${runtimeClassName}" cannot give${because}: remove ${field} or run this workload with another runtime`);
}
