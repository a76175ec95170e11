/**
 * A comparison as text: what ran, one row per configuration (medians of its
 * runs), a note under the table for every row that has no numbers or failed, and
 * the verdict: which configuration ends lowest by final RSS and what it costs in
 * CPU against the baseline. Renders compareAllocators()'s result and nothing else.
 */
import { type CompareResult, type ConfigurationSummary, isCompareResult } from '../compare/types.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import { renderTable } from './table.js';
import { fitText } from './terminal.js';

/** "+4%", "-56%", "0%"; '—' when unknown. */
export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  const value = Math.round(fraction * 100);
  return `${value > 0 ? '+' : ''}${value}%`;
}

export function seconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export const STATUS: Record<ConfigurationSummary['status'], string> = {
  ok: 'ok',
  'not-applied': 'NOT APPLIED',
  unchecked: 'unchecked',
  failed: 'failed',
  missing: 'missing',
  interrupted: 'interrupted',
  'not-run': 'not run',
};

/** How the runs of a configuration ended, for its status cell: "exit 0", "stopped", "SIGSEGV". */
export function endings(result: CompareResult, summary: ConfigurationSummary): string {
  if (summary.status !== 'ok' && summary.status !== 'failed') return STATUS[summary.status];
  const runs = result.runs.filter((run) => run.configuration === summary.configuration);
  const kinds = [
    ...new Set(
      runs.map((run) =>
        run.exit.end === 'duration' || run.exit.end === 'linger'
          ? run.exit.killed
            ? 'killed'
            : 'stopped'
          : run.exit.end === 'not-started'
            ? 'not started'
            : (run.exit.signal ?? `exit ${run.exit.code}`),
      ),
    ),
  ];
  return kinds.join(', ');
}

export function how(result: CompareResult): string {
  const { options } = result;
  const parts: string[] = [];
  const runnable = result.configurations.filter((configuration) => configuration.missing === null).length;
  parts.push(
    `${runnable} configuration${runnable === 1 ? '' : 's'} × ${options.repeat} run${options.repeat === 1 ? '' : 's'}${options.repeat > 1 ? ' in interleaved order' : ''}`,
  );
  parts.push(`sampled every ${options.intervalMs} ms${options.tree ? ', the whole process tree summed' : ''}`);
  if (options.load !== null) {
    parts.push(
      `load: ${options.load} (${options.readyLine !== null ? `after /${options.readyLine}/` : 'after the start'}${options.readyDelayMs > 0 ? ` + ${options.readyDelayMs / 1000} s` : ''})`,
    );
  }
  const ends: string[] = [];
  if (options.lingerMs !== null) ends.push(`${options.lingerMs / 1000} s after the load ended`);
  if (options.durationMs !== null) ends.push(`at ${options.durationMs / 1000} s`);
  parts.push(ends.length > 0 ? `stopped ${ends.join(' or ')}` : 'each run to its end');
  return parts.join('; ');
}

/** The verdict line: the lowest final RSS, and its CPU against the baseline. */
export function bestSentence(result: CompareResult): string {
  const best = result.best;
  if (best === null) return 'No configuration ran as planned with its settings applied: no verdict.';
  const base = result.summary.find((summary) => summary.configuration === result.baseline);
  if (best.configuration === result.baseline) {
    return `Lowest final RSS: ${best.configuration}, the baseline itself (${formatBytes(best.finalRss)}).`;
  }
  let sentence = `Lowest final RSS: ${best.configuration}, ${formatBytes(best.finalRss)}`;
  if (best.finalVsBaseline !== null && base?.rss) {
    sentence += ` (${percent(best.finalVsBaseline)} against ${result.baseline}'s ${formatBytes(base.rss.final.median)})`;
  }
  if (best.cpuVsBaseline !== null && base?.cpuMs) {
    sentence += `, for ${seconds(best.cpuMs)} of CPU against ${seconds(base.cpuMs.median)} (${percent(best.cpuVsBaseline)})`;
  } else if (best.cpuMs !== null) {
    sentence += `, for ${seconds(best.cpuMs)} of CPU`;
  }
  return `${sentence}.`;
}

/** The whole comparison as text for a terminal or a log. */

/** The summary table's columns (text and HTML alike); the text table may add the spread. */
export function summaryHeader(result: CompareResult): string[] {
  return [
    'configuration',
    'status',
    'peak RSS',
    'final RSS',
    'mean RSS',
    'CPU',
    'wall',
    `final vs ${result.baseline}`,
    `CPU vs ${result.baseline}`,
  ];
}

/** One configuration's cells under summaryHeader: the medians, and the change against the baseline. */
export function summaryCells(result: CompareResult, summary: CompareResult['summary'][number]): string[] {
  return [
    summary.configuration,
    endings(result, summary),
    summary.rss ? formatBytes(summary.rss.peak.median) : '—',
    summary.rss ? formatBytes(summary.rss.final.median) : '—',
    summary.rss ? formatBytes(summary.rss.mean.median) : '—',
    seconds(summary.cpuMs?.median),
    seconds(summary.wallMs?.median),
    summary.configuration === result.baseline ? '(baseline)' : percent(summary.vsBaseline?.finalRss),
    summary.configuration === result.baseline ? '' : percent(summary.vsBaseline?.cpu),
  ];
}

export function renderCompareTable(result: CompareResult, options: { width?: number | undefined } = {}): string {
  if (!isCompareResult(result))
    throw typeError('renderCompareTable', 'result', 'the result of compareAllocators()', result);
  const repeated = result.options.repeat > 1;
  const lines: string[] = [];
  lines.push(`malloc-lab compare: ${result.command.join(' ')}`);
  lines.push(how(result));
  if (repeated) lines.push(`Medians of ${result.options.repeat} runs; spread = half the range, in % of the median.`);
  lines.push('');

  const header = summaryHeader(result);
  if (repeated) header.push('spread final / CPU');
  const rows = result.summary.map((summary) => {
    const row = summaryCells(result, summary);
    if (repeated) {
      row.push(
        summary.rss && summary.cpuMs
          ? `±${summary.rss.final.spreadPct.toFixed(1)}% / ±${summary.cpuMs.spreadPct.toFixed(1)}%`
          : '—',
      );
    }
    return row;
  });
  // Narrow: the spread, the wall time, the mean and the CPU change go first; final RSS and its change stay.
  lines.push(renderTable(header, rows, { textColumns: 2, width: options.width, drop: [9, 6, 4, 8, 2, 5] }));

  const notes = result.summary.filter((summary) => summary.note !== null);
  if (notes.length > 0) {
    lines.push('');
    for (const summary of notes) lines.push(`${summary.configuration}: ${STATUS[summary.status]}: ${summary.note}`);
  }
  const problems = result.runs.flatMap((run) =>
    run.problems.map((problem) => `${run.configuration}${repeated ? ` #${run.repeat + 1}` : ''}: ${problem}`),
  );
  if (problems.length > 0) {
    lines.push('');
    lines.push(...problems);
  }
  lines.push('');
  lines.push(bestSentence(result));
  if (result.interrupted) {
    const planned =
      result.configurations.filter((configuration) => configuration.missing === null).length * result.options.repeat;
    lines.push(`Interrupted after ${result.runs.length} of ${planned} runs.`);
  }
  return fitText(lines.join('\n'), options.width);
}
