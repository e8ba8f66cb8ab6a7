/**
 * What the API server does with a request that fails a policy's validation: a
 * ValidatingAdmissionPolicyBinding's `validationActions`.
 *
 * A dry run of a new policy is `[WARN, AUDIT]`: clients see a warning, the audit log records the
 * failure, nothing is rejected. The API server rejects a binding that has both `DENY` and `WARN`
 * (a denied request already carries the message), and so does this library, at synth time.
 */
export enum PolicyAction {
  /** Reject the request with the policy's message. */
  DENY = 'Deny',
  /** Accept the request and return the message as an HTTP warning (kubectl prints it). */
  WARN = 'Warn',
  /** Accept or reject as the other actions say, and record the failure in the audit event. */
  AUDIT = 'Audit',
}

/** What the API server does when a policy cannot be evaluated at all (`failurePolicy`). */
export enum AdmissionFailurePolicy {
  /** Reject the request: a broken policy fails closed. */
  FAIL = 'Fail',
  /** Admit the request as if the policy did not exist. */
  IGNORE = 'Ignore',
}
