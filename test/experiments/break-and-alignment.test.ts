// Seed 004's small facts of the break and of malloc's blocks, on both hosts, with the
// verdicts read back from the numbers each run recorded.
import { beforeAll, describe, expect, it } from 'vitest';

import {
  ALIGNMENT_SIZES,
  breakAndAlignment,
  growthLabel,
  PAIR_SIZES,
  STEPS,
} from '../../lib/experiments/catalogue/break-and-alignment.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { chunkSize, PAGE } from '../../lib/glibc/layout.js';
import { KiB } from '../../lib/infra/units.js';
import { brkOf, experimentRuns, HOSTS } from './helpers.js';

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(breakAndAlignment)), 120_000);

const SBRK_STEPS = [STEPS.sbrk1, STEPS.sbrk1Again, STEPS.sbrkRest, STEPS.shrink, STEPS.shrinkBytes];

describe('break-and-alignment', () => {
  for (const host of HOSTS) {
    it(`${host}: every program ran to its end`, () => {
      for (const name of ['sbrk', 'heap', 'thread']) expect(lab.variant(host, name).completed).toBe(true);
    });

    it(`${host}: sbrk moves the break by bytes and VmData by whole pages; sbrk(0) reads it; a negative increment gives pages back`, () => {
      const vmData = SBRK_STEPS.map(
        (label, i) =>
          lab.step(host, label, 'sbrk').status['VmData']! -
          lab.step(host, i === 0 ? STEPS.sbrk0 : SBRK_STEPS[i - 1]!, 'sbrk').status['VmData']!,
      );
      const moved = SBRK_STEPS.map(
        (label, i) =>
          brkOf(lab.step(host, label, 'sbrk')) -
          brkOf(lab.step(host, i === 0 ? STEPS.sbrk0 : SBRK_STEPS[i - 1]!, 'sbrk')),
      );
      expect(moved).toEqual([1, 1, 4095, -4095, -2]);
      expect(vmData).toEqual([PAGE, 0, PAGE, -PAGE, -PAGE]);
      const old = brkOf(lab.step(host, STEPS.sbrk0, 'sbrk'));
      expect(lab.ops(host, STEPS.sbrk1, 'sbrk', 'sbrk')[0]!.value).toBe(old);
      expect(lab.ops(host, STEPS.sbrk0, 'sbrk', 'sbrk')[0]!.value).toBe(brkOf(lab.step(host, STEPS.start, 'sbrk')));
      for (const id of ['sbrk0-current', 'sbrk-one-page', 'brk-page-rounded', 'sbrk-shrinks']) {
        expect(lab.claim(host, id).verdict, id).toBe('confirmed');
      }
      // The start of the new page is the old break exactly when the old break is page-aligned.
      expect(lab.claim(host, 'sbrk-returns-old-break').verdict).toBe(old % PAGE === 0 ? 'confirmed' : 'refuted');
    });

    it(`${host}: malloc grows the heap in whole pages, and every main-thread block lies in [start_brk, break)`, () => {
      const labels = [STEPS.start, ...Array.from({ length: 16 }, (_, k) => growthLabel(120 * KiB, k + 1))];
      const moves = labels
        .slice(1)
        .map((label, i) => brkOf(lab.step(host, label, 'heap')) - brkOf(lab.step(host, labels[i]!, 'heap')));
      const grown = moves.filter((move) => move !== 0);
      expect(grown.length).toBeGreaterThan(0);
      for (const move of grown) expect(move % PAGE).toBe(0);
      expect(lab.claim(host, 'malloc-sbrk-pages').verdict).toBe('confirmed');
      const [start, end] = (({ value, value2 }) => [value!, value2!])(
        lab.ops(host, STEPS.end, 'heap_range', 'heap')[0]!,
      );
      const blocks = [...labels.slice(1), STEPS.aligned].flatMap((label) =>
        lab.ops(host, label, 'malloc', 'heap').map((record) => record.value!),
      );
      expect(blocks.length).toBe(16 + ALIGNMENT_SIZES.length);
      for (const address of blocks) {
        expect(address).toBeGreaterThanOrEqual(start);
        expect(address).toBeLessThan(end);
      }
      expect(lab.claim(host, 'heap-contiguous').verdict).toBe('confirmed');
    });

    it(`${host}: every block is 16-byte aligned, and some only 16`, () => {
      const blocks = lab.ops(host, STEPS.aligned, 'malloc', 'heap').map((record) => record.value!);
      for (const address of blocks) expect(address % 16).toBe(0);
      expect(blocks.some((address) => address % 32 === 16)).toBe(true);
      expect(lab.claim(host, 'malloc-aligned').verdict).toBe('confirmed');
    });

    it(`${host}: blocks carry one length word and take 32 bytes at least; a freed block is split and neighbours merge`, () => {
      const pairs = lab.ops(host, STEPS.pairs, 'malloc', 'thread').map((record) => record.value!);
      expect(PAIR_SIZES.map((_, i) => pairs[2 * i + 1]! - pairs[2 * i]!)).toEqual([32, 32, 48]);
      expect(lab.claim(host, 'record-keeping').verdict).toBe('confirmed');
      const big = lab.ops(host, STEPS.splitFrom, 'malloc', 'thread')[0]!.value!;
      const [s1, s2] = lab.ops(host, STEPS.splitInto, 'malloc', 'thread').map((record) => record.value!);
      expect(s1).toBe(big);
      expect(s2).toBe(big + chunkSize(16 * KiB));
      expect(lab.claim(host, 'takes-what-it-needs').verdict).toBe('confirmed');
      const [c1] = lab.ops(host, STEPS.neighbours, 'malloc', 'thread').map((record) => record.value!);
      expect(lab.ops(host, STEPS.merged, 'malloc', 'thread')[0]!.value).toBe(c1);
      expect(lab.claim(host, 'coalesced-satisfies').verdict).toBe('confirmed');
    });
  }

  it('the heap is empty at the first step of the fresh host, and already used in Node', () => {
    const fresh = lab.ops('fresh', STEPS.start, 'heap_range', 'sbrk')[0]!;
    expect(fresh.value2! - fresh.value!).toBe(0);
    expect(lab.step('fresh', STEPS.start, 'sbrk').mallinfo['arena']).toBe(0);
    expect(lab.claim('fresh', 'heap-at-start').verdict).toBe('refuted');
    const node = lab.ops('node', STEPS.start, 'heap_range', 'sbrk')[0]!;
    expect(node.value2! - node.value!).toBeGreaterThan(0);
    expect(lab.step('node', STEPS.start, 'sbrk').mallinfo['uordblks']).toBeGreaterThan(0);
    expect(lab.claim('node', 'heap-at-start').verdict).toBe('confirmed');
  });
});
