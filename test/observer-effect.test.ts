// The observer must not disturb the observed: taking snapshots changes the glibc heap by zero bytes.
import { describe, expect, it } from 'vitest';

import { free, mallinfo2, malloc, sample, snapshot, status } from '../lib/index.js';

// Other threads of this Node process (V8's GC helpers) may malloc or free while
// the loop runs, so up to TRIALS trials are taken (more often needed when the suite's
// builds share the cores); a reader that allocated even one byte per snapshot would
// show >= 1000 bytes in every one of them, however many.
const TRIALS = 20;
function heapChangeOver1000(read: () => unknown): { uordblks: number; arena: number }[] {
  const trials = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    for (let i = 0; i < 200; i++) read(); // warm-up: JIT and first-call lazy state
    const before = mallinfo2();
    for (let i = 0; i < 1000; i++) read();
    const after = mallinfo2();
    trials.push({ uordblks: after.uordblks - before.uordblks, arena: after.arena - before.arena });
    if (trials.at(-1)!.uordblks === 0 && trials.at(-1)!.arena === 0) break;
  }
  return trials;
}

describe('snapshots do not touch the glibc heap', () => {
  for (const [name, read] of [
    ['snapshot()', () => snapshot()],
    ['status()', () => status()],
    ['sample() (status + break + mallinfo2)', () => sample()],
  ] as const) {
    it(`1000 × ${name} leave mallinfo2().uordblks and .arena unchanged`, () => {
      const trials = heapChangeOver1000(read);
      expect(trials).toContainEqual({ uordblks: 0, arena: 0 });
    });
  }
});

describe('the trial method detects a reader that allocates', () => {
  it('a reader that keeps one 16-byte block per call never shows a zero trial', () => {
    const kept: bigint[] = [];
    const trials = heapChangeOver1000(() => kept.push(malloc(16)));
    for (const block of kept) free(block);
    // Background frees may offset it in a trial, but never to exactly zero in all of them.
    expect(trials).toHaveLength(TRIALS);
    expect(trials).not.toContainEqual({ uordblks: 0, arena: 0 });
  });
});
