/**
 * The human report of an experiment: per step, RssAnon, VmSize and the break on
 * each host side by side (deltas against the step before), then each claim's
 * verdict per host with its evidence.
 */
import type { ExperimentRun, StepRecord } from '../experiments/framework/runner.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import { columnWidths, renderTable, type TableRow } from './table.js';
import { fitText } from './terminal.js';

const mark = { confirmed: '✔ confirmed', refuted: '✘ refuted', inconclusive: '? inconclusive' } as const;

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
  const active = runs.filter((run) => run.skipped === undefined);
  for (const run of runs) if (run.skipped !== undefined) lines.push(`${run.host}: skipped — ${run.skipped}`);
  if (active.length === 0) return fitText(lines.join('\n'), options.width);

  const maps = active.map(stepsOf);
  const order: StepRecord[] = [];
  const seen = new Set<string>();
  for (const run of active) {
    for (const step of run.steps) {
      const key = `${step.variant}\u0000${step.label}`;
      if (!seen.has(key)) {
        seen.add(key);
        order.push(step);
      }
    }
  }
  const header = [
    'step',
    ...active.flatMap((run) => [`${run.host} RssAnon`, `${run.host} VmSize`, `${run.host} Δbrk`]),
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
      if (!variant.completed) {
        lines.push(
          `${run.host} [${variant.name}]: stopped${variant.signal ? ` by ${variant.signal}` : ''}` +
            (variant.failure
              ? ` at "${variant.failure.label}" (${variant.failure.op}: ${variant.failure.error})`
              : '') +
            (variant.stderr.trim() ? ` — ${variant.stderr.trim().split('\n').at(-1)}` : ''),
        );
      }
    }
  }

  lines.push('', 'claims:');
  for (const claim of active[0]!.claims) {
    lines.push(`  • ${claim.claim}`);
    for (const run of active) {
      const result = run.claims.find((candidate) => candidate.id === claim.id)!;
      lines.push(`      ${run.host.padEnd(5)} ${mark[result.verdict]} — ${result.evidence}`);
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
