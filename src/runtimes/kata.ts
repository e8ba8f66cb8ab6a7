import { Construct } from 'constructs';
import { familyLimits, KATA_HANDLERS } from './handler-limits';
import { CrioRuntimeType, presetArtifacts, RuntimePresetOptions, SandboxedRuntime } from './sandboxed-runtime';
import { PodOverhead } from '../core/overhead';
import { enumProblem } from '../core/values';
import { RuntimeArtifacts } from '../node-setup/artifacts';

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
  /** The VM's fixed footprint, and the least overhead accepted (DESIGN.md: QEMU needs 320Mi). */
  readonly overhead: { readonly cpu: string; readonly memory: string };
  readonly snapshotter?: string;
}

const GO_SHIM = '/opt/kata/bin/containerd-shim-kata-v2';
/** kata-deploy's image keeps the static release tree under /opt/kata-artifacts/opt/kata. */
const KATA_DEPLOY_IMAGE = 'quay.io/kata-containers/kata-deploy:3.11.0';
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

/**
 * Properties of a Kata Containers runtime.
 *
 * @example
 * const props: KataRuntimeProps = {
 *   hypervisor: KataHypervisor.FIRECRACKER,
 *   name: 'microvm',                                // the handler stays kata-fc
 *   scheduling: { nodeSelector: { pool: 'vm' } },   // merged with the node setup's ready label
 *   nodeAllocatable: { memory: Size.gibibytes(2) }, // no pod of this class may need more
 * };
 * new KataRuntime(chart, 'fc', props);
 */
export interface KataRuntimeProps extends RuntimePresetOptions {
  /** The hypervisor. @default KataHypervisor.QEMU */
  readonly hypervisor?: KataHypervisor;
}

/**
 * Kata Containers: each pod runs in its own lightweight VM. Pods cannot share the node's
 * network, PID or IPC namespaces, and every pod pays the VM's memory as overhead.
 *
 * @example
 * // A RuntimeClass "kata-qemu" (overhead 250m / 320Mi) and the DaemonSet that installs Kata.
 * const kata = new KataRuntime(chart, 'kata', { hypervisor: KataHypervisor.QEMU });
 * new SandboxedDeployment(chart, 'checkout', {
 *   runtime: kata,
 *   replicas: 2,
 *   containers: [{ image: 'nginx:1.27', portNumber: 80 }],
 * });
 */
export class KataRuntime extends SandboxedRuntime {
  /** The default handler name of each hypervisor. */
  public static handlerFor(hypervisor: KataHypervisor): string {
    return KATA[hypervisor].handler;
  }

  /** The default artifacts: the Kata release tree from kata-deploy's image, installed under /opt/kata. */
  public static defaultArtifacts(image: string = KATA_DEPLOY_IMAGE): RuntimeArtifacts[] {
    return [RuntimeArtifacts.fromImage(image, '/opt/kata-artifacts/opt/kata', { destination: '/opt/kata' })];
  }

  /** The default overhead of each hypervisor, also the least this library accepts without an opt-out. */
  public static defaultOverhead(hypervisor: KataHypervisor): PodOverhead {
    return PodOverhead.of(KATA[hypervisor].overhead);
  }

  /** The hypervisor. */
  public readonly hypervisor: KataHypervisor;

  public constructor(scope: Construct, id: string, props: KataRuntimeProps = {}) {
    const hypervisor = props.hypervisor ?? KataHypervisor.QEMU;
    const wrongHypervisor = enumProblem(KataHypervisor, hypervisor, 'hypervisor', 'KataHypervisor');
    if (wrongHypervisor) throw new Error(`KataRuntime "${id}": ${wrongHypervisor}`);
    const facts = KATA[hypervisor];
    super(scope, id, {
      ...props,
      displayName: facts.displayName,
      handler: facts.handler,
      minimumOverhead: PodOverhead.of(facts.overhead),
      requiresKvm: true,
      artifacts: presetArtifacts(props, () => KataRuntime.defaultArtifacts()),
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
      },
      limits: familyLimits(KATA_HANDLERS, facts.displayName),
    });
    this.hypervisor = hypervisor;
  }
}
