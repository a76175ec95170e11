// Seed 000's first program on both hosts, with the verdicts this glibc gives.
import { beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../../lib/experiments/catalogue/free-not-returned.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { MiB } from '../../lib/infra/units.js';

let runs: ExperimentRun[];
const verdict = (host: string, id: string) =>
  runs.find((r) => r.host === host)!.claims.find((c) => c.id === id)!.verdict;

beforeAll(async () => {
  runs = await runExperiment(freeNotReturned);
}, 120_000);

describe('free-not-returned', () => {
  for (const host of ['fresh', 'node']) {
    it(`${host}: the malloc phase grows RssAnon by about SIZE × PAGE`, () => {
      expect(verdict(host, 'malloc-grows')).toBe('confirmed');
      const run = runs.find((r) => r.host === host)!;
      const step = (label: string) => run.steps.find((s) => s.variant === 'seed' && s.label === label)!;
      expect(step('malloc OK').status['RssAnon']! - step('before malloc').status['RssAnon']!).toBeGreaterThanOrEqual(
        9 * MiB,
      );
    });

    it(`${host}: free() keeps the memory (confirmed)`, () => {
      expect(verdict(host, 'free-keeps')).toBe('confirmed');
    });

    it(`${host}: the seed's malloc(PAGE); free() ending does not give it back on glibc 2.36 (refuted: tcache)`, () => {
      expect(verdict(host, 'page-free-returns')).toBe('refuted');
      const evidence = runs.find((r) => r.host === host)!.claims.find((c) => c.id === 'page-free-returns')!.evidence;
      expect(evidence).toMatch(/tcache/);
    });

    it(`${host}: malloc_trim(0) gives it back (confirmed)`, () => {
      expect(verdict(host, 'trim-returns')).toBe('confirmed');
    });
  }
});
