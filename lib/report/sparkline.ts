/**
 * A one-line chart for the terminal: eight block heights (▁▂▃▄▅▆▇█), one
 * character per value, redrawn in place by `malloc-lab watch`.
 */
import { formatBytes } from '../infra/units.js';
import { displayWidth } from './terminal.js';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

export interface SparklineOptions {
  /** Characters at most; the newest values are kept. Default: all values. */
  width?: number;
  /** Bottom and top of the scale; default the visible values' min and max. */
  min?: number;
  max?: number;
  /**
   * The smallest span the scale may have (default 0). A memory series that barely
   * moves would otherwise fill the whole height with noise: with minSpan 1 MiB, a
   * 4 KiB wobble stays flat.
   */
  minSpan?: number;
}

/** Values as block characters; a value that is not a finite number is a space. */
export function sparkline(values: readonly number[], options: SparklineOptions = {}): string {
  const width = options.width === undefined ? values.length : Math.max(0, Math.floor(options.width));
  const visible = width === 0 ? [] : values.slice(-width);
  const finite = visible.filter(Number.isFinite);
  if (finite.length === 0) return ' '.repeat(visible.length);
  let lo = options.min ?? Math.min(...finite);
  let hi = options.max ?? Math.max(...finite);
  const minSpan = options.minSpan ?? 0;
  if (hi - lo < minSpan) {
    // Keep the newest values where they are: grow the scale downwards first.
    lo = Math.max(0, hi - minSpan);
    if (hi - lo < minSpan) hi = lo + minSpan;
  }
  return visible
    .map((value) => {
      if (!Number.isFinite(value)) return ' ';
      if (hi <= lo) return BLOCKS[0];
      const level = Math.round(((Math.min(hi, Math.max(lo, value)) - lo) / (hi - lo)) * (BLOCKS.length - 1));
      return BLOCKS[level]!;
    })
    .join('');
}

export interface LiveLineFields {
  pid: number;
  /** Seconds since watching started. */
  seconds: number;
  rss: number;
  rssAnon: number;
  /** The RSS series so far (newest last). */
  history: readonly number[];
  /** Peak since the previous sample (watch --peaks), if known. */
  peak?: number;
}

/**
 * `pid 123  12.3 s  VmRSS 85.2 MiB  RssAnon 70.0 MiB  ▁▁▂▅███▇` fitted to columns
 * (the sparkline takes what the numbers leave, at least 8 characters).
 */
export function liveLine(fields: LiveLineFields, columns: number): string {
  const head =
    `pid ${fields.pid}  ${fields.seconds.toFixed(1).padStart(5)} s  VmRSS ${formatBytes(fields.rss).padStart(9)}` +
    `  RssAnon ${formatBytes(fields.rssAnon).padStart(9)}` +
    (fields.peak !== undefined ? `  peak ${formatBytes(fields.peak).padStart(9)}` : '') +
    '  ';
  const room = Math.max(8, columns - displayWidth(head) - 1);
  const line = head + sparkline(fields.history, { width: room, minSpan: 1024 * 1024 });
  // Never wrap: a wrapped line cannot be redrawn with \r.
  return [...line].slice(0, Math.max(1, columns - 1)).join('');
}
