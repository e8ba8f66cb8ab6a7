import * as fs from 'fs';
import { App } from 'cdk8s';

const VALIDATION_HEADER = 'Validation failed with the following errors:';

/**
 * Synthesizes `app` (which runs every construct validation) and returns the lines of the
 * validation error, each `[construct/path] message`; [] when the app synthesizes.
 */
export function validationErrors(app: App): string[] {
  try {
    app.synth();
  } catch (error) {
    const [header, ...lines] = (error as Error).message.split('\n');
    if (header !== VALIDATION_HEADER) throw error;
    return lines.map((line) => line.trim());
  } finally {
    // Testing.app() writes into a fresh temp dir: leave nothing behind.
    fs.rmSync(app.outdir, { recursive: true, force: true });
  }
  return [];
}

/** JSON pointers of every property named `key` anywhere in `document`, in document order. */
export function pointersOf(document: unknown, key: string, at: string = ''): string[] {
  if (document === null || typeof document !== 'object') return [];
  const found: string[] = [];
  for (const [name, value] of Object.entries(document as { [name: string]: unknown })) {
    const pointer = `${at}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (name === key) found.push(pointer);
    found.push(...pointersOf(value, key, pointer));
  }
  return found;
}

/** The one manifest of `kind` in a synthesized chart. */
export function manifestOfKind(manifests: any[], kind: string): any {
  const matching = manifests.filter((m) => m.kind === kind);
  if (matching.length !== 1) throw new Error(`expected one ${kind}, found ${matching.length}`);
  return matching[0];
}

/** A deep copy of `document` without the property at `pointer`. */
export function withoutPointer(document: any, pointer: string): any {
  const copy = JSON.parse(JSON.stringify(document));
  const parts = pointer.split('/').slice(1);
  const last = parts.pop()!;
  let node = copy;
  for (const part of parts) node = node[part];
  delete node[last];
  return copy;
}
