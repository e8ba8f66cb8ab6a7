import * as fs from 'fs';
import * as path from 'path';
import { HostFs } from './host-fs';
import { Served } from './runtime';
import { STATE_ROOT } from './state';

/**
 * The handlers the container runtime served before this setup first changed its configuration,
 * kept in the setup's state directory (removed with it). An uninstall must not wait for those to
 * disappear: CRI-O serves a `crun` handler on its own whenever crun is on its PATH, so a setup
 * that configures `crun` leaves a `crun` handler behind, as the node had it.
 */
const FILE = 'handlers-before.json';

function fileOf(host: HostFs, setupName: string): string {
  return path.join(host.resolve(STATE_ROOT, true), setupName, FILE);
}

/**
 * Records what the runtime serves now, unless something was recorded before. Call it only while
 * nothing of this setup is on the node. An unanswered question records nothing (the uninstall then
 * waits for every handler to go).
 */
export function recordHandlersBefore(host: HostFs, setupName: string, served: Served): void {
  if (!('handlers' in served)) return;
  const file = fileOf(host, setupName);
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.cdk8s-tmp-${process.pid}`;
  fs.writeFileSync(temp, `${JSON.stringify({ handlers: served.handlers, source: served.source })}\n`);
  fs.renameSync(temp, file);
}

/** The handlers of this setup that exist only because of it: those an uninstall waits to see gone. */
export function handlersAddedBySetup(host: HostFs, setupName: string, handlers: readonly string[]): string[] {
  let before: string[] = [];
  try {
    const recorded = JSON.parse(fs.readFileSync(fileOf(host, setupName), 'utf8'));
    if (Array.isArray(recorded?.handlers)) before = recorded.handlers.filter((h: unknown) => typeof h === 'string');
  } catch {
    // nothing recorded: every handler is ours
  }
  return handlers.filter((h) => !before.includes(h));
}
