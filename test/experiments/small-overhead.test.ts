// Seed 003's code sample 1 on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { smallOverhead } from '../../lib/experiments/catalogue/small-overhead.js';
import { resolveParameters, runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS } from './helpers.js';

const COUNT = 4 * 1024 * 1024;

const lab = experimentRuns();
const { step } = lab;

beforeAll(async () => lab.load(await runExperiment(smallOverhead)), 120_000);

describe('small-overhead', () => {
  it("--full runs the seed's 2^28 allocations (BUFSIZE / 4)", () => {
    expect(resolveParameters(smallOverhead, {}, true)).toEqual({ count: 2 ** 28 });
    expect(lab.run('fresh').parameters).toEqual({ count: COUNT });
  });

  for (const host of HOSTS) {
    it(`${host}: each malloc(4) costs 32 bytes of heap (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('bookkeeping-32', 'confirmed', { host });
      const used = step(host, 'alloc done').mallinfo['uordblks']! - step(host, 'start').mallinfo['uordblks']!;
      expect(used / COUNT).toBeGreaterThanOrEqual(32);
      expect(used / COUNT).toBeLessThan(33);
    });

    it(`${host}: after "free done" the memory stays (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('free-keeps', 'confirmed', { host });
      expect(step(host, 'free done').brk).toBe(step(host, 'alloc done').brk);
    });

    it(`${host}: malloc_trim(0) gives it back (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('trim-returns', 'confirmed', { host });
      const fell = step(host, 'free done').status['RssAnon']! - step(host, 'malloc_trim(0)').status['RssAnon']!;
      expect(fell).toBeGreaterThanOrEqual(0.9 * 32 * COUNT);
    });
  }
});
