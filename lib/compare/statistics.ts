/**
 * The numbers of a comparison: one series into peak, final and time-weighted
 * mean; a configuration's runs into medians with their spread; each row against
 * the baseline; and which configuration ends lowest.
 */
import type { Configuration } from './configurations.js';
import type {
  Best,
  CompareRun,
  ConfigurationSummary,
  MetricSummary,
  RowStatus,
  SeriesSummary,
  Spread,
} from './types.js';

/** Peak, final and time-weighted mean of values sampled at times t (ms); null without samples. */
export function summarizeSeries(t: number[], values: number[]): SeriesSummary | null {
  if (values.length === 0) return null;
  let peak = -Infinity;
  for (const value of values) if (value > peak) peak = value;
  const final = values.at(-1)!;
  const span = t.at(-1)! - t[0]!;
  if (values.length === 1 || span <= 0) return { peak, final, mean: values.reduce((a, b) => a + b, 0) / values.length };
  let area = 0;
  for (let i = 1; i < values.length; i++) area += ((values[i - 1]! + values[i]!) / 2) * (t[i]! - t[i - 1]!);
  return { peak, final, mean: area / span };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median, extremes and half the range in % of the median. */
export function spreadOf(values: number[]): Spread {
  const mid = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return {
    median: mid,
    min,
    max,
    spreadPct: mid === 0 || values.length < 2 ? 0 : ((max - min) / 2 / Math.abs(mid)) * 100,
  };
}

function metric(runs: CompareRun[], pick: (run: CompareRun) => SeriesSummary | null): MetricSummary | null {
  const summaries = runs.map(pick).filter((summary) => summary !== null);
  if (summaries.length === 0) return null;
  return {
    peak: spreadOf(summaries.map((summary) => summary.peak)),
    final: spreadOf(summaries.map((summary) => summary.final)),
    mean: spreadOf(summaries.map((summary) => summary.mean)),
  };
}

function rowStatus(
  configuration: Configuration,
  runs: CompareRun[],
  planned: number,
): { status: RowStatus; note: string | null } {
  if (configuration.missing !== null) return { status: 'missing', note: configuration.missing };
  if (runs.length === 0) return { status: 'not-run', note: 'compare was interrupted before this configuration ran' };
  const notApplied = runs.find(
    (run) => run.verification.verdict === 'not-applied' || run.verification.verdict === 'partly',
  );
  if (notApplied !== undefined) return { status: 'not-applied', note: notApplied.verification.summary };
  const interrupted = runs.find((run) => run.exit.end === 'interrupted');
  if (interrupted !== undefined) return { status: 'interrupted', note: 'compare was interrupted during this run' };
  const failed = runs.filter((run) => !run.exit.ok);
  if (failed.length > 0) {
    const descriptions = [...new Set(failed.map((run) => run.exit.description))].join(', ');
    return {
      status: 'failed',
      note: `${failed.length} of ${runs.length} run${runs.length === 1 ? '' : 's'}: ${descriptions}`,
    };
  }
  const unchecked = runs.find((run) => run.verification.verdict === 'unchecked');
  if (unchecked !== undefined) return { status: 'unchecked', note: unchecked.verification.summary };
  if (runs.length < planned) return { status: 'interrupted', note: `${runs.length} of ${planned} runs happened` };
  return { status: 'ok', note: null };
}

const change = (value: number | undefined, base: number | undefined) =>
  value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0
    ? null
    : value / base - 1;

/** One summary per configuration, in order, each against the baseline's medians. */
export function summarizeConfigurations(
  configurations: Configuration[],
  runs: CompareRun[],
  planned: number,
  baseline: string,
): ConfigurationSummary[] {
  const summaries = configurations.map((configuration): ConfigurationSummary => {
    const own = runs.filter((run) => run.configuration === configuration.name);
    const { status, note } = rowStatus(configuration, own, planned);
    // A row whose allocator did not apply reports no numbers: they would be another allocator's.
    const counted =
      status === 'not-applied' || status === 'missing' ? [] : own.filter((run) => run.exit.end !== 'not-started');
    const cpu = counted.map((run) => run.cpu?.totalMs).filter((value): value is number => value !== undefined);
    return {
      configuration: configuration.name,
      status,
      note,
      runs: counted.length,
      rss: metric(counted, (run) => run.rss),
      rssAnon: metric(counted, (run) => run.rssAnon),
      cpuMs: cpu.length > 0 ? spreadOf(cpu) : null,
      wallMs: counted.length > 0 ? spreadOf(counted.map((run) => run.wallMs)) : null,
      vsBaseline: null,
    };
  });
  const base = summaries.find((summary) => summary.configuration === baseline);
  if (base !== undefined && base.status === 'ok') {
    for (const summary of summaries) {
      if (summary.rss === null) continue;
      summary.vsBaseline = {
        peakRss: change(summary.rss.peak.median, base.rss?.peak.median),
        finalRss: change(summary.rss.final.median, base.rss?.final.median),
        meanRss: change(summary.rss.mean.median, base.rss?.mean.median),
        cpu: change(summary.cpuMs?.median, base.cpuMs?.median),
      };
    }
  }
  return summaries;
}

/** The ok configuration with the lowest median final RSS. */
export function bestOf(summaries: ConfigurationSummary[]): Best | null {
  const ok = summaries.filter((summary) => summary.status === 'ok' && summary.rss !== null);
  if (ok.length === 0) return null;
  const best = ok.reduce((a, b) => (b.rss!.final.median < a.rss!.final.median ? b : a));
  return {
    configuration: best.configuration,
    finalRss: best.rss!.final.median,
    finalVsBaseline: best.vsBaseline?.finalRss ?? null,
    cpuMs: best.cpuMs?.median ?? null,
    cpuVsBaseline: best.vsBaseline?.cpu ?? null,
  };
}
