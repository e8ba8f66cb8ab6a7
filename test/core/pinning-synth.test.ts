// Pin checks run once per synth, on the manifests the synth writes: every way cdk8s synthesizes
// (each App.synth output type, App.synthYaml, Testing.synth), charts that override toJson,
// multi-chart apps, and changes no check made before the write could have seen.
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart, JsonPatch, Lazy, Testing, YamlOutputType } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { validationErrors } from './support';
import { PodOverhead, RuntimeClass, RuntimeClassProps } from '../../src/core';

const SANDBOX: RuntimeClassProps = {
  name: 'sandbox',
  handler: 'kata-qemu',
  scheduling: { nodeSelector: { pool: 'sandbox' } },
  limits: { allowHostNetwork: false, reason: 'each pod runs in its own VM' },
};

const OUTPUT_TYPES: Array<[string, YamlOutputType]> = [
  ['FILE_PER_CHART', YamlOutputType.FILE_PER_CHART],
  ['FILE_PER_RESOURCE', YamlOutputType.FILE_PER_RESOURCE],
  ['FOLDER_PER_CHART_FILE_PER_RESOURCE', YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE],
  ['FILE_PER_APP', YamlOutputType.FILE_PER_APP],
];

/** A raw Deployment named `name` whose pod spec is produced at each render, which it counts. */
class CountedDeployment extends Construct {
  public readonly resource: ApiObject;
  public renders = 0;
  public constructor(scope: Construct, id: string, podSpec: () => { [field: string]: unknown } = () => ({})) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: id },
      spec: Lazy.any({
        produce: () => {
          this.renders++;
          return {
            selector: { matchLabels: { app: id } },
            template: { metadata: { labels: { app: id } }, spec: { containers: [{ name: 'app', image: 'nginx' }], ...podSpec() } },
          };
        },
      }),
    });
  }
}

/** A ConfigMap whose data is produced at render time, calling `whileRendered` then. */
function renderHook(scope: Construct, id: string, whileRendered: () => void): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: id },
    data: Lazy.any({ produce: () => { whileRendered(); return { ready: 'yes' }; } }),
  });
}

const pinnedTo = (object: ApiObject) => `[${object.node.path}] Deployment "${object.name}" (pinned to RuntimeClass "sandbox")`;
const selectorConflict = (object: ApiObject) => `${pinnedTo(object)} conflict: runtimeClass.scheduling.nodeSelector[pool] = sandbox; pod.nodeSelector[pool] = general: `
  + 'the pods would be rejected at creation; remove the key from the pod\'s nodeSelector or use the class\'s value';
const overheadSet = (object: ApiObject) => `${pinnedTo(object)} sets spec.overhead {"cpu":"1"} in its pod template: RuntimeClass admission sets it from the class `
  + 'and rejects pods that set their own ("Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead"); remove it';

/** Every manifest under a synthesized app's outdir, whatever the output type. */
function written(outdir: string): any[] {
  const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return files(outdir).filter((f) => f.endsWith('.k8s.yaml')).flatMap((f) => parseAllDocuments(fs.readFileSync(f, 'utf8')).map((d) => d.toJS()));
}

/** Runs `synth` and returns the lines of its validation error ([] when it succeeds). */
function errorsOf(synth: () => unknown): string[] {
  try {
    synth();
  } catch (error) {
    const [header, ...lines] = (error as Error).message.split('\n');
    expect(header).toBe('Validation failed with the following errors:');
    return lines.map((l) => l.trim());
  }
  return [];
}

describe.each(OUTPUT_TYPES)('App.synth with YamlOutputType.%s', (_name, yamlOutputType) => {
  function setup() {
    const app = Testing.app({ yamlOutputType });
    const chart = new Chart(app, 'test');
    return { app, chart, runtimeClass: new RuntimeClass(chart, 'rc', SANDBOX) };
  }

  test('renders a pinned object once, as often as an unpinned one, and writes it pinned', () => {
    const { app, chart, runtimeClass } = setup();
    const pinned = new CountedDeployment(chart, 'pinned');
    const unpinned = new CountedDeployment(chart, 'unpinned');
    runtimeClass.pin(pinned);
    pinned.renders = 0;
    app.synth();
    expect([pinned.renders, unpinned.renders]).toEqual([1, 1]);
    const deployments = written(app.outdir).filter((m) => m.kind === 'Deployment');
    expect(deployments.map((m) => [m.metadata.name, m.spec.template.spec.runtimeClassName])).toEqual([['pinned', 'sandbox'], ['unpinned', undefined]]);
  });

  test('reports a problem of the written manifest with the message a validation gives', () => {
    const { app, chart, runtimeClass } = setup();
    const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    runtimeClass.pin(web);
    expect(validationErrors(app)).toEqual([selectorConflict(web.resource)]);
  });

  test('sees a change made while the app renders (a Lazy of an earlier object), which a check before rendering misses', () => {
    const { app, chart, runtimeClass } = setup();
    let conflict = false;
    const hook = renderHook(chart, 'hook', () => { conflict = true; });
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    web.resource.addDependency(hook);
    runtimeClass.pin(web);
    expect(validationErrors(app)).toEqual([selectorConflict(web.resource)]);
  });

  test('checks each synth afresh: a change between two synths is seen, both ways', () => {
    const { app, chart, runtimeClass } = setup();
    let conflict = false;
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    runtimeClass.pin(web);
    expect(errorsOf(() => app.synth())).toEqual([]);
    conflict = true;
    expect(errorsOf(() => app.synth())).toEqual([selectorConflict(web.resource)]);
    conflict = false;
    expect(errorsOf(() => app.synth())).toEqual([]);
    fs.rmSync(app.outdir, { recursive: true, force: true });
  });

  test('a JSON patch added after pin() is in what is checked', () => {
    const { app, chart, runtimeClass } = setup();
    const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
    runtimeClass.pin(web);
    ApiObject.of(web).addJsonPatch(JsonPatch.add('/spec/template/spec/hostNetwork', true));
    expect(validationErrors(app)).toEqual([
      `[test/web/Resource] Deployment "${web.name}" (pinned to RuntimeClass "sandbox") sets hostNetwork: true, which RuntimeClass "sandbox" cannot give `
      + '(each pod runs in its own VM): remove hostNetwork or run this workload with another runtime',
    ]);
  });

  test('a pinned object removed from the tree is not checked', () => {
    const { app, chart, runtimeClass } = setup();
    const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    runtimeClass.pin(web);
    chart.node.tryRemoveChild('web');
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('Testing.synth', () => {
  test('renders a pinned object once and returns it pinned', () => {
    const chart = Testing.chart();
    const web = new CountedDeployment(chart, 'web');
    RuntimeClass.fromName('sandbox').pin(web);
    web.renders = 0;
    const manifests = Testing.synth(chart);
    expect(web.renders).toBe(1);
    expect(manifests[0].spec.template.spec.runtimeClassName).toBe('sandbox');
  });

  test('each call checks afresh: a change between two calls is seen, both ways', () => {
    const chart = Testing.chart();
    let conflict = false;
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(errorsOf(() => Testing.synth(chart))).toEqual([]);
    conflict = true;
    expect(errorsOf(() => Testing.synth(chart))).toEqual([selectorConflict(web.resource)]);
    conflict = false;
    expect(errorsOf(() => Testing.synth(chart))).toEqual([]);
  });

  test('sees a change made by an earlier object\'s render', () => {
    const chart = Testing.chart();
    let conflict = false;
    const hook = renderHook(chart, 'hook', () => { conflict = true; });
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    web.resource.addDependency(hook);
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(errorsOf(() => Testing.synth(chart))).toEqual([selectorConflict(web.resource)]);
  });

  test('a pinned object in a chart that is not synthesized is not checked; it is when its chart is', () => {
    const app = Testing.app();
    const clean = new Chart(app, 'clean');
    const other = new Chart(app, 'other');
    const rc = new RuntimeClass(clean, 'rc', SANDBOX);
    const web = new CountedDeployment(other, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    rc.pin(web);
    web.renders = 0;
    expect(Testing.synth(clean).map((m) => m.kind)).toEqual(['RuntimeClass']);
    expect(web.renders).toBe(0);
    expect(errorsOf(() => Testing.synth(other))).toEqual([selectorConflict(web.resource)]);
  });

  test('a failed synth leaves nothing behind: a validation outside a synth renders and checks again', () => {
    const chart = Testing.chart();
    let conflict = true;
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(errorsOf(() => Testing.synth(chart))).toHaveLength(1);
    conflict = false;
    expect(web.resource.node.validate()).toEqual([]);
    conflict = true;
    expect(web.resource.node.validate()).toEqual([selectorConflict(web.resource).replace(/^\[[^\]]+\] /, '')]);
  });
});

describe('App.synthYaml', () => {
  test('renders a pinned object once and writes it pinned', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const web = new CountedDeployment(chart, 'web');
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    web.renders = 0;
    const yaml = app.synthYaml();
    expect(web.renders).toBe(1);
    expect(parseAllDocuments(yaml).map((d) => d.toJS()).find((m) => m.kind === 'Deployment').spec.template.spec.runtimeClassName).toBe('sandbox');
  });

  test('reports a problem of the written manifest, including one made by an earlier object\'s render', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    let conflict = false;
    const hook = renderHook(chart, 'hook', () => { conflict = true; });
    const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
    web.resource.addDependency(hook);
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(errorsOf(() => app.synthYaml())).toEqual([selectorConflict(web.resource)]);
  });
});

describe('a Chart subclass that overrides toJson', () => {
  /** Returns copies of its manifests, with what `edit` does to each. */
  class EditingChart extends Chart {
    public constructor(scope: Construct, id: string, private readonly edit: (manifest: any) => any) {
      super(scope, id);
    }

    public toJson(): any[] {
      return super.toJson().map((m) => this.edit(JSON.parse(JSON.stringify(m)))).filter((m) => m !== undefined);
    }
  }

  test.each<[string, (chart: Chart) => unknown]>([
    ['App.synth', (chart) => App.of(chart).synth()],
    ['App.synthYaml', (chart) => App.of(chart).synthYaml()],
    ['Testing.synth', (chart) => Testing.synth(chart)],
  ])('%s checks the copies it returns, not the objects\' own renders', (_how, synth) => {
    const app = Testing.app();
    const chart = new EditingChart(app, 'test', (m) => {
      if (m.kind === 'Deployment') m.spec.template.spec.overhead = { cpu: '1' };
      return m;
    });
    const web = new CountedDeployment(chart, 'web');
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(web.resource.node.validate()).toEqual([]);
    expect(errorsOf(() => synth(chart))).toEqual([overheadSet(web.resource)]);
    fs.rmSync(app.outdir, { recursive: true, force: true });
  });

  test('a pinned object it leaves out is not written, so not checked', () => {
    const app = Testing.app();
    const chart = new EditingChart(app, 'test', (m) => (m.kind === 'Deployment' ? undefined : m));
    const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(validationErrors(app)).toEqual([]);
  });
});

describe('an app of several charts with dependencies', () => {
  function setup(yamlOutputType?: YamlOutputType) {
    const app = Testing.app({ yamlOutputType });
    const platform = new Chart(app, 'platform');
    const runtimeClass = new RuntimeClass(platform, 'rc', SANDBOX);
    const shop = new Chart(app, 'shop');
    const billing = new Chart(app, 'billing');
    shop.addDependency(platform);
    billing.addDependency(shop);
    return { app, platform, shop, billing, runtimeClass };
  }

  test.each(OUTPUT_TYPES)('every pinned object is rendered once and written pinned (%s)', (_name, yamlOutputType) => {
    const { app, shop, billing, runtimeClass } = setup(yamlOutputType);
    const objects = [new CountedDeployment(shop, 'cart'), new CountedDeployment(billing, 'invoices'), new CountedDeployment(billing, 'ledger')];
    objects.forEach((o) => { runtimeClass.pin(o); o.renders = 0; });
    app.synth();
    expect(objects.map((o) => o.renders)).toEqual([1, 1, 1]);
    expect(written(app.outdir).filter((m) => m.kind === 'Deployment').map((m) => m.spec.template.spec.runtimeClassName)).toEqual(['sandbox', 'sandbox', 'sandbox']);
  });

  test('one synth reports the problems of every chart, with the other validation errors, in tree order', () => {
    const { app, platform, shop, billing, runtimeClass } = setup();
    const cart = new CountedDeployment(shop, 'cart', () => ({ nodeSelector: { pool: 'general' } }));
    const invoices = new CountedDeployment(billing, 'invoices', () => ({ overhead: { cpu: '1' } }));
    runtimeClass.pin(cart);
    runtimeClass.pin(invoices);
    new RuntimeClass(platform, 'twin', SANDBOX);
    const errors = validationErrors(app);
    expect(errors).toHaveLength(4);
    expect(errors.slice(0, 2)).toEqual([
      expect.stringMatching(/^\[platform\/rc\] RuntimeClass "sandbox": another RuntimeClass in this app has the same name/),
      expect.stringMatching(/^\[platform\/twin\] RuntimeClass "sandbox": another RuntimeClass in this app has the same name/),
    ]);
    expect(errors.slice(2)).toEqual([selectorConflict(cart.resource), overheadSet(invoices.resource)]);
  });

  test('a problem found while writing the second chart is reported with the third chart\'s, which was never rendered', () => {
    const { app, shop, billing, runtimeClass } = setup();
    const cart = new CountedDeployment(shop, 'cart', () => ({ nodeSelector: { pool: 'general' } }));
    const invoices = new CountedDeployment(billing, 'invoices', () => ({ overhead: { cpu: '1' } }));
    runtimeClass.pin(cart);
    runtimeClass.pin(invoices);
    expect(validationErrors(app)).toEqual([selectorConflict(cart.resource), overheadSet(invoices.resource)]);
  });
});

test('a pinned workload that cannot be rendered is reported by App.synth among the other errors, not thrown alone', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const runtimeClass = new RuntimeClass(chart, 'rc', SANDBOX);
  const empty = new kplus.Deployment(chart, 'empty');
  runtimeClass.pin(empty);
  const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
  runtimeClass.pin(web);
  expect(validationErrors(app)).toEqual([
    '[test/empty/Resource] cannot be rendered, so its pinning to RuntimeClass "sandbox" cannot be checked: '
    + `Failed serializing construct at path 'test/empty/Resource' with name '${empty.name}': Error: PodSpec must have at least 1 container`,
    selectorConflict(web.resource),
  ]);
});

// From JavaScript a patch can be a plain object (or null): cdk8s fails to render the object, and
// that failure is reported like any other, naming the construct, not thrown by pin() as a TypeError.
test.each<[string, unknown]>([
  ['a plain object', { op: 'add', path: '/spec/template/spec/hostNetwork', value: true }],
  ['null', null],
])('a cdk8s-plus workload with a JSON patch that is %s is pinned and reported at synth', (_title, patch) => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
  ApiObject.of(web).addJsonPatch(patch as any);
  new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
  expect(validationErrors(app)).toEqual([
    expect.stringMatching(new RegExp(`^\\[test/web/Resource\\] cannot be rendered, so its pinning to RuntimeClass "sandbox" cannot be checked: Failed serializing construct at path 'test/web/Resource' with name '${web.name}': TypeError: `)),
  ]);
});

// A cdk8s-plus workload renders lazily (its containers can come after pin()): pin() reads its
// earlier JSON patches rather than render it, which would double the renders of a synth.
test('pin() does not render a cdk8s-plus workload', () => {
  const chart = Testing.chart();
  const web = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx' }] });
  const renders = jest.spyOn(ApiObject.of(web), 'toJson');
  new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
  expect(renders).not.toHaveBeenCalled();
});

describe('an app of many charts (cdk8s validates the app once per chart, plus once)', () => {
  const CHARTS = 20;

  /** An app of `CHARTS` charts, a RuntimeClass with an overhead in the first, `perChart` pinned Deployments in each. */
  function manyCharts(perChart: number) {
    const app = Testing.app();
    const charts = Array.from({ length: CHARTS }, (_, c) => new Chart(app, `apps-${c}`));
    const overhead = PodOverhead.of({ cpu: '250m', memory: '320Mi' });
    const runtimeClass = new RuntimeClass(charts[0], 'rc', { ...SANDBOX, overhead });
    const pinAll = () => charts.flatMap((chart) => Array.from({ length: perChart }, (_, i) => {
      const deployment = new CountedDeployment(chart, `web-${i}`);
      runtimeClass.pin(deployment);
      return deployment;
    }));
    return { app, charts, overhead, runtimeClass, pinAll };
  }

  test('a RuntimeClass is validated once per synth, not once per chart', () => {
    const { app, overhead, pinAll } = manyCharts(2);
    pinAll();
    // The class's validation is what reads its overhead (pin checks read it only against a nodeAllocatable).
    const validations = jest.spyOn(overhead, 'validate');
    app.synth();
    expect(validations).toHaveBeenCalledTimes(1);
    app.synthYaml();
    expect(validations).toHaveBeenCalledTimes(2);
    fs.rmSync(app.outdir, { recursive: true, force: true });
  });

  test('a once-per-synth validation still reports in every synth, afresh, and at each node.validate() outside one', () => {
    const { app, charts, runtimeClass, pinAll } = manyCharts(1);
    pinAll();
    expect(validationErrors(app)).toEqual([]);
    runtimeClass.addNodeSelector('pool', 'other', 'a test');
    const conflict = expect.stringMatching(/^\[apps-0\/rc\] RuntimeClass "sandbox": .*pool/);
    expect(validationErrors(app)).toEqual([conflict]);
    expect(errorsOf(() => Testing.synth(charts[CHARTS - 1]))).toEqual([conflict]);
    expect(runtimeClass.node.validate()).toHaveLength(1);
    expect(runtimeClass.node.validate()).toHaveLength(1);
  });

  test('pinning reads the app\'s list of charts once per chart, not once per pin', () => {
    const { app, pinAll } = manyCharts(10);
    const reads = jest.spyOn(app.node, 'children', 'get');
    expect(pinAll()).toHaveLength(CHARTS * 10);
    expect(reads.mock.calls.length).toBeLessThanOrEqual(CHARTS);
  });

  test('every problem of every chart is still reported, each once, with the class\'s', () => {
    const { app, charts, runtimeClass } = manyCharts(0);
    const bad = charts.map((chart) => new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } })));
    bad.forEach((d) => runtimeClass.pin(d));
    new RuntimeClass(charts[CHARTS - 1], 'twin', SANDBOX);
    const errors = validationErrors(app);
    expect(errors.filter((e) => e.includes('another RuntimeClass in this app has the same name'))).toHaveLength(2);
    expect(errors.filter((e) => !e.includes('another RuntimeClass'))).toEqual(bad.map((d) => selectorConflict(d.resource)));
  });
});

describe('what a synth reports, and how it reaches the written manifests', () => {
  /** Returns copies of its manifests, with what `edit` does to each, followed by `extra`. */
  class CopyingChart extends Chart {
    public constructor(scope: Construct, id: string, private readonly edit: (manifest: any) => any, private readonly extra: any[] = []) {
      super(scope, id);
    }

    public toJson(): any[] {
      return [...super.toJson().map((m) => this.edit(JSON.parse(JSON.stringify(m)))), ...this.extra];
    }
  }

  const withOverhead = (m: any) => {
    if (m.kind === 'Deployment') m.spec.template.spec.overhead = { cpu: '1' };
    return m;
  };

  test('a chart without checked objects, synthesized alone, neither renders nor reports the pinned objects of other charts', () => {
    const app = Testing.app();
    const plain = new Chart(app, 'plain');
    new ApiObject(plain, 'settings', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } });
    const other = new Chart(app, 'other');
    const web = new CountedDeployment(other, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    RuntimeClass.fromName('sandbox', { scheduling: SANDBOX.scheduling }).pin(web);
    web.renders = 0;
    expect(Testing.synth(plain).map((m) => m.kind)).toEqual(['ConfigMap']);
    expect(web.renders).toBe(0);
    expect(errorsOf(() => Testing.synth(other))).toEqual([selectorConflict(web.resource)]);
  });

  test('a chart whose toJson returns another chart\'s manifests before its own has its own pinned objects checked too', () => {
    const app = Testing.app();
    const base = new Chart(app, 'base');
    class BundleChart extends Chart {
      public toJson(): any[] {
        return [...base.toJson(), ...super.toJson()];
      }
    }
    const bundle = new BundleChart(app, 'bundle');
    const runtimeClass = new RuntimeClass(base, 'rc', SANDBOX);
    runtimeClass.pin(new CountedDeployment(base, 'clean'));
    const web = new CountedDeployment(bundle, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    runtimeClass.pin(web);
    expect(errorsOf(() => Testing.synth(bundle))).toEqual([selectorConflict(web.resource)]);
  });

  // Another library's validation may render every object: cdk8s runs it before the app renders
  // what it writes, so that render can differ from the written one.
  test.each(OUTPUT_TYPES.filter(([name]) => name !== 'FOLDER_PER_CHART_FILE_PER_RESOURCE'))(
    'App.synth (%s) checks the render it writes, not one another validation made before writing', (_name, yamlOutputType) => {
      const app = Testing.app({ yamlOutputType });
      const chart = new Chart(app, 'test');
      let conflict = true;
      const hook = renderHook(chart, 'hook', () => { conflict = false; });
      const web = new CountedDeployment(chart, 'web', () => (conflict ? { nodeSelector: { pool: 'general' } } : {}));
      web.resource.addDependency(hook);
      new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
      chart.node.addValidation({ validate: () => { web.resource.toJson(); return []; } });
      expect(validationErrors(app)).toEqual([]);
    });

  test('a validation that throws makes the synth throw its error, as a plain cdk8s synth does', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new RuntimeClass(chart, 'rc', SANDBOX).pin(new CountedDeployment(chart, 'web'));
    chart.node.addValidation({ validate: () => { throw new Error('policy service unreachable'); } });
    expect(() => app.synth()).toThrow('policy service unreachable');
    fs.rmSync(app.outdir, { recursive: true, force: true });
  });

  test('an object that is not checked and cannot be rendered makes the synth throw the render\'s own error', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new RuntimeClass(chart, 'rc', SANDBOX).pin(new CountedDeployment(chart, 'web'));
    new ApiObject(chart, 'broken', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'broken' },
      data: Lazy.any({ produce: () => { throw new Error('no data yet'); } }),
    });
    expect(() => app.synthYaml()).toThrow(/^Failed serializing construct at path 'test\/broken'.*no data yet/);
  });

  test('the problems of the written manifests are thrown, each naming its object, when the report cannot be made (a validation throws after the render)', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    let rendered = false;
    const hook = renderHook(chart, 'hook', () => { rendered = true; });
    chart.node.addValidation({ validate: () => { if (rendered) throw new Error('cannot validate twice'); return []; } });
    const runtimeClass = new RuntimeClass(chart, 'rc', SANDBOX);
    const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    const jobs = new CountedDeployment(chart, 'jobs', () => ({ overhead: { cpu: '1' } }));
    [web, jobs].forEach((d) => { d.resource.addDependency(hook); runtimeClass.pin(d); });
    expect(errorsOf(() => app.synthYaml())).toEqual([selectorConflict(web.resource), overheadSet(jobs.resource)]);
  });

  test('a failed synth reports the problems of the copies a toJson override returned, with those of the charts it never wrote', () => {
    const app = Testing.app();
    const platform = new Chart(app, 'platform');
    const runtimeClass = new RuntimeClass(platform, 'rc', SANDBOX);
    const edited = new CopyingChart(app, 'edited', withOverhead);
    const later = new Chart(app, 'later');
    later.addDependency(edited);
    const web = new CountedDeployment(edited, 'web');
    const cart = new CountedDeployment(later, 'cart', () => ({ nodeSelector: { pool: 'general' } }));
    runtimeClass.pin(web);
    runtimeClass.pin(cart);
    expect(validationErrors(app)).toEqual([overheadSet(web.resource), selectorConflict(cart.resource)]);
  });

  test('an object of a later chart, rendered by a validation while an earlier chart is written, is still reported when that earlier chart fails', () => {
    const app = Testing.app();
    const shop = new Chart(app, 'shop');
    const billing = new Chart(app, 'billing');
    billing.addDependency(shop);
    const runtimeClass = new RuntimeClass(shop, 'rc', SANDBOX);
    const cart = new CountedDeployment(shop, 'cart', () => ({ nodeSelector: { pool: 'general' } }));
    const invoices = new CountedDeployment(billing, 'invoices', () => ({ overhead: { cpu: '1' } }));
    runtimeClass.pin(cart);
    runtimeClass.pin(invoices);
    billing.node.addValidation({ validate: () => { invoices.resource.toJson(); return []; } });
    expect(validationErrors(app)).toEqual([selectorConflict(cart.resource), overheadSet(invoices.resource)]);
  });

  test('Testing.synth of a chart that fails before writing reports its own pinned objects, not those of other charts', () => {
    const app = Testing.app();
    const shop = new Chart(app, 'shop');
    const other = new Chart(app, 'other');
    const runtimeClass = new RuntimeClass(shop, 'rc', SANDBOX);
    new RuntimeClass(shop, 'twin', SANDBOX);
    const web = new CountedDeployment(shop, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    runtimeClass.pin(web);
    runtimeClass.pin(new CountedDeployment(other, 'cart', () => ({ nodeSelector: { pool: 'general' } })));
    expect(errorsOf(() => Testing.synth(shop))).toEqual([
      expect.stringMatching(/^\[shop\/rc\] RuntimeClass "sandbox": another RuntimeClass in this app has the same name/),
      expect.stringMatching(/^\[shop\/twin\] RuntimeClass "sandbox": another RuntimeClass in this app has the same name/),
      selectorConflict(web.resource),
    ]);
  });

  test('a toJson override that returns holes or manifests without metadata (a List) still has its copies checked', () => {
    const chart = new CopyingChart(Testing.app(), 'test', withOverhead, [undefined, { apiVersion: 'v1', kind: 'List', items: [] }]);
    const web = new CountedDeployment(chart, 'web');
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(errorsOf(() => Testing.synth(chart))).toEqual([overheadSet(web.resource)]);
  });

  test('pinning leaves the app, its charts and the object as user code sees them: no enumerable keys added, methods that can still be spied on', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const web = new CountedDeployment(chart, 'web', () => ({ nodeSelector: { pool: 'general' } }));
    const keysOf = () => [app, chart, web.resource].map((c) => Object.keys(c));
    const before = keysOf();
    new RuntimeClass(chart, 'rc', SANDBOX).pin(web);
    expect(keysOf()).toEqual(before);
    const spies = [jest.spyOn(app, 'synth'), jest.spyOn(chart, 'toJson'), jest.spyOn(web.resource, 'toJson')];
    try {
      expect(([app.synth, chart.toJson, web.resource.toJson] as unknown[]).map((method, i) => method === spies[i])).toEqual([true, true, true]);
      expect(validationErrors(app)).toEqual([selectorConflict(web.resource)]);
      expect(spies.map((s) => s.mock.calls.length > 0)).toEqual([true, true, true]);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });

  test('a spy put on an object\'s toJson before it is pinned can be restored after (jest restores spies at the end of each test file)', () => {
    const chart = Testing.chart();
    const web = new CountedDeployment(chart, 'web');
    const spy = jest.spyOn(web.resource, 'toJson');
    RuntimeClass.fromName('sandbox').pin(web);
    expect(Testing.synth(chart)[0].spec.template.spec.runtimeClassName).toBe('sandbox');
    expect(spy).toHaveBeenCalled();
    expect(() => spy.mockRestore()).not.toThrow();
  });

  test('each chart and the app are wrapped once, however many charts hold checked objects', () => {
    const app = Testing.app();
    const first = new Chart(app, 'first');
    const runtimeClass = new RuntimeClass(first, 'rc', SANDBOX);
    const methods = () => [first.toJson, app.synth, app.synthYaml];
    const wrapped = methods();
    for (const id of ['second', 'third']) runtimeClass.pin(new CountedDeployment(new Chart(app, id), 'web'));
    expect(methods()).toEqual(wrapped);
    expect(methods().every((m, i) => m === wrapped[i])).toBe(true);
  });
});
