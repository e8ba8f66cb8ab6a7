// Finds the RuntimeClassDefaults of an app, for the checks that compare policies with them.
import { IConstruct } from 'constructs';
import type { RuntimeClassDefault } from './runtime-class-default';
import { selectorToJson } from './selector';

const DEFAULTING = Symbol.for('cdk8s-runtimeclass.RuntimeClassDefault');

/** Marks a construct as a RuntimeClassDefault (works across copies of this library). */
export function markDefault(construct: RuntimeClassDefault): void {
  Object.defineProperty(construct, DEFAULTING, { value: true });
}

/** The RuntimeClassDefaults of the app whose namespace selector renders as `selectorJson`. */
export function defaultsFor(scope: IConstruct, selectorJson: string): RuntimeClassDefault[] {
  return scope.node.root.node.findAll()
    .filter((c): c is RuntimeClassDefault => DEFAULTING in c)
    .filter((c) => JSON.stringify(selectorToJson(c.namespaceSelector)) === selectorJson);
}
