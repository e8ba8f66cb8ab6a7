import { Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { byteQuantityText, cpuQuantityText } from '../../src/core/quantity-input';

describe('quantities as users give them (src/core/quantity-input.ts)', () => {
  const throwing = Lazy.any({ produce: () => { throw new Error('not built yet'); } });

  test('a CPU amount: a string as written, a Cpu\'s amount, a Lazy producing either', () => {
    expect(cpuQuantityText('cpu', '250m')).toEqual({ text: '250m' });
    expect(cpuQuantityText('cpu', kplus.Cpu.millis(250))).toEqual({ text: '250m' });
    expect(cpuQuantityText('cpu', Lazy.any({ produce: () => kplus.Cpu.units(2) }) as any)).toEqual({ text: '2' });
  });

  test('a CPU amount that is neither, or a Lazy that cannot be produced, is a problem naming the field and the value', () => {
    const neither = (what: string) => `cpu: ${what} is neither a quantity string (e.g. "250m") nor a cdk8s-plus Cpu (e.g. Cpu.millis(250))`;
    expect(cpuQuantityText('cpu', null as any)).toEqual({ problem: neither('object null') });
    expect(cpuQuantityText('cpu', 250 as any)).toEqual({ problem: neither('number 250') });
    expect(cpuQuantityText('cpu', { amount: 250 } as any)).toEqual({ problem: neither('an object {"amount":250}') });
    expect(cpuQuantityText('requests.cpu', throwing as any)).toEqual({ problem: 'requests.cpu: a Lazy value that cannot be produced yet (not built yet)' });
  });

  test('an amount of bytes: a Size in binary units, exact to the byte', () => {
    expect(byteQuantityText('memory', '320Mi')).toEqual({ text: '320Mi' });
    expect(byteQuantityText('memory', Size.mebibytes(320))).toEqual({ text: '320Mi' });
    expect(byteQuantityText('memory', Size.gibibytes(1.5))).toEqual({ text: '1536Mi' });
    expect(byteQuantityText('memory', Size.kibibytes(0.5))).toEqual({ text: '512' });
    expect(byteQuantityText('memory', Size.mebibytes(0))).toEqual({ text: '0' });
  });

  test('a Size that is not a whole number of bytes, a value that is no Size, or a Lazy that cannot be produced, is a problem', () => {
    expect(byteQuantityText('memory', Size.kibibytes(0.0001))).toEqual({
      problem: 'memory: a Size of 0.1024 bytes is not a whole number of bytes of 0 or more: give a whole number of bytes (e.g. Size.mebibytes(320)), or a quantity string',
    });
    const neither = (what: string) => `memory: ${what} is neither a quantity string (e.g. "320Mi") nor a cdk8s Size (e.g. Size.mebibytes(320))`;
    expect(byteQuantityText('memory', null as any)).toEqual({ problem: neither('object null') });
    expect(byteQuantityText('memory', { toKibibytes: 5 } as any)).toEqual({ problem: neither('an object {"toKibibytes":5}') });
    expect(byteQuantityText('limits.memory', throwing as any)).toEqual({ problem: 'limits.memory: a Lazy value that cannot be produced yet (not built yet)' });
  });
});
