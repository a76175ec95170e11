// What the kernel sees when the real glibc allocator runs: residency follows
// touching, large blocks are mapped, malloc_trim hands freed pages back.
import { describe, expect, it } from 'vitest';

import {
  allocBatch,
  fill,
  free,
  malloc,
  malloc_trim,
  mincore,
  programBreak,
  residency,
  sample,
  touch,
} from '../lib/index.js';
import { MiB, KiB, rssAnon } from './helpers.js';

describe('residency follows touching, not malloc', () => {
  it('malloc 10 MiB + touch raises RssAnon by at least 9 MiB', () => {
    const before = rssAnon();
    const block = malloc(10 * MiB);
    touch(block);
    const grown = rssAnon() - before;
    free(block);
    expect(grown).toBeGreaterThanOrEqual(9 * MiB);
  });

  it('a 100 MiB block raises VmSize by >= 100 MiB and RssAnon by < 2 MiB until touched; mincore agrees', () => {
    const before = sample().status;
    const block = malloc(100 * MiB);
    const untouched = sample().status;
    const beforeTouch = residency(block, 100 * MiB);
    fill(block, 0x5a);
    const touched = sample().status;
    const afterTouch = residency(block, 100 * MiB);
    free(block);

    expect(untouched.VmSize - before.VmSize).toBeGreaterThanOrEqual(100 * MiB);
    expect(untouched.RssAnon - before.RssAnon).toBeLessThan(2 * MiB);
    expect(beforeTouch.fraction).toBeLessThanOrEqual(0.01);
    expect(afterTouch.resident).toBe(afterTouch.pages);
    expect(touched.RssAnon - untouched.RssAnon).toBeGreaterThanOrEqual(99 * MiB);
  });
});

describe('large blocks are mapped, not taken from the break', () => {
  it('a 64 MiB block leaves the break alone and VmSize falls right after free', () => {
    const breakBefore = programBreak();
    const block = malloc(64 * MiB);
    const breakAfter = programBreak();
    const mapped = sample().status.VmSize;
    // mincore succeeds on the block's own pages: it is a mapping of its own.
    expect(mincore(block - (block % 4096n), 4096).pages).toBe(1);
    free(block);
    const released = sample().status.VmSize;
    expect(breakAfter).toBe(breakBefore);
    expect(mapped - released).toBeGreaterThanOrEqual(64 * MiB);
  });
});

describe('malloc_trim gives freed pages back', () => {
  it('after freeing every other block of a 128 MiB fragmented heap region, malloc_trim(0) returns their RssAnon', () => {
    // 2048 x 64 KiB: below the mmap threshold, so they come from the main arena.
    const blockSize = 64 * KiB;
    const set = allocBatch({ count: 2048, size: blockSize, fill: 1 });
    const freedBytes = set.free({ step: 2 }) * blockSize;
    const afterFree = rssAnon();
    malloc_trim(0);
    const afterTrim = rssAnon();
    set.release();
    // Each freed chunk keeps at most its first and last partial pages.
    expect(afterFree - afterTrim).toBeGreaterThanOrEqual(freedBytes * 0.8);
  });
});
