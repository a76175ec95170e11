// Seed 003's M_TRIM_THRESHOLD answer on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { trimThreshold } from '../../lib/experiments/catalogue/trim-threshold.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, KiB, MiB } from './helpers.js';

const PAGE = 4 * KiB;
const RAISE = MiB;

const lab = experimentRuns();
/** How far free() lowered the break in a variant. */
const breakFell = (host: string, variant: string) => lab.change(host, 'free', 'malloc + memset', 'brk', variant);

beforeAll(async () => lab.load(await runExperiment(trimThreshold)), 120_000);

describe('trim-threshold', () => {
  for (const host of HOSTS) {
    it(`${host}: every variant ran to the end`, () => {
      expect(lab.run(host).variants.every((v) => v.completed)).toBe(true);
    });

    it(`${host}: the seed's "falls below" has the direction reversed (refuted)`, () => {
      expect(lab.runs).toHaveClaim('threshold-direction', 'refuted', { host });
      expect(lab.claim(host, 'threshold-direction').evidence).toMatch(/reaches M_TRIM_THRESHOLD/);
    });

    it(`${host}: with the defaults free() keeps the block (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('default-keeps', 'confirmed', { host });
      expect(breakFell(host, 'default')).toBe(0);
    });

    it(`${host}: a smaller threshold alone saves nothing: M_TOP_PAD keeps 128 KiB (refuted)`, () => {
      expect(lab.runs).toHaveClaim('smaller-saves-space', 'refuted', { host });
      expect(lab.claim(host, 'smaller-saves-space').evidence).toMatch(/M_TOP_PAD/);
      expect(breakFell(host, 'mallopt')).toBe(breakFell(host, 'default'));
    });

    it(`${host}: once the dynamic threshold has raised the default, a smaller one gives the block back (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('smaller-saves-after-raise', 'confirmed', { host });
      expect(breakFell(host, 'dynamic')).toBe(0);
      expect(breakFell(host, 'dynamic+mallopt')).toBeGreaterThanOrEqual(RAISE / 2 - PAGE);
    });

    it(`${host}: mallopt, MALLOC_TRIM_THRESHOLD_ and GLIBC_TUNABLES agree (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('mechanisms-agree', 'confirmed', { host });
      for (const variant of ['mallopt+pad', 'env+pad', 'tunable+pad'])
        expect(breakFell(host, variant)).toBeGreaterThanOrEqual(PAGE);
    });

    it(`${host}: the top pad stays after the block goes back (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('arena-retained', 'confirmed', { host });
    });
  }
});
