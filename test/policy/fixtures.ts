import { App, Chart, Testing } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Sample objects as the API server hands them to admission. */

export function pod(name: string, spec: any = {}, metadata: any = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...metadata },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
  };
}

function podTemplate(spec: any): any {
  return { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec } };
}

export function deployment(name: string, podSpec: any = {}, extra: any = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate(podSpec), ...extra },
  };
}

export function workload(kind: 'StatefulSet' | 'DaemonSet' | 'ReplicaSet', name: string, podSpec: any = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name },
    spec: { selector: { matchLabels: { app: 'web' } }, template: podTemplate(podSpec) },
  };
}

export function replicationController(name: string, podSpec: any = {}): any {
  return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name }, spec: { replicas: 1, template: podTemplate(podSpec) } };
}

export function job(name: string, podSpec: any = {}): any {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, spec: { backoffLimit: 4, template: podTemplate({ restartPolicy: 'Never', ...podSpec }) } };
}

export function cronJob(name: string, podSpec: any = {}, extra: any = {}): any {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate({ restartPolicy: 'OnFailure', ...podSpec }) } }, ...extra },
  };
}

export function configMap(name: string): any {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'value' } };
}

/** A fresh app with one chart. */
export function newChart(namespace?: string): { app: App; chart: Chart } {
  const app = Testing.app();
  return { app, chart: new Chart(app, 'test', { namespace }) };
}

/** Every validation message of the app: `[construct path] message`. */
export function validationErrors(app: App): string[] {
  return app.node.findAll().flatMap((c: IConstruct) => c.node.validate().map((message) => `[${c.node.path}] ${message}`));
}

/** The synthesized manifests of a construct's objects, by kind. */
export function manifestsOfKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}
