/**
 * trim(): malloc_trim(0) with the numbers an operator wants — what the kernel saw
 * before and after (/proc/self/status, read without touching the glibc heap), how
 * much RssAnon came back, and how long the call held the allocator.
 */
import { malloc_trim } from '../bridge/heap.js';
import { status, type Status } from '../bridge/procfs.js';
import * as check from '../infra/validate.js';

export interface TrimResult {
  /** malloc_trim returned 1: glibc released some memory to the system (madvise or a lower break). */
  released: boolean;
  /** /proc/self/status right before the call, in bytes. */
  before: Status;
  /** /proc/self/status right after the call, in bytes. */
  after: Status;
  /**
   * before.RssAnon - after.RssAnon: anonymous resident memory given back. Negative when
   * RssAnon grew meanwhile (another thread allocating while the trim ran).
   */
  reclaimedBytes: number;
  /** How long malloc_trim ran; it locks each arena in turn, so other threads' mallocs wait. */
  durationMs: number;
}

export interface TrimOptions {
  /** malloc_trim's pad: bytes to leave untrimmed at the top of the main heap (default 0). */
  pad?: number;
}

/** Runs malloc_trim(pad = 0) in this process and reports what it gave back (judged on RssAnon). */
export function trim(options: TrimOptions = {}): TrimResult {
  const { pad = 0 } = check.options<TrimOptions>(options, 'trim');
  check.size(pad, 'trim', 'options.pad');
  const before = status();
  const started = performance.now();
  const released = malloc_trim(pad) === 1;
  const durationMs = performance.now() - started;
  const after = status();
  return { released, before, after, reclaimedBytes: before.RssAnon - after.RssAnon, durationMs };
}
