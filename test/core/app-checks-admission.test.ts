// Notes on constructs, and a pinned workload as the app's admission rules see it: its kind, its
// class and its namespace, with the labels of the Namespace object the app defines for it.
import { ApiObject, App, Chart, JsonPatch, Lazy, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { validationErrors } from './support';
import { RuntimeClass } from '../../src/core';
import {
  NOTE_METADATA_TYPE, noteOn, notesOf, PinnedWorkload, registerWorkloadRule, RuleFindings, workloadAdmissionProblems,
} from '../../src/core/app-checks';

/** Node warnings emitted while `run` runs, as [message, options] (kept off stderr). */
function warningsDuring(run: () => void): unknown[][] {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    run();
    return spy.mock.calls.map((call) => [...call]);
  } finally {
    spy.mockRestore();
  }
}

/** A rule that records each workload it is asked about and answers `findings`. */
function recordingRule(scope: Construct, findings: RuleFindings = { problems: [], notes: [] }): PinnedWorkload[] {
  const seen: PinnedWorkload[] = [];
  registerWorkloadRule(scope, { check: (pinned) => { seen.push(pinned); return findings; } });
  return seen;
}

function namespaceObject(scope: Construct, id: string, metadata: { [field: string]: unknown }, apiVersion = 'v1', kind = 'Namespace'): ApiObject {
  return new ApiObject(scope, id, { apiVersion, kind, metadata });
}

function workload(scope: Construct, namespace?: string): ApiObject {
  return new ApiObject(scope, 'Api', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'nginx:1.27' }] } },
    },
  });
}

/** The workload `rule` sees for a Deployment in `namespace` pinned to "gvisor" (checked outside a synth). */
function seenIn(chart: Chart, seen: PinnedWorkload[], namespace?: string): PinnedWorkload {
  const object = workload(chart, namespace);
  expect(workloadAdmissionProblems(object, object.toJson(), 'gvisor', 'Deployment "api"')).toEqual([]);
  expect(seen).toHaveLength(1);
  return seen[0];
}

describe('notes', () => {
  test('a note is recorded on its construct and printed once as a RuntimeClassWarning naming the construct path', () => {
    const chart = new Chart(Testing.app(), 'chart');
    const object = namespaceObject(chart, 'Team', { name: 'team' });
    const warnings = warningsDuring(() => {
      noteOn(object, 'first');
      noteOn(object, 'first');
      noteOn(object, 'second');
      noteOn(object, 'first');
    });
    expect(warnings).toEqual([
      ['[chart/Team] first', { type: 'RuntimeClassWarning' }],
      ['[chart/Team] second', { type: 'RuntimeClassWarning' }],
    ]);
    expect(notesOf(object)).toEqual(['first', 'second']);
  });

  test('the same message on another construct is a note of that construct too', () => {
    const chart = new Chart(Testing.app(), 'chart');
    const a = namespaceObject(chart, 'A', { name: 'a' });
    const b = namespaceObject(chart, 'B', { name: 'b' });
    const warnings = warningsDuring(() => {
      noteOn(a, 'same');
      noteOn(b, 'same');
    });
    expect(warnings.map((w) => w[0])).toEqual(['[chart/A] same', '[chart/B] same']);
    expect(notesOf(a)).toEqual(['same']);
    expect(notesOf(b)).toEqual(['same']);
  });

  test('notesOf reads only the notes among a construct\'s metadata, as their text', () => {
    const chart = new Chart(Testing.app(), 'chart');
    const object = namespaceObject(chart, 'Team', { name: 'team' });
    object.node.addMetadata('example.com/other', 'not a note');
    warningsDuring(() => noteOn(object, 'a note'));
    object.node.addMetadata('example.com/other', { also: 'not a note' });
    expect(object.node.metadata.filter((m) => m.type === NOTE_METADATA_TYPE)).toHaveLength(1);
    expect(notesOf(object)).toEqual(['a note']);
    expect(notesOf(chart)).toEqual([]);
  });
});

describe('a pinned workload as the admission rules see it', () => {
  test('a rule sees the workload\'s kind, class and namespace, with the labels of the Namespace the app defines and its kubernetes.io/metadata.name', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'Team', { name: 'team-a', labels: { 'tenancy.example.com/tier': 'tenant' } });
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a')).toEqual({
      kind: 'Deployment',
      runtimeClassName: 'gvisor',
      namespace: { name: 'team-a', labels: { 'tenancy.example.com/tier': 'tenant', 'kubernetes.io/metadata.name': 'team-a' } },
    });
  });

  test('a Namespace without labels still has its kubernetes.io/metadata.name label', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'Team', { name: 'team-a' });
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a').namespace).toEqual({ name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } });
  });

  test('a Namespace in another chart of the app counts, and label values that are no string are read as text', () => {
    const app = Testing.app();
    namespaceObject(new Chart(app, 'platform'), 'Team', { name: 'team-a', labels: { replicas: 3, enabled: true } });
    const chart = new Chart(app, 'workloads');
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a').namespace.labels).toEqual({ 'replicas': '3', 'enabled': 'true', 'kubernetes.io/metadata.name': 'team-a' });
  });

  test('a namespace the app does not define has no labels; a workload without metadata.namespace has no namespace name', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'Team', { name: 'team-a' });
    const inOther = recordingRule(chart);
    expect(seenIn(chart, inOther, 'team-b').namespace).toEqual({ name: 'team-b', labels: undefined });

    const other = new Chart(Testing.app(), 'chart');
    namespaceObject(other, 'Team', { name: 'team-a' });
    const inNone = recordingRule(other);
    expect(seenIn(other, inNone).namespace).toEqual({});
  });

  test('only a v1 Namespace defines a namespace: another kind or a custom resource of kind Namespace with that name does not', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'Config', { name: 'team-a', labels: { from: 'configmap' } }, 'v1', 'ConfigMap');
    namespaceObject(chart, 'Custom', { name: 'team-a', labels: { from: 'custom' } }, 'example.com/v1');
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a').namespace).toEqual({ name: 'team-a', labels: undefined });
  });

  test('of two Namespaces with the same name, the first in the app is the one read', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'First', { name: 'team-a', labels: { order: 'first' } });
    namespaceObject(chart, 'Second', { name: 'team-a', labels: { order: 'second' } });
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a').namespace.labels).toEqual({ 'order': 'first', 'kubernetes.io/metadata.name': 'team-a' });
  });

  test('a Namespace that cannot be rendered, or whose metadata a patch removed, is skipped: the next one with that name is read', () => {
    const chart = new Chart(Testing.app(), 'chart');
    namespaceObject(chart, 'Broken', { name: 'team-a', labels: { order: 'broken' } })
      .addJsonPatch(JsonPatch.add('/spec/finalizers/-', 'example.com/x'));
    namespaceObject(chart, 'Patched', { name: 'team-a', labels: { order: 'patched' } })
      .addJsonPatch(JsonPatch.remove('/metadata'));
    namespaceObject(chart, 'Good', { name: 'team-a', labels: { order: 'good' } });
    const seen = recordingRule(chart);
    expect(seenIn(chart, seen, 'team-a').namespace.labels).toEqual({ 'order': 'good', 'kubernetes.io/metadata.name': 'team-a' });
  });

  test('a workload manifest without metadata (a patch removed it) is checked as in no namespace', () => {
    const chart = new Chart(Testing.app(), 'chart');
    const seen = recordingRule(chart);
    const object = workload(chart, 'team-a');
    expect(workloadAdmissionProblems(object, { kind: 'Deployment' }, 'gvisor', 'Deployment "api"')).toEqual([]);
    expect(seen).toEqual([{ kind: 'Deployment', runtimeClassName: 'gvisor', namespace: {} }]);
  });

  test('the problems of every rule are returned, and their notes are recorded on the workload prefixed with where it is', () => {
    const chart = new Chart(Testing.app(), 'chart');
    recordingRule(chart, { problems: ['denied by the first policy'], notes: ['the first policy only warns'] });
    recordingRule(chart, { problems: ['denied by the second policy', 'and again'], notes: [] });
    const object = workload(chart, 'team-a');
    let problems: string[] = [];
    const warnings = warningsDuring(() => {
      problems = workloadAdmissionProblems(object, object.toJson(), 'gvisor', 'Deployment "api" (pinned to RuntimeClass "gvisor")');
    });
    expect(problems).toEqual(['denied by the first policy', 'denied by the second policy', 'and again']);
    expect(notesOf(object)).toEqual(['Deployment "api" (pinned to RuntimeClass "gvisor") the first policy only warns']);
    expect(warnings.map((w) => w[0])).toEqual(['[chart/Api] Deployment "api" (pinned to RuntimeClass "gvisor") the first policy only warns']);
  });

  test('a workload whose manifest has no runtimeClassName is not asked about: rules see pinned workloads only', () => {
    const chart = new Chart(Testing.app(), 'chart');
    const seen = recordingRule(chart, { problems: ['denied'], notes: [] });
    const object = workload(chart, 'team-a');
    expect(workloadAdmissionProblems(object, object.toJson(), undefined, 'Deployment "api"')).toEqual([]);
    expect(seen).toEqual([]);
  });

  test('a rule registered from any construct of the app checks the pinned workloads of every chart', () => {
    const app = Testing.app();
    const platform = new Chart(app, 'platform');
    const seen = recordingRule(new Construct(platform, 'Policies'), { problems: ['denied by the policy'], notes: [] });
    RuntimeClass.fromName('gvisor').pin(workload(new Chart(app, 'team'), 'team-a'));
    const errors = validationErrors(app);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[team\/Api\] .*denied by the policy/);
    expect(seen.map((w) => w.namespace.name)).toEqual(['team-a']);
  });

  test('an app without admission rules does not render its Namespaces an extra time to check its pinned workloads', () => {
    const app = new App();
    const chart = new Chart(app, 'chart');
    let renders = 0;
    new ApiObject(chart, 'Team', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
      spec: Lazy.any({ produce: () => { renders++; return {}; } }),
    });
    RuntimeClass.fromName('gvisor').pin(workload(chart, 'team-a'));
    expect(Testing.synth(chart)).toHaveLength(2);
    expect(renders).toBe(1);
  });
});
