import { Chart, Testing } from 'cdk8s';
import { RuntimeClass } from '../../src';
import { hostNamespaceAllowed, normalizedLimits } from '../../src/core/host-namespaces';

describe('host namespace limits under their two names (src/core/host-namespaces.ts)', () => {
  test.each([
    ['allowHostNetwork', 'hostNetwork'],
    ['allowHostPid', 'hostPid'],
    ['allowHostIpc', 'hostIpc'],
  ] as const)('%s is read, else its deprecated name %s, and no other namespace\'s', (allow, deprecated) => {
    expect(hostNamespaceAllowed({ [deprecated]: false }, allow)).toBe(false);
    expect(hostNamespaceAllowed({ [deprecated]: true }, allow)).toBe(true);
    expect(hostNamespaceAllowed({ [allow]: false, [deprecated]: true }, allow)).toBe(false);
    expect(hostNamespaceAllowed({}, allow)).toBeUndefined();
    const others = { allowHostNetwork: true, hostNetwork: true, allowHostPid: true, hostPid: true, allowHostIpc: true, hostIpc: true };
    expect(hostNamespaceAllowed({ ...others, [allow]: undefined, [deprecated]: false }, allow)).toBe(false);
  });

  test('a class\'s limits hold each namespace given under both names, and no key for those not given', () => {
    const rc = new RuntimeClass(new Chart(Testing.app(), 'test'), 'rc', { handler: 'kata', limits: { hostPid: false, reason: 'a VM' } });
    expect(rc.limits).toStrictEqual({ allowHostPid: false, hostPid: false, reason: 'a VM' });
    expect(normalizedLimits({}, 'limits')).toStrictEqual({ limits: {}, problems: [] });
  });
});
