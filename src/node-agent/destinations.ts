/**
 * Which host paths a node setup may write: checked at synth time (NodeSetup) and again on the
 * node (the agent), from this one table.
 */

/** Directories of the host that belong to the system and are shared: never a tree destination, never replaced by a file. */
export const SYSTEM_DIRECTORIES: readonly string[] = [
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib',
  '/usr/lib64', '/usr/libexec', '/usr/local', '/usr/local/bin', '/usr/local/lib', '/usr/local/sbin',
  '/usr/local/share', '/usr/sbin', '/usr/share', '/var', '/var/lib', '/var/log', '/var/run', '/var/tmp',
  '/etc/containerd', '/etc/crio', '/etc/systemd', '/etc/systemd/system', '/etc/k0s', '/var/lib/rancher',
  '/etc/kubernetes', '/var/lib/kubelet', '/var/lib/containerd',
];

/** Paths the agent edits itself or keeps its state in: no artifact or host file may be written there. */
export const PROTECTED_PATHS: readonly string[] = [
  '/etc/containerd/config.toml',
  '/etc/containerd/conf.d',
  '/etc/crio/crio.conf',
  '/etc/crio/crio.conf.d',
  '/var/lib/rancher/k3s/agent/etc/containerd',
  '/var/lib/rancher/rke2/agent/etc/containerd',
  '/etc/k0s/containerd.toml',
  '/etc/k0s/containerd.d',
  '/var/snap/microk8s/current/args',
  '/var/lib/cdk8s-runtimeclass',
  '/run/cdk8s-runtimeclass.lock',
];

/** Why `value` is not a normalized absolute host path, or undefined. */
export function hostPathProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string';
  if (/[\t\n\r\0]/.test(value)) return 'must not contain tabs, newlines or NUL characters';
  if (!value.startsWith('/')) return 'must be an absolute path on the node';
  if (value !== '/' && value.endsWith('/')) return 'must not end with "/"';
  if (value !== '/' && value.split('/').slice(1).some((p) => p === '' || p === '.' || p === '..')) return 'must be normalized: no empty, "." or ".." components';
  return undefined;
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}

/**
 * Why a node setup may not write `destination`, or undefined. A tree (a directory artifact)
 * owns its destination, so it may neither be a system directory nor hold a protected path.
 */
export function destinationProblem(destination: string, tree: boolean): string | undefined {
  const pathProblem = hostPathProblem(destination);
  if (pathProblem) return pathProblem;
  if (destination === '/') return 'would overwrite the node\'s root: give a directory such as /opt/<runtime>';
  if (SYSTEM_DIRECTORIES.includes(destination)) {
    return tree
      ? 'is a system directory that other software shares: a directory artifact owns its destination, so give it a directory of its own such as /opt/<runtime>'
      : 'is a system directory: give the full path of the file to install, such as /usr/local/bin/<binary>';
  }
  const protectedPath = PROTECTED_PATHS.find((p) => within(destination, p) || (tree && within(p, destination)));
  if (protectedPath) {
    return `${within(destination, protectedPath) ? 'is' : 'holds'} ${protectedPath}, which the node setup manages itself (container runtime configuration or its own state): choose another path`;
  }
  return undefined;
}
