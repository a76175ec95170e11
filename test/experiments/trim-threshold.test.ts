// Seed 003's M_TRIM_THRESHOLD answer on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { trimThreshold } from '../../lib/experiments/catalogue/trim-threshold.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';

const PAGE = 4096;
const RAISE = 1024 * 1024;

let runs: ExperimentRun[];
const hostRun = (host: string) => runs.find((r) => r.host === host)!;
const claim = (host: string, id: string) => hostRun(host).claims.find((c) => c.id === id)!;
const verdict = (host: string, id: string) => claim(host, id).verdict;
const brk = (host: string, variant: string, label: string) =>
  BigInt(hostRun(host).steps.find((s) => s.variant === variant && s.label === label)!.brk);
/** How far free() lowered the break in a variant. */
const breakFell = (host: string, variant: string) =>
  Number(brk(host, variant, 'malloc + memset') - brk(host, variant, 'free'));

beforeAll(async () => {
  runs = await runExperiment(trimThreshold);
}, 120_000);

describe('trim-threshold', () => {
  for (const host of ['fresh', 'node']) {
    it(`${host}: every variant ran to the end`, () => {
      expect(hostRun(host).variants.every((v) => v.completed)).toBe(true);
    });

    it(`${host}: the seed's "falls below" has the direction reversed (refuted)`, () => {
      expect(verdict(host, 'threshold-direction')).toBe('refuted');
      expect(claim(host, 'threshold-direction').evidence).toMatch(/reaches M_TRIM_THRESHOLD/);
    });

    it(`${host}: with the defaults free() keeps the block (confirmed)`, () => {
      expect(verdict(host, 'default-keeps')).toBe('confirmed');
      expect(breakFell(host, 'default')).toBe(0);
    });

    it(`${host}: a smaller threshold alone saves nothing: M_TOP_PAD keeps 128 KiB (refuted)`, () => {
      expect(verdict(host, 'smaller-saves-space')).toBe('refuted');
      expect(claim(host, 'smaller-saves-space').evidence).toMatch(/M_TOP_PAD/);
      expect(breakFell(host, 'mallopt')).toBe(breakFell(host, 'default'));
    });

    it(`${host}: once the dynamic threshold has raised the default, a smaller one gives the block back (confirmed)`, () => {
      expect(verdict(host, 'smaller-saves-after-raise')).toBe('confirmed');
      expect(breakFell(host, 'dynamic')).toBe(0);
      expect(breakFell(host, 'dynamic+mallopt')).toBeGreaterThanOrEqual(RAISE / 2 - PAGE);
    });

    it(`${host}: mallopt, MALLOC_TRIM_THRESHOLD_ and GLIBC_TUNABLES agree (confirmed)`, () => {
      expect(verdict(host, 'mechanisms-agree')).toBe('confirmed');
      for (const variant of ['mallopt+pad', 'env+pad', 'tunable+pad'])
        expect(breakFell(host, variant)).toBeGreaterThanOrEqual(PAGE);
    });

    it(`${host}: the top pad stays after the block goes back (confirmed)`, () => {
      expect(verdict(host, 'arena-retained')).toBe('confirmed');
    });
  }
});
