// Seed 003's advice to switch allocators, measured on both hosts: the same frees
// under glibc and under each preloaded library, watched while the process idles.
import { beforeAll, describe, expect, it } from 'vitest';

import { afterLabel, allocators, timePoints } from '../../lib/experiments/catalogue/allocators.js';
import { allocatorLibrary } from '../../lib/experiments/framework/hosts.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { optionalAllocator } from '../helpers.js';
import { experimentRuns, HOSTS } from './helpers.js';

const lab = experimentRuns();
/** RssAnon held at label, against before malloc. */
const held = (host: string, variant: string, label: string) =>
  lab.change(host, 'before malloc', label, 'RssAnon', variant);

const workload = 1024 * (10240 + 1);
const last = afterLabel(timePoints(5000).at(-1)!);

beforeAll(async () => lab.load(await runExperiment(allocators)), 240_000);

describe('allocators', () => {
  for (const host of HOSTS) {
    it(`${host}: glibc keeps the freed memory for the whole watch`, () => {
      expect(held(host, 'glibc', 'malloc OK')).toBeGreaterThanOrEqual(0.9 * workload);
      expect(held(host, 'glibc', last)).toBeGreaterThanOrEqual(0.9 * workload);
    });

    for (const allocator of ['jemalloc', 'tcmalloc', 'mimalloc'] as const) {
      // Absent (not under CI=true, which requires it): its tests are skipped with one line,
      // and what is left to check is that the claim says the library is missing.
      if (optionalAllocator(allocator).skip !== undefined) {
        it(`${host}: ${allocator} is not installed, so its claim is inconclusive`, () => {
          expect(lab.runs).toHaveClaim(`${allocator}-returns`, 'inconclusive', { host });
          expect(lab.claim(host, `${allocator}-returns`).evidence).toMatch(/not installed/);
        });
        continue;
      }

      it(`${host}: ${allocator} with its defaults keeps the memory too in an idle process (refuted)`, () => {
        expect(lab.runs).toHaveClaim(`${allocator}-returns`, 'refuted', { host });
        expect(held(host, allocator, last)).toBeGreaterThanOrEqual(0.5 * workload);
        // The run really had the library preloaded.
        expect(lab.variant(host, allocator).env['LD_PRELOAD']).toBe(allocatorLibrary(allocator).path);
      });

      it(`${host}: ${allocator} with its documented knob gives most of it back`, () => {
        expect(held(host, `${allocator}-tuned`, 'malloc OK')).toBeGreaterThanOrEqual(0.9 * workload);
        expect(held(host, `${allocator}-tuned`, last)).toBeLessThan(0.5 * workload);
        expect(lab.claim(host, `${allocator}-returns`).evidence).toContain('With ');
      });
    }
  }
});
