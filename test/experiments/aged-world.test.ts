// The aged world: the ageing workload in the program's own native call, on both hosts,
// and what it changes in seed 000's and seed 001's programs (the acceptance).
import { beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../../lib/experiments/catalogue/free-not-returned.js';
import { SBRK_16K_LABELS, sbrk16k } from '../../lib/experiments/catalogue/sbrk-16k.js';
import { AGEING_STEP, agedProgram, DEFAULT_AGEING, resolveAgeing } from '../../lib/experiments/framework/ageing.js';
import { runOnHost } from '../../lib/experiments/framework/hosts.js';
import { StepProgram } from '../../lib/experiments/framework/program.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { AGED, experimentRuns, fieldOf, HOSTS, KiB, MiB } from './helpers.js';

const freeRuns = experimentRuns();
const sbrkRuns = experimentRuns();

beforeAll(async () => {
  freeRuns.load(await runExperiment(freeNotReturned, { worlds: AGED }));
  sbrkRuns.load(await runExperiment(sbrk16k, { worlds: AGED }));
}, 180_000);

describe('the ageing workload', () => {
  const small = { ...DEFAULT_AGEING, blocks: 2000 };

  for (const host of HOSTS) {
    it(`${host}: runs before the program's first step, keeps the unfreed share live and leaves holes (mallinfo2)`, async () => {
      const program = agedProgram(
        new StepProgram().step('first', (s) => s.malloc('a', 64)),
        small,
      );
      expect(program.labels).toEqual([AGEING_STEP, 'first']);
      const run = await runOnHost(program, host);
      expect(run.completed).toBe(true);
      const [age] = run.steps[0]!.ops;
      // value: blocks kept live, value2: blocks freed — half of 2000 each.
      expect(age).toMatchObject({ op: 'age', status: 0, value: 1000, value2: 1000 });
      const heap = run.steps[0]!.sample!.mallinfo;
      // 2000 blocks of at least 16 B each, half of them freed: both halves show in mallinfo2.
      expect(heap.uordblks).toBeGreaterThanOrEqual(1000 * 16);
      expect(heap.fordblks).toBeGreaterThanOrEqual(1000 * 16 - heap.keepcost);
      expect(heap.ordblks + heap.smblks).toBeGreaterThan(100);
    });
  }

  it('the same seed gives the same heap; another seed another one (fresh host)', async () => {
    const heapOf = async (seed: number) => {
      const run = await runOnHost(agedProgram(new StepProgram().step('x'), { ...small, seed }), 'fresh');
      const { uordblks, fordblks, ordblks, smblks } = run.steps[0]!.sample!.mallinfo;
      return { uordblks, fordblks, ordblks, smblks };
    };
    const first = await heapOf(7);
    expect(await heapOf(7)).toEqual(first);
    expect(await heapOf(8)).not.toEqual(first);
  });

  it('takes tens of milliseconds at its default size, not seconds (the op records its own end time)', async () => {
    const run = await runOnHost(agedProgram(new StepProgram().step('x'), DEFAULT_AGEING), 'fresh');
    const [age] = run.steps[0]!.ops;
    expect(age!.value + age!.value2).toBe(DEFAULT_AGEING.blocks);
    expect(age!.atNs).toBeLessThan(2e9);
  });

  it('its parameters are checked and shown with the run', () => {
    expect(resolveAgeing({ blocks: 10 })).toEqual({ ...DEFAULT_AGEING, blocks: 10 });
    expect(() => resolveAgeing({ freedPercent: 150 })).toThrow(/freedPercent/);
    const run = freeRuns.run('aged/fresh');
    expect(run.heap).toBe('aged');
    expect(run.ageing).toEqual(DEFAULT_AGEING);
    expect(run.steps.filter((step) => step.label === AGEING_STEP)).toHaveLength(run.variants.length);
  });
});

describe('free-not-returned in an aged heap', () => {
  for (const host of HOSTS) {
    const world = `aged/${host}`;
    it(`${world}: free() gives back most of what the loop added, and the evidence says how`, () => {
      const grown = freeRuns.change(world, 'before malloc', 'malloc OK', 'RssAnon', 'seed');
      const released = -freeRuns.change(world, 'malloc OK', 'free OK', 'RssAnon', 'seed');
      const breakFell = -freeRuns.change(world, 'malloc OK', 'free OK', 'brk', 'seed');
      expect(grown).toBeGreaterThanOrEqual(5 * MiB);
      expect(released).toBeGreaterThanOrEqual(0.8 * grown);
      expect(breakFell).toBeGreaterThanOrEqual(0.8 * grown);
      expect(freeRuns.runs).toHaveClaim('free-keeps', 'refuted', { world });
      // The mechanism, from the run's numbers: most 10 KiB blocks touch, and free() trimmed the top.
      const [backToBack] = freeRuns.ops(world, 'malloc OK', 'batch_adjacent', 'seed');
      expect(backToBack!.value!).toBeGreaterThan(backToBack!.value2! / 2);
      const evidence = freeRuns.claim(world, 'free-keeps').evidence;
      expect(evidence).toMatch(/lie back to back/);
      expect(evidence).toMatch(/free\(\) trimmed the top/);
      expect(evidence).not.toMatch(/tcache/);
    });

    it(`${world}: the extra malloc(PAGE); free() had nothing left to return (inconclusive, not refuted)`, () => {
      expect(freeRuns.runs).toHaveClaim('page-free-returns', 'inconclusive', { world });
      expect(freeRuns.claim(world, 'page-free-returns').evidence).toMatch(/free\(\) alone had already given back/);
    });
  }
});

describe('sbrk-16k in an aged heap', () => {
  const { block } = { block: 16 * KiB };
  for (const host of HOSTS) {
    const world = `aged/${host}`;
    it(`${world}: the 16 KiB blocks come from old holes and the break does not move`, () => {
      const initial = sbrkRuns.step(world, SBRK_16K_LABELS.initial, 'seed');
      const five = sbrkRuns.step(world, SBRK_16K_LABELS.five(block), 'seed');
      const sixth = sbrkRuns.step(world, SBRK_16K_LABELS.sixth(block), 'seed');
      expect(fieldOf(five, 'brk')).toBe(fieldOf(initial, 'brk'));
      expect(fieldOf(sixth, 'brk')).toBe(fieldOf(initial, 'brk'));
      // Below the top chunk the program started with: free chunks the ageing left.
      const topStart = fieldOf(initial, 'brk') - fieldOf(initial, 'keepcost');
      const blocks = five.ops.filter((op) => op.op === 'malloc').map((op) => op.value!);
      expect(blocks).toHaveLength(5);
      for (const address of blocks) expect(address).toBeLessThan(topStart);
      // The top chunk stayed as it was.
      expect(fieldOf(five, 'keepcost')).toBe(fieldOf(initial, 'keepcost'));
      expect(sbrkRuns.runs).toHaveClaim('asks-more', 'inconclusive', { world });
      expect(sbrkRuns.claim(world, 'asks-more').evidence).toMatch(/all 5 blocks lie below that top chunk/);
      expect(sbrkRuns.claim(world, 'asks-more').evidence).toMatch(/ageing workload/);
    });
  }
});
