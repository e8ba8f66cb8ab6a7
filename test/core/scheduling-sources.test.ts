import { Chart, Duration, Testing } from 'cdk8s';
import { validationErrors } from './support';
import { KataRuntime, RuntimeClass, TaintEffect } from '../../src';

describe('what addScheduling reports: the source named with what it adds, repeated tolerations checked', () => {
  test('a node selector conflict names the source as requiring the value it adds, not the value already there', () => {
    const app = Testing.app();
    new KataRuntime(new Chart(app, 'test'), 'kata', { scheduling: { nodeSelector: { 'runtimeclass.cdk8s.io/kata-qemu': 'no' } } });
    expect(validationErrors(app)).toEqual([
      '[test/kata/Default] RuntimeClass "kata-qemu": scheduling.nodeSelector["runtimeclass.cdk8s.io/kata-qemu"] = "ready" (required by the node setup "kata-qemu-node-setup") '
      + 'conflicts with "no" set earlier: no node can have both; use the same value or another key',
    ]);
  });

  test('a toleration seconds conflict names the source with the seconds it adds', () => {
    const app = Testing.app();
    const rc = new RuntimeClass(new Chart(app, 'test'), 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }] },
    });
    rc.addScheduling({ tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(10) }] }, 'the node setup');
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": scheduling toleration ["sandbox","Equal","","NoExecute"] has 600 s from the node setup but 300 s set earlier: '
      + 'the API server treats them as duplicates; keep one',
    ]);
  });

  test('a repeated toleration added later is checked like any other', () => {
    const app = Testing.app();
    const rc = new RuntimeClass(new Chart(app, 'test'), 'rc', {
      handler: 'kata',
      scheduling: { tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }] },
    });
    rc.addToleration({ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5), tolerationSeconds: 60 });
    rc.addScheduling({ tolerations: [{ key: 'sandbox', effect: TaintEffect.NO_EXECUTE, evictAfter: 300 as any }] }, 'the node setup');
    expect(validationErrors(app)).toEqual([
      '[test/rc] RuntimeClass "kata": added by a later setting: scheduling.tolerations[0].evictAfter (300 s) and its deprecated tolerationSeconds (60) differ: give only evictAfter',
      '[test/rc] RuntimeClass "kata": added by the node setup: scheduling.tolerations[0].evictAfter is number 300, not a Duration: give Duration.seconds(n), Duration.minutes(n), ...',
    ]);
  });
});
