/**
 * Case 4, the observer effect: how many bytes the glibc heap changes by per
 * snapshot and per measure() (mallinfo2().uordblks and .arena around 1000 calls,
 * 50 for the slow smaps_rollup).
 * It must be 0. Bytes, not time: this is also a test (test/observer-effect.test.ts,
 * test/bench-observer.test.ts).
 *
 * Other threads of a Node process (V8's GC and compiler helpers) may malloc or free
 * while the loop runs, and a garbage collection that the loop's JS objects set off
 * mallocs for itself; so the heap is collected before each trial (run with
 * --expose-gc), up to TRIALS trials are taken, and the quietest one (nearest zero)
 * is reported. A reader that kept even one block per call would show at least
 * 1000 chunks' worth in every trial. readFileSync of /proc/self/status, which does
 * allocate, shows that the method catches it.
 * Prints one JSON object on stdout.
 */
import { readFileSync } from 'node:fs';

import { mallinfo2, measure, sample, snapshot, statm, status } from '../../dist/index.js';

const CALLS = 1000;
const TRIALS = 10;
const pause = new Int32Array(new SharedArrayBuffer(4));
// Collects, then lets V8's helper threads finish sweeping before a trial starts.
function collect() {
  globalThis.gc?.();
  Atomics.wait(pause, 0, 0, 20);
}

// smaps_rollup walks every mapping (about 0.5 ms in a Node process): 50 calls a trial.
const SLOW_CALLS = 50;
const readers = {
  'snapshot()': [() => snapshot(), CALLS],
  'snapshot({ brk, mallinfo, statm })': [() => snapshot(undefined, { brk: true, mallinfo: true, statm: true }), CALLS],
  'snapshot({ smapsRollup })': [() => snapshot(undefined, { smapsRollup: true }), SLOW_CALLS],
  'status()': [() => status(), CALLS],
  'sample()': [() => sample(), CALLS],
  'statm()': [() => statm(), CALLS],
  // measure() returns a dozen JS objects per call; 200 calls a trial stay within one
  // young generation, so no collection (which mallocs for itself) runs in the window.
  'measure()': [() => measure('observer', () => 0), 200],
  'fs.readFileSync(/proc/self/status) (contrast)': [() => readFileSync('/proc/self/status'), CALLS],
};

function trials(read, calls) {
  const results = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    for (let i = 0; i < calls / 5; i++) read();
    collect();
    const before = mallinfo2();
    for (let i = 0; i < calls; i++) read();
    const after = mallinfo2();
    results.push({ uordblks: after.uordblks - before.uordblks, arena: after.arena - before.arena });
    if (results.at(-1).uordblks === 0 && results.at(-1).arena === 0) break;
  }
  return results;
}

const out = {};
for (const [name, [read, calls]] of Object.entries(readers)) {
  const results = trials(read, calls);
  const quietest = results.reduce((a, b) =>
    Math.abs(a.uordblks) + Math.abs(a.arena) <= Math.abs(b.uordblks) + Math.abs(b.arena) ? a : b,
  );
  out[name] = { calls, trials: results, quietest, contrast: name.includes('contrast') };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
