// Seed 004's calloc, realloc and memalign on both hosts, with the verdicts glibc 2.36 gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { BOUNDARIES, reallocCallocMemalign, STEPS } from '../../lib/experiments/catalogue/realloc-calloc-memalign.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { brkOf, experimentRuns, HOSTS, KiB, MiB, pinnedGlibc } from './helpers.js';

const lab = experimentRuns();
const step = (host: string, variant: string, label: string) => lab.step(host, label, variant);
const value = (
  host: string,
  variant: string,
  label: string,
  op: 'malloc' | 'realloc' | 'memalign' | 'malloc_usable_size',
) => lab.ops(host, label, op, variant)[0]!.value!;
const brk = (host: string, variant: string, label: string) => brkOf(step(host, variant, label));

beforeAll(async () => lab.load(await runExperiment(reallocCallocMemalign)), 120_000);

// calloc skipping tcache and memalign rounding an odd boundary are glibc 2.36's behaviour.
const glibc = pinnedGlibc();

describe.skipIf(!glibc.matches)(`realloc-calloc-memalign (${glibc.reason})`, () => {
  const size = MiB;
  for (const host of HOSTS) {
    it(`${host}: calloc(numitems, size) gives room for every item and refuses a product that overflows (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('calloc-items', 'confirmed', { host });
      expect(value(host, 'calloc', STEPS.callocN, 'malloc_usable_size')).toBeGreaterThanOrEqual(1000 * 24);
      const overflow = lab.variant(host, 'calloc').failure;
      expect(overflow).toMatchObject({ label: STEPS.overflow, op: 'calloc', error: 'ENOMEM' });
    });

    it(`${host}: realloc within the top chunk grows in place, the break stays (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('realloc-adjacent', 'confirmed', { host });
      expect(value(host, 'realloc-top', STEPS.withinTop, 'realloc')).toBe(
        value(host, 'realloc-top', STEPS.pastTop, 'realloc'),
      );
      expect(brk(host, 'realloc-top', STEPS.withinTop)).toBe(brk(host, 'realloc-top', STEPS.pastTop));
    });

    it(`${host}: realloc of the block at the top end extends the break and keeps the address (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('realloc-top', 'confirmed', { host });
      expect(value(host, 'realloc-top', STEPS.pastTop, 'realloc')).toBe(
        value(host, 'realloc-top', STEPS.mallocA, 'malloc'),
      );
      // The missing part of the growth, at least size less the top pad (128 KiB).
      expect(brk(host, 'realloc-top', STEPS.pastTop) - brk(host, 'realloc-top', STEPS.mallocA)).toBeGreaterThanOrEqual(
        size - 128 * KiB,
      );
    });

    it(`${host}: realloc of a block with a live neighbour moves it and copies the data (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('realloc-middle', 'confirmed', { host });
      expect(value(host, 'realloc-middle', STEPS.moved, 'realloc')).not.toBe(
        value(host, 'realloc-middle', STEPS.mallocAB, 'malloc'),
      );
      const rss = (label: string) => step(host, 'realloc-middle', label).status['RssAnon']!;
      expect(rss(STEPS.moved) - rss(STEPS.mallocAB)).toBeGreaterThanOrEqual(0.9 * size);
    });

    it(`${host}: the realloc that moves costs more CPU than the one that grows in place; the verdict follows the measured ratio`, () => {
      const cpu = (variant: string, label: string) => {
        const [start, end] = step(host, variant, label).ops.filter((o) => o.op === 'clock');
        return end!.value2! - start!.value2!;
      };
      const moving = cpu('realloc-middle', STEPS.moved);
      const growing = cpu('realloc-top', STEPS.pastTop);
      expect(moving).toBeGreaterThan(0);
      expect(lab.claim(host, 'realloc-move-costs').verdict).toBe(moving > growing ? 'confirmed' : 'refuted');
    });

    it(`${host}: memalign, posix_memalign, aligned_alloc and valloc return aligned addresses (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('memalign-aligned', 'confirmed', { host });
      for (const boundary of BOUNDARIES) {
        for (const op of step(host, 'memalign', `boundary ${boundary}`).ops.filter(
          (o) => o.op !== 'malloc_usable_size',
        )) {
          expect(op.value! % boundary).toBe(0);
        }
      }
    });

    it(`${host}: a boundary that is not a power of two: posix_memalign refuses it, memalign rounds it up (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('power-of-two', 'confirmed', { host });
      expect(value(host, 'memalign', STEPS.odd, 'memalign') % 4096).toBe(0);
      expect(lab.variant(host, 'memalign').failure).toMatchObject({
        op: 'posix_memalign',
        error: 'EINVAL',
      });
    });
  }
});
