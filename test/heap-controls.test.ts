// mallopt, malloc_trim, mallinfo2, malloc_stats and the libc version. This file
// runs in its own process (vitest forks), so the settings it changes stay here.
import { describe, expect, it } from 'vitest';

import * as lab from '../lib/index.js';

describe('mallopt', () => {
  // Values inside glibc 2.36's accepted range for each parameter.
  const valid: [lab.MalloptName, number][] = [
    ['M_MXFAST', 128],
    ['M_TRIM_THRESHOLD', 128 * 1024],
    ['M_TOP_PAD', 128 * 1024],
    ['M_MMAP_THRESHOLD', 128 * 1024],
    ['M_MMAP_MAX', 65536],
    ['M_CHECK_ACTION', 3],
    ['M_PERTURB', 0],
    ['M_ARENA_TEST', 8],
    ['M_ARENA_MAX', 64],
  ];
  for (const [name, value] of valid) {
    it(`accepts ${name} by name and by constant`, () => {
      expect(() => lab.mallopt(name, value)).not.toThrow();
      expect(() => lab.mallopt(lab.MALLOPT_PARAMS[name], value)).not.toThrow();
    });
  }

  it('M_MMAP_THRESHOLD set by mallopt decides which blocks are mapped', () => {
    lab.mallopt('M_MMAP_THRESHOLD', 64 * 1024);
    const before = lab.mallinfo2();
    // glibc consults the threshold only when no free chunk (nor the top) can serve
    // the request, and Node's heap has free space: ask for more than all of it.
    const size = before.fordblks + 256 * 1024;
    const block = lab.malloc(size);
    const after = lab.mallinfo2();
    lab.free(block);
    expect(after.hblks - before.hblks).toBe(1);
    expect(after.hblkhd - before.hblkhd).toBeGreaterThanOrEqual(size);
  });
});

describe('statistics', () => {
  it('mallinfo2 counts a new block in uordblks', () => {
    const before = lab.mallinfo2();
    const block = lab.malloc(10_000);
    const after = lab.mallinfo2();
    lab.free(block);
    expect(after.uordblks - before.uordblks).toBeGreaterThanOrEqual(10_000);
  });

  it("malloc_stats captures glibc's report instead of printing it", () => {
    const text = lab.malloc_stats();
    expect(text).toMatch(/^Arena 0:/m);
    expect(text).toMatch(/in use bytes\s+=\s+\d+/);
  });

  it('malloc_trim reports whether it released memory', () => {
    expect([0, 1]).toContain(lab.malloc_trim(0));
  });

  it('gnu_get_libc_version names this glibc', () => {
    expect(lab.gnu_get_libc_version()).toMatch(/^2\.\d+$/);
  });
});

describe('procfs readings', () => {
  it("status, smaps_rollup and statm agree on this process's resident size within a few MiB", () => {
    const snap = lab.snapshot(undefined, { brk: true, mallinfo: true, smapsRollup: true, statm: true });
    expect(snap.pid).toBe(process.pid);
    expect(snap.status.VmRSS).toBeGreaterThan(10 * lab.MiB);
    expect(snap.status.Threads).toBeGreaterThanOrEqual(1);
    expect(Math.abs(snap.smapsRollup!.Rss - snap.status.VmRSS)).toBeLessThan(8 * lab.MiB);
    expect(Math.abs(snap.statm!.resident - snap.status.VmRSS)).toBeLessThan(8 * lab.MiB);
    expect(snap.smapsRollup!.USS).toBe(snap.smapsRollup!.Private_Clean + snap.smapsRollup!.Private_Dirty);
    expect(snap.brk).toBe(lab.programBreak());
  });

  it('measure reports before, after and delta around one operation', () => {
    let block = 0n;
    const m = lab.measure('malloc 8 MiB + fill', () => {
      block = lab.malloc(8 * lab.MiB);
      lab.fill(block, 1);
      return block;
    });
    lab.free(block);
    expect(m.label).toBe('malloc 8 MiB + fill');
    expect(m.result).toBe(block);
    expect(m.delta.status.RssAnon).toBeGreaterThanOrEqual(7 * lab.MiB);
    expect(m.delta.status.RssAnon).toBe(m.after.status.RssAnon - m.before.status.RssAnon);
  });

  it('resetPeakRss brings VmHWM back down to the current RSS', () => {
    const block = lab.malloc(32 * lab.MiB);
    lab.fill(block, 1);
    lab.free(block);
    lab.resetPeakRss();
    const after = lab.status();
    expect(after.VmHWM - after.VmRSS).toBeLessThan(4 * lab.MiB);
  });
});
