import * as fs from 'fs';
import * as path from 'path';
import { MUTATIONS } from './mutations';

const REPO = path.resolve(__dirname, '..', '..');

describe('the node agent\'s hand-made mutations (test/mutations/run.ts)', () => {
  test.each(MUTATIONS.map((m) => [m.name, m] as const))('%s still applies: each replaced text occurs exactly once, and changes the file', (_name, m) => {
    expect(m.file).toMatch(/^src\/node-agent\/[^/]+\.ts$/);
    const text = fs.readFileSync(path.join(REPO, m.file), 'utf8');
    for (const [from, to] of m.replace) {
      expect([from.slice(0, 60), text.split(from).length - 1]).toEqual([from.slice(0, 60), 1]);
      expect(to).not.toBe(from);
    }
    for (const t of m.tests) expect(fs.existsSync(path.join(REPO, t))).toBe(true);
  });

  test('names are unique', () => {
    expect(new Set(MUTATIONS.map((m) => m.name)).size).toBe(MUTATIONS.length);
  });
});
