/**
 * The human report of an experiment: per step, RssAnon, VmSize and the break on
 * each host side by side (deltas against the step before), then each claim's
 * verdict per host with its evidence.
 */
import type { ExperimentRun, StepRecord } from '../experiments/framework/runner.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import { renderTable } from './table.js';

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

export function renderExperiment(runs: ExperimentRun[]): string {
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
  if (active.length === 0) return lines.join('\n');

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
  const rows: string[][] = [];
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
      rows.push([`[${variant}] ${description}`, ...header.slice(1).map(() => '')]);
    }
    const key = `${step.variant}\u0000${step.label}`;
    rows.push([`  ${step.label}`, ...maps.flatMap((map) => cells(map.get(key), previousOf(index, map)))]);
  });
  lines.push('', renderTable(header, rows));

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
  return lines.join('\n');
}
