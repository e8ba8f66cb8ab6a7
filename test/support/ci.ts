/**
 * Whether the tests run in CI, where a missing prerequisite (containerd, runsc, shellcheck,
 * busybox...) fails a test instead of skipping it. CI runs `.ci/run` with `CI=true`; `CI=1` counts
 * too. Anything else (`CI=false`, `CI=0`, empty, unset) is a developer's machine.
 *
 * Every test decides "in CI" through this function: never read `process.env.CI` directly.
 */
export function inCi(env: { [name: string]: string | undefined } = process.env): boolean {
  const value = (env.CI ?? '').trim().toLowerCase();
  return value === 'true' || value === '1';
}
