// Seeds 002/004: pages become resident on first access; mincore() counts them; mlock() and mlockall() force them.
import { beforeAll, describe, expect, it } from 'vitest';

import { lazyResidency, MLOCKALL_STEPS } from '../../lib/experiments/catalogue/lazy-residency.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, MiB } from './helpers.js';

const size = 64 * MiB;
const half = size / 2;

const lab = experimentRuns();
const { step, change } = lab;
const mincore = (host: string, label: string, index = 0, variant?: string) =>
  lab.ops(host, label, 'mincore', variant)[index]!;

beforeAll(async () => lab.load(await runExperiment(lazyResidency)), 120_000);

describe('lazy-residency', () => {
  for (const host of HOSTS) {
    it(`${host}: malloc(64 MiB) adds VmSize, not RssAnon, until half of it is written`, () => {
      expect(lab.runs).toHaveClaim('not-until-access', 'confirmed', { host });
      expect(lab.runs).toHaveClaim('vmsize-not-resident', 'confirmed', { host });
      expect(change(host, 'before malloc', 'malloc(64.0 MiB)', 'VmSize')).toBeGreaterThanOrEqual(size);
      expect(change(host, 'before malloc', 'malloc(64.0 MiB)', 'RssAnon')).toBeLessThan(0.01 * size);
      expect(change(host, 'malloc(64.0 MiB)', 'write the first 32.0 MiB', 'RssAnon')).toBeGreaterThanOrEqual(
        0.9 * half,
      );
    });

    it(`${host}: mincore() counts the written half as resident`, () => {
      expect(lab.runs).toHaveClaim('mincore-tells', 'confirmed', { host });
      const untouched = mincore(host, 'malloc(64.0 MiB)');
      const written = mincore(host, 'write the first 32.0 MiB');
      expect(untouched.value!).toBeLessThanOrEqual(0.01 * untouched.value2!);
      expect(written.value!).toBeGreaterThanOrEqual(0.45 * written.value2!);
      expect(written.value!).toBeLessThanOrEqual(0.55 * written.value2!);
    });

    it(`${host}: mlock() makes an untouched 64 MiB block resident`, () => {
      expect(lab.runs).toHaveClaim('mlock-ensures', 'confirmed', { host });
      const locked = mincore(host, 'malloc(64.0 MiB) + mlock', 1);
      expect(locked.value).toBe(locked.value2);
      expect(change(host, 'write the first 32.0 MiB', 'malloc(64.0 MiB) + mlock', 'VmLck')).toBeGreaterThanOrEqual(
        size,
      );
      expect(change(host, 'write the first 32.0 MiB', 'malloc(64.0 MiB) + mlock', 'RssAnon')).toBeGreaterThanOrEqual(
        0.9 * size,
      );
      expect(step(host, 'munlock').status['VmLck']).toBe(0);
    });

    it(`${host}: mlockall(MCL_CURRENT) makes an untouched block resident; with MCL_FUTURE a new block is resident at once`, () => {
      expect(lab.runs).toHaveClaim('mlockall-ensures', 'confirmed', { host });
      const untouched = mincore(host, MLOCKALL_STEPS.untouched(size), 0, 'mlockall');
      expect(untouched.value!).toBeLessThanOrEqual(0.01 * untouched.value2!);
      const current = mincore(host, MLOCKALL_STEPS.current, 0, 'mlockall');
      expect(current.value).toBe(current.value2);
      const future = mincore(host, MLOCKALL_STEPS.future(size), 0, 'mlockall');
      expect(future.value).toBe(future.value2);
      expect(step(host, MLOCKALL_STEPS.future(size)).status['VmLck']).toBeGreaterThanOrEqual(2 * size);
      expect(step(host, MLOCKALL_STEPS.unlocked).status['VmLck']).toBe(0);
    });
  }
});
