// The node label the node setup sets once a node's handler is verified. On its own, without
// cdk8s, so that the report (which reads the label) loads no construct code.

/** Prefix of the ready label: `runtimeclass.cdk8s.io/<handler>`. */
export const NODE_READY_LABEL_PREFIX = 'runtimeclass.cdk8s.io/';

/** The label set to `ready` on nodes where `handler` is verified. */
export function readyLabelFor(handler: string): string {
  return `${NODE_READY_LABEL_PREFIX}${handler}`;
}
