/**
 * A periodic malloc_trim for long-running services on glibc, with a minimum-gain
 * rule: a tick whose trim could not (or did not) give back minGainBytes of RssAnon
 * backs off (the interval doubles, up to maxIntervalMs); a tick that did, resets it.
 * The timer is unref'd (it never keeps the process alive). MALLOC_LAB_TRIM=off in
 * the environment disables it without a code change; so does an allocator other
 * than glibc's serving malloc (malloc_trim only trims glibc's heap). The handle says
 * which, and why.
 */
import { mallinfo2 } from '../bridge/heap.js';
import { formatBytes, MiB } from '../infra/units.js';
import * as check from '../infra/validate.js';
import { detectAllocator } from '../process/allocator-detection.js';
import { trim, type TrimResult } from './trim.js';

/** The environment variable that turns periodic trimming off (off, 0, false, no, disabled). */
export const TRIM_KILL_SWITCH = 'MALLOC_LAB_TRIM';
const OFF = /^(off|0|false|no|disabled)$/i;

export type TrimOutcome =
  /** malloc_trim ran and gave back at least minGainBytes: the interval resets. */
  | 'trimmed'
  /** malloc_trim ran but gave back less than minGainBytes: back off. */
  | 'below-min-gain'
  /** glibc's arenas held less than minGainBytes free, so malloc_trim was not called: back off. */
  | 'skipped';

export interface TrimEvent {
  outcome: TrimOutcome;
  /** 1 for the first tick. */
  tick: number;
  /** Free bytes in glibc's arenas before the tick (mallinfo2().fordblks): the most a trim could give back. */
  freeBytes: number;
  /** RssAnon given back (0 when skipped). */
  reclaimedBytes: number;
  /** The trim's full result; absent when skipped. */
  result?: TrimResult;
  /** The delay before the next tick. */
  nextIntervalMs: number;
  /** One sentence, in human units. */
  message: string;
}

export interface PeriodicTrimmerOptions {
  /** The interval between trims when they pay off, in ms. */
  intervalMs: number;
  /** A trim that gives back less RssAnon than this backs off (default 1 MiB). */
  minGainBytes?: number;
  /** The longest interval backing off reaches (default 32 × intervalMs). */
  maxIntervalMs?: number;
  /** Called after every tick, whatever its outcome. */
  onTrim?: (event: TrimEvent) => void;
  /** The environment holding the kill switch (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface TrimmerStats {
  ticks: number;
  trims: number;
  skipped: number;
  belowMinGain: number;
  /** Sum of RssAnon given back by the trims that ran (negative gains count as 0). */
  reclaimedBytes: number;
  lastEvent?: TrimEvent;
}

export interface PeriodicTrimmer {
  /** False when the kill switch or the allocator disabled it: no timer runs. */
  readonly enabled: boolean;
  /** Why it is disabled ('' when enabled). */
  readonly reason: string;
  /** The delay before the next tick (grows while backing off). */
  readonly currentIntervalMs: number;
  readonly stopped: boolean;
  stats(): TrimmerStats;
  /** Stops the timer; further calls do nothing. */
  stop(): void;
}

function disabledReason(env: Record<string, string | undefined>): string {
  const value = env[TRIM_KILL_SWITCH];
  if (value !== undefined && OFF.test(value.trim()))
    return `${TRIM_KILL_SWITCH}=${value}: periodic trimming is disabled`;
  const detection = detectAllocator();
  if (detection.allocator !== 'glibc') {
    return `${detection.allocator} serves malloc (${detection.evidence}); malloc_trim only trims glibc's heap, so periodic trimming is disabled`;
  }
  return '';
}

export function startPeriodicTrimmer(options: PeriodicTrimmerOptions): PeriodicTrimmer {
  if (options === undefined)
    throw check.typeError('startPeriodicTrimmer', 'options', 'an object with intervalMs', options);
  const given = check.options<PeriodicTrimmerOptions>(options, 'startPeriodicTrimmer');
  const intervalMs = check.integer(given.intervalMs, 'startPeriodicTrimmer', 'options.intervalMs', 1, 0x7fffffff);
  const minGainBytes = check.size(given.minGainBytes ?? MiB, 'startPeriodicTrimmer', 'options.minGainBytes');
  const maxIntervalMs = check.integer(
    given.maxIntervalMs ?? Math.min(intervalMs * 32, 0x7fffffff),
    'startPeriodicTrimmer',
    'options.maxIntervalMs',
    intervalMs,
    0x7fffffff,
  );
  const onTrim = given.onTrim;
  if (onTrim !== undefined && typeof onTrim !== 'function')
    throw check.typeError('startPeriodicTrimmer', 'options.onTrim', 'a function', onTrim);
  const env = given.env ?? process.env;
  if (env === null || typeof env !== 'object')
    throw check.typeError('startPeriodicTrimmer', 'options.env', 'an object of strings', env);

  const reason = disabledReason(env);
  const stats: TrimmerStats = { ticks: 0, trims: 0, skipped: 0, belowMinGain: 0, reclaimedBytes: 0 };
  let current = intervalMs;
  let stopped = reason !== '';
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    timer = setTimeout(tick, current);
    timer.unref();
  };

  const tick = () => {
    if (stopped) return;
    stats.ticks++;
    const freeBytes = mallinfo2().fordblks;
    let event: TrimEvent;
    if (freeBytes < minGainBytes) {
      stats.skipped++;
      current = Math.min(current * 2, maxIntervalMs);
      event = {
        outcome: 'skipped',
        tick: stats.ticks,
        freeBytes,
        reclaimedBytes: 0,
        nextIntervalMs: current,
        message: `skipped: glibc's arenas hold ${formatBytes(freeBytes)} free, less than the minimum gain of ${formatBytes(minGainBytes)}; next tick in ${current} ms`,
      };
    } else {
      const result = trim();
      stats.trims++;
      stats.reclaimedBytes += Math.max(0, result.reclaimedBytes);
      const paid = result.reclaimedBytes >= minGainBytes;
      if (paid) current = intervalMs;
      else {
        stats.belowMinGain++;
        current = Math.min(current * 2, maxIntervalMs);
      }
      event = {
        outcome: paid ? 'trimmed' : 'below-min-gain',
        tick: stats.ticks,
        freeBytes,
        reclaimedBytes: result.reclaimedBytes,
        result,
        nextIntervalMs: current,
        message: `${paid ? 'trimmed' : 'below minimum gain'}: malloc_trim gave back ${formatBytes(result.reclaimedBytes)} of RssAnon in ${result.durationMs.toFixed(1)} ms (minimum ${formatBytes(minGainBytes)}, ${formatBytes(freeBytes)} was free); next tick in ${current} ms`,
      };
    }
    stats.lastEvent = event;
    schedule();
    onTrim?.(event);
  };

  if (!stopped) schedule();

  return {
    enabled: reason === '',
    reason,
    get currentIntervalMs() {
      return current;
    },
    get stopped() {
      return stopped;
    },
    stats: () => ({ ...stats }),
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
