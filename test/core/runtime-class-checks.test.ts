import { Chart, Testing } from 'cdk8s';
import { validationErrors } from './support';
import { RuntimeClass } from '../../src/core';

describe('what a RuntimeClass checks about its name and handler, and what fromName refuses', () => {
  test('two classes with the same name in one app, in different charts, each name the other: names are cluster-wide', () => {
    const app = Testing.app();
    new RuntimeClass(new Chart(app, 'a'), 'rc', { handler: 'kata' });
    new RuntimeClass(new Chart(app, 'b'), 'other', { handler: 'kata-qemu', name: 'kata' });
    new RuntimeClass(new Chart(app, 'c'), 'gvisor', { handler: 'runsc' });
    expect(validationErrors(app)).toEqual([
      '[a/rc] RuntimeClass "kata": another RuntimeClass in this app has the same name (b/other): names are cluster-wide, give each class its own `name`',
      '[b/other] RuntimeClass "kata": another RuntimeClass in this app has the same name (a/rc): names are cluster-wide, give each class its own `name`',
    ]);
  });

  test('metadata.name equal to name is fine; a different one is an error', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new RuntimeClass(chart, 'same', { handler: 'kata', name: 'kata', metadata: { name: 'kata', labels: { tier: 'vm' } } });
    new RuntimeClass(chart, 'differs', { handler: 'runsc', name: 'gvisor', metadata: { name: 'sandbox' } });
    expect(validationErrors(app)).toEqual([
      '[test/differs] RuntimeClass "gvisor": metadata.name "sandbox" differs from name "gvisor": set the name once, with `name`',
    ]);
  });

  test('a handler that is no string (from JavaScript) is named readably', () => {
    const app = Testing.app();
    new RuntimeClass(new Chart(app, 'test'), 'rc', { handler: 5 as any, name: 'numbered' });
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "numbered": handler is number 5, not a string: give the handler configured on the nodes as a string',
    ]);
  });

  test('fromName refuses a node allocatable amount that is neither a string nor a Size, and limits given twice with different values', () => {
    expect(() => RuntimeClass.fromName('kata', { limits: { nodeAllocatable: { memory: { size: 1 } as any } } })).toThrow(
      'RuntimeClass.fromName("kata"): limits.nodeAllocatable.memory: an object {"size":1} is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))');
    expect(() => RuntimeClass.fromName('kata', { limits: { allowHostNetwork: false, hostNetwork: true } })).toThrow(
      'RuntimeClass.fromName("kata"): limits.allowHostNetwork is false but the deprecated limits.hostNetwork is true: they mean the same; give only allowHostNetwork');
  });
});
