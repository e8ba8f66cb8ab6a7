// The admission policy that confines a node agent's service account to its own node and its
// own labels. RBAC cannot say "only the node this pod runs on": any holder of the agent's token
// (root on one node reads it from the kubelet's volume) could otherwise patch every node.
import { celString } from './cel';

/** The user-info key the API server fills from a pod-bound token's node claim. */
export const NODE_NAME_CLAIM = 'authentication.kubernetes.io/node-name';

/** What the policy confines. */
export interface OwnNodePolicyOptions {
  /** The service account's namespace. */
  readonly namespace: string;
  /** The service account's name. */
  readonly serviceAccount: string;
  /** The only labels it may set or remove start with this (e.g. `runtimeclass.cdk8s.io/`). */
  readonly labelPrefix: string;
  /** The policy's name, for messages. */
  readonly policyName: string;
}

/** A field of the Node (under `object`/`oldObject`) that must be the same before and after. */
function unchanged(path: string): string {
  return `has(object.${path}) == has(oldObject.${path}) && (!has(object.${path}) || object.${path} == oldObject.${path})`;
}

/**
 * The `spec` of a ValidatingAdmissionPolicy that lets the service account update (and patch,
 * which admission sees as UPDATE) only the node named by its token's node claim, and change
 * nothing there but labels under the prefix.
 */
export function ownNodePolicySpec(options: OwnNodePolicyOptions): any {
  const username = `system:serviceaccount:${options.namespace}:${options.serviceAccount}`;
  const prefix = celString(options.labelPrefix);
  const claim = `request.userInfo.extra[${celString(NODE_NAME_CLAIM)}]`;
  const hasClaim = `has(request.userInfo.extra) && ${celString(NODE_NAME_CLAIM)} in request.userInfo.extra && size(${claim}) > 0`;
  const who = `service account ${options.namespace}/${options.serviceAccount}`;
  const suffix = ` (ValidatingAdmissionPolicy "${options.policyName}")`;
  return {
    failurePolicy: 'Fail',
    matchConstraints: {
      matchPolicy: 'Equivalent',
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes'] }],
    },
    matchConditions: [
      { name: 'from-the-node-agent', expression: `request.userInfo.username == ${celString(username)}` },
    ],
    validations: [
      {
        expression: `${hasClaim} && ${claim}[0] == object.metadata.name`,
        messageExpression: `${celString(`${who} may change only the node its pod runs on; this request changes node `)} + object.metadata.name + `
          + `(${hasClaim} ? ${celString(' from a pod on node ')} + ${claim}[0] : ${celString(` with a token that carries no node-name claim (${NODE_NAME_CLAIM}: Kubernetes 1.30 or later, feature ServiceAccountTokenPodNodeInfo); on an older cluster set the NodeSetup's nodeScopedRights to false`)})`
          + ` + ${celString(suffix)}`,
        message: `${who} may change only the node its pod runs on`,
        reason: 'Forbidden',
      },
      {
        // Taints, unschedulable, podCIDR, providerID: all of the spec.
        expression: unchanged('spec'),
        messageExpression: `${celString(`${who} may not change the spec (taints, unschedulable) of node `)} + object.metadata.name + ${celString(suffix)}`,
        message: `${who} may not change a node's spec (taints, unschedulable)`,
        reason: 'Forbidden',
      },
      {
        // Owner references would let the garbage collector delete the node; finalizers block its deletion.
        expression: [unchanged('metadata.annotations'), unchanged('metadata.finalizers'), unchanged('metadata.ownerReferences')].map((e) => `(${e})`).join(' && '),
        messageExpression: `${celString(`${who} may not change the annotations, finalizers or owner references of node `)} + object.metadata.name + ${celString(suffix)}`,
        message: `${who} may not change a node's annotations, finalizers or owner references`,
        reason: 'Forbidden',
      },
      {
        // Every label outside the prefix keeps its value, and none is added or removed.
        expression: `(!has(object.metadata.labels) || object.metadata.labels.all(k, k.startsWith(${prefix})`
          + ' || (has(oldObject.metadata.labels) && k in oldObject.metadata.labels && oldObject.metadata.labels[k] == object.metadata.labels[k])))'
          + ` && (!has(oldObject.metadata.labels) || oldObject.metadata.labels.all(k, k.startsWith(${prefix})`
          + ' || (has(object.metadata.labels) && k in object.metadata.labels)))',
        messageExpression: `${celString(`${who} may change only labels under ${options.labelPrefix} on node `)} + object.metadata.name + ${celString(suffix)}`,
        message: `${who} may change only labels under ${options.labelPrefix}`,
        reason: 'Forbidden',
      },
    ],
  };
}
