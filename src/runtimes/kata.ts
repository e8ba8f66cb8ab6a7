import { Construct } from 'constructs';
import { CrioRuntimeType, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';
import { PodOverhead } from '../core/overhead';

/** The hypervisor Kata Containers runs each pod's VM with. */
export enum KataHypervisor {
  /** QEMU: the broadest device support. Handler `kata-qemu`. */
  QEMU = 'qemu',
  /** Cloud Hypervisor. Handler `kata-clh`. */
  CLOUD_HYPERVISOR = 'clh',
  /** Firecracker: needs the devmapper snapshotter on the node. Handler `kata-fc`. */
  FIRECRACKER = 'fc',
  /** Dragonball, built into the Rust runtime's shim. Handler `kata-dragonball`. */
  DRAGONBALL = 'dragonball',
}

/** Facts about Kata Containers with one hypervisor. Paths are kata-deploy's layout under /opt/kata. */
interface KataFacts {
  readonly displayName: string;
  readonly handler: string;
  readonly shim: string;
  readonly configPath: string;
  /** kata-deploy's RuntimeClass overhead: the VM's fixed footprint. */
  readonly overhead: { readonly cpu: string; readonly memory: string };
  readonly snapshotter?: string;
}

const GO_SHIM = '/opt/kata/bin/containerd-shim-kata-v2';
const CONFIG_DIR = '/opt/kata/share/defaults/kata-containers';

/** One row per hypervisor: the single source of these facts. */
const KATA: { readonly [hypervisor in KataHypervisor]: KataFacts } = {
  [KataHypervisor.QEMU]: {
    displayName: 'Kata Containers with QEMU',
    handler: 'kata-qemu',
    shim: GO_SHIM,
    configPath: `${CONFIG_DIR}/configuration-qemu.toml`,
    overhead: { cpu: '250m', memory: '320Mi' },
  },
  [KataHypervisor.CLOUD_HYPERVISOR]: {
    displayName: 'Kata Containers with Cloud Hypervisor',
    handler: 'kata-clh',
    shim: GO_SHIM,
    configPath: `${CONFIG_DIR}/configuration-clh.toml`,
    overhead: { cpu: '250m', memory: '130Mi' },
  },
  [KataHypervisor.FIRECRACKER]: {
    displayName: 'Kata Containers with Firecracker',
    handler: 'kata-fc',
    shim: GO_SHIM,
    configPath: `${CONFIG_DIR}/configuration-fc.toml`,
    overhead: { cpu: '250m', memory: '130Mi' },
    // Firecracker has no virtio-fs: container root filesystems must be block devices.
    snapshotter: 'devmapper',
  },
  [KataHypervisor.DRAGONBALL]: {
    displayName: 'Kata Containers with Dragonball',
    handler: 'kata-dragonball',
    shim: '/opt/kata/runtime-rs/bin/containerd-shim-kata-v2',
    configPath: `${CONFIG_DIR}/runtime-rs/configuration-dragonball.toml`,
    overhead: { cpu: '250m', memory: '130Mi' },
  },
};

/** Properties of a Kata Containers runtime. */
export interface KataRuntimeProps extends RuntimePresetOptions {
  /** The hypervisor. @default KataHypervisor.QEMU */
  readonly hypervisor?: KataHypervisor;
}

/**
 * Kata Containers: each pod runs in its own lightweight VM. Pods cannot share the node's
 * network, PID or IPC namespaces, and every pod pays the VM's memory as overhead.
 */
export class KataRuntime extends SandboxedRuntime {
  /** The default handler name of each hypervisor. */
  public static handlerFor(hypervisor: KataHypervisor): string {
    return KATA[hypervisor].handler;
  }

  /** kata-deploy's overhead for each hypervisor, also the minimum this library accepts by default. */
  public static defaultOverhead(hypervisor: KataHypervisor): PodOverhead {
    return PodOverhead.of(KATA[hypervisor].overhead);
  }

  /** The hypervisor. */
  public readonly hypervisor: KataHypervisor;

  public constructor(scope: Construct, id: string, props: KataRuntimeProps = {}) {
    const hypervisor = props.hypervisor ?? KataHypervisor.QEMU;
    const facts = KATA[hypervisor];
    super(scope, id, {
      ...props,
      displayName: facts.displayName,
      handler: facts.handler,
      minimumOverhead: PodOverhead.of(facts.overhead),
      requiresKvm: true,
      containerd: {
        runtimeType: `io.containerd.${facts.handler}.v2`,
        runtimePath: facts.shim,
        privilegedWithoutHostDevices: true,
        podAnnotations: ['io.katacontainers.*'],
        snapshotter: facts.snapshotter,
        options: { ConfigPath: facts.configPath },
      },
      crio: {
        runtimePath: facts.shim,
        runtimeType: CrioRuntimeType.VM,
        runtimeRoot: '/run/vc',
        runtimeConfigPath: facts.configPath,
        privilegedWithoutHostDevices: true,
        allowedAnnotations: ['io.katacontainers.*'],
      },
      limits: {
        hostNetwork: false,
        hostPid: false,
        hostIpc: false,
        reason: `${facts.displayName} runs each pod in its own VM, which cannot join the node's namespaces`,
      },
    });
    this.hypervisor = hypervisor;
  }
}
