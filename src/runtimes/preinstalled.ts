import { RuntimeArtifacts } from '../node-setup/artifacts';

/**
 * Preinstalled artifacts for a preset's binaries. A relative path is left out: the preset
 * reports it under the field the user set, not as an artifact they never wrote.
 */
export function preinstalled(...paths: string[]): RuntimeArtifacts[] {
  return paths.filter((p) => p.startsWith('/')).map((p) => RuntimeArtifacts.preinstalled(p));
}
