// Every example of README.md is compiled, run and synthesized, and what it claims is checked
// (see the README's Development section for the preamble convention).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk8s from 'cdk8s';
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as constructs from 'constructs';
import * as ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import * as library from '../../src';
import { validate } from '../policy/cel-harness';
import { deployment as deploymentRequest } from '../policy/fixtures';

const repo = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');

/**
 * What a block that is not a whole program starts from. Each preamble brings `chart` first;
 * the README's Development section lists them.
 */
const PREAMBLES: { [name: string]: string } = {
  chart: "const app = new App();\nconst chart = new Chart(app, 'docs');",
  kata: "const kata = new KataRuntime(chart, 'kata');",
  runc: "const runc = new RuncRuntime(chart, 'runc');",
  deployment: [
    "const deployment = new kplus.Deployment(chart, 'deployment', {",
    '  replicas: 3,',
    "  containers: [{ image: 'ghcr.io/example/app:1.0', resources: { cpu: { request: kplus.Cpu.millis(250) }, memory: { request: Size.mebibytes(192) } } }],",
    '});',
  ].join('\n'),
};

/** The imports of a block with a preamble: cdk8s, cdk8s-plus and everything the package exports. */
function preambleImports(): string {
  return [
    "import { App, Chart, Duration, Size } from 'cdk8s';",
    "import * as kplus from 'cdk8s-plus-27';",
    `import { ${exportedNames().join(', ')} } from 'cdk8s-runtimeclass';`,
  ].join('\n');
}

let exported: string[] | undefined;
/** Every name the package root exports, types included. */
function exportedNames(): string[] {
  if (!exported) {
    const entry = path.join(repo, 'src', 'index.ts');
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map((s) => s.name).sort();
  }
  return exported;
}

interface Block {
  /** The fence's language (`ts`, `sh`, or empty). */
  readonly language: string;
  /** The heading the block is under. */
  readonly section: string;
  /** README line of the block's first code line (1-based). */
  readonly line: number;
  readonly code: string;
  /** Preambles named in an HTML comment right above the fence; undefined when there is none. */
  readonly preambles?: string[];
}

/** The fenced code blocks of a Markdown text, with their section and preamble comment. */
function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#+ (.*)$/.exec(lines[i]);
    if (heading) section = heading[1];
    const fence = /^```(\S*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    let previous = i - 1;
    while (previous >= 0 && lines[previous].trim() === '') previous--;
    const comment = previous >= 0 ? /^<!-- preamble: ([\w, -]+) -->$/.exec(lines[previous]) : null;
    blocks.push({
      language: fence[1],
      section,
      line: start + 1,
      code: lines.slice(start, end).join('\n'),
      preambles: comment ? comment[1].split(',').map((p) => p.trim()) : undefined,
    });
    i = end;
  }
  return blocks;
}

const BLOCKS = blocksOf(README);
const TS_BLOCKS = BLOCKS.filter((b) => ['ts', 'typescript'].includes(b.language));

/** A block's name in test titles and messages. */
function nameOf(block: Block): string {
  return `"${block.section}" (README.md line ${block.line})`;
}

/** The preambles a block names, with `chart` first, each once. */
function preambleNames(block: Block): string[] {
  if (block.preambles === undefined) return [];
  return [...new Set(['chart', ...block.preambles])];
}

/** The TypeScript a block stands for: its preamble, then the block. */
function sourceOf(block: Block, code: string = block.code): { source: string; prefixLines: number } {
  if (block.preambles === undefined) return { source: code, prefixLines: 0 };
  const prefix = [preambleImports(), ...preambleNames(block).map((name) => PREAMBLES[name])].join('\n') + '\n';
  return { source: prefix + code, prefixLines: prefix.split('\n').length - 1 };
}

/** A literal at the start of a comment (`{ cpu: '500m' }   what it is`), or undefined. */
function literalPrefix(comment: string): string | undefined {
  const text = comment.trimStart();
  if (/^[[{'"]/.test(text)) {
    let depth = 0;
    let quote: string | undefined;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\') {
          i++;
        } else if (c === quote) {
          quote = undefined;
          if (depth === 0) return text.slice(0, i + 1);
        }
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return text.slice(0, i + 1);
      }
    }
    return undefined;
  }
  return /^(-?\d+(\.\d+)?|true|false|null)(?![\w.])/.exec(text)?.[0];
}

interface DocCheck {
  /** README line of the statement. */
  readonly line: number;
  readonly expression: string;
  readonly literal: string;
}

/**
 * The block with each `expression; // literal ...` statement replaced by a call that records the
 * expression's value, and the checks this makes.
 */
function withDocChecks(block: Block): { code: string; checks: DocCheck[] } {
  const file = ts.createSourceFile('block.ts', block.code, ts.ScriptTarget.ES2022, true);
  const checks: Array<DocCheck & { start: number; end: number }> = [];
  for (const statement of file.statements) {
    if (!ts.isExpressionStatement(statement)) continue;
    const comment = ts.getTrailingCommentRanges(block.code, statement.end)?.[0];
    if (!comment || comment.kind !== ts.SyntaxKind.SingleLineCommentTrivia) continue;
    const literal = literalPrefix(block.code.slice(comment.pos + 2, comment.end));
    if (literal === undefined) continue;
    const line = block.line + file.getLineAndCharacterOfPosition(statement.getStart()).line;
    checks.push({ line, expression: statement.expression.getText(), literal, start: statement.getStart(), end: statement.end });
  }
  // From the last to the first, so that earlier offsets still hold.
  let code = block.code;
  for (let index = checks.length - 1; index >= 0; index--) {
    const check = checks[index];
    code = code.slice(0, check.start) + `__doc[${index}] = (${check.expression});` + code.slice(check.end);
  }
  return { code, checks: checks.map(({ line, expression, literal }) => ({ line, expression, literal })) };
}

/** Names a block's top level declares (`const kata = ...`), to read after it ran. */
function topLevelNames(source: string): string[] {
  const file = ts.createSourceFile('block.ts', source, ts.ScriptTarget.ES2022, true);
  return file.statements.filter(ts.isVariableStatement).flatMap((s) => s.declarationList.declarations.map((d) => d.name.getText()));
}

/** Type errors of every TypeScript block, compiled together with the tests' settings. */
function typeErrors(): Map<Block, string[]> {
  const configPath = path.join(repo, 'test', 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } })!;
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    // A snippet may declare what it does not use (`const nodes = ...`).
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: { 'cdk8s-runtimeclass': [path.join(repo, 'src', 'index.ts')] },
  };
  const files = new Map<string, { block: Block; source: string; prefixLines: number }>();
  TS_BLOCKS.forEach((block, index) => {
    files.set(path.join(repo, 'test', 'docs', `readme-block-${index}.ts`), { block, ...sourceOf(block) });
  });
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const virtual = files.get(path.resolve(fileName));
    return virtual ? ts.createSourceFile(fileName, virtual.source, languageVersion, true) : getSourceFile(fileName, languageVersion, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => files.has(path.resolve(fileName)) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => files.get(path.resolve(fileName))?.source ?? readFile(fileName);
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<Block, string[]>(TS_BLOCKS.map((b) => [b, []]));
  // Only the blocks are checked here: the library itself is type-checked by its own compile.
  const diagnostics = [...files.keys()].flatMap((fileName) => {
    const sourceFile = program.getSourceFile(fileName)!;
    return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
  });
  for (const diagnostic of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...diagnostics]) {
    const virtual = diagnostic.file ? files.get(path.resolve(diagnostic.file.fileName)) : undefined;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!virtual) throw new Error(`type error outside the README's blocks: ${diagnostic.file?.fileName}: ${message}`);
    const line = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line - virtual.prefixLines;
    const where = line < 0 ? 'in its preamble' : `at README.md line ${virtual.block.line + line}`;
    errors.get(virtual.block)!.push(`TS${diagnostic.code} ${where}: ${message}`);
  }
  return errors;
}

interface Run {
  /** The values of the block's top-level declarations, preamble included. */
  readonly scope: { [name: string]: any };
  /** Every chart's manifests, after `app.synth()`. */
  readonly manifests: any[];
  /** Where the app wrote its YAML. */
  readonly outdir: string;
  /** The checks of `expression; // literal` lines, with the values the expressions had. */
  readonly checks: Array<DocCheck & { readonly actual: unknown }>;
}

/** Runs a block (its preamble first) with `cdk8s-runtimeclass` resolved to src/, then synthesizes its app. */
function run(block: Block): Run {
  const { code, checks } = withDocChecks(block);
  const { source } = sourceOf(block, code);
  const names = topLevelNames(source);
  if (!names.includes('app')) throw new Error(`${nameOf(block)} declares no \`app\`: name a preamble (<!-- preamble: chart -->) or create one`);
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
  const js = ts.transpileModule(source, { compilerOptions }).outputText;
  const load = (id: string) => {
    if (!(id in MODULES)) throw new Error(`${nameOf(block)} imports ${id}: a README example may import ${Object.keys(MODULES).join(', ')}`);
    return MODULES[id];
  };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-block-'));
  const previous = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    const values: unknown[] = [];
    const body = `${js}\nreturn { ${names.join(', ')} };`;
    const scope = new Function('require', 'exports', 'module', '__doc', body)(load, {}, { exports: {} }, values);
    const app: App = scope.app;
    app.synth();
    const manifests = app.charts.flatMap((chart) => chart.toJson());
    return { scope, manifests, outdir, checks: checks.map((check, index) => ({ ...check, actual: values[index] })) };
  } finally {
    if (previous === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = previous;
  }
}

/** What a README example may import: the package (as src/) and its peer dependencies. */
const MODULES: { [id: string]: unknown } = {
  'cdk8s': cdk8s,
  'cdk8s-plus-27': kplus,
  'constructs': constructs,
  'cdk8s-runtimeclass': library,
};

function ofKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function named(manifests: any[], kind: string, name: string): any {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} "${name}", found ${found.length}`);
  return found[0];
}

/** The pod spec of a workload manifest. */
function podSpec(manifest: any): any {
  return manifest.kind === 'CronJob' ? manifest.spec.jobTemplate.spec.template.spec : manifest.spec.template.spec;
}

/** What each block says it makes, by its section. Every TypeScript block must have an entry. */
const EXPECTATIONS: { [section: string]: (result: Run) => void } = {
  'Quick start': ({ manifests, outdir }) => {
    // "writes dist/shop.k8s.yaml with the two RuntimeClasses, the node-setup objects, and both Deployments"
    const written = parseAllDocuments(fs.readFileSync(path.join(outdir, 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJSON());
    expect(written).toEqual(manifests);
    const classes = ofKind(manifests, 'RuntimeClass');
    expect(classes.map((c) => [c.metadata.name, c.handler, c.metadata.namespace])).toEqual([['kata-qemu', 'kata-qemu', undefined], ['runsc', 'runsc', undefined]]);
    expect(classes[0].overhead).toEqual({ podFixed: { cpu: '250m', memory: '320Mi' } });
    for (const c of classes) expect(c.scheduling.nodeSelector).toEqual({ [`runtimeclass.cdk8s.io/${c.handler}`]: 'ready' });
    expect(ofKind(manifests, 'DaemonSet').map((d) => d.metadata.name)).toEqual(['kata-qemu-node-setup', 'runsc-node-setup']);
    const deployments = ofKind(manifests, 'Deployment');
    expect(deployments.map((d) => [d.metadata.namespace, d.spec.replicas, podSpec(d).runtimeClassName])).toEqual([['shop', 2, 'kata-qemu'], ['shop', 2, 'runsc']]);
  },

  'Kata Containers': ({ manifests, scope }) => {
    const microvm = named(manifests, 'RuntimeClass', 'microvm');
    expect(microvm.handler).toBe('kata-fc');
    expect(microvm.overhead).toEqual({ podFixed: { cpu: '250m', memory: '130Mi' } });
    expect(microvm.scheduling.nodeSelector).toEqual({ 'pool': 'vm', 'runtimeclass.cdk8s.io/kata-fc': 'ready' });
    // "no pod of this class may need more": a pod needing 2Gi plus the VM's overhead fails the synth.
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'readme-kata-')) });
    const chart = new Chart(app, 'docs');
    const runtime = new library.KataRuntime(chart, 'fc', { hypervisor: library.KataHypervisor.FIRECRACKER, nodeAllocatable: scope.microvm.limits.nodeAllocatable });
    runtime.pin(new kplus.Deployment(chart, 'big', { containers: [{ image: 'app', resources: { memory: { request: Size.gibibytes(2) } } }] }));
    expect(() => app.synth()).toThrow(/needs 2178Mi of memory per pod \(requests 2Gi \+ overhead 130Mi\), more than the 2Gi .*raise nodeAllocatable/);
  },

  'gVisor': ({ manifests }) => {
    const runtimeClass = named(manifests, 'RuntimeClass', 'gvisor-kvm');
    expect(runtimeClass.handler).toBe('gvisor-kvm');
    expect(runtimeClass.scheduling.nodeSelector).toEqual({ 'runtimeclass.cdk8s.io/gvisor-kvm': 'ready' });
    // The class's own runsc.toml with the platform and the flag, and both downloads, in the agent's spec.
    const mounted = named(manifests, 'DaemonSet', 'gvisor-kvm-node-setup').spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name;
    const spec = JSON.parse(named(manifests, 'ConfigMap', mounted).data['spec.json']);
    expect(Object.keys(spec.hostFiles)).toEqual(['/etc/containerd/runsc-gvisor-kvm.toml']);
    expect(spec.hostFiles['/etc/containerd/runsc-gvisor-kvm.toml']).toMatch(/platform = "kvm"/);
    expect(spec.hostFiles['/etc/containerd/runsc-gvisor-kvm.toml']).toMatch(/overlay2 = "root:self"/);
    expect(spec.artifacts.map((a: any) => a.location)).toEqual([
      'https://storage.googleapis.com/gvisor/releases/release/20251110.0/x86_64/runsc',
      'https://storage.googleapis.com/gvisor/releases/release/20251110.0/x86_64/containerd-shim-runsc-v1',
    ]);
  },

  'Any other runtime': ({ manifests }) => {
    const youki = named(manifests, 'RuntimeClass', 'youki');
    expect(youki.handler).toBe('youki');
    expect(youki.scheduling.nodeSelector).toEqual({ 'runtimeclass.cdk8s.io/youki': 'ready' });
    expect(JSON.stringify(manifests)).toContain('/usr/local/bin/youki');
  },

  'RuntimeClass, overhead and scheduling': ({ manifests }) => {
    expect(named(manifests, 'RuntimeClass', 'kata-hugepages')).toEqual({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'kata-hugepages' },
      handler: 'kata-qemu',
      overhead: { podFixed: { 'cpu': '250m', 'hugepages-2Mi': '64Mi', 'memory': '320Mi' } },
    });
  },

  'Footprints': ({ manifests, checks }) => {
    expect(checks.length).toBe(9);
    const [deployment] = ofKind(manifests, 'Deployment');
    expect([deployment.spec.replicas, podSpec(deployment).runtimeClassName]).toEqual([3, 'kata-qemu']);
  },

  'Node setup': ({ manifests }) => {
    const [daemonSet, ...others] = ofKind(manifests, 'DaemonSet');
    expect(others).toEqual([]);
    expect(daemonSet.spec.updateStrategy.rollingUpdate).toEqual({ maxUnavailable: '20%' });
    expect(podSpec(daemonSet).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'node-pool': 'sandbox' });
    const selectors = Object.fromEntries(ofKind(manifests, 'RuntimeClass').map((c) => [c.metadata.name, c.scheduling?.nodeSelector]));
    // One setup installs Kata and gVisor; crun is on the nodes already, so nothing waits for a label.
    expect(selectors).toEqual({
      'kata-qemu': { 'runtimeclass.cdk8s.io/kata-qemu': 'ready' },
      'runsc': { 'runtimeclass.cdk8s.io/runsc': 'ready' },
      'crun': undefined,
    });
  },

  'Enforcement in multi-tenant clusters': ({ manifests }) => {
    const tenants = { matchLabels: { 'tenancy.example.com/tenant': 'true' } };
    // The runtimes' node setups bring their own policy (their agents' rights): set apart.
    const fromNodeSetups = (m: any) => m.metadata.labels?.['app.kubernetes.io/name'] === 'runtimeclass-node-setup';
    expect(ofKind(manifests, 'ValidatingAdmissionPolicy').filter(fromNodeSetups).map((p) => p.metadata.name)).toEqual(['runsc-node-setup-own-node', 'kata-qemu-node-setup-own-node']);
    const policies = ofKind(manifests, 'ValidatingAdmissionPolicy').filter((m) => !fromNodeSetups(m));
    const bindings = ofKind(manifests, 'ValidatingAdmissionPolicyBinding').filter((m) => !fromNodeSetups(m));
    expect(policies.map((p) => p.metadata.name)).toEqual([
      'runtimeclass-sandboxed-pods', 'runtimeclass-sandboxed-workloads', 'runtimeclass-sandboxed-cronjobs',
      'runtimeclass-kata-regulated-pods', 'runtimeclass-kata-regulated-workloads', 'runtimeclass-kata-regulated-cronjobs',
    ]);
    expect(bindings.slice(0, 3).map((b) => [b.spec.matchResources.namespaceSelector, b.spec.validationActions])).toEqual(Array(3).fill([tenants, ['Warn', 'Audit']]));
    const [mutating] = ofKind(manifests, 'MutatingAdmissionPolicy');
    expect(mutating.spec.mutations[0].applyConfiguration.expression).toBe('Object{spec: Object.spec{runtimeClassName: "runsc"}}');
    expect(ofKind(manifests, 'MutatingAdmissionPolicyBinding')[0].spec.matchResources.namespaceSelector).toEqual(tenants);
    // The message the README quotes is the one the API server would return.
    const decision = validate(policies[1], bindings[1], {
      operation: 'CREATE',
      object: deploymentRequest('checkout', { runtimeClassName: 'runc' }),
      namespace: 'shop',
      namespaceLabels: { 'tenancy.example.com/tenant': 'true' },
    });
    expect(decision.result).toBe('failed');
    const [message] = (decision as { messages: string[] }).messages;
    expect(README.replace(/\s*\n\s*/g, ' ')).toContain(`Mistakes are reported on the object you applied: \`${message}\``);
    // A template that leaves the class to the default passes: its pods get runsc at creation.
    expect(validate(policies[1], bindings[1], { operation: 'CREATE', object: deploymentRequest('checkout'), namespace: 'shop', namespaceLabels: { 'tenancy.example.com/tenant': 'true' } }).result).toBe('passed');
  },

  'Managed clusters and existing classes': ({ manifests }) => {
    expect(ofKind(manifests, 'RuntimeClass')).toEqual([]);
    const [deployment] = ofKind(manifests, 'Deployment');
    expect(podSpec(deployment).runtimeClassName).toBe('gvisor');
    const gke = library.ManagedRuntimeClass.gkeSandbox();
    expect(gke.scheduling).toEqual({
      nodeSelector: { 'sandbox.gke.io/runtime': 'gvisor' },
      tolerations: [{ key: 'sandbox.gke.io/runtime', operator: library.TolerationOperator.EQUAL, value: 'gvisor', effect: library.TaintEffect.NO_SCHEDULE }],
    });
    const aks = library.ManagedRuntimeClass.aksPodSandboxing();
    expect([aks.runtimeClassName, aks.overhead?.memory]).toEqual(['kata-vm-isolation', '600Mi']);
    expect(library.ManagedRuntimeClass.nvidiaGpuOperator().runtimeClassName).toBe('nvidia');
  },

  'Moving a workload to another runtime': ({ manifests }) => {
    const deployments = ofKind(manifests, 'Deployment');
    expect(deployments.map((d) => [d.spec.replicas, podSpec(d).runtimeClassName])).toEqual([[3, 'runc'], [1, 'kata-qemu']]);
    const [service] = ofKind(manifests, 'Service');
    for (const d of deployments) {
      expect(d.spec.template.metadata.labels).toMatchObject(service.spec.selector);
      expect(d.spec.template.metadata.labels.app).toBe('checkout');
    }
  },

  'Alerts for each runtime': ({ manifests, checks }) => {
    expect(checks.length).toBe(1);
    const [rule] = ofKind(manifests, 'PrometheusRule');
    expect(rule.metadata.labels).toEqual({ release: 'kube-prometheus-stack' });
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(alerts).toEqual(['RuntimeClassPodMemoryOverrun', 'RuntimeClassNodeSetupNotReady', 'RuntimeClassNodeNotReady']);
  },
};

describe('README.md TypeScript blocks', () => {
  let errors: Map<Block, string[]>;
  beforeAll(() => {
    errors = typeErrors();
  });

  test('every block names known preambles, and every section with a block has expectations', () => {
    expect(TS_BLOCKS.length).toBeGreaterThanOrEqual(10);
    for (const block of TS_BLOCKS) {
      const unknown = (block.preambles ?? []).filter((p) => !(p in PREAMBLES));
      expect({ block: nameOf(block), unknown }).toEqual({ block: nameOf(block), unknown: [] });
      expect({ block: nameOf(block), hasExpectations: block.section in EXPECTATIONS }).toEqual({ block: nameOf(block), hasExpectations: true });
    }
    expect(TS_BLOCKS.map((b) => b.section).sort()).toEqual(Object.keys(EXPECTATIONS).sort());
  });

  describe.each(TS_BLOCKS.map((block) => [nameOf(block), block]))('%s', (_name, block) => {
    test('type-checks against the package', () => {
      expect(errors.get(block)).toEqual([]);
    });

    test('runs, synthesizes without validation errors, and makes what it says', () => {
      const result = run(block);
      for (const check of result.checks) {
        const expected = new Function(`return (${check.literal});`)();
        const { line, expression } = check;
        expect({ line, expression, value: check.actual }).toEqual({ line, expression, value: expected });
      }
      EXPECTATIONS[block.section](result);
    });
  });
});

describe('README.md shell blocks name what exists', () => {
  const packageJson = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  const tasks = JSON.parse(fs.readFileSync(path.join(repo, '.projen', 'tasks.json'), 'utf8')).tasks;
  const shellBlocks = BLOCKS.filter((b) => b.language === 'sh');
  const commands = shellBlocks.flatMap((b) => b.code.split('\n').map((line, i) => ({ line: b.line + i, text: line.replace(/#.*$/, '') })));

  test('there are shell blocks to check', () => {
    expect(shellBlocks.length).toBeGreaterThanOrEqual(3);
  });

  test('every `npx projen <task>` is a task of the project', () => {
    const used = commands.flatMap((c) => [...c.text.matchAll(/npx projen ([\w:-]+)/g)].map((m) => ({ line: c.line, task: m[1] })));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !(n.task in tasks))).toEqual([]);
  });

  test('every `npx <command>` of this package is its bin', () => {
    const used = commands.flatMap((c) => [...c.text.matchAll(/npx (cdk8s-runtimeclass\S*)/g)].map((m) => ({ line: c.line, command: m[1] })));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !(n.command in packageJson.bin))).toEqual([]);
  });

  test('the test command installs the Debian packages CI installs (.ci/run)', () => {
    const packagesOf = (text: string) => (/apt-get install -y ((?:\\\n|[^&>\n])*)/.exec(text)?.[1] ?? '')
      .replace(/\\\n/g, ' ').split(/\s+/).filter((w) => w !== '' && !w.startsWith('-')).sort();
    const readme = packagesOf(shellBlocks.map((b) => b.code).join('\n'));
    expect(readme.length).toBeGreaterThan(5);
    expect(readme).toEqual(packagesOf(fs.readFileSync(path.join(repo, '.ci', 'run'), 'utf8')));
  });

  test('`npm install` names the package and its peer dependencies', () => {
    const installs = commands.flatMap((c) => [...c.text.matchAll(/npm install ((?:[\w@./-]+ ?)+)/g)].map((m) => m[1].trim().split(/\s+/)));
    expect(installs.length).toBeGreaterThan(0);
    for (const packages of installs) expect(packages.sort()).toEqual([packageJson.name, ...Object.keys(packageJson.peerDependencies)].sort());
  });
});

test('the preambles the README documents are the ones this test defines', () => {
  const table = README.slice(README.indexOf('| preamble | defines |'));
  const documented = [...table.split('\n\n')[0].matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  expect(documented).toEqual(Object.keys(PREAMBLES));
});
