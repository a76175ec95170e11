// Seed 003's code sample 2 on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { reuseAfterFree } from '../../lib/experiments/catalogue/reuse-after-free.js';
import { resolveParameters, runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';

const COUNT = 4 * 1024 * 1024;

let runs: ExperimentRun[];
const hostRun = (host: string) => runs.find((r) => r.host === host)!;
const verdict = (host: string, id: string) => hostRun(host).claims.find((c) => c.id === id)!.verdict;
const step = (host: string, label: string) => hostRun(host).steps.find((s) => s.label === label)!;
const firstAddress = (host: string, label: string) =>
  step(host, label).ops.find((op) => op.op === 'batch_alloc')!.value2!;

beforeAll(async () => {
  runs = await runExperiment(reuseAfterFree);
}, 120_000);

describe('reuse-after-free', () => {
  it("--full runs the seed's 2^28 allocations per round", () => {
    expect(resolveParameters(reuseAfterFree, {}, true)).toEqual({ count: 2 ** 28 });
  });

  for (const host of ['fresh', 'node']) {
    it(`${host}: the second round does not grow the heap (confirmed)`, () => {
      expect(verdict(host, 'second-round-no-growth')).toBe('confirmed');
      expect(step(host, 'allocate again done').brk).toBe(step(host, 'free done').brk);
      // The first round grew the heap by about 32 B a block.
      const grown = Number(BigInt(step(host, 'alloc done').brk) - BigInt(step(host, 'start').brk));
      expect(grown).toBeGreaterThanOrEqual(0.9 * 32 * COUNT);
    });

    it(`${host}: the second round's first block is freed memory of the first round (confirmed)`, () => {
      expect(verdict(host, 'same-memory')).toBe('confirmed');
    });
  }

  it("fresh: the second round's p_arr[0] is the first round's 7th block (tcache is last-in first-out)", () => {
    expect(firstAddress('fresh', 'allocate again done') - firstAddress('fresh', 'alloc done')).toBe(6 * 32);
  });
});
