/**
 * `malloc-lab watch <pid|name> [--interval ms] [--duration s] [--peaks] [--json] [--svg FILE]`:
 * samples /proc/<pid>/status every interval, like `top -p`, until the process
 * exits, --duration passes, or Ctrl-C. On a terminal one line is redrawn in place
 * (numbers and a sparkline of VmRSS); otherwise one plain line per sample.
 * --json prints the whole series at the end; --svg writes a line chart.
 *
 * --peaks writes 5 to /proc/<pid>/clear_refs before the first sample and after
 * each one, so each sample's VmHWM is the peak resident set since the previous
 * sample — spikes shorter than the interval still show. Without it VmHWM is the
 * peak since the process started (or since someone else last reset it).
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { MallocLabError } from '../errors.js';
import { type Status, type StatusField, STATUS_FIELDS, resetPeakRss, status } from '../procfs.js';
import { liveLine } from '../report/sparkline.js';
import { renderWatchSvg } from '../report/watch-svg.js';
import { formatBytes } from '../units.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';
import { commandLine, goneError, hasAddressSpace, identify, isGone, resolveProcess } from './target-process.js';

/** One reading: t in milliseconds since the first, then every status field in bytes (Threads a count; NaN/null where absent). */
export type WatchSample = { t: number } & Record<StatusField, number>;

export type WatchStop = 'exited' | 'duration' | 'interrupted';

export interface WatchResult {
  pid: number;
  comm: string | null;
  cmdline: string[] | null;
  /** ISO 8601 time of the first sample. */
  startedAt: string;
  intervalMs: number;
  durationMs: number | null;
  /** True when each sample's VmHWM is the peak since the previous sample (clear_refs worked). */
  peaks: boolean;
  /** Why --peaks could not reset VmHWM (then peaks is false), else null. */
  peaksError: string | null;
  stopped: WatchStop;
  /** Milliseconds from the first sample to the stop (for 'exited': when the exit was noticed). */
  elapsedMs: number;
  samples: WatchSample[];
}

export interface WatchOptions {
  intervalMs: number;
  /** Stop after this many milliseconds; default: until the process exits or signal aborts. */
  durationMs?: number;
  /** Reset VmHWM around every sample (see the module comment). */
  peaks?: boolean;
  /** Aborting stops the watch after the current sample ('interrupted'). */
  signal?: AbortSignal;
  onSample?: (sample: WatchSample, result: WatchResult) => void;
  onWarning?: (message: string) => void;
}

function toSample(t: number, reading: Status): WatchSample {
  const sample = { t } as WatchSample;
  for (const field of STATUS_FIELDS) sample[field] = reading[field];
  return sample;
}

/** Samples another process's status until it exits, durationMs passes or signal aborts. */
export async function watchProcess(pid: number, options: WatchOptions): Promise<WatchResult> {
  if (options === null || typeof options !== 'object') {
    throw new MallocLabError(`watch: options must be an object with intervalMs, received ${options === null ? 'null' : typeof options}`, 'ERR_INVALID_ARG_TYPE');
  }
  const { intervalMs, durationMs, signal } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new MallocLabError(`watch: intervalMs must be a positive number, received ${String(intervalMs)}`, 'ERR_OUT_OF_RANGE');
  }
  const identity = identify(pid);
  let first: Status;
  try {
    first = status(pid);
  } catch (error) {
    if (isGone(error)) throw goneError('watch', pid);
    throw error;
  }
  if (!hasAddressSpace(first)) {
    throw new MallocLabError(`watch: pid ${pid} has no address space (a kernel thread, or a zombie): nothing to watch`, 'ESRCH');
  }
  const result: WatchResult = {
    pid,
    comm: identity?.comm ?? null,
    cmdline: identity?.cmdline ?? null,
    startedAt: new Date().toISOString(),
    intervalMs,
    durationMs: durationMs ?? null,
    peaks: false,
    peaksError: null,
    stopped: 'duration',
    elapsedMs: 0,
    samples: [],
  };

  let resetting = options.peaks === true;
  const reset = () => {
    if (!resetting) return;
    try {
      resetPeakRss(pid);
      result.peaks = true;
    } catch (error) {
      if (isGone(error)) return; // the next read reports the exit
      resetting = false;
      result.peaks = false;
      const code = error instanceof MallocLabError ? error.code : '';
      result.peaksError =
        code === 'EACCES' || code === 'EPERM'
          ? `cannot reset VmHWM: writing /proc/${pid}/clear_refs is not permitted (it needs the process's owner, or root); VmHWM is the peak since the process started`
          : `cannot reset VmHWM: ${(error as Error).message}`;
      options.onWarning?.(`watch: ${result.peaksError}`);
    }
  };

  reset();
  const start = performance.now();
  for (let tick = 0; ; tick++) {
    const due = start + tick * intervalMs;
    if (durationMs !== undefined && due - start > durationMs + 0.5) {
      result.stopped = 'duration';
      break;
    }
    const wait = due - performance.now();
    if (wait > 0 && !signal?.aborted) {
      try {
        await sleep(wait, undefined, signal ? { signal } : undefined);
      } catch {
        // aborted
      }
    }
    if (signal?.aborted) {
      result.stopped = 'interrupted';
      break;
    }
    let reading: Status;
    try {
      reading = tick === 0 ? first : status(pid);
    } catch (error) {
      if (!isGone(error)) throw error;
      result.stopped = 'exited';
      break;
    }
    if (!hasAddressSpace(reading)) {
      // A zombie: it has exited, its parent has not reaped it yet.
      result.stopped = 'exited';
      break;
    }
    const sample = toSample(Math.round(performance.now() - start), reading);
    reset();
    result.samples.push(sample);
    options.onSample?.(sample, result);
    // Running late (a stalled machine)? Skip the ticks already missed rather than burst.
    const behind = Math.floor((performance.now() - start) / intervalMs);
    if (behind > tick + 1) tick = behind - 1;
  }
  result.elapsedMs = Math.round(performance.now() - start);
  return result;
}

// ---------------------------------------------------------------------------
// The command.

const usageError = (message: string) => usageErrorOf('watch', message);

export interface WatchCommand {
  target: string;
  intervalMs: number;
  durationMs?: number;
  peaks: boolean;
  json: boolean;
  svg?: string;
}

export function parseWatchArguments(argv: string[]): WatchCommand {
  const positional: string[] = [];
  const command: Partial<WatchCommand> & { intervalMs: number; peaks: boolean; json: boolean } = { intervalMs: 1000, peaks: false, json: false };
  eachArgument('watch', argv, (token, next) => {
    switch (token) {
      case '--interval': {
        const text = next();
        const value = Number(text);
        if (!/^\d+$/.test(text) || value < 10 || value > 3_600_000) {
          throw usageError(`--interval is in milliseconds, an integer from 10 to 3600000, received ${JSON.stringify(text)}`);
        }
        command.intervalMs = value;
        break;
      }
      case '--duration': {
        const text = next();
        const value = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) {
          throw usageError(`--duration is in seconds, a positive number, received ${JSON.stringify(text)}`);
        }
        command.durationMs = value * 1000;
        break;
      }
      case '--svg': command.svg = next(); break;
      case '--json': command.json = true; break;
      case '--peaks': command.peaks = true; break;
      default:
        if (token.startsWith('-')) throw usageError(`unknown option ${token}`);
        positional.push(token);
    }
  });
  if (positional.length !== 1) {
    throw usageError(positional.length === 0 ? 'give the pid or name of the process to watch' : `takes one process, received ${positional.join(' ')}`);
  }
  return { ...command, target: positional[0]! };
}

function plainLine(sample: WatchSample, peaks: boolean): string {
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

export function summarize(result: WatchResult): string[] {
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

export async function watchCommand(argv: string[], print: (line: string) => void, warn: (line: string) => void): Promise<number> {
  const command = parseWatchArguments(argv);
  const pid = resolveProcess(command.target, 'watch');
  if (pid === process.pid) throw usageError('that is this CLI process; give another pid');

  // Live display: stdout when it carries nothing else and is a terminal; stderr's terminal under --json.
  const live = command.json ? (process.stderr.isTTY ? process.stderr : null) : process.stdout.isTTY ? process.stdout : null;
  const history: number[] = [];
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let result: WatchResult;
  try {
    if (!command.json) {
      const identity = identify(pid);
      print(`watching pid ${pid} (${commandLine(identity, 80)}) every ${command.intervalMs} ms${command.durationMs !== undefined ? ` for ${command.durationMs / 1000} s` : ''}${command.peaks ? ', VmHWM reset at each sample' : ''}; Ctrl-C stops`);
    }
    result = await watchProcess(pid, {
      intervalMs: command.intervalMs,
      ...(command.durationMs !== undefined ? { durationMs: command.durationMs } : {}),
      peaks: command.peaks,
      signal: controller.signal,
      onWarning: (message) => {
        if (live) live.write('\r\x1b[K');
        warn(message);
      },
      onSample: (sample, so) => {
        history.push(sample.VmRSS);
        if (live) {
          const line = liveLine(
            { pid, seconds: sample.t / 1000, rss: sample.VmRSS, rssAnon: sample.RssAnon, history, ...(so.peaks ? { peak: sample.VmHWM } : {}) },
            live.columns || 80,
          );
          live.write(`\r\x1b[K${line}`);
        } else if (!command.json) {
          print(plainLine(sample, so.peaks));
        }
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (live) live.write('\n');
  }

  if (command.svg !== undefined) writeFileSync(command.svg, renderWatchSvg(result));
  const summary = summarize(result);
  if (command.json) {
    print(JSON.stringify(result, null, 2));
    for (const line of summary) warn(`watch: ${line}`);
  } else {
    for (const line of summary) print(line);
  }
  if (command.svg !== undefined) (command.json ? warn : print)(`${command.json ? 'watch: ' : ''}wrote ${command.svg}`);
  return 0;
}
