// Seed 001's program break demo on both hosts, with the verdicts glibc 2.36 gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { SBRK_16K_LABELS, sbrk16k } from '../../lib/experiments/catalogue/sbrk-16k.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { brkOf as brk, experimentRuns, HOSTS, KiB, pinnedGlibc } from './helpers.js';

const BLOCK = 16 * KiB;
const LAST = 18 * KiB;
const TOP_PAD = 128 * KiB;
const PAGE = 4 * KiB;

const lab = experimentRuns();
const step = (host: string, label: string, variant = 'seed') => lab.step(host, label, variant);
const mallocs = (host: string, label: string) => lab.ops(host, label, 'malloc', 'seed').map((op) => op.value);

beforeAll(async () => lab.load(await runExperiment(sbrk16k)), 120_000);

describe('sbrk-16k', () => {
  it('runs every step on both hosts', () => {
    for (const host of HOSTS) {
      expect(lab.run(host).variants.every((variant) => variant.completed)).toBe(true);
    }
  });

  it.skipIf(!pinnedGlibc().matches)(
    `fresh: 5 × 16 KiB move the break by more than 80 KiB, by the 128 KiB top pad, not by 148 kB (tcache first) — ${pinnedGlibc().reason}`,
    () => {
      expect(lab.runs).toHaveClaim('asks-more', 'confirmed', { host: 'fresh' });
      expect(lab.runs).toHaveClaim('moved-148k', 'refuted', { host: 'fresh' });
      expect(lab.claim('fresh', 'moved-148k').evidence).toMatch(/tcache/);
      const moved = brk(step('fresh', SBRK_16K_LABELS.five(BLOCK))) - brk(step('fresh', SBRK_16K_LABELS.initial));
      expect(moved).toBeGreaterThan(5 * BLOCK);
      // One sbrk: the first chunk (tcache's struct, under 1 KiB) + the top pad, page-rounded.
      expect(moved).toBeGreaterThanOrEqual(TOP_PAD);
      expect(moved).toBeLessThanOrEqual(TOP_PAD + 2 * PAGE);
    },
  );

  it("node: the 80 KiB come from free space Node's heap already had, so the break-size claims are inconclusive", () => {
    expect(lab.runs).toHaveClaim('asks-more', 'inconclusive', { host: 'node' });
    expect(lab.runs).toHaveClaim('moved-148k', 'inconclusive', { host: 'node' });
    expect(brk(step('node', SBRK_16K_LABELS.five(BLOCK)))).toBe(brk(step('node', SBRK_16K_LABELS.initial)));
    expect(step('node', SBRK_16K_LABELS.initial).mallinfo['fordblks']).toBeGreaterThanOrEqual(5 * BLOCK);
  });

  for (const host of HOSTS) {
    it(`${host}: the 6th 16 KiB malloc reuses ptr1's freed chunk and leaves the break alone`, () => {
      expect(lab.runs).toHaveClaim('sixth-fits', 'confirmed', { host });
      const [ptr5] = mallocs(host, SBRK_16K_LABELS.sixth(BLOCK));
      expect(ptr5).toBe(mallocs(host, SBRK_16K_LABELS.five(BLOCK))[1]);
    });

    it(`${host}: freeing the last block does not lower the break`, () => {
      expect(lab.runs).toHaveClaim('free-keeps-break', 'confirmed', { host });
      expect(brk(step(host, SBRK_16K_LABELS.freed))).toBe(brk(step(host, SBRK_16K_LABELS.sixth(BLOCK))));
    });

    it(`${host}: the new 18 kB malloc does not grow the break on glibc 2.36 (refuted)`, () => {
      expect(lab.runs).toHaveClaim('last-grows', 'refuted', { host });
      expect(brk(step(host, SBRK_16K_LABELS.last(LAST)))).toBe(brk(step(host, SBRK_16K_LABELS.freed)));
    });
  }

  it("fresh: the 18 kB chunk fits in the top chunk; the 90 kB of the seed's printed output does not and grows the break", () => {
    expect(step('fresh', SBRK_16K_LABELS.freed).mallinfo['keepcost']).toBeGreaterThanOrEqual(LAST);
    const before = brk(step('fresh', SBRK_16K_LABELS.freed, 'printed-90k'));
    const after = brk(step('fresh', SBRK_16K_LABELS.last(90 * KiB), 'printed-90k'));
    // sysmalloc asks for the chunk + top pad minus what the top chunk already had.
    expect(after - before).toBeGreaterThanOrEqual(TOP_PAD);
    expect(after - before).toBeLessThanOrEqual(90 * KiB + TOP_PAD + PAGE);
  });
});
