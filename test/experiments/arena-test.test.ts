// Seed 000's MALLOC_ARENA_TEST on both hosts: glibc creates arenas freely until more than
// arena_test exist, then caps at 8 × CPUs; the seed's trailing-underscore names do nothing.
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';

import { arenaTest, testAboveCap } from '../../lib/experiments/catalogue/arena-test.js';
import { crowdLabel } from '../../lib/experiments/catalogue/thread-arenas.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS } from './helpers.js';

const TEST = testAboveCap();
const THREADS = TEST + 4;
const CAP = 8 * availableParallelism();

const lab = experimentRuns();
const arenas = (host: string, name: string) => lab.ops(host, crowdLabel(THREADS), 'arenas', name)[0]!.value!;

beforeAll(async () => lab.load(await runExperiment(arenaTest)), 120_000);

describe('arena-test', () => {
  for (const host of HOSTS) {
    it(`${host}: the default stops at 8 × CPUs; arena_test above that lets arena_test + 1 arenas through first`, () => {
      expect(arenas(host, 'default')).toBe(CAP);
      expect(arenas(host, 'env')).toBe(TEST + 1);
      expect(arenas(host, 'tunable')).toBe(TEST + 1);
      expect(TEST + 1).toBeGreaterThan(CAP);
      expect(lab.claim(host, 'test-then-cores').verdict).toBe('confirmed');
    });

    it(`${host}: MALLOC_ARENA_TEST_ and MALLOC_ARENA_MAX_ change nothing; MALLOC_ARENA_MAX does`, () => {
      expect(arenas(host, 'seed-spelling')).toBe(arenas(host, 'default'));
      expect(arenas(host, 'arena-max')).toBe(1);
      expect(lab.claim(host, 'seed-spelling').verdict).toBe('refuted');
    });
  }
});
