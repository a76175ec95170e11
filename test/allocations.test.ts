// The malloc family through malloc-lab behaves as the C functions do.
import { describe, expect, it } from 'vitest';

import * as lab from '../lib/index.js';

describe('the malloc family', () => {
  it('malloc returns a 16-byte aligned block with usable size >= size, and free releases it from the registry', () => {
    const before = lab.registryStats();
    const block = lab.malloc(100);
    expect(block % 16n).toBe(0n);
    expect(lab.malloc_usable_size(block)).toBeGreaterThanOrEqual(100);
    expect(lab.registryStats().liveBlocks).toBe(before.liveBlocks + 1);
    lab.free(block);
    expect(lab.registryStats()).toEqual(before);
  });

  it('calloc returns zeroed memory even where a freed block was dirty', () => {
    const dirty = lab.malloc(4096);
    lab.fill(dirty, 0xff);
    lab.free(dirty);
    const block = lab.calloc(1024, 4);
    expect(lab.read(block, 0, 4096).every((byte) => byte === 0)).toBe(true);
    lab.free(block);
  });

  it('realloc keeps the contents, and follows C for a null pointer and size 0', () => {
    const block = lab.malloc(16);
    lab.write(block, new Uint8Array([1, 2, 3, 4]));
    const grown = lab.realloc(block, 1 << 20);
    expect(lab.read(grown, 0, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    const fresh = lab.realloc(0n, 32);
    expect(lab.malloc_usable_size(fresh)).toBeGreaterThanOrEqual(32);
    expect(lab.realloc(grown, 0)).toBe(0n);
    expect(() => lab.free(grown)).toThrow(/already freed/);
    lab.free(fresh);
  });

  it('posix_memalign, aligned_alloc, memalign and valloc honour their alignment', () => {
    const page = BigInt(lab.PAGE_SIZE);
    const blocks = [
      [lab.posix_memalign(4096, 100), 4096n],
      [lab.aligned_alloc(256, 512), 256n],
      [lab.memalign(64, 10), 64n],
      [lab.valloc(10), page],
    ] as const;
    for (const [block, alignment] of blocks) {
      expect(block % alignment).toBe(0n);
      lab.free(block);
    }
  });

  it('free(0n) does nothing, as in C', () => {
    expect(() => lab.free(0n)).not.toThrow();
  });

  it('fill, touch, read and write work on byte ranges inside the block', () => {
    const block = lab.malloc(64);
    lab.fill(block, 0);
    lab.fill(block, 9, { offset: 8, length: 4 });
    lab.touch(block);
    expect(Array.from(lab.read(block, 6, 8))).toEqual([0, 0, 9, 9, 9, 9, 0, 0]);
    lab.write(block, new Uint8Array([5, 6]), 62);
    expect(Array.from(lab.read(block, 62, 2))).toEqual([5, 6]);
    lab.free(block);
  });
});

describe('the program break', () => {
  it('sbrk moves the break by its increment and a negative sbrk gives back only what sbrk took', () => {
    const start = lab.programBreak();
    const previous = lab.sbrk(8192);
    expect(previous).toBe(start);
    expect(lab.programBreak()).toBe(start + 8192n);
    lab.fill(previous, 3); // the memory sbrk took is ours to write
    expect(() => lab.sbrk(-16384)).toThrow(expect.objectContaining({ code: 'ERR_SBRK_REFUSED' }));
    lab.sbrk(-8192);
    expect(lab.programBreak()).toBe(start);
    expect(() => lab.sbrk(-1)).toThrow(expect.objectContaining({ code: 'ERR_SBRK_REFUSED' }));
  });
});

describe('pages', () => {
  it('mmap, mincore, madvise(MADV_DONTNEED), mlock and munmap act on a mapping malloc-lab owns', () => {
    const length = lab.PAGE_SIZE * 16;
    const mapping = lab.mmap(length);
    expect(lab.mincore(mapping, length).resident).toBe(0);
    lab.fill(mapping, 1);
    expect(lab.mincore(mapping, length).resident).toBe(16);
    lab.madvise(mapping, length, 'MADV_DONTNEED');
    expect(lab.mincore(mapping, length).resident).toBe(0);
    expect(lab.read(mapping, 0, 1)[0]).toBe(0); // DONTNEED drops private anonymous pages
    lab.mlock(mapping, length); // locking faults the pages in
    expect(lab.mincore(mapping, length).resident).toBe(16);
    lab.munlock(mapping, length);
    lab.munmap(mapping, length);
    expect(() => lab.mincore(mapping, length)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });

  it('mmap with populate makes every page resident at once', () => {
    const length = lab.PAGE_SIZE * 8;
    const mapping = lab.mmap(length, { populate: true });
    expect(lab.mincore(mapping, length).resident).toBe(8);
    lab.munmap(mapping, length);
  });
});
