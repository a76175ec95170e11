// The machine-readable and graphical outputs of `malloc-lab run`: the JSON
// matches its published schema, and the SVG chart is well-formed and complete.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../lib/experiments/catalogue/free-not-returned.js';
import { runExperiment, type ExperimentRun } from '../lib/experiments/framework/runner.js';
import { EXPERIMENT_RUN_SCHEMA_PATH } from '../lib/experiments/framework/schema.js';
import { DEFAULT_WORLDS } from '../lib/experiments/framework/worlds.js';
import { packageRoot } from '../lib/probe.js';
import { escapeXml, renderSvg } from '../lib/report/svg.js';
import { compileSchema } from './fixtures/schema.js';

let runs: ExperimentRun[];
let json: unknown;
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-report-'));

beforeAll(async () => {
  // The default worlds (fresh, node, aged/fresh), each twice: counts, an ageing, the lot.
  runs = await runExperiment(freeNotReturned, { worlds: DEFAULT_WORLDS, repeat: 2 });
  // Exactly what --json prints, read back.
  json = JSON.parse(JSON.stringify(runs));
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const validator = () => compileSchema(EXPERIMENT_RUN_SCHEMA_PATH);

/** Tags balance, attributes are quoted, and every & starts an entity: enough to be sure an XML parser accepts it. */
function wellFormed(xml: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(xml); match !== null; match = tag.exec(xml)) {
    const between = xml.slice(last, match.index);
    if (between.includes('<') || between.includes('>'))
      problems.push(`stray markup before offset ${match.index}: ${between.slice(0, 60)}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      const expected = open.pop();
      if (expected !== name) problems.push(`</${name}> closes <${expected}>`);
    } else if (!selfClosing) {
      open.push(name!);
    }
  }
  if (xml.slice(last).trim() !== '') problems.push('text after the root element');
  if (open.length > 0) problems.push(`unclosed: ${open.join(', ')}`);
  for (const entity of xml.match(/&[^;\s]*;?/g) ?? []) {
    if (!/^&(amp|lt|gt|quot|apos);$/.test(entity)) problems.push(`bad entity ${entity}`);
  }
  return problems;
}

describe('run --json matches schema/experiment-run.schema.json', () => {
  it('the schema ships at the exported path', () => {
    expect(existsSync(EXPERIMENT_RUN_SCHEMA_PATH)).toBe(true);
  });

  it('a real free-not-returned run in the three default worlds, repeated, is valid', () => {
    const validate = validator();
    const valid = validate(json);
    if (!valid) console.error(JSON.stringify(validate.errors, null, 2));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    const parsed = json as ExperimentRun[];
    expect(parsed.map((run) => run.world)).toEqual(['fresh', 'node', 'aged/fresh']);
    expect(parsed.map((run) => run.repeat)).toEqual([2, 2, 2]);
    for (const claim of parsed.flatMap((run) => run.claims)) expect(claim.of).toBe(2);
  });

  it('an aged run must say how it was aged, a clean one must not; a claim needs its counts', () => {
    const validate = validator();
    const [clean, , aged] = structuredClone(json) as ExperimentRun[];
    const withoutAgeing = { ...aged! };
    delete withoutAgeing.ageing;
    expect(validate([withoutAgeing])).toBe(false);
    expect(validate([{ ...clean!, ageing: aged!.ageing }])).toBe(false);
    const claims = clean!.claims.map(({ counts: _counts, ...rest }) => rest);
    expect(validate([{ ...clean!, claims }])).toBe(false);
    expect(validate([{ ...clean!, world: 'old/fresh' }])).toBe(false);
    const unmet = { ...clean!.claims[0]!, verdict: 'inconclusive', unmet: ['MALLOC_ARENA_MAX=1 is set for this run'] };
    expect(validate([{ ...clean!, claims: [unmet] }])).toBe(true);
    expect(validate([{ ...clean!, claims: [{ ...unmet, unmet: [] }] }])).toBe(false);
  });

  it('a skipped run is valid only when it measured nothing', () => {
    const validate = validator();
    const skipped = {
      ...structuredClone(json as ExperimentRun[])[0]!,
      allocator: 'tcmalloc',
      skipped: 'tcmalloc is not installed',
    };
    expect(validate([{ ...skipped, variants: [], steps: [], claims: [] }])).toBe(true);
    expect(validate([skipped])).toBe(false);
  });

  it('rejects a broken copy: an unknown verdict, a break that is not hex, a missing key, a failed op without its error', () => {
    const validate = validator();
    const broken = (change: (copy: ExperimentRun[]) => void) => {
      const copy = structuredClone(json) as ExperimentRun[];
      change(copy);
      return copy;
    };
    const cases: Record<string, unknown> = {
      verdict: broken((copy) => ((copy[0]!.claims[0] as { verdict: string }).verdict = 'maybe')),
      brk: broken((copy) => (copy[0]!.steps[0]!.brk = 'xyz')),
      host: broken((copy) => ((copy[0] as { host: string }).host = 'deno')),
      missing: broken((copy) => delete (copy[0] as Partial<ExperimentRun>).durationMs),
      extra: broken((copy) => ((copy[0] as unknown as Record<string, unknown>)['surprise'] = 1)),
      opError: broken((copy) => {
        const op = copy[0]!.steps.flatMap((step) => step.ops)[0]!;
        op.status = 12;
        delete op.error;
      }),
      notArray: json && (json as ExperimentRun[])[0],
    };
    for (const [name, value] of Object.entries(cases)) {
      expect(validate(value), `${name} should be rejected`).toBe(false);
    }
    const paths = (value: unknown) => (validate(value), (validate.errors ?? []).map((error) => error.instancePath));
    expect(paths(cases['verdict'])).toContain('/0/claims/0/verdict');
    expect(paths(cases['brk'])).toContain('/0/steps/0/brk');
  });
});

describe('renderSvg', () => {
  it('draws both hosts, every variant and step, with a viewBox, well-formed', () => {
    const svg = renderSvg(runs);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toMatch(/viewBox="0 0 1000 \d+"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(wellFormed(svg)).toEqual([]);
    for (const host of ['node', 'fresh']) expect(svg).toContain(`>${host}<`);
    for (const variant of ['seed', 'page-free', 'trim']) expect(svg).toContain(`variant ${variant}`);
    for (const step of runs.flatMap((run) => run.steps)) expect(svg).toContain(escapeXml(step.label));
    expect(svg).toContain('free-not-returned · glibc ');
    expect(svg).toContain('allocator glibc');
    for (const unit of ['MiB']) expect(svg).toContain(unit);
    expect(renderSvg(runs)).toBe(svg);
  });

  it('escapes labels and lists skipped runs as text', () => {
    const hostile = structuredClone(runs);
    for (const run of hostile) {
      run.steps[0]!.label = `<free & "trim"> 'now'`;
      run.title = 'a <title> & more';
    }
    const skipped: ExperimentRun = {
      ...structuredClone(runs[0]!),
      allocator: 'jemalloc',
      skipped: 'jemalloc is not installed (<libjemalloc.so.2> not found)',
      variants: [],
      steps: [],
      claims: [],
    };
    const svg = renderSvg([...hostile, skipped]);
    expect(wellFormed(svg)).toEqual([]);
    expect(svg).toContain('&lt;free &amp; &quot;trim&quot;&gt; &apos;now&apos;');
    expect(svg).not.toContain('<free');
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    expect(svg).toContain(`${skipped.host}: skipped — jemalloc is not installed (&lt;libjemalloc.so.2&gt; not found)`);
    expect(svg).toContain('allocator jemalloc');
  });

  it('renders an empty list without failing', () => {
    const svg = renderSvg([]);
    expect(wellFormed(svg)).toEqual([]);
    expect(svg).toContain('no runs');
  });
});

describe('malloc-lab run --svg', () => {
  it('writes the chart from the built CLI', () => {
    const cli = join(packageRoot, 'dist', 'cli.js');
    expect(
      existsSync(cli),
      'dist/cli.js is missing: build with `npx tsc -p tsconfig.json` (npm test does it first)',
    ).toBe(true);
    const file = join(scratch, 'free-not-returned.svg');
    const result = spawnSync(process.execPath, ['dist/cli.js', 'run', 'free-not-returned', '--svg', file], {
      cwd: packageRoot,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.stderr.includes('Error') ? result.stderr : '').toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`chart written to ${file}`);
    expect(existsSync(file)).toBe(true);
    const svg = readFileSync(file, 'utf8');
    expect(svg).toContain('<svg');
    expect(wellFormed(svg)).toEqual([]);
    for (const host of ['node', 'fresh']) expect(svg).toContain(`>${host}<`);
  }, 120_000);
});
