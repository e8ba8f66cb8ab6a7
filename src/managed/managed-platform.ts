import { Construct } from 'constructs';
import { ManagedPlatformKind } from './platform-kinds';
import { PLATFORMS } from './platforms';
import { dns1123SubdomainProblem } from '../core/names';
import { RuntimeClass } from '../core/runtime-class';

/**
 * Properties of a ManagedPlatform.
 *
 * @example
 * const props: ManagedPlatformProps = {
 *   platform: ManagedPlatformKind.AKS,
 *   additionalClassNames: ['kata-cc'], // classes the cluster's operators create besides the platform's
 * };
 * new ManagedPlatform(chart, 'aks', props);
 * ManagedRuntimeClass.aksPodSandboxing().pin(new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27' }] }));
 */
export interface ManagedPlatformProps {
  /** The platform or operator that creates RuntimeClasses in the target cluster. */
  readonly platform: ManagedPlatformKind;
  /**
   * Other class names it creates in your cluster, e.g. the GPU operator's class when the
   * ClusterPolicy renames it (`operator.runtimeClass`).
   * @default - none
   */
  readonly additionalClassNames?: string[];
}

/**
 * Declares that the target cluster runs a platform or operator that creates RuntimeClasses of
 * its own (GKE Sandbox, AKS pod sandboxing, the NVIDIA GPU operator, k3s). Nothing is
 * synthesized; when the app is validated, any `RuntimeClass` in it, a runtime preset's
 * included, whose name is one of the platform's is an error: that object would fight the
 * platform over the class. Refer to the existing class with `ManagedRuntimeClass` instead.
 *
 * @example
 * // On GKE: a RuntimeClass "gvisor" in the app would fight GKE Sandbox over the class.
 * new ManagedPlatform(chart, 'gke', { platform: ManagedPlatformKind.GKE });
 * ManagedRuntimeClass.gkeSandbox().pin(new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27' }] }));
 */
export class ManagedPlatform extends Construct {
  /** The names of the classes a platform creates. */
  public static providedClassNames(platform: ManagedPlatformKind): string[] {
    return PLATFORMS[platform].classes.map((c) => c.name);
  }

  /** The platform. */
  public readonly platform: ManagedPlatformKind;
  /** Every class name it creates in the target cluster: its own and `additionalClassNames`. */
  public readonly classNames: string[];

  public constructor(scope: Construct, id: string, props: ManagedPlatformProps) {
    super(scope, id);
    this.platform = props.platform;
    const facts = PLATFORMS[props.platform];
    const additional = props.additionalClassNames ?? [];
    this.classNames = [...ManagedPlatform.providedClassNames(props.platform), ...additional.filter((n) => !facts.classes.some((c) => c.name === n))];

    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        additional.forEach((name, index) => {
          const problem = dns1123SubdomainProblem(name);
          if (problem) problems.push(`additionalClassNames[${index}] "${name}" ${problem}`);
        });
        for (const construct of this.node.root.node.findAll()) {
          if (!RuntimeClass.isRuntimeClass(construct) || !this.classNames.includes(construct.runtimeClassName)) continue;
          const name = construct.runtimeClassName;
          const known = facts.classes.find((c) => c.name === name);
          const factory = known ? known.factory : `RuntimeClass.fromName('${name}')`;
          problems.push(`RuntimeClass "${name}" (${construct.node.path}) has the name of a class ${facts.subject} already creates (${facts.ownership}), so applying it would fight ${facts.subject} over the object: remove it and refer to the existing class with ${factory}`);
        }
        return problems.map((p) => `ManagedPlatform ${facts.displayName}: ${p}`);
      },
    });
  }
}
