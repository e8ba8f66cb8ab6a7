// The host namespace check shared by pinned workloads (synth time) and the report (any YAML).
import type { RuntimeLimits } from './runtime-class';

/** The host namespaces (`hostNetwork`, `hostPID`, `hostIPC`) a pod spec asks for and the class's limits refuse. */
export function hostNamespaceProblems(podSpec: any, runtimeClassName: string, limits: RuntimeLimits): string[] {
  const because = limits.reason ? ` (${limits.reason})` : '';
  const hostNamespaces: Array<[string, boolean | undefined]> = [
    ['hostNetwork', limits.hostNetwork], ['hostPID', limits.hostPid], ['hostIPC', limits.hostIpc],
  ];
  return hostNamespaces
    .filter(([field, allowed]) => podSpec[field] === true && allowed === false)
    .map(([field]) => `sets ${field}: true, which RuntimeClass "${runtimeClassName}" cannot give${because}: remove ${field} or run this workload with another runtime`);
}
