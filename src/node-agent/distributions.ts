import { HostFs } from './host-fs';
import { runCommand } from './process';

/** The container runtimes the agent configures. */
export type Distribution = 'containerd' | 'k3s' | 'rke2' | 'k0s' | 'microk8s' | 'crio';

export const DISTRIBUTIONS: readonly Distribution[] = ['containerd', 'k3s', 'rke2', 'k0s', 'microk8s', 'crio'];

/** Facts of one distribution on the host (paths are host paths). */
export interface DistributionFacts {
  readonly name: Distribution;
  /** The containerd binary the distribution runs (not for CRI-O). */
  readonly containerdBinary?: string;
  /** The runtime's CRI socket. */
  readonly criSocket: string;
  /** The config the distribution renders from the template we edit, if it renders one. */
  readonly renderedConfig?: string;
}

const FACTS: { readonly [name in Distribution]: DistributionFacts } = {
  containerd: { name: 'containerd', containerdBinary: 'containerd', criSocket: '/run/containerd/containerd.sock' },
  // Binaries and sockets the distributions ship: k3s data/current/bin, rke2 bin, k0s bin, the snap.
  k3s: {
    name: 'k3s',
    containerdBinary: '/var/lib/rancher/k3s/data/current/bin/containerd',
    criSocket: '/run/k3s/containerd/containerd.sock',
    renderedConfig: '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
  },
  rke2: {
    name: 'rke2',
    containerdBinary: '/var/lib/rancher/rke2/bin/containerd',
    criSocket: '/run/k3s/containerd/containerd.sock',
    renderedConfig: '/var/lib/rancher/rke2/agent/etc/containerd/config.toml',
  },
  k0s: { name: 'k0s', containerdBinary: '/var/lib/k0s/bin/containerd', criSocket: '/run/k0s/containerd.sock' },
  microk8s: {
    name: 'microk8s',
    containerdBinary: '/snap/microk8s/current/bin/containerd',
    criSocket: '/var/snap/microk8s/common/run/containerd.sock',
    renderedConfig: '/var/snap/microk8s/current/args/containerd.toml',
  },
  crio: { name: 'crio', criSocket: '/run/crio/crio.sock' },
};

/** The distribution named in the spec, or detected from the files it leaves on the host. */
export function detectDistribution(host: HostFs, configured: string): { facts: DistributionFacts; detected: boolean } {
  if (configured !== 'auto') {
    if (!(DISTRIBUTIONS as readonly string[]).includes(configured)) {
      throw new Error(`unknown distribution '${configured}' in the spec: expected auto, ${DISTRIBUTIONS.join(', ')}`);
    }
    return { facts: FACTS[configured as Distribution], detected: false };
  }
  const has = (hostPath: string) => host.entry(hostPath, true).type !== 'absent';
  const socket = (hostPath: string) => host.entry(hostPath, true).type === 'other';
  let name: Distribution = 'containerd';
  if (host.isDirectory('/var/lib/rancher/k3s/agent/etc/containerd')) name = 'k3s';
  else if (host.isDirectory('/var/lib/rancher/rke2/agent/etc/containerd')) name = 'rke2';
  else if (host.isDirectory('/etc/k0s') || has('/var/lib/k0s/bin/containerd')) name = 'k0s';
  else if (has('/var/snap/microk8s/current/args/containerd-template.toml')) name = 'microk8s';
  else if ((socket('/run/crio/crio.sock') || socket('/var/run/crio/crio.sock')) && !socket('/run/containerd/containerd.sock')) name = 'crio';
  return { facts: FACTS[name], detected: true };
}

function unitFileExists(host: HostFs, unit: string): boolean {
  return ['/etc/systemd/system', '/usr/local/lib/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system']
    .some((dir) => host.entry(`${dir}/${unit}.service`, true).type !== 'absent');
}

/** The unit to restart: RESTART_UNIT, else the distribution's (server or agent flavour, whichever is installed or running). */
export async function detectUnit(host: HostFs, distribution: Distribution, systemctl: string[], override: string | undefined): Promise<string> {
  if (override) return override;
  const pick = async (server: string, agent: string) => {
    const serverFile = unitFileExists(host, server);
    const agentFile = unitFileExists(host, agent);
    if (serverFile !== agentFile) return serverFile ? server : agent;
    const active = async (unit: string) => (await runCommand([...systemctl, 'is-active', '--quiet', unit], { timeoutMs: 30_000 })).status === 0;
    return (await active(agent)) && !(await active(server)) ? agent : server;
  };
  switch (distribution) {
    case 'k3s': return pick('k3s', 'k3s-agent');
    case 'rke2': return pick('rke2-server', 'rke2-agent');
    // `k0s install worker|controller` creates k0sworker.service / k0scontroller.service.
    case 'k0s': return pick('k0scontroller', 'k0sworker');
    case 'microk8s': return 'snap.microk8s.daemon-containerd';
    case 'crio': return 'crio';
    default: return 'containerd';
  }
}
