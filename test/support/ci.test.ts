import * as fs from 'fs';
import * as path from 'path';
import { inCi } from './ci';

describe('inCi', () => {
  test('only CI=true and CI=1 are CI: CI=false, CI=0, an empty or unset CI are a developer\'s machine', () => {
    expect(['true', 'TRUE', ' true ', '1'].map((CI) => inCi({ CI }))).toEqual([true, true, true, true]);
    expect(['false', 'FALSE', '0', '', ' ', 'no'].map((CI) => inCi({ CI }))).toEqual([false, false, false, false, false, false]);
    expect(inCi({})).toBe(false);
  });

  test('no test reads the CI variable itself: they all ask inCi()', () => {
    const testDir = path.join(__dirname, '..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules' && entry.name !== '__snapshots__') walk(file);
        } else if (/\.(ts|js)$/.test(entry.name) && file !== path.join(__dirname, 'ci.ts')) {
          const text = fs.readFileSync(file, 'utf8');
          if (/process\.env\.CI\b|process\.env\[['"]CI['"]\]|\benv\.CI\b/.test(text)) offenders.push(path.relative(testDir, file));
        }
      }
    };
    walk(testDir);
    expect(offenders).toEqual([]);
  });
});
