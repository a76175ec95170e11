/** A watch series as text: one plain line per sample, and the summary at the end. */
import { formatBytes } from '../infra/units.js';
import type { WatchResult, WatchSample } from '../process/watch.js';

/** One sample as a plain line (when the output is not a terminal). */
export function plainLine(sample: WatchSample, peaks: boolean): string {
  const cell = (name: string, value: number) => `${name} ${formatBytes(value).padStart(9)}`;
  return [
    `${(sample.t / 1000).toFixed(2).padStart(7)} s`,
    cell('VmRSS', sample.VmRSS),
    cell('RssAnon', sample.RssAnon),
    cell('VmSize', sample.VmSize),
    cell(peaks ? 'VmHWM(since last)' : 'VmHWM', sample.VmHWM),
    `Threads ${sample.Threads}`,
  ].join('  ');
}

function extent(values: number[]): { min: number; max: number } {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? { min: NaN, max: NaN } : { min: Math.min(...finite), max: Math.max(...finite) };
}

/** What a finished watch saw, in a few lines. */
export function summarizeWatch(result: WatchResult): string[] {
  const seconds = (result.elapsedMs / 1000).toFixed(1);
  const how =
    result.stopped === 'exited'
      ? `pid ${result.pid} exited; watched for ${seconds} s`
      : result.stopped === 'duration'
        ? `stopped after ${seconds} s (--duration)`
        : `interrupted after ${seconds} s`;
  const lines = [how];
  if (result.samples.length === 0) {
    lines.push('no samples');
    return lines;
  }
  const anon = extent(result.samples.map((sample) => sample.RssAnon));
  const rss = extent(result.samples.map((sample) => sample.VmRSS));
  const hwm = extent(result.samples.map((sample) => sample.VmHWM));
  const first = result.samples[0]!;
  const last = result.samples.at(-1)!;
  lines.push(
    `${result.samples.length} samples every ${result.intervalMs} ms; ` +
      `RssAnon ${formatBytes(first.RssAnon)} → ${formatBytes(last.RssAnon)} (min ${formatBytes(anon.min)}, max ${formatBytes(anon.max)}); ` +
      `VmRSS max ${formatBytes(rss.max)}; VmHWM max ${formatBytes(hwm.max)}${result.peaks ? ' (reset at each sample)' : ''}`,
  );
  return lines;
}
