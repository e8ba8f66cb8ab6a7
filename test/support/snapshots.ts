/** The content hash a node setup's ConfigMap name ends with. */
const CONTENT_SUFFIX = /-[0-9a-f]{10}$/;
const CONTENT_PLACEHOLDER = '-<sha256 of the data, 10 hex digits>';

/**
 * A manifest as snapshots keep it: the node agent's code (tested on its own, and run for real
 * by the node-agent tests) and the ConfigMap name derived from it become placeholders, so that
 * a change to the agent does not rewrite every snapshot; the name has tests of its own
 * (test/node-setup).
 */
export function withoutAgentCode(manifest: any): any {
  if (manifest.kind === 'ConfigMap' && manifest.data?.['agent.js'] !== undefined) {
    const data: { [key: string]: string } = {};
    for (const [key, value] of Object.entries<string>(manifest.data)) {
      data[key] = key.endsWith('.js') ? `<src/node-agent/${key.replace(/\.js$/, '.ts')}>` : value;
    }
    const metadata = { ...manifest.metadata, name: String(manifest.metadata.name).replace(CONTENT_SUFFIX, CONTENT_PLACEHOLDER) };
    return { ...manifest, metadata, data };
  }
  const config = manifest.kind === 'DaemonSet' ? manifest.spec?.template?.spec?.volumes?.find((v: any) => v.name === 'config' && v.configMap) : undefined;
  if (config && CONTENT_SUFFIX.test(config.configMap.name)) {
    const copy = JSON.parse(JSON.stringify(manifest));
    const volume = copy.spec.template.spec.volumes.find((v: any) => v.name === 'config');
    volume.configMap.name = volume.configMap.name.replace(CONTENT_SUFFIX, CONTENT_PLACEHOLDER);
    return copy;
  }
  return manifest;
}
