// Seed 003's code sample 2 on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { reuseAfterFree } from '../../lib/experiments/catalogue/reuse-after-free.js';
import { resolveParameters, runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, pinnedGlibc } from './helpers.js';

const COUNT = 4 * 1024 * 1024;

const lab = experimentRuns();
const { step } = lab;
const firstAddress = (host: string, label: string) => lab.ops(host, label, 'batch_alloc')[0]!.value2!;

beforeAll(async () => lab.load(await runExperiment(reuseAfterFree)), 120_000);

describe('reuse-after-free', () => {
  it("--full runs the seed's 2^28 allocations per round", () => {
    expect(resolveParameters(reuseAfterFree, {}, true)).toEqual({ count: 2 ** 28 });
  });

  for (const host of HOSTS) {
    it(`${host}: the second round does not grow the heap (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('second-round-no-growth', 'confirmed', { host });
      expect(step(host, 'allocate again done').brk).toBe(step(host, 'free done').brk);
      // The first round grew the heap by about 32 B a block.
      const grown = Number(BigInt(step(host, 'alloc done').brk) - BigInt(step(host, 'start').brk));
      expect(grown).toBeGreaterThanOrEqual(0.9 * 32 * COUNT);
    });

    it(`${host}: the second round's first block is freed memory of the first round (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('same-memory', 'confirmed', { host });
    });
  }

  it.skipIf(!pinnedGlibc().matches)(
    `fresh: the second round's p_arr[0] is the first round's 7th block (tcache is last-in first-out) — ${pinnedGlibc().reason}`,
    () => {
      expect(firstAddress('fresh', 'allocate again done') - firstAddress('fresh', 'alloc done')).toBe(6 * 32);
    },
  );
});
