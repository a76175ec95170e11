// Copy this file into your project's tests (vitest) to pin down what your service
// relies on: after half of a native cache is evicted, glibc keeps the freed memory,
// and malloc_trim(0) gives it back. It runs in malloc-lab's own suite too.
//
// The "cache" is 1600 entries of 64 KiB (100 MiB) taken from the heap one after
// another. Evicting every other entry frees 50 MiB in holes between the survivors,
// so free() cannot shrink the heap; malloc_trim(0) hands the holes' pages back with
// madvise. Scale `entries` up to your service's numbers.
import { describe, expect, it } from 'vitest';

import { allocBatch, KiB, malloc_trim, measure } from 'malloc-lab';
import 'malloc-lab/vitest'; // registers toGrowRssAnonBy, toShrinkRssAnonBy, toMoveBreak, toHaveClaim, …

describe('after we evict half the cache, malloc_trim gives the memory back', () => {
  it('RssAnon shrinks by >= 0.8 × the bytes freed', () => {
    const entries = 1600;
    const entrySize = 64 * KiB; // below the mmap threshold: served from the heap

    const filled = measure('fill the cache', () => allocBatch({ count: entries, size: entrySize, fill: 1 }));
    const cache = filled.result;
    try {
      expect(filled).toGrowRssAnonBy({ atLeast: 0.9 * entries * entrySize });
      expect(filled).toMoveBreak({ direction: 'up' }); // the main heap grew through brk

      // Evict entries 1, 3, 5, …: the survivors pin the heap around every hole.
      const evicted = measure('evict every other entry', () => cache.free({ step: 2 }) * entrySize);
      const freedBytes = evicted.result; // 50 MiB
      expect(evicted).not.toShrinkRssAnonBy({ atLeast: 0.5 * freedBytes }); // free() kept it
      expect(evicted).not.toMoveBreak();

      const trimmed = measure('malloc_trim(0)', () => malloc_trim(0));
      expect(trimmed.result).toBe(1); // glibc released memory
      expect(trimmed).toShrinkRssAnonBy({ atLeast: 0.8 * freedBytes });
    } finally {
      cache.release();
    }
  });
});
