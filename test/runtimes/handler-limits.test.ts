import { familyLimits, GVISOR_HANDLERS, handlerFamilyOf, KATA_HANDLERS } from '../../src/runtimes/handler-limits';

// The handler families the presets and the report share: which handler names belong to which
// runtime, and what their pods cannot do.

describe('handlerFamilyOf', () => {
  test.each([
    ['kata', KATA_HANDLERS],
    ['kata-qemu', KATA_HANDLERS],
    ['kata-fc', KATA_HANDLERS],
    ['runsc', GVISOR_HANDLERS],
    ['runsc-kvm', GVISOR_HANDLERS],
    ['gvisor', GVISOR_HANDLERS],
    ['gvisor-ptrace', GVISOR_HANDLERS],
  ])('%s belongs to its runtime\'s family', (handler, family) => {
    expect(handlerFamilyOf(handler)).toBe(family);
  });

  test.each([
    ['runc'], ['crun'], ['nvidia'],
    ['kata-'], // a prefix pattern needs something after its dash
    ['my-kata-qemu'], ['xkata'], ['katax'], ['runscx'], ['qemu-kata'],
  ])('%s belongs to no family', (handler) => {
    expect(handlerFamilyOf(handler)).toBeUndefined();
  });
});

describe('familyLimits', () => {
  test('Kata Containers: no host network, PID or IPC namespace, with the reason told about the runtime given', () => {
    expect(familyLimits(KATA_HANDLERS, 'Kata Containers (QEMU)')).toEqual({
      allowHostNetwork: false,
      allowHostPid: false,
      allowHostIpc: false,
      reason: 'Kata Containers (QEMU) runs each pod in its own VM, which cannot join the node\'s namespaces',
    });
    expect(familyLimits(KATA_HANDLERS).reason).toBe('Kata Containers runs each pod in its own VM, which cannot join the node\'s namespaces');
  });

  test('gVisor: no host network only; what it does not say stays unset', () => {
    const limits = familyLimits(GVISOR_HANDLERS);
    expect(limits).toEqual({
      allowHostNetwork: false,
      reason: 'gVisor gives each pod its own network stack unless the runtime is set up with hostNetworking: true',
    });
    expect(Object.keys(limits)).toEqual(['allowHostNetwork', 'reason']);
  });
});
