/**
 * The human report of an experiment: per step, RssAnon, VmSize and the break in
 * each world side by side (deltas against the step before), then each claim's
 * verdict per world with its count and evidence; where the worlds' verdicts differ,
 * the state each world's heap started in.
 */
import { AGEING_STEP, describeAgeing } from '../experiments/framework/ageing.js';
import type { ExperimentRun, StepRecord, VariantRecord } from '../experiments/framework/runner.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import { VERDICT_MARK } from './run-summary.js';
import { columnWidths, renderTable, type TableRow } from './table.js';
import { fitText } from './terminal.js';

function stepsOf(run: ExperimentRun): Map<string, StepRecord> {
  return new Map(run.steps.map((step) => [`${step.variant}\u0000${step.label}`, step]));
}

function cells(step: StepRecord | undefined, previous: StepRecord | undefined): string[] {
  if (step === undefined) return ['—', '—', '—'];
  const rss = step.status['RssAnon'] ?? NaN;
  const vm = step.status['VmSize'] ?? NaN;
  const brk = Number(BigInt(step.brk));
  if (previous === undefined) return [formatBytes(rss), formatBytes(vm), step.brk];
  const d = (now: number, before: number) => formatBytes(now - before, { signed: true });
  return [
    `${formatBytes(rss)} (${d(rss, previous.status['RssAnon'] ?? NaN)})`,
    `${formatBytes(vm)} (${d(vm, previous.status['VmSize'] ?? NaN)})`,
    d(brk, Number(BigInt(previous.brk))),
  ];
}

/** Why a variant did not complete: the signal, the step that failed, and the last line it wrote to stderr. */
export function stoppedText(variant: VariantRecord): string {
  return (
    `stopped${variant.signal ? ` by ${variant.signal}` : ''}` +
    (variant.failure ? ` at "${variant.failure.label}" (${variant.failure.op}: ${variant.failure.error})` : '') +
    (variant.stderr.trim() ? ` — ${variant.stderr.trim().split('\n').at(-1)}` : '')
  );
}

export interface ExperimentTextOptions {
  /** Columns to fit (tables shrink or stack, prose wraps); undefined keeps whole lines. */
  width?: number | undefined;
}

export function renderExperiment(runs: ExperimentRun[], options: ExperimentTextOptions = {}): string {
  if (!Array.isArray(runs))
    throw typeError('renderExperiment', 'runs', 'an array of experiment runs (from runExperiment)', runs);
  const first = runs[0];
  if (first === undefined) return '';
  const lines: string[] = [];
  lines.push(`${first.experiment} — ${first.title}`);
  lines.push(
    `seed ${first.seeds.join(', ')} · glibc ${first.glibc} · kernel ${first.kernel} · allocator ${first.allocator}` +
      (Object.keys(first.env).length
        ? ` · env ${Object.entries(first.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : '') +
      ` · ${Object.entries(first.parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
  );
  const repeat = Math.max(...runs.map((run) => run.repeat ?? 1));
  lines.push(
    `worlds: ${runs.map((run) => run.world).join(', ')}${repeat > 1 ? ` · each run ${repeat} times, in fresh processes` : ''}`,
  );
  const aged = runs.find((run) => run.ageing !== undefined);
  if (aged?.ageing !== undefined) lines.push(`aged heap: ${describeAgeing(aged.ageing)}`);
  const active = runs.filter((run) => run.skipped === undefined);
  for (const run of runs) if (run.skipped !== undefined) lines.push(`${run.world}: skipped — ${run.skipped}`);
  if (active.length === 0) return fitText(lines.join('\n'), options.width);

  const maps = active.map(stepsOf);
  const order = stepOrder(active);
  const header = [
    'step',
    ...active.flatMap((run) => [`${run.world} RssAnon`, `${run.world} VmSize`, `${run.world} Δbrk`]),
  ];
  const rows: TableRow[] = [];
  let variant = '';
  const previousOf = (index: number, map: Map<string, StepRecord>) => {
    const step = order[index]!;
    const before = order
      .slice(0, index)
      .reverse()
      .find((candidate) => candidate.variant === step.variant);
    return before === undefined ? undefined : map.get(`${before.variant}\u0000${before.label}`);
  };
  order.forEach((step, index) => {
    if (step.variant !== variant) {
      variant = step.variant;
      const description = active[0]!.variants.find((v) => v.name === variant)?.description ?? '';
      rows.push({ section: `[${variant}] ${description}` });
    }
    const key = `${step.variant}\u0000${step.label}`;
    rows.push([`  ${step.label}`, ...maps.flatMap((map) => cells(map.get(key), previousOf(index, map)))]);
  });
  lines.push('', stepTable(header, rows, options.width));

  for (const run of active) {
    for (const variant of run.variants) {
      if (variant.restarts !== undefined && variant.restarts.length > 0) {
        lines.push(
          `${run.world} [${variant.name}]: ${variant.restarts.length} Node process${variant.restarts.length === 1 ? '' : 'es'} started again (${variant.restarts[0]})`,
        );
      }
      if (!variant.completed) {
        lines.push(`${run.world} [${variant.name}]: ${stoppedText(variant)}`);
      }
    }
  }

  lines.push('', 'claims:');
  const width = Math.max(...active.map((run) => run.world.length));
  for (const claim of active[0]!.claims) {
    lines.push(`  • ${claim.claim}`);
    const results = active.map((run) => ({ run, result: run.claims.find((candidate) => candidate.id === claim.id)! }));
    for (const { run, result } of results) {
      const count = result.of > 1 ? ` ${result.counts[result.verdict]}/${result.of}` : '';
      lines.push(
        `      ${run.world.padEnd(width)} ${VERDICT_MARK[result.verdict]} ${result.verdict}${count} — ${result.evidence}`,
      );
      if (result.unstable !== undefined) lines.push(`      ${''.padEnd(width)} ± ${result.unstable}`);
    }
    if (new Set(results.map(({ result }) => result.verdict)).size > 1) {
      lines.push(`      ${''.padEnd(width)} ≠ the worlds' verdicts differ; ${startingPoints(active)}`);
    }
  }
  return fitText(lines.join('\n'), options.width);
}

/** Narrowest the step names may get before the worlds stack instead of standing side by side. */
const STEP_NAMES = 18;
const MEASURES_PER_WORLD = 3;

/**
 * The steps table fitted to width: every world side by side when that leaves the step
 * names room; otherwise one table per world, one under the other; on a very narrow
 * terminal those lose VmSize (the chart and --json keep it), then become lists.
 */
function stepTable(header: string[], rows: TableRow[], width: number | undefined): string {
  const wrapSteps = { wrap: [0] };
  if (width === undefined) return renderTable(header, rows, wrapSteps);
  const numbers = columnWidths(header, rows).slice(1);
  const needed = (columns: number[]) => STEP_NAMES + columns.reduce((sum, one) => sum + 2 + one, 0);
  if (needed(numbers) <= width) return renderTable(header, rows, { ...wrapSteps, width });
  const worlds = numbers.length / MEASURES_PER_WORLD;
  const tables: string[] = [];
  for (let world = 0; world < worlds; world++) {
    const columns = [0, ...[1, 2, 3].map((offset) => world * MEASURES_PER_WORLD + offset)];
    const pick = (row: TableRow): TableRow => (Array.isArray(row) ? columns.map((column) => row[column] ?? '') : row);
    tables.push(
      renderTable(
        columns.map((column) => header[column]!),
        rows.map(pick),
        { ...wrapSteps, width, drop: [2] },
      ),
    );
  }
  return tables.join('\n\n');
}

/** Every variant's steps once, variants in the order they first ran, an aged world's ageing step first in each. */
function stepOrder(runs: ExperimentRun[]): StepRecord[] {
  const byVariant = new Map<string, StepRecord[]>();
  const seen = new Set<string>();
  for (const run of runs) {
    for (const step of run.steps) {
      const key = `${step.variant}\u0000${step.label}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const steps = byVariant.get(step.variant) ?? [];
      if (step.label === AGEING_STEP) steps.unshift(step);
      else steps.push(step);
      byVariant.set(step.variant, steps);
    }
  }
  return [...byVariant.values()].flat();
}

/** The heap each world's first variant started on (after the ageing, in an aged world), from its first snapshot. */
function startingPoints(runs: ExperimentRun[]): string {
  const variant = runs[0]!.variants[0]?.name;
  const described = runs.map((run) => {
    const start = run.steps.find((step) => step.variant === variant && step.label !== AGEING_STEP);
    if (start === undefined) return `${run.world}: no snapshot`;
    const m = start.mallinfo;
    return (
      `${run.world}: heap ${formatBytes(m['arena'] ?? NaN)}, ${formatBytes(m['uordblks'] ?? NaN)} in use, ` +
      `${formatBytes(m['fordblks'] ?? NaN)} free (top chunk ${formatBytes(m['keepcost'] ?? NaN)}, free chunks ${m['ordblks']})`
    );
  });
  return `at the start of variant ${variant}: ${described.join('; ')}`;
}
