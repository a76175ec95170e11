// Seed 003's code sample 1 on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { smallOverhead } from '../../lib/experiments/catalogue/small-overhead.js';
import { resolveParameters, runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';

const COUNT = 4 * 1024 * 1024;

let runs: ExperimentRun[];
const hostRun = (host: string) => runs.find((r) => r.host === host)!;
const verdict = (host: string, id: string) => hostRun(host).claims.find((c) => c.id === id)!.verdict;
const step = (host: string, label: string) => hostRun(host).steps.find((s) => s.label === label)!;

beforeAll(async () => {
  runs = await runExperiment(smallOverhead);
}, 120_000);

describe('small-overhead', () => {
  it("--full runs the seed's 2^28 allocations (BUFSIZE / 4)", () => {
    expect(resolveParameters(smallOverhead, {}, true)).toEqual({ count: 2 ** 28 });
    expect(hostRun('fresh').parameters).toEqual({ count: COUNT });
  });

  for (const host of ['fresh', 'node']) {
    it(`${host}: each malloc(4) costs 32 bytes of heap (confirmed)`, () => {
      expect(verdict(host, 'bookkeeping-32')).toBe('confirmed');
      const used = step(host, 'alloc done').mallinfo['uordblks']! - step(host, 'start').mallinfo['uordblks']!;
      expect(used / COUNT).toBeGreaterThanOrEqual(32);
      expect(used / COUNT).toBeLessThan(33);
    });

    it(`${host}: after "free done" the memory stays (confirmed)`, () => {
      expect(verdict(host, 'free-keeps')).toBe('confirmed');
      expect(step(host, 'free done').brk).toBe(step(host, 'alloc done').brk);
    });

    it(`${host}: malloc_trim(0) gives it back (confirmed)`, () => {
      expect(verdict(host, 'trim-returns')).toBe('confirmed');
      const fell = step(host, 'free done').status['RssAnon']! - step(host, 'malloc_trim(0)').status['RssAnon']!;
      expect(fell).toBeGreaterThanOrEqual(0.9 * 32 * COUNT);
    });
  }
});
