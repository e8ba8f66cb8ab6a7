// What each family of runtime handlers cannot give a pod: the one table read by the presets
// (KataRuntime, GvisorRuntime) and by the report, which knows a class only by its handler.
// Internal: not re-exported from ./index.
import type { RuntimeLimits } from '../core/runtime-class';

/** A family of handlers that share what their pods cannot do. */
export interface HandlerFamily {
  /** The runtime, for messages ("Kata Containers"). */
  readonly displayName: string;
  /** Handler names of the family: exact names, and prefixes written `name-*`. */
  readonly handlers: readonly string[];
  /** Whether its pods may join the node's network namespace (false = refused). */
  readonly allowHostNetwork?: boolean;
  /** Whether its pods may join the node's PID namespace. */
  readonly allowHostPid?: boolean;
  /** Whether its pods may join the node's IPC namespace. */
  readonly allowHostIpc?: boolean;
  /** Why, in a sentence whose subject is the runtime's name. */
  readonly reason: (subject: string) => string;
}

/** Kata Containers, whatever the hypervisor: kata-deploy's `kata-*` handlers, AKS's `kata`. */
export const KATA_HANDLERS: HandlerFamily = {
  displayName: 'Kata Containers',
  handlers: ['kata', 'kata-*'],
  allowHostNetwork: false,
  allowHostPid: false,
  allowHostIpc: false,
  reason: (subject) => `${subject} runs each pod in its own VM, which cannot join the node's namespaces`,
};

/** gVisor: `runsc`, GKE Sandbox's `gvisor`, and `runsc-*` / `gvisor-*` (one handler per configuration, as GvisorRuntime names them). */
export const GVISOR_HANDLERS: HandlerFamily = {
  displayName: 'gVisor',
  handlers: ['runsc', 'runsc-*', 'gvisor', 'gvisor-*'],
  // runsc can be set up with --network=host; the class then says so (GVISOR_HOST_NETWORK_ANNOTATION).
  allowHostNetwork: false,
  reason: () => 'gVisor gives each pod its own network stack unless the runtime is set up with hostNetworking: true',
};

/** Every family with limits. Handlers of no family (runc, crun, nvidia, ...) have none. */
export const HANDLER_FAMILIES: readonly HandlerFamily[] = [KATA_HANDLERS, GVISOR_HANDLERS];

/**
 * Annotation on a RuntimeClass whose gVisor handler is set up with host networking
 * (`GvisorRuntime` with `hostNetworking: true`), so that readers of the YAML know it too.
 */
export const GVISOR_HOST_NETWORK_ANNOTATION = 'runtimeclass.cdk8s.io/host-network';

/** The family a handler belongs to, if any. */
export function handlerFamilyOf(handler: string): HandlerFamily | undefined {
  return HANDLER_FAMILIES.find((family) => family.handlers.some((pattern) => (pattern.endsWith('-*')
    ? handler.startsWith(pattern.slice(0, -1)) && handler.length > pattern.length - 1
    : handler === pattern)));
}

/** The limits of a family, with its reason told about `subject` (the runtime's display name). */
export function familyLimits(family: HandlerFamily, subject: string = family.displayName): RuntimeLimits {
  const limits: { -readonly [K in keyof RuntimeLimits]: RuntimeLimits[K] } = {};
  if (family.allowHostNetwork !== undefined) limits.allowHostNetwork = family.allowHostNetwork;
  if (family.allowHostPid !== undefined) limits.allowHostPid = family.allowHostPid;
  if (family.allowHostIpc !== undefined) limits.allowHostIpc = family.allowHostIpc;
  limits.reason = family.reason(subject);
  return limits;
}
