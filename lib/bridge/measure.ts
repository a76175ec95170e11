/**
 * measure(label, op): before, after and delta of status, the break and mallinfo2
 * around one operation. Judge heap effects on RssAnon: VmRSS also moves when code
 * pages fault in.
 */
import * as check from '../infra/validate.js';
import type { Mallinfo2 } from './heap.js';
import { sample, type Sample, type Status } from './procfs.js';

export interface Delta {
  status: Status;
  brk: bigint;
  mallinfo: Mallinfo2;
}

export interface Measurement<T = unknown> {
  label: string;
  before: Sample;
  after: Sample;
  /** after - before, field by field. */
  delta: Delta;
  result: T;
  durationMs: number;
}

function subtract<T extends object>(after: T, before: T): T {
  const a = after as Record<string, number>;
  const b = before as Record<string, number>;
  const result: Record<string, number> = {};
  for (const key of Object.keys(a)) result[key] = a[key]! - b[key]!;
  return result as T;
}

/** A sample() result: status and mallinfo objects and a bigint break. */
function checkSample(value: unknown, param: string): Sample {
  const candidate = value as Partial<Sample> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    candidate.status === null ||
    typeof candidate.status !== 'object' ||
    candidate.mallinfo === null ||
    typeof candidate.mallinfo !== 'object' ||
    typeof candidate.brk !== 'bigint'
  ) {
    throw check.typeError('deltaOf', param, 'a Sample (from sample() or measure())', value);
  }
  return candidate as Sample;
}

/** after - before, field by field, of two samples. */
export function deltaOf(before: Sample, after: Sample): Delta {
  checkSample(before, 'before');
  checkSample(after, 'after');
  return {
    status: subtract(after.status, before.status),
    brk: after.brk - before.brk,
    mallinfo: subtract(after.mallinfo, before.mallinfo),
  };
}

function finish<T>(label: string, before: Sample, started: number, result: T): Measurement<T> {
  const durationMs = performance.now() - started;
  const after = sample();
  return { label, before, after, delta: deltaOf(before, after), result, durationMs };
}

/** Measures one operation; if op returns a promise, the measurement waits for it. */
export function measure<T>(label: string, op: () => Promise<T>): Promise<Measurement<T>>;
export function measure<T>(label: string, op: () => T): Measurement<T>;
export function measure<T>(label: string, op: () => T | Promise<T>): Measurement<T> | Promise<Measurement<T>> {
  if (typeof label !== 'string') throw check.typeError('measure', 'label', 'a string', label);
  if (typeof op !== 'function') throw check.typeError('measure', 'op', 'a function', op);
  const before = sample();
  const started = performance.now();
  const result = op();
  if (result instanceof Promise) return result.then((value) => finish(label, before, started, value));
  return finish(label, before, started, result as T);
}
