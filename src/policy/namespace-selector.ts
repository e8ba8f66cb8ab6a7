/** How a namespace selector requirement compares a namespace label with its values. */
export enum NamespaceSelectorOperator {
  /** The label is present and its value is one of `values`. */
  IN = 'In',
  /** The label is absent, or its value is none of `values`. */
  NOT_IN = 'NotIn',
  /** The label is present, whatever its value (no `values`). */
  EXISTS = 'Exists',
  /** The label is absent (no `values`). */
  DOES_NOT_EXIST = 'DoesNotExist',
}

/** One requirement of a namespace selector (`matchExpressions[]`). */
export interface NamespaceSelectorRequirement {
  /** The namespace label key, e.g. `tenant.example.com/tier` or `kubernetes.io/metadata.name`. */
  readonly key: string;
  /** How the label is compared. */
  readonly operator: NamespaceSelectorOperator;
  /** The values for `IN` and `NOT_IN` (at least one); none for `EXISTS` and `DOES_NOT_EXIST`. @default - no values */
  readonly values?: string[];
}

/**
 * Which namespaces a policy applies to, by their labels: a Kubernetes label selector. Every
 * label and every requirement must hold. An empty selector would select every namespace,
 * `kube-system` included, and is an error: add a requirement, for example
 * `{ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: NamespaceSelectorOperator.NOT_IN, values: ['kube-system'] }] }`.
 * The policy constructs also take cdk8s-plus selectors (`kplus.Namespaces.select(...)`).
 */
export interface NamespaceSelector {
  /** Labels a namespace must carry with exactly these values. @default - none */
  readonly matchLabels?: { [key: string]: string };
  /** Requirements a namespace's labels must meet. @default - none */
  readonly matchExpressions?: NamespaceSelectorRequirement[];
}
