// Seed 004's calloc, realloc and memalign on both hosts, with the verdicts glibc 2.36 gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { BOUNDARIES, reallocCallocMemalign, STEPS } from '../../lib/experiments/catalogue/realloc-calloc-memalign.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { MiB } from '../../lib/infra/units.js';

let runs: ExperimentRun[];
const hostRun = (host: string) => runs.find((r) => r.host === host)!;
const verdict = (host: string, id: string) => hostRun(host).claims.find((c) => c.id === id)!.verdict;
const step = (host: string, variant: string, label: string) =>
  hostRun(host).steps.find((s) => s.variant === variant && s.label === label)!;
const value = (host: string, variant: string, label: string, op: string) =>
  step(host, variant, label).ops.find((o) => o.op === op)!.value!;
const brk = (host: string, variant: string, label: string) => Number(BigInt(step(host, variant, label).brk));

beforeAll(async () => {
  runs = await runExperiment(reallocCallocMemalign);
}, 120_000);

describe('realloc-calloc-memalign', () => {
  const size = MiB;
  for (const host of ['fresh', 'node']) {
    it(`${host}: calloc(numitems, size) gives room for every item and refuses a product that overflows (confirmed)`, () => {
      expect(verdict(host, 'calloc-items')).toBe('confirmed');
      expect(value(host, 'calloc', STEPS.callocN, 'malloc_usable_size')).toBeGreaterThanOrEqual(1000 * 24);
      const overflow = hostRun(host).variants.find((v) => v.name === 'calloc')!.failure;
      expect(overflow).toMatchObject({ label: STEPS.overflow, op: 'calloc', error: 'ENOMEM' });
    });

    it(`${host}: realloc within the top chunk grows in place, the break stays (confirmed)`, () => {
      expect(verdict(host, 'realloc-adjacent')).toBe('confirmed');
      expect(value(host, 'realloc-top', STEPS.withinTop, 'realloc')).toBe(
        value(host, 'realloc-top', STEPS.pastTop, 'realloc'),
      );
      expect(brk(host, 'realloc-top', STEPS.withinTop)).toBe(brk(host, 'realloc-top', STEPS.pastTop));
    });

    it(`${host}: realloc of the block at the top end extends the break and keeps the address (confirmed)`, () => {
      expect(verdict(host, 'realloc-top')).toBe('confirmed');
      expect(value(host, 'realloc-top', STEPS.pastTop, 'realloc')).toBe(
        value(host, 'realloc-top', STEPS.mallocA, 'malloc'),
      );
      // The missing part of the growth, at least size less the top pad (128 KiB).
      expect(brk(host, 'realloc-top', STEPS.pastTop) - brk(host, 'realloc-top', STEPS.mallocA)).toBeGreaterThanOrEqual(
        size - 128 * 1024,
      );
    });

    it(`${host}: realloc of a block with a live neighbour moves it and copies the data (confirmed)`, () => {
      expect(verdict(host, 'realloc-middle')).toBe('confirmed');
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
      expect(verdict(host, 'realloc-move-costs')).toBe(moving > growing ? 'confirmed' : 'refuted');
    });

    it(`${host}: memalign, posix_memalign, aligned_alloc and valloc return aligned addresses (confirmed)`, () => {
      expect(verdict(host, 'memalign-aligned')).toBe('confirmed');
      for (const boundary of BOUNDARIES) {
        for (const op of step(host, 'memalign', `boundary ${boundary}`).ops.filter(
          (o) => o.op !== 'malloc_usable_size',
        )) {
          expect(op.value! % boundary).toBe(0);
        }
      }
    });

    it(`${host}: a boundary that is not a power of two: posix_memalign refuses it, memalign rounds it up (confirmed)`, () => {
      expect(verdict(host, 'power-of-two')).toBe('confirmed');
      expect(value(host, 'memalign', STEPS.odd, 'memalign') % 4096).toBe(0);
      expect(hostRun(host).variants.find((v) => v.name === 'memalign')!.failure).toMatchObject({
        op: 'posix_memalign',
        error: 'EINVAL',
      });
    });
  }
});
