/**
 * A manifest as snapshots keep it: the installer script (tested byte for byte on its own) and the
 * config-sha256 derived from it become placeholders, so that a change to the script does not
 * rewrite every snapshot; the annotation has tests of its own (test/node-setup).
 */
export function withoutInstallerScript(manifest: any): any {
  if (manifest.kind === 'ConfigMap' && manifest.data?.['install.sh'] !== undefined) {
    return { ...manifest, data: { ...manifest.data, 'install.sh': '<src/node-setup/installer.sh>' } };
  }
  const annotations = manifest.spec?.template?.metadata?.annotations;
  if (manifest.kind === 'DaemonSet' && annotations?.['runtimeclass.cdk8s.io/config-sha256'] !== undefined) {
    const copy = JSON.parse(JSON.stringify(manifest));
    copy.spec.template.metadata.annotations['runtimeclass.cdk8s.io/config-sha256'] = '<sha256 of the ConfigMap data>';
    return copy;
  }
  return manifest;
}
