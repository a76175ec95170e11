// Seed 003's M_TRIM_THRESHOLD answer on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { trimThreshold } from '../../lib/experiments/catalogue/trim-threshold.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { CLEAN, experimentRuns, HOSTS, KiB, MiB } from './helpers.js';

const PAGE = 4 * KiB;
const RAISE = MiB;

const lab = experimentRuns();
/** The whole run under a trim threshold no free() reaches (GLIBC_TUNABLES, which wins over the variants' aliases). */
const raised = experimentRuns();
/** How far free() lowered the break in a variant. */
const breakFell = (host: string, variant: string) => lab.change(host, 'free', 'malloc + memset', 'brk', variant);

beforeAll(async () => {
  lab.load(await runExperiment(trimThreshold, { worlds: CLEAN }));
  raised.load(
    await runExperiment(trimThreshold, {
      worlds: CLEAN,
      env: { GLIBC_TUNABLES: `glibc.malloc.trim_threshold=${1024 * MiB}` },
    }),
  );
}, 120_000);

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

  for (const host of HOSTS) {
    it(`${host}, a raised trim threshold for the run: no claim is refuted; each says which setting broke its design`, () => {
      for (const claim of raised.run(host).claims) {
        expect(claim.verdict, claim.id).toBe('inconclusive');
        expect(claim.evidence).toMatch(/GLIBC_TUNABLES glibc\.malloc\.trim_threshold=1073741824 is set for this run/);
        expect(claim.evidence).toMatch(/free\(\) trims the top of the heap from 1\.0 GiB on/);
      }
      // The variants still ran: free() gave back nothing where a small threshold had trimmed before.
      expect(raised.change(host, 'malloc + memset', 'free', 'brk', 'env+pad')).toBe(0);
    });
  }
});
