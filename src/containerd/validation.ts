/**
 * Input checks shared by the renderers in this folder. They run on every render so that a bad
 * handler fails at synth time with a clear message instead of as a broken node configuration.
 */

import { dns1123LabelProblem } from '../core/names';

// Kubernetes validates RuntimeClass `handler` as a DNS-1123 label (node.k8s.io/v1 API docs).
const DNS_1123_LABEL_MAX_LENGTH = 63;

/**
 * Throws unless `handler` is a DNS-1123 label (what Kubernetes requires of a RuntimeClass handler,
 * and what keeps the handler a bare TOML key).
 */
export function assertHandlerName(handler: unknown, context: string): asserts handler is string {
  if (typeof handler !== 'string' || handler === '') {
    throw new Error(`${context}: handler must be a non-empty string, got ${JSON.stringify(handler)}`);
  }
  if (dns1123LabelProblem(handler) !== undefined) {
    throw new Error(
      `${context}: handler ${JSON.stringify(handler)} is not a DNS-1123 label: use at most ${DNS_1123_LABEL_MAX_LENGTH} `
      + 'lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "kata-qemu")',
    );
  }
}

/** Throws unless `value` is an absolute path (starts with `/`) without control characters. */
export function assertAbsolutePath(value: unknown, field: string, context: string): asserts value is string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new Error(`${context}: ${field} must be an absolute path starting with "/", got ${JSON.stringify(value)}`);
  }
  if (/[\u0000-\u001F\u007F]/.test(value)) {
    throw new Error(`${context}: ${field} ${JSON.stringify(value)} contains a control character`);
  }
}

/** Throws unless `value` is a non-empty string without whitespace or control characters. */
export function assertToken(value: unknown, field: string, context: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${context}: ${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (/[\s\u0000-\u001F\u007F]/.test(value)) {
    throw new Error(`${context}: ${field} ${JSON.stringify(value)} must not contain whitespace or control characters`);
  }
}

/** Throws unless `value` is `true` or `false` (a string `"true"` would be written as a TOML string). */
export function assertBoolean(value: unknown, field: string, context: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new Error(`${context}: ${field} must be true or false, got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is an array of non-empty strings. */
export function assertStringArray(value: unknown, field: string, context: string): asserts value is string[] {
  if (!Array.isArray(value)) {
    throw new Error(`${context}: ${field} must be an array of strings, got ${JSON.stringify(value)}`);
  }
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || item === '') {
      throw new Error(`${context}: ${field}[${index}] must be a non-empty string, got ${JSON.stringify(item)}`);
    }
  });
}

/** Throws if two entries share a handler name: the output would define the same TOML table twice. */
export function assertUniqueHandlers(handlers: readonly string[], context: string): void {
  const seen = new Set<string>();
  for (const handler of handlers) {
    if (seen.has(handler)) {
      throw new Error(`${context}: handler ${JSON.stringify(handler)} is given more than once; each handler can be configured only once`);
    }
    seen.add(handler);
  }
}

/** Runs `render`, prefixing any error message with `context` so it names the handler and key. */
export function withContext<T>(context: string, render: () => T): T {
  try {
    return render();
  } catch (error) {
    throw new Error(`${context}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
