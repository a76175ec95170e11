// Seed 004's alloca() on both hosts: stack memory that the return and longjmp give back,
// and that free() and realloc() refuse (each in its own child).
import { beforeAll, describe, expect, it } from 'vitest';

import { allocaStack, STEPS } from '../../lib/experiments/catalogue/alloca-stack.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { KiB, MiB } from '../../lib/infra/units.js';
import { HOSTS, view } from './view.js';

const SIZE = 2 * MiB;
const DEPTH = 8;
const FRAME = 64 * KiB;

let runs: ExperimentRun[];
const { claim, step, ops, variant, labels, brk } = view(() => runs);

beforeAll(async () => {
  runs = await runExperiment(allocaStack);
}, 120_000);

describe('alloca-stack', () => {
  for (const host of HOSTS) {
    it(`${host}: alloca takes the stack below the caller, grows VmStk, leaves the heap alone, and is given back on return`, () => {
      const [first] = ops(host, 'seed', STEPS.alloca(SIZE), 'alloca');
      const [second] = ops(host, 'seed', STEPS.again(SIZE), 'alloca');
      expect(first!.value2! - first!.value!).toBeGreaterThanOrEqual(SIZE);
      expect(step(host, 'seed', STEPS.alloca(SIZE)).status['VmStk']).toBeGreaterThanOrEqual(SIZE);
      expect(step(host, 'seed', STEPS.alloca(SIZE)).mallinfo['uordblks']).toBe(
        step(host, 'seed', STEPS.start).mallinfo['uordblks'],
      );
      expect(second!.value).toBe(first!.value);
      expect(step(host, 'seed', STEPS.again(SIZE)).status['VmStk']).toBe(
        step(host, 'seed', STEPS.alloca(SIZE)).status['VmStk'],
      );
      expect(claim(host, 'on-the-stack').verdict).toBe('confirmed');
      expect(claim(host, 'freed-on-return').verdict).toBe('confirmed');
    });

    it(`${host}: longjmp leaves the malloc'd blocks allocated and gives the alloca'd stack back`, () => {
      const inUse = (label: string) => step(host, 'seed', label).mallinfo['uordblks']!;
      expect(inUse(STEPS.jump(DEPTH)) - inUse(STEPS.again(SIZE))).toBeGreaterThanOrEqual(DEPTH * FRAME);
      expect(inUse(STEPS.jumpAgain(DEPTH)) - inUse(STEPS.jump(DEPTH))).toBeGreaterThanOrEqual(DEPTH * FRAME);
      const [first] = ops(host, 'seed', STEPS.jump(DEPTH), 'longjmp_leak');
      const [second] = ops(host, 'seed', STEPS.jumpAgain(DEPTH), 'longjmp_leak');
      expect(first!.value).toBe(DEPTH * FRAME);
      expect(second!.value2).toBe(first!.value2);
      expect(claim(host, 'longjmp-clean').verdict).toBe('confirmed');
    });

    it(`${host}: free() and realloc() of an alloca block abort the child in that step`, () => {
      expect(variant(host, 'free').signal).toBe('SIGABRT');
      expect(variant(host, 'free').stderr).toMatch(/invalid pointer|invalid size/);
      expect(labels(host, 'free')).toEqual([STEPS.start]);
      expect(claim(host, 'free-aborts').verdict).toBe('confirmed');
      expect(variant(host, 'realloc').signal).toBe('SIGABRT');
      expect(variant(host, 'realloc').stderr).toMatch(/realloc\(\): invalid/);
      // glibc refuses before anything runs on a ruined frame: the seed's "ruin" does not happen.
      expect(claim(host, 'realloc-ruins').verdict).toBe('refuted');
    });

    it(`${host}: the space between the break and the stack dwarfs all the process maps`, () => {
      const stack = ops(host, 'seed', STEPS.alloca(SIZE), 'alloca')[0]!.value!;
      const sample = step(host, 'seed', STEPS.alloca(SIZE));
      expect(stack - brk(sample) - sample.status['VmSize']!).toBeGreaterThan(sample.status['VmSize']!);
      expect(claim(host, 'heap-stack-gap').verdict).toBe('confirmed');
    });
  }
});
