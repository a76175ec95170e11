import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

import { parseMallocInfo, type MallocInfo, type MallocInfoBin } from '../lib/glibc/malloc-info.js';
import { native as addon } from '../lib/infra/native.js';

const sum = (info: MallocInfo, pick: (a: MallocInfo['arenas'][number]) => number): number =>
  info.arenas.reduce((acc, a) => acc + pick(a), 0);

/**
 * Does this histogram entry hold chunks of `size` bytes? Fast-bin entries are reported as
 * [size-15, size]; the others use chunksize_nomask, which keeps the PREV_INUSE bit, so a
 * free 112-byte chunk in a small bin reads from="113" to="113". Mask the flag bits (7).
 */
const covers = (bin: MallocInfoBin, size: number): boolean => (bin.from & ~7) <= size && size <= bin.to;

// Trimmed from a real capture (glibc 2.36, node main thread).
const SAMPLE = `<malloc version="1">
<heap nr="0">
<sizes>
  <size from="33" to="33" total="66" count="2"/>
  <size from="97" to="112" total="336" count="3"/>
  <unsorted from="73745" to="73745" total="73745" count="1"/>
</sizes>
<total type="fast" count="3" size="336"/>
<total type="rest" count="4" size="318491"/>
<system type="current" size="2895872"/>
<system type="max" size="2895872"/>
<aspace type="total" size="2895872"/>
<aspace type="mprotect" size="2895872"/>
</heap>
<total type="fast" count="3" size="336"/>
<total type="rest" count="4" size="318491"/>
<total type="mmap" count="1" size="135168"/>
<system type="current" size="2895872"/>
<system type="max" size="2895872"/>
<aspace type="total" size="2895872"/>
<aspace type="mprotect" size="2895872"/>
</malloc>
`;

describe('parseMallocInfo on the real allocator', () => {
  it('reads every arena and the process-wide totals', () => {
    const xml = addon.malloc_info();
    const info = parseMallocInfo(xml);
    expect(info.version).toBe(1);
    expect(info.xml).toBe(xml);
    expect(info.arenas.length).toBeGreaterThanOrEqual(1);
    expect(info.arenas[0]!.index).toBe(0);
    expect(info.arenas[0]!.main).toBe(true);
    expect(info.arenas.slice(1).every((a) => !a.main && a.subheaps >= 1)).toBe(true);
    expect(info.totals.systemCurrent).toBeGreaterThanOrEqual(info.arenas[0]!.systemCurrent);
    // glibc adds ar_ptr->system_mem (and max_system_mem) into the totals for each arena it
    // prints, so the identities are exact (barring another thread growing an arena in the
    // few instructions between glibc's two unlocked reads of system_mem).
    expect(sum(info, (a) => a.systemCurrent)).toBe(info.totals.systemCurrent);
    expect(sum(info, (a) => a.systemMax)).toBe(info.totals.systemMax);
    for (const a of info.arenas) expect(a.freeBytes).toBe(a.fast.bytes + a.rest.bytes);
  });

  it("shows freed 100-byte blocks (112-byte chunks) in arena 0's histogram", () => {
    const ptrs: bigint[] = [];
    for (let i = 0; i < 200; i++) ptrs.push(addon.malloc(100));
    try {
      for (let i = 0; i < ptrs.length; i += 2) addon.free(ptrs[i]!);
      const { arenas } = parseMallocInfo(addon.malloc_info());
      // The main thread always allocates from arena 0 (the project runs tests in forks);
      // under a worker-thread pool the blocks land in some other arena instead.
      const mine = isMainThread ? [arenas[0]!] : arenas.filter((a) => !a.main);
      const bins = mine.flatMap((a) => a.sizes).filter((b) => b.count > 0 && covers(b, 112));
      expect(bins.length).toBeGreaterThan(0);
      // 7 of the 100 frees stay in the (invisible) tcache and glibc may reuse a few more;
      // the rest sit in a fast bin, or a small bin after malloc_consolidate.
      expect(bins.reduce((n, b) => n + b.count, 0)).toBeGreaterThanOrEqual(25);
    } finally {
      for (let i = 1; i < ptrs.length; i += 2) addon.free(ptrs[i]!);
    }
  });
});

describe('parseMallocInfo on fixed text', () => {
  it('parses a hand-trimmed sample', () => {
    const info = parseMallocInfo(SAMPLE);
    expect(info.arenas).toHaveLength(1);
    const a = info.arenas[0]!;
    expect(a).toMatchObject({ index: 0, main: true, subheaps: 0, systemCurrent: 2895872 });
    expect(a.sizes).toEqual([
      { from: 33, to: 33, total: 66, count: 2 },
      { from: 97, to: 112, total: 336, count: 3 },
      { from: 73745, to: 73745, total: 73745, count: 1, unsorted: true },
    ]);
    expect(a.fast).toEqual({ count: 3, bytes: 336 });
    expect(a.rest).toEqual({ count: 4, bytes: 318491 });
    expect(a.freeBytes).toBe(336 + 318491);
    expect(info.totals.mmap).toEqual({ count: 1, bytes: 135168 });
    expect(info.totals.aspaceMprotect).toBe(2895872);
  });

  it('parses a captured two-arena process (thread arena with a sub-heap)', () => {
    const xml = readFileSync(new URL('./fixtures/malloc-info-two-arenas.xml', import.meta.url), 'utf8');
    const info = parseMallocInfo(xml);
    expect(info.arenas.length).toBe(2);
    expect(info.arenas[0]!.main).toBe(true);
    expect(info.arenas[1]!.main).toBe(false);
    expect(info.arenas[1]!.index).toBe(1);
    expect(info.arenas[1]!.subheaps).toBeGreaterThanOrEqual(1);
    expect(info.arenas[1]!.sizes.some((b) => b.unsorted === true)).toBe(true);
    expect(sum(info, (a) => a.systemCurrent)).toBe(info.totals.systemCurrent);
    expect(sum(info, (a) => a.aspaceTotal)).toBe(info.totals.aspaceTotal);
    expect(sum(info, (a) => a.fast.bytes)).toBe(info.totals.fast.bytes);
    expect(sum(info, (a) => a.rest.count)).toBe(info.totals.rest.count);
  });

  it.each([
    ['', /expected malloc_info XML starting with <malloc version="N">, got an empty string/],
    ['<html>', /expected malloc_info XML starting with <malloc version="N">, got "<html>"/],
    ['<malloc version="1">\n</malloc>', /expected at least one <heap nr="0">/],
    [SAMPLE.replace('<system type="max" size="2895872"/>\n', ''), /<system type="max" …\/> in <heap nr="0">/],
  ])('rejects %j with ERR_BAD_MALLOC_INFO', (bad, message) => {
    expect(() => parseMallocInfo(bad)).toThrow(message);
    expect(() => parseMallocInfo(bad)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_MALLOC_INFO', name: 'MallocLabError' }),
    );
  });
});
