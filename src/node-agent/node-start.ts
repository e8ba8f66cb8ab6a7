/**
 * When Node had started and the agent's first module began to load, in ms from the process's
 * start, and the CPU time (user + system, µs) Node had used by then: the part of every run that
 * is Node's own, before any of the agent's code. The entry point imports this module first.
 */
export const NODE_STARTED_MS = performance.now();
export const NODE_STARTED_CPU = process.cpuUsage();
