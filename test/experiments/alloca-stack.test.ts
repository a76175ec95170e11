// Seed 004's alloca() on both hosts: stack memory that the return and longjmp give back,
// and that free() and realloc() refuse (each in its own child).
import { beforeAll, describe, expect, it } from 'vitest';

import { allocaStack, STEPS } from '../../lib/experiments/catalogue/alloca-stack.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { KiB, MiB } from '../../lib/infra/units.js';
import { brkOf, experimentRuns, HOSTS } from './helpers.js';

const SIZE = 2 * MiB;
const DEPTH = 8;
const FRAME = 64 * KiB;

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(allocaStack)), 120_000);

describe('alloca-stack', () => {
  for (const host of HOSTS) {
    it(`${host}: alloca takes the stack below the caller, grows VmStk, leaves the heap alone, and is given back on return`, () => {
      const [first] = lab.ops(host, STEPS.alloca(SIZE), 'alloca', 'seed');
      const [second] = lab.ops(host, STEPS.again(SIZE), 'alloca', 'seed');
      expect(first!.value2! - first!.value!).toBeGreaterThanOrEqual(SIZE);
      expect(lab.step(host, STEPS.alloca(SIZE), 'seed').status['VmStk']).toBeGreaterThanOrEqual(SIZE);
      expect(lab.step(host, STEPS.alloca(SIZE), 'seed').mallinfo['uordblks']).toBe(
        lab.step(host, STEPS.start, 'seed').mallinfo['uordblks'],
      );
      expect(second!.value).toBe(first!.value);
      expect(lab.step(host, STEPS.again(SIZE), 'seed').status['VmStk']).toBe(
        lab.step(host, STEPS.alloca(SIZE), 'seed').status['VmStk'],
      );
      expect(lab.claim(host, 'on-the-stack').verdict).toBe('confirmed');
      expect(lab.claim(host, 'freed-on-return').verdict).toBe('confirmed');
    });

    it(`${host}: longjmp leaves the malloc'd blocks allocated and gives the alloca'd stack back`, () => {
      const inUse = (label: string) => lab.step(host, label, 'seed').mallinfo['uordblks']!;
      expect(inUse(STEPS.jump(DEPTH)) - inUse(STEPS.again(SIZE))).toBeGreaterThanOrEqual(DEPTH * FRAME);
      expect(inUse(STEPS.jumpAgain(DEPTH)) - inUse(STEPS.jump(DEPTH))).toBeGreaterThanOrEqual(DEPTH * FRAME);
      const [first] = lab.ops(host, STEPS.jump(DEPTH), 'longjmp_leak', 'seed');
      const [second] = lab.ops(host, STEPS.jumpAgain(DEPTH), 'longjmp_leak', 'seed');
      expect(first!.value).toBe(DEPTH * FRAME);
      expect(second!.value2).toBe(first!.value2);
      expect(lab.claim(host, 'longjmp-clean').verdict).toBe('confirmed');
    });

    it(`${host}: free() and realloc() of an alloca block abort the child in that step`, () => {
      expect(lab.variant(host, 'free').signal).toBe('SIGABRT');
      expect(lab.variant(host, 'free').stderr).toMatch(/invalid pointer|invalid size/);
      expect(lab.steps(host, 'free').map((s) => s.label)).toEqual([STEPS.start]);
      expect(lab.claim(host, 'free-aborts').verdict).toBe('confirmed');
      expect(lab.variant(host, 'realloc').signal).toBe('SIGABRT');
      expect(lab.variant(host, 'realloc').stderr).toMatch(/realloc\(\): invalid/);
      // glibc refuses before anything runs on a ruined frame: the seed's "ruin" does not happen.
      expect(lab.claim(host, 'realloc-ruins').verdict).toBe('refuted');
    });

    it(`${host}: the space between the break and the stack dwarfs all the process maps`, () => {
      const stack = lab.ops(host, STEPS.alloca(SIZE), 'alloca', 'seed')[0]!.value!;
      const sample = lab.step(host, STEPS.alloca(SIZE), 'seed');
      expect(stack - brkOf(sample) - sample.status['VmSize']!).toBeGreaterThan(sample.status['VmSize']!);
      expect(lab.claim(host, 'heap-stack-gap').verdict).toBe('confirmed');
    });
  }
});
