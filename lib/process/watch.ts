/**
 * watchProcess(): samples another process's /proc/<pid>/status every interval
 * until it exits, a duration passes or a signal aborts; with `peaks`, VmHWM is
 * reset through /proc/<pid>/clear_refs around every sample, so each sample's VmHWM
 * is the peak since the previous one. Plain fs reads: needs no addon.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import * as check from '../infra/validate.js';
import { type Status, type StatusField, STATUS_FIELDS, readStatusOfPid, resetPeakRssOfPid } from './proc-files.js';
import { hasAddressSpace, identify, isGone, readStatusOf } from './target.js';

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
  check.pid(pid, 'watchProcess');
  if (options === null || typeof options !== 'object') {
    throw new MallocLabError(
      `watch: options must be an object with intervalMs, received ${options === null ? 'null' : typeof options}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  const { intervalMs, durationMs, signal } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new MallocLabError(
      `watch: intervalMs must be a positive number, received ${String(intervalMs)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const identity = identify(pid);
  const first = readStatusOf(pid, 'watch');
  if (!hasAddressSpace(first)) {
    throw new MallocLabError(
      `watch: pid ${pid} has no address space (a kernel thread, or a zombie): nothing to watch`,
      'ESRCH',
    );
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
      resetPeakRssOfPid(pid);
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
      reading = tick === 0 ? first : readStatusOfPid(pid);
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
