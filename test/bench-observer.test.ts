// The observer-effect case of `npm run bench` (bench/cases/observer.mjs) as a test:
// bytes, not time. test/observer-effect.test.ts covers snapshot(), status() and
// sample(); this file covers what else reads memory for the user: measure(),
// snapshot()'s options, statm() and smapsRollup(). Each must change the glibc heap
// (mallinfo2().uordblks and .arena) by zero bytes.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

import { mallinfo2, measure, smapsRollup, snapshot, statm } from '../lib/index.js';

// A garbage collection that the loop's own JS objects set off mallocs for itself
// (V8's task objects, worklists), and other threads (V8's helpers) may malloc or
// free at any time. So the heap is collected before each trial, and trials are
// repeated until one is quiet; a reader that kept even one block per call would
// show at least `calls` chunks in every trial.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const pause = new Int32Array(new SharedArrayBuffer(4));
// Collects, then lets V8's helper threads finish sweeping before a trial starts.
function collect(): void {
  gc();
  Atomics.wait(pause, 0, 0, 20);
}

type Trial = { uordblks: number; arena: number };

function heapChange(read: () => unknown, calls: number, maxTrials = 30): Trial[] {
  const trials: Trial[] = [];
  for (let trial = 0; trial < maxTrials; trial++) {
    for (let i = 0; i < calls / 5; i++) read(); // warm-up: JIT and first-call lazy state
    collect();
    const before = mallinfo2();
    for (let i = 0; i < calls; i++) read();
    const after = mallinfo2();
    trials.push({ uordblks: after.uordblks - before.uordblks, arena: after.arena - before.arena });
    if (trials.at(-1)!.uordblks === 0 && trials.at(-1)!.arena === 0) break;
  }
  return trials;
}

describe('measurements do not touch the glibc heap', () => {
  // measure() returns a dozen JS objects per call: 200 calls a trial stay within
  // one young generation, so no collection runs inside the window.
  const cases: [string, () => unknown, number][] = [
    ['measure() of a synchronous op', () => measure('observer', () => 0), 200],
    ['snapshot({ brk, mallinfo, statm })', () => snapshot(undefined, { brk: true, mallinfo: true, statm: true }), 1000],
    ['statm()', () => statm(), 1000],
    // smaps_rollup walks every mapping (about half a millisecond in Node): 50 calls.
    ['smapsRollup()', () => smapsRollup(), 50],
    ['snapshot({ smapsRollup })', () => snapshot(undefined, { smapsRollup: true }), 50],
  ];
  for (const [name, read, calls] of cases) {
    it(`${calls} × ${name} leave mallinfo2().uordblks and .arena unchanged`, () => {
      expect(heapChange(read, calls)).toContainEqual({ uordblks: 0, arena: 0 });
    });
  }

  it('measure() of an async op leaves the glibc heap unchanged', async () => {
    const trials: Trial[] = [];
    for (let trial = 0; trial < 30; trial++) {
      for (let i = 0; i < 20; i++) await measure('observer', async () => 0);
      collect();
      const before = mallinfo2();
      for (let i = 0; i < 50; i++) await measure('observer', async () => 0);
      const after = mallinfo2();
      trials.push({ uordblks: after.uordblks - before.uordblks, arena: after.arena - before.arena });
      if (trials.at(-1)!.uordblks === 0 && trials.at(-1)!.arena === 0) break;
    }
    expect(trials).toContainEqual({ uordblks: 0, arena: 0 });
  });
});

describe('the method catches a reader that allocates', () => {
  it('a Float64Array of 10 doubles per call (as snapshot({ mallinfo }) once made) never shows a quiet trial', () => {
    // Past V8's 64-byte on-heap limit, its backing store is calloc'd on the glibc heap.
    const kept: Float64Array[] = [];
    const trials = heapChange(() => kept.push(new Float64Array(10)), 1000, 5);
    expect(trials).toHaveLength(5);
    expect(trials).not.toContainEqual({ uordblks: 0, arena: 0 });
  });
});
