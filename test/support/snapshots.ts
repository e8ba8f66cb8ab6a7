/**
 * A manifest as snapshots keep it: the node agent's code (tested on its own, and run for real
 * by the node-agent tests) and the config-sha256 derived from it become placeholders, so that a
 * change to the agent does not rewrite every snapshot; the annotation has tests of its own
 * (test/node-setup).
 */
export function withoutAgentCode(manifest: any): any {
  if (manifest.kind === 'ConfigMap' && manifest.data?.['agent.js'] !== undefined) {
    const data: { [key: string]: string } = {};
    for (const [key, value] of Object.entries<string>(manifest.data)) {
      data[key] = key.endsWith('.js') ? `<src/node-agent/${key.replace(/\.js$/, '.ts')}>` : value;
    }
    return { ...manifest, data };
  }
  const annotations = manifest.spec?.template?.metadata?.annotations;
  if (manifest.kind === 'DaemonSet' && annotations?.['runtimeclass.cdk8s.io/config-sha256'] !== undefined) {
    const copy = JSON.parse(JSON.stringify(manifest));
    copy.spec.template.metadata.annotations['runtimeclass.cdk8s.io/config-sha256'] = '<sha256 of the ConfigMap data>';
    return copy;
  }
  return manifest;
}
