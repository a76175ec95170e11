// Seed 000's thread program and the arena caps, on both hosts.
import { cpus } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';

import { threadArenas } from '../../lib/experiments/catalogue/thread-arenas.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS } from './helpers.js';

const lab = experimentRuns();
const arenas = (host: string, variant: string, label: string) => lab.ops(host, label, 'arenas', variant)[0]!.value!;

beforeAll(async () => lab.load(await runExperiment(threadArenas)), 180_000);

describe('thread-arenas', () => {
  const crowd = `${8 * cpus().length + 4} threads malloc`;

  for (const host of HOSTS) {
    it(`${host}: a thread costs one stack of VmSize; its first malloc a 64 MiB arena; the second nothing`, () => {
      expect(lab.runs).toHaveClaim('thread-costs-stack', 'confirmed', { host });
      expect(lab.runs).toHaveClaim('first-malloc-64mib', 'confirmed', { host });
      expect(lab.runs).toHaveClaim('second-malloc-free', 'confirmed', { host });
    });

    it(`${host}: ${8 * cpus().length + 4} threads never make more than 8 × online CPUs arenas`, () => {
      expect(lab.runs).toHaveClaim('cap-holds', 'confirmed', { host });
      expect(arenas(host, 'crowd', crowd)).toBeLessThanOrEqual(8 * cpus().length);
    });

    it(`${host}: MALLOC_ARENA_MAX=1 and the tunable keep every thread on one arena`, () => {
      expect(arenas(host, 'env', crowd)).toBe(1);
      expect(arenas(host, 'tunable', crowd)).toBe(1);
    });

    it(`${host}: a run-time mallopt(M_ARENA_MAX, 1) does not remove arenas that exist`, () => {
      expect(lab.runs).toHaveClaim('late-cap-keeps-arenas', 'confirmed', { host });
    });
  }

  it('fresh: the arena count grows with threads up to the cap, and mallopt(M_ARENA_MAX, 1) before any thread keeps it at 1', () => {
    expect(arenas('fresh', 'crowd', 'start')).toBe(1);
    expect(arenas('fresh', 'crowd', crowd)).toBe(Math.min(8 * cpus().length, 8 * cpus().length + 4 + 1));
    expect(arenas('fresh', 'mallopt', crowd)).toBe(1);
    expect(lab.runs).toHaveClaim('arena-max-agree', 'confirmed', { host: 'fresh' });
  });

  it('node: the run-time cap cannot undo the arena Node made before the first step, and the evidence says so', () => {
    expect(arenas('node', 'mallopt', 'start')).toBeGreaterThan(1);
    expect(lab.runs).toHaveClaim('arena-max-agree', 'refuted', { host: 'node' });
    expect(lab.claim('node', 'arena-max-agree').evidence).toMatch(/cannot remove them/);
  });
});
