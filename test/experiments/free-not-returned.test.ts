// Seed 000's first program on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../../lib/experiments/catalogue/free-not-returned.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, MiB } from './helpers.js';

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(freeNotReturned)), 120_000);

describe('free-not-returned', () => {
  for (const host of HOSTS) {
    it(`${host}: the malloc phase grows RssAnon by about SIZE × PAGE`, () => {
      expect(lab.runs).toHaveClaim('malloc-grows', 'confirmed', { host });
      expect(lab.change(host, 'before malloc', 'malloc OK', 'RssAnon', 'seed')).toBeGreaterThanOrEqual(9 * MiB);
    });

    it(`${host}: free() keeps the memory (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('free-keeps', 'confirmed', { host });
    });

    it(`${host}: the seed's malloc(PAGE); free() ending does not give it back on glibc 2.36 (refuted: tcache)`, () => {
      expect(lab.runs).toHaveClaim('page-free-returns', 'refuted', { host });
      expect(lab.claim(host, 'page-free-returns').evidence).toMatch(/tcache/);
    });

    it(`${host}: malloc_trim(0) gives it back (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('trim-returns', 'confirmed', { host });
    });
  }
});
