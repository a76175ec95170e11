/**
 * The data model of a comparison: what compareAllocators() returns and
 * `malloc-lab compare --json` prints (schema/compare-result.schema.json). The
 * text table and the SVG chart are renderings of it (lib/report/); nothing here
 * is formatted for a terminal. Sizes are bytes, times milliseconds.
 */
import type { SmapsRollup } from '../process/proc-files.js';
import type { Configuration } from './configurations.js';
import type { RunVerification } from './verification.js';

export interface SeriesSummary {
  /** The highest sample (a spike shorter than the interval can fall between two). */
  peak: number;
  /** The last sample before the command exited or was stopped. */
  final: number;
  /** The time-weighted mean over the samples (trapezoids). */
  mean: number;
}

export interface CpuTime {
  userMs: number;
  systemMs: number;
  totalMs: number;
  /**
   * waited: from the kernel's account of the children this process waited for
   * (exact to the clock tick, the command's waited-for descendants included);
   * sampled: the sum of the last /proc/<pid>/stat readings (misses up to one
   * interval per process, and processes shorter than one).
   */
  source: 'waited' | 'sampled';
}

export type RunEnd = 'exited' | 'duration' | 'linger' | 'interrupted' | 'not-started';

export interface RunExit {
  /** exited: on its own; duration / linger: stopped by compare; interrupted: compare was; not-started: spawn failed. */
  end: RunEnd;
  code: number | null;
  signal: string | null;
  /** Milliseconds after the start at which compare sent SIGTERM; null when it did not. */
  stoppedAtMs: number | null;
  /** SIGKILL was needed after the grace period. */
  killed: boolean;
  /** It ended as planned: exit status 0 on its own, or after compare stopped it for --duration / --linger. */
  ok: boolean;
  /** "exit 0", "SIGSEGV", "stopped at 20.0 s", "exit 1 (not started: ENOENT)" … */
  description: string;
}

export interface LoadRun {
  command: string;
  /** Milliseconds after the run's start; null when it never started (the command was never ready). */
  startedAtMs: number | null;
  endedAtMs: number | null;
  code: number | null;
  signal: string | null;
  /** compare ended it (the run ended first). */
  stoppedByCompare: boolean;
  /** Its last lines of output, stdout and stderr interleaved. */
  output: string[];
}

export interface Series {
  /** Milliseconds after the start, one per sample. */
  t: number[];
  rss: number[];
  rssAnon: number[];
  /** Processes summed in each sample (1 without --tree). */
  processes: number[];
}

export type RunRollup = SmapsRollup & {
  /** Milliseconds after the start. */
  atMs: number;
  /** Processes summed. */
  processes: number;
  /** stop: read just before compare stopped the command; latest: the root's last periodic reading before it exited. */
  when: 'stop' | 'latest';
};

export interface CompareRun {
  configuration: string;
  /** This configuration's run number, from 0. */
  repeat: number;
  /** Position in the whole schedule, from 0. */
  order: number;
  pid: number | null;
  startedAt: string;
  /** From spawn to the command's exit. */
  wallMs: number;
  /** When --ready-line matched, ms after the start. */
  readyAtMs: number | null;
  exit: RunExit;
  cpu: CpuTime | null;
  rss: SeriesSummary | null;
  rssAnon: SeriesSummary | null;
  /** The most processes summed in one sample. */
  maxProcesses: number;
  /** /proc/<pid>/smaps_rollup (exact, where statm's counters are approximate), summed over the processes. */
  smapsRollup: RunRollup | null;
  verification: RunVerification;
  load: LoadRun | null;
  series: Series;
  /** The command's last lines of output. */
  output: { stdout: string[]; stderr: string[] };
  /** What went wrong or needs saying, one sentence each. */
  problems: string[];
}

/** A statistic over a configuration's runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Half the range, in % of the median (0 for one run). */
  spreadPct: number;
}

export type RowStatus = 'ok' | 'not-applied' | 'unchecked' | 'failed' | 'missing' | 'interrupted' | 'not-run';

export interface MetricSummary {
  peak: Spread;
  final: Spread;
  mean: Spread;
}

export interface ConfigurationSummary {
  configuration: string;
  /**
   * ok: every run applied and ended as planned; not-applied: a run's process did not
   * run the configuration (numbers withheld); unchecked: it exited before a check;
   * failed: a run crashed, exited non-zero or did not start; missing: the library is
   * not installed; interrupted / not-run: compare was interrupted.
   */
  status: RowStatus;
  /** Why, when the status is not ok. */
  note: string | null;
  /** Runs the statistics are over. */
  runs: number;
  rss: MetricSummary | null;
  rssAnon: MetricSummary | null;
  cpuMs: Spread | null;
  wallMs: Spread | null;
  /** Change of the medians against the baseline's, as a fraction (-0.5: half); null where either lacks it. */
  vsBaseline: { peakRss: number | null; finalRss: number | null; meanRss: number | null; cpu: number | null } | null;
}

export interface Best {
  configuration: string;
  finalRss: number;
  /** Fractions against the baseline; null when it is the baseline or the baseline has no numbers. */
  finalVsBaseline: number | null;
  cpuMs: number | null;
  cpuVsBaseline: number | null;
}

export interface CompareOptionsUsed {
  intervalMs: number;
  tree: boolean;
  repeat: number;
  durationMs: number | null;
  graceMs: number;
  load: string | null;
  readyLine: string | null;
  readyDelayMs: number;
  lingerMs: number | null;
  cwd: string;
}

export interface CompareResult {
  /** The command as given, and the executable it resolved to. */
  command: string[];
  executable: string;
  startedAt: string;
  finishedAt: string;
  options: CompareOptionsUsed;
  machine: { kernel: string; glibc: string | null; cpus: number; node: string };
  configurations: Configuration[];
  baseline: string;
  /** In the order they ran. */
  runs: CompareRun[];
  /** One per configuration, in the configurations' order. */
  summary: ConfigurationSummary[];
  /** The ok configuration with the lowest median final RSS; null when none is ok. */
  best: Best | null;
  /** compare was interrupted (Ctrl-C, SIGTERM, the abort signal): later runs did not happen. */
  interrupted: boolean;
}

/** Has the shape of a CompareResult (what the renderers check before drawing it). */
export function isCompareResult(value: unknown): value is CompareResult {
  if (value === null || typeof value !== 'object') return false;
  const result = value as CompareResult;
  return (
    Array.isArray(result.command) &&
    Array.isArray(result.configurations) &&
    Array.isArray(result.runs) &&
    Array.isArray(result.summary) &&
    typeof result.options === 'object' &&
    result.options !== null
  );
}
