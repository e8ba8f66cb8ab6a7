/**
 * Where a run's wall time went: the time spent waiting on the host's programs (containerd,
 * systemctl, flock) and on the runtime's CRI, each counted once however many overlap. What is
 * left of the run is the agent's own time; a one-shot run logs the split when it ends.
 */
export type WaitKind = 'programs' | 'runtime';

const busy: { [kind in WaitKind]: { inFlight: number; since: number; totalMs: number } } = {
  programs: { inFlight: 0, since: 0, totalMs: 0 },
  runtime: { inFlight: 0, since: 0, totalMs: 0 },
};

/** Counts `promise`'s time as waiting of `kind`. */
export async function waitingOn<T>(kind: WaitKind, promise: Promise<T>): Promise<T> {
  const b = busy[kind];
  if (b.inFlight++ === 0) b.since = performance.now();
  try {
    return await promise;
  } finally {
    if (--b.inFlight === 0) b.totalMs += performance.now() - b.since;
  }
}

/** Milliseconds spent waiting on `kind` so far. */
export function waitedMs(kind: WaitKind): number {
  const b = busy[kind];
  return b.totalMs + (b.inFlight > 0 ? performance.now() - b.since : 0);
}
