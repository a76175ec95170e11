// Seed 003's malloc_trim answer on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { mallocTrim } from '../../lib/experiments/catalogue/malloc-trim.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, KiB } from './helpers.js';

const COUNT = 4096;
const SIZE = 16 * KiB;
const PAGE = 4 * KiB;

const lab = experimentRuns();
const step = (host: string, variant: string, label: string) => lab.step(host, label, variant);

beforeAll(async () => lab.load(await runExperiment(mallocTrim)), 120_000);

describe('malloc-trim', () => {
  it('runs the seed-scaled program by default', () => {
    expect(lab.run('fresh').parameters).toEqual({ count: COUNT, size: SIZE });
  });

  for (const host of HOSTS) {
    it(`${host}: malloc_trim(0) madvises the holes — at least their whole pages leave RssAnon (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('trim-releases-freed', 'confirmed', { host });
      const released =
        step(host, 'holes', 'freed every other block').status['RssAnon']! -
        step(host, 'holes', 'malloc_trim(0)').status['RssAnon']!;
      // 2048 holes of 16 KiB, each giving at least its inner whole pages (two of four).
      expect(released).toBeGreaterThanOrEqual((COUNT / 2) * (SIZE - 2 * PAGE));
    });

    it(`${host}: VmSize stays while RssAnon falls (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('madvise-keeps-vsize', 'confirmed', { host });
      const before = step(host, 'holes', 'freed every other block');
      const after = step(host, 'holes', 'malloc_trim(0)');
      expect(before.status['VmSize']! - after.status['VmSize']!).toBeLessThanOrEqual(before.mallinfo['keepcost']!);
    });

    it(`${host}: the live blocks' pages stay resident (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('live-pages-kept', 'confirmed', { host });
    });

    it(`${host}: malloc_trim returns 1 (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('trim-returns-1', 'confirmed', { host });
    });

    it(`${host}: with everything freed malloc_trim lowers the break and VmSize too (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('all-freed-shrinks-break', 'confirmed', { host });
      const freed = step(host, 'all-freed', 'freed all');
      const trimmed = step(host, 'all-freed', 'malloc_trim(0)');
      // free() alone gave nothing back; the trim gives back nearly all of COUNT × (SIZE + spacer).
      expect(BigInt(freed.brk)).toBe(BigInt(step(host, 'all-freed', 'allocated').brk));
      expect(Number(BigInt(freed.brk) - BigInt(trimmed.brk))).toBeGreaterThanOrEqual(0.9 * COUNT * SIZE);
    });
  }
});
