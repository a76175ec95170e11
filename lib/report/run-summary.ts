/**
 * The end of `malloc-lab run`: every experiment's verdicts on one screen. One row
 * per experiment, one column per world (host, or host × heap) with a mark per
 * claim in the experiment's order (✔ confirmed, ✘ refuted, ? inconclusive), the
 * claims that are not confirmed everywhere named, and the counts.
 */
import type { ExperimentRun } from '../experiments/framework/runner.js';
import type { Verdict } from '../experiments/framework/types.js';
import * as check from '../infra/validate.js';
import { typeError } from '../infra/validate.js';
import { COLUMN_GAP, columnWidths, renderTable } from './table.js';
import { fitText, type Palette, palette } from './terminal.js';

/** The narrowest the "not confirmed everywhere" column may get beside the marks. */
const MIN_LIST_WIDTH = 30;

export const VERDICT_MARK: Record<Verdict, string> = { confirmed: '✔', refuted: '✘', inconclusive: '?' };
const VERDICTS: Verdict[] = ['confirmed', 'refuted', 'inconclusive'];

/** The world a run happened in: its host, or host × heap where the run names one. */
export function worldOf(run: ExperimentRun): string {
  return (run as ExperimentRun & { world?: string }).world ?? run.host;
}

/** The worlds of the runs, in the order they first appear. */
export function worldsOf(runs: ExperimentRun[]): string[] {
  return [...new Set(runs.map(worldOf))];
}

/** Runs grouped by experiment (and allocator), in the order they came. */
export function byExperiment(runs: ExperimentRun[]): ExperimentRun[][] {
  const groups = new Map<string, ExperimentRun[]>();
  for (const run of runs) {
    const key = `${run.experiment}\u0000${run.allocator}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()];
}

/** Each verdict's count over every claim of every run. */
export function verdictCounts(runs: ExperimentRun[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { confirmed: 0, refuted: 0, inconclusive: 0 };
  for (const run of runs) for (const claim of run.claims) counts[claim.verdict]++;
  return counts;
}

/** "3 ✔ confirmed · 1 ✘ refuted · 0 ? inconclusive", each count through paint (colour on a terminal). */
export function countsText(
  counts: Record<Verdict, number>,
  paint: (verdict: Verdict, text: string) => string = (_verdict, text) => text,
): string {
  const count = (verdict: Verdict) => paint(verdict, `${counts[verdict]} ${VERDICT_MARK[verdict]} ${verdict}`);
  return VERDICTS.map(count).join(' · ');
}

export interface SummaryOptions {
  width?: number | undefined;
  colours?: Palette;
}

export function renderRunSummary(runs: ExperimentRun[], options: SummaryOptions = {}): string {
  if (!Array.isArray(runs) || runs.some((run) => run === null || typeof run !== 'object' || !Array.isArray(run.claims)))
    throw typeError('renderRunSummary', 'runs', 'an array of experiment runs (from runExperiment or run --json)', runs);
  options = check.options<SummaryOptions>(options, 'renderRunSummary');
  const colours = options.colours ?? palette(false);
  const paint = (verdict: Verdict, text: string) => colours[verdict](text);
  const groups = byExperiment(runs);
  const worlds = worldsOf(runs);
  const claims = groups.reduce(
    (sum, group) => sum + (group.find((run) => run.skipped === undefined)?.claims.length ?? 0),
    0,
  );
  const lines: string[] = [];
  lines.push(
    colours.bold(
      `summary: ${groups.length} experiment${groups.length === 1 ? '' : 's'}, ${claims} claims, ` +
        `${worlds.length} ${worlds.length === 1 ? 'world' : 'worlds'} (${worlds.join(', ')})`,
    ),
  );
  const rows = groups.map((group) => {
    const cells = worlds.map((world) => {
      const run = group.find((candidate) => worldOf(candidate) === world);
      if (run === undefined) return '';
      if (run.skipped !== undefined) return 'skipped';
      return run.claims.map((claim) => paint(claim.verdict, VERDICT_MARK[claim.verdict])).join('');
    });
    const ids = [...new Set(group.flatMap((run) => run.claims.map((claim) => claim.id)))];
    const notConfirmed = ids.flatMap((id) => {
      const results = group.flatMap((run) =>
        run.claims.filter((claim) => claim.id === id).map((claim) => ({ world: worldOf(run), verdict: claim.verdict })),
      );
      const off = results.filter((result) => result.verdict !== 'confirmed');
      if (off.length === 0) return [];
      const where = off.length === results.length ? '' : ` (${off.map((result) => result.world).join(', ')})`;
      const verdict = off[0]!.verdict;
      return [`${paint(verdict, VERDICT_MARK[verdict])} ${id}${where}`];
    });
    return [group[0]!.experiment, ...cells, notConfirmed.join(', ')];
  });
  // The marks' columns and a readable list beside them; narrower than that (three worlds at
  // 80 columns), the list goes under the table, so the marks stay one row per experiment.
  const markRows = rows.map((row) => row.slice(0, -1));
  const markColumns = columnWidths(['experiment', ...worlds], markRows);
  const besideWidth = markColumns.reduce((sum, width) => sum + width + COLUMN_GAP, 0) + MIN_LIST_WIDTH;
  if (options.width === undefined || options.width >= besideWidth) {
    lines.push(
      renderTable(['experiment', ...worlds, 'not confirmed everywhere'], rows, {
        textColumns: worlds.length + 2,
        width: options.width,
        wrap: [0, worlds.length + 1],
      }),
    );
  } else {
    lines.push(
      renderTable(['experiment', ...worlds], markRows, { textColumns: worlds.length + 1, width: options.width }),
    );
    const listed = rows.filter((row) => row.at(-1) !== '');
    if (listed.length > 0) lines.push('not confirmed everywhere:');
    for (const row of listed) lines.push(fitText(`  • ${row[0]}: ${row.at(-1)}`, options.width));
  }
  const perWorld = worlds.map((world) => {
    const counts = verdictCounts(runs.filter((run) => worldOf(run) === world));
    return `${world}: ${VERDICTS.map((verdict) => paint(verdict, `${counts[verdict]} ${VERDICT_MARK[verdict]}`)).join(' ')}`;
  });
  const all = verdictCounts(runs);
  lines.push(`${countsText(all, paint)} — ${perWorld.join(' · ')}`);
  return lines.join('\n');
}
