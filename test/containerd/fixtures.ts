import { HandlerConfig } from '../../src/containerd';

/** Kata Containers on QEMU, as kata-deploy installs it under /opt/kata. */
export const KATA_QEMU: HandlerConfig = {
  handler: 'kata-qemu',
  runtimeType: 'io.containerd.kata-qemu.v2',
  runtimePath: '/opt/kata/bin/containerd-shim-kata-v2',
  privilegedWithoutHostDevices: true,
  podAnnotations: ['io.katacontainers.*'],
  options: { ConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml' },
  crio: {
    runtimePath: '/opt/kata/bin/containerd-shim-kata-v2',
    runtimeType: 'vm',
    runtimeRoot: '/run/vc',
    runtimeConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml',
    privilegedWithoutHostDevices: true,
    allowedAnnotations: ['io.katacontainers.*'],
  },
};

/** Kata Containers on Firecracker: needs the devmapper snapshotter. */
export const KATA_FC: HandlerConfig = {
  handler: 'kata-fc',
  runtimeType: 'io.containerd.kata-fc.v2',
  runtimePath: '/opt/kata/bin/containerd-shim-kata-v2',
  privilegedWithoutHostDevices: true,
  podAnnotations: ['io.katacontainers.*'],
  snapshotter: 'devmapper',
  options: { ConfigPath: '/opt/kata/share/defaults/kata-containers/configuration-fc.toml' },
};

/** gVisor, with its shim configuration file. */
export const RUNSC: HandlerConfig = {
  handler: 'runsc',
  runtimeType: 'io.containerd.runsc.v1',
  options: {
    TypeUrl: 'io.containerd.runsc.v1.options',
    ConfigPath: '/etc/containerd/runsc.toml',
  },
  crio: {
    runtimePath: '/usr/local/bin/runsc',
    runtimeType: 'oci',
    runtimeRoot: '/run/runsc',
  },
};

/** crun through the runc shim; SystemdCgroup follows the node's runc. */
export const CRUN: HandlerConfig = {
  handler: 'crun',
  runtimeType: 'io.containerd.runc.v2',
  options: { BinaryName: '/usr/bin/crun' },
  systemdCgroupFromNode: true,
  crio: {
    runtimePath: '/usr/bin/crun',
    runtimeType: 'oci',
    runtimeRoot: '/run/crun',
  },
};

/** The realistic set used by snapshot and integration tests. */
export const REALISTIC_HANDLERS: readonly HandlerConfig[] = [KATA_QEMU, KATA_FC, RUNSC, CRUN];

/** Replaces the installer's placeholder so the fragment parses as TOML. */
export function withSystemdCgroup(text: string, value: boolean = true): string {
  return text.split('@SYSTEMD_CGROUP@').join(String(value));
}
