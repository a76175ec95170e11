// Seed 003's malloc_trim answer on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { mallocTrim, PAD, PAD_STEPS, THREAD_STEPS } from '../../lib/experiments/catalogue/malloc-trim.js';
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

    it(`${host}: malloc_trim(0) on the main thread gives back a thread arena's holes (confirmed)`, () => {
      const op = (label: string, name: string) => step(host, 'thread', label).ops.find((o) => o.op === name)!;
      const where = op(THREAD_STEPS.allocated, 'malloc').value!;
      const heap = op(THREAD_STEPS.allocated, 'heap_range');
      expect(where < heap.value! || where >= heap.value2!).toBe(true);
      const holes = Math.ceil(COUNT / 4 / 2);
      const released =
        step(host, 'thread', THREAD_STEPS.freed).status['RssAnon']! -
        step(host, 'thread', THREAD_STEPS.trimmed).status['RssAnon']!;
      expect(released).toBeGreaterThanOrEqual(holes * (SIZE - 2 * PAGE));
      expect(lab.claim(host, 'trims-every-arena').verdict).toBe('confirmed');
    });

    it(`${host}: malloc_trim(pad) leaves at least pad bytes at the top (confirmed)`, () => {
      expect(step(host, 'pad', PAD_STEPS.pad).mallinfo['keepcost']).toBeGreaterThanOrEqual(PAD);
      expect(BigInt(step(host, 'pad', PAD_STEPS.pad).brk)).toBeLessThan(BigInt(step(host, 'pad', PAD_STEPS.freed).brk));
      expect(lab.claim(host, 'trim-leaves-pad').verdict).toBe('confirmed');
    });

    it(`${host}: the verdict on "fails under a page" follows what the second malloc_trim(0) returned`, () => {
      const returned = (label: string) => step(host, 'pad', label).ops.find((o) => o.op === 'malloc_trim')!.value;
      expect(returned(PAD_STEPS.zero)).toBe(1);
      // Nothing measurable came back the second time (a few pages of slack for Node's other threads).
      const moved =
        step(host, 'pad', PAD_STEPS.zero).status['RssAnon']! - step(host, 'pad', PAD_STEPS.again).status['RssAnon']!;
      expect(Math.abs(moved)).toBeLessThan(16 * PAGE);
      expect(lab.claim(host, 'trim-fails-under-a-page').verdict).toBe(
        returned(PAD_STEPS.again) === 0 ? 'confirmed' : 'refuted',
      );
    });
  }

  it('fresh: with nothing left to give, the second malloc_trim(0) returns 0', () => {
    expect(step('fresh', 'pad', PAD_STEPS.again).ops.find((o) => o.op === 'malloc_trim')!.value).toBe(0);
    expect(lab.claim('fresh', 'trim-fails-under-a-page').verdict).toBe('confirmed');
  });
});
