// Seed 000's thread program and the arena caps, on both hosts.
import { cpus } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';

import { threadArenas } from '../../lib/experiments/catalogue/thread-arenas.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';

let runs: ExperimentRun[];
const claim = (host: string, id: string) => runs.find((r) => r.host === host)!.claims.find((c) => c.id === id)!;
const arenas = (host: string, variant: string, label: string) =>
  runs
    .find((r) => r.host === host)!
    .steps.find((s) => s.variant === variant && s.label === label)!
    .ops.find((o) => o.op === 'arenas')!.value!;

beforeAll(async () => {
  runs = await runExperiment(threadArenas);
}, 180_000);

describe('thread-arenas', () => {
  const crowd = `${8 * cpus().length + 4} threads malloc`;

  for (const host of ['fresh', 'node']) {
    it(`${host}: a thread costs one stack of VmSize; its first malloc a 64 MiB arena; the second nothing`, () => {
      expect(claim(host, 'thread-costs-stack').verdict).toBe('confirmed');
      expect(claim(host, 'first-malloc-64mib').verdict).toBe('confirmed');
      expect(claim(host, 'second-malloc-free').verdict).toBe('confirmed');
    });

    it(`${host}: ${8 * cpus().length + 4} threads never make more than 8 × online CPUs arenas`, () => {
      expect(claim(host, 'cap-holds').verdict).toBe('confirmed');
      expect(arenas(host, 'crowd', crowd)).toBeLessThanOrEqual(8 * cpus().length);
    });

    it(`${host}: MALLOC_ARENA_MAX=1 and the tunable keep every thread on one arena`, () => {
      expect(arenas(host, 'env', crowd)).toBe(1);
      expect(arenas(host, 'tunable', crowd)).toBe(1);
    });

    it(`${host}: a run-time mallopt(M_ARENA_MAX, 1) does not remove arenas that exist`, () => {
      expect(claim(host, 'late-cap-keeps-arenas').verdict).toBe('confirmed');
    });
  }

  it('fresh: the arena count grows with threads up to the cap, and mallopt(M_ARENA_MAX, 1) before any thread keeps it at 1', () => {
    expect(arenas('fresh', 'crowd', 'start')).toBe(1);
    expect(arenas('fresh', 'crowd', crowd)).toBe(Math.min(8 * cpus().length, 8 * cpus().length + 4 + 1));
    expect(arenas('fresh', 'mallopt', crowd)).toBe(1);
    expect(claim('fresh', 'arena-max-agree').verdict).toBe('confirmed');
  });

  it('node: the run-time cap cannot undo the arena Node made before the first step, and the evidence says so', () => {
    const result = claim('node', 'arena-max-agree');
    expect(arenas('node', 'mallopt', 'start')).toBeGreaterThan(1);
    expect(result.verdict).toBe('refuted');
    expect(result.evidence).toMatch(/cannot remove them/);
  });
});
