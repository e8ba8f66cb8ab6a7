import { ApiObject, App, Chart, YamlOutputType } from 'cdk8s';
import { IConstruct } from 'constructs';

// Checks that read the manifests a synth writes, once per synth.
//
// cdk8s validates before it renders, and more than once (App.synth validates the app, then each
// Chart.toJson validates it again), so a check that renders its object inside a validation renders
// it besides the render that is written, and misses a change made while the app renders (a Lazy of
// an earlier object). cdk8s has no hook after rendering, so the methods that render are wrapped,
// each once per construct that needs it:
// - `toJson` of each checked object, to see every render of it during a synth;
// - `toJson` of the chart holding it (Testing.synth, App.synth and App.synthYaml call it), to check
//   the manifests that chart returns, after any override in a Chart subclass and before they are
//   written;
// - `synth` and `synthYaml` of its App, so that their validation passes leave the check to the
//   render, and because App.synth renders each object itself, without Chart.toJson, for
//   YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE.
// A session lives for one outermost call of these methods and is dropped at its end: nothing
// checked or rendered in one synth is seen by the next.
//
// cdk8s also validates the whole app once per chart (App.synth validates it, then each
// Chart.toJson again): 51 passes for a 50-chart app. Inside a session a pinned object's validation
// leaves the check to the render, and a validation added with `validateOncePerSynth` runs in the
// first pass only, the later passes reading its result.

/** How a construct's manifest is checked. */
export interface ManifestCheck {
  /** Problems the manifest written for the object shows. */
  readonly problemsIn: (manifest: any) => string[];
  /** Problems of a render made now (outside a synth, or in a synth that stopped before writing the object). */
  readonly problemsNow: () => string[];
}

/** The renders of checked objects made while one Chart.toJson (or App.synth) ran. */
interface Frame {
  /** Whether the renders of this frame are the ones written (not so for App.synth's own frame but with one output type). */
  readonly records: boolean;
  readonly renders: Map<ApiObject, any[]>;
  /** The chart whose toJson this frame is, if any. */
  readonly chart?: Chart;
}

const checks = new WeakMap<ApiObject, ManifestCheck[]>();
/** The synth in progress of each construct tree, keyed by its root. */
const sessions = new WeakMap<IConstruct, SynthSession>();
const wrapped = new WeakSet<IConstruct>();
/** What a validation returns inside a synth while the session checks the written manifests (shared: nothing adds to it). */
const NO_PROBLEMS: string[] = Object.freeze([]) as unknown as string[];

/** cdk8s's own header of a failed validation (`validate` in cdk8s's app.ts), so that both read alike. */
const VALIDATION_HEADER = 'Validation failed with the following errors:';

/**
 * Checks `object`'s manifest in every synth that writes it: App.synth (every output type),
 * App.synthYaml and Chart.toJson (Testing.synth). Problems are reported as validation errors of
 * the object, together with every other validation error of the app. Outside a synth (a
 * `node.validate()` call), the object's validation renders and checks it then.
 */
export function checkWrittenManifest(object: ApiObject, check: ManifestCheck): void {
  const root = object.node.root;
  const existing = checks.get(object);
  if (existing) {
    existing.push(check);
  } else {
    checks.set(object, [check]);
    wrapObject(object, root);
  }
  watchSynthsOf(object);
  object.node.addValidation({
    validate: () => {
      const session = sessions.get(root);
      if (!session) return check.problemsNow();
      return session.reporting ? session.reportOn(object, check) : NO_PROBLEMS;
    },
  });
}

/**
 * Adds `validate` as a validation of `construct` that runs once per synth: in the first of
 * cdk8s's validation passes (one per chart, plus one), the others returning its result. Outside
 * a synth (a `node.validate()` call) it runs each time. For validations that read the construct's
 * props or the tree, not anything a render changes, and that are too costly to repeat per chart.
 */
export function validateOncePerSynth(construct: IConstruct, validate: () => string[]): void {
  const root = construct.node.root;
  watchSynthsOf(construct);
  const validation = {
    validate: () => {
      const session = sessions.get(root);
      return session ? session.once(validation, validate) : validate();
    },
  };
  construct.node.addValidation(validation);
}

/**
 * Wraps the methods that start a synth of `construct`'s tree: its chart's `toJson`, its App's
 * `synth` and `synthYaml`. The first construct of a chart also wraps every chart of the app
 * then, so that a chart without checked objects synthesized alone (Testing.synth) leaves the
 * objects of other charts alone; a chart this misses (created later, or nested) still
 * synthesizes correctly, with the validations checking a render of their own as cdk8s runs them.
 * Charts already wrapped cost nothing more: the walk is once per chart, not once per object.
 */
function watchSynthsOf(construct: IConstruct): void {
  const chart = Chart.of(construct);
  if (wrapped.has(chart)) return;
  wrapChart(chart);
  const root = construct.node.root;
  for (const child of root.node.children) {
    if (child instanceof Chart) wrapChart(child);
  }
  if (root instanceof App) wrapApp(root);
}

function wrapObject(object: ApiObject, root: IConstruct): void {
  const render = object.toJson;
  replaceMethod(object, 'toJson', () => {
    const manifest = render.call(object);
    sessions.get(root)?.rendered(object, manifest);
    return manifest;
  });
}

function wrapChart(chart: Chart): void {
  if (wrapped.has(chart)) return;
  wrapped.add(chart);
  const render = chart.toJson;
  replaceMethod(chart, 'toJson', () => synthesizing(chart, (session) => {
    const frame = session.open(true, chart);
    let manifests: unknown;
    try {
      manifests = render.call(chart);
    } finally {
      session.close(frame);
    }
    session.checkWritten(frame, manifests);
    return manifests;
  }));
}

function wrapApp(app: App): void {
  if (wrapped.has(app)) return;
  wrapped.add(app);
  const synth = app.synth;
  replaceMethod(app, 'synth', () => synthesizing(app, (session) => {
    // With one folder per chart, App.synth renders and writes each object itself.
    const frame = session.open(app.yamlOutputType === YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE);
    try {
      synth.call(app);
    } finally {
      session.close(frame);
    }
    if (frame.records) session.checkWritten(frame);
  }));
  const synthYaml = app.synthYaml;
  replaceMethod(app, 'synthYaml', () => synthesizing(app, (session) => {
    const frame = session.open(false);
    try {
      return synthYaml.call(app);
    } finally {
      session.close(frame);
    }
  }));
}

/** Runs `synth` in the session of `scope`'s tree, opening one (and reporting its problems) if none is open. */
function synthesizing<T>(scope: IConstruct, synth: (session: SynthSession) => T): T {
  const root = scope.node.root;
  const current = sessions.get(root);
  if (current) return synth(current);
  const session = new SynthSession(scope);
  sessions.set(root, session);
  try {
    return synth(session);
  } catch (error) {
    throw session.explain(error);
  } finally {
    sessions.delete(root);
  }
}

class SynthSession {
  /** True while the session collects every validation error for its report. */
  public reporting = false;
  /** What `oncePerSynth` computed in this synth. */
  public readonly memo = new Map<object, unknown>();
  private readonly frames: Frame[] = [];
  /** Problems of each object whose written manifest was checked. */
  private readonly problems = new Map<ApiObject, Map<ManifestCheck, string[]>>();
  /** The result of each once-per-synth validation run in this session. */
  private readonly validated = new Map<object, string[]>();

  /** @param scope what this synth writes: the whole app, or one chart */
  public constructor(private readonly scope: IConstruct) {}

  /** The result of `validate` in this session: run at its first call, read at the next. */
  public once(validation: object, validate: () => string[]): string[] {
    let result = this.validated.get(validation);
    if (result === undefined) {
      result = validate();
      this.validated.set(validation, result);
    }
    return result;
  }

  public open(records: boolean, chart?: Chart): Frame {
    const frame: Frame = { records, renders: new Map(), chart };
    this.frames.push(frame);
    return frame;
  }

  public close(frame: Frame): void {
    this.frames.splice(this.frames.lastIndexOf(frame), 1);
  }

  public rendered(object: ApiObject, manifest: any): void {
    const frame = this.frames[this.frames.length - 1];
    if (!frame?.records) return;
    const renders = frame.renders.get(object);
    if (renders) renders.push(manifest);
    else frame.renders.set(object, [manifest]);
  }

  /**
   * Checks the written manifest of each object rendered in `frame`: among `written` (what a
   * Chart.toJson returned), the render itself or, when an override returned copies, the manifest
   * with the render's identity; without `written`, each render was written as it is. An object
   * whose manifest is not written is not checked. Throws when a manifest has problems, so that it
   * is not written; the outermost synth turns that into the app's validation report.
   */
  public checkWritten(frame: Frame, returnedByChart?: unknown): void {
    // App.synth takes `Object.values()` of what a chart returns: do the same.
    const written = returnedByChart === undefined ? undefined : Object.values(returnedByChart ?? {});
    const returned = written ? new Set(written) : undefined;
    let byIdentity: Map<string, any> | undefined;
    const failed: string[] = [];
    for (const [object, renders] of frame.renders) {
      const manifests = new Set<any>();
      // Without a chart's output, App.synth wrote each object's last render (earlier ones were made by validations).
      for (const render of written ? renders : renders.slice(-1)) {
        if (!written || returned!.has(render)) {
          manifests.add(render);
          continue;
        }
        byIdentity ??= new Map(written.map((m) => [identityOf(m), m]));
        const copy = byIdentity.get(identityOf(render));
        if (copy !== undefined) manifests.add(copy);
      }
      if (manifests.size === 0) {
        // Left out of its own chart's output: not written, so not checked.
        if (Chart.of(object) === frame.chart) this.problems.set(object, new Map(checks.get(object)!.map((c) => [c, []])));
        continue;
      }
      const byCheck = new Map<ManifestCheck, string[]>();
      for (const check of checks.get(object)!) {
        const problems = [...new Set([...manifests].flatMap((m) => check.problemsIn(m)))];
        byCheck.set(check, problems);
        failed.push(...problems.map((p) => `[${object.node.path}] ${p}`));
      }
      this.problems.set(object, byCheck);
    }
    if (failed.length > 0) throw new Error(`${VALIDATION_HEADER}\n  ${failed.join('\n  ')}`);
  }

  /** What the object's validation reports when this synth failed. */
  public reportOn(object: ApiObject, check: ManifestCheck): string[] {
    const written = this.problems.get(object)?.get(check);
    if (written) return written;
    // Not checked yet: the synth stopped before it wrote the object, if it writes it at all.
    const writes = this.scope === this.scope.node.root || Chart.of(object) === this.scope;
    return writes ? check.problemsNow() : [];
  }

  /**
   * The error a failed synth throws: every validation error of the app, as cdk8s's validation
   * reports them (a plain cdk8s synth validates everything before it renders anything), or
   * `error` itself when there is none.
   */
  public explain(error: unknown): unknown {
    this.reporting = true;
    try {
      const errors: string[] = [];
      for (const construct of this.scope.node.root.node.findAll()) {
        for (const message of construct.node.validate()) errors.push(`[${construct.node.path}] ${message}`);
      }
      return errors.length > 0 ? new Error(`${VALIDATION_HEADER}\n  ${errors.join('\n  ')}`) : error;
    } catch {
      return error;
    } finally {
      this.reporting = false;
    }
  }
}

/** Which object a manifest stands for, as the API server tells objects apart. */
function identityOf(manifest: any): string {
  return JSON.stringify([manifest?.apiVersion, manifest?.kind, manifest?.metadata?.namespace, manifest?.metadata?.name]);
}

/** Sets an own, non-enumerable method on one instance, leaving its class untouched. */
function replaceMethod(target: object, name: string, method: (...args: any[]) => any): void {
  Object.defineProperty(target, name, { value: method, writable: true, configurable: true, enumerable: false });
}

/**
 * `compute()` once per synth of `scope`'s tree, for facts that many checks of one synth read (the
 * app's namespaces): the first check computes them, the others reuse them. Outside a synth, every
 * call computes.
 */
export function oncePerSynth<T>(scope: IConstruct, key: object, compute: () => T): T {
  const session = sessions.get(scope.node.root);
  if (!session) return compute();
  if (!session.memo.has(key)) session.memo.set(key, compute());
  return session.memo.get(key) as T;
}
