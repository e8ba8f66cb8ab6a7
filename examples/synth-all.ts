// Synthesizes every example into examples/dist/<example>/ (one YAML file per chart).
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { EXAMPLES } from './index';

const root = path.join(__dirname, 'dist');
fs.rmSync(root, { recursive: true, force: true });
for (const [name, build] of Object.entries(EXAMPLES)) {
  const outdir = path.join(root, name);
  const app = new App({ outdir });
  build(app);
  app.synth();
  const files = fs.readdirSync(outdir).sort();
  console.log(`${name}: ${files.map((f) => path.join('examples/dist', name, f)).join(', ')}`);
}
