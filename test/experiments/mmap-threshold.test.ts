// Seeds 002/003: brk below MMAP_THRESHOLD, mmap above it, what free() gives back, and the
// dynamic threshold, on both hosts.
import { beforeAll, describe, expect, it } from 'vitest';

import { mmapThreshold } from '../../lib/experiments/catalogue/mmap-threshold.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { formatBytes } from '../../lib/infra/units.js';
import { brkOf, experimentRuns, HOSTS, KiB, MiB } from './helpers.js';

const lab = experimentRuns();
/** to - from of a field between two steps of one variant. */
const change = (
  host: string,
  variant: string,
  from: string,
  to: string,
  field: 'VmSize' | 'RssAnon' | 'brk' | 'hblks',
) => lab.change(host, from, to, field, variant);
/** Where a step's malloc put its block, by the block's own address: below the break is the heap. */
const placedIn = (host: string, variant: string, label: string) => {
  const record = lab.step(host, label, variant);
  const address = lab.ops(host, label, 'malloc', variant)[0]!.value!;
  return address < brkOf(record) ? 'heap' : 'mapped';
};
const malloc = (role: string, size: number, again = false) =>
  `malloc ${role} (${formatBytes(size)})${again ? ' again' : ''}`;
const free = (role: string, size: number, again = false) =>
  `free ${role} (${formatBytes(size)})${again ? ' again' : ''}`;

beforeAll(async () => lab.load(await runExperiment(mmapThreshold)), 180_000);

describe('mmap-threshold', () => {
  for (const host of HOSTS) {
    it(`${host}: every variant completes`, () => {
      for (const variant of lab.run(host).variants)
        expect(variant.completed, `${variant.name}: ${variant.stderr}`).toBe(true);
    });

    it(`${host}: an mmap'd block goes back to the OS at free(), a heap block does not`, () => {
      expect(lab.runs).toHaveClaim('mmap-free-returns', 'confirmed', { host });
      expect(lab.runs).toHaveClaim('brk-free-keeps', 'confirmed', { host });
      // The 1 MiB block is mmap'd on both hosts: its free drops VmSize by at least its size.
      expect(change(host, 'default', malloc('large', MiB), free('large', MiB), 'VmSize')).toBeLessThanOrEqual(-MiB);
      // The 64 KiB heap block's free leaves VmSize where it was (within a tenth of the block).
      expect(change(host, 'default', free('medium', 256 * KiB), free('small', 64 * KiB), 'VmSize')).toBeGreaterThan(
        -0.1 * 64 * KiB,
      );
    });

    it(`${host}: after a mapped 1 MiB block is freed, the next 1 MiB comes from the heap`, () => {
      expect(lab.runs).toHaveClaim('dynamic-threshold', 'confirmed', { host });
      // mallinfo's mmap count is process-wide: exact only where no other thread runs.
      if (host === 'fresh') {
        expect(change(host, 'dynamic', 'start', malloc('large', MiB), 'hblks')).toBe(1);
        expect(change(host, 'dynamic', free('large', MiB), malloc('large', MiB, true), 'hblks')).toBe(0);
      }
      expect(change(host, 'dynamic', free('large', MiB), malloc('large', MiB, true), 'brk')).toBeGreaterThanOrEqual(
        MiB,
      );
    });

    it(`${host}: mallopt, MALLOC_MMAP_THRESHOLD_ and the tunable agree: 1 MiB from the heap, 4 MiB mmap'd under a 2 MiB threshold`, () => {
      expect(lab.runs).toHaveClaim('settings-agree', 'confirmed', { host });
      for (const variant of ['mallopt', 'env', 'tunable']) {
        const before = variant === 'mallopt' ? 'mallopt(M_MMAP_THRESHOLD, 2.0 MiB)' : 'start';
        expect(change(host, variant, before, malloc('large', MiB), 'brk')).toBeGreaterThanOrEqual(MiB);
        if (host === 'fresh')
          expect(change(host, variant, malloc('large', MiB), malloc('above', 4 * MiB), 'hblks')).toBe(1);
      }
    });
  }

  it("fresh: 64 KiB comes from the heap, 256 KiB and 1 MiB are mmap'd, as the 128 KiB default says", () => {
    expect(lab.runs).toHaveClaim('brk-below-mmap-above', 'confirmed', { host: 'fresh' });
    expect(change('fresh', 'default', malloc('small', 64 * KiB), malloc('medium', 256 * KiB), 'hblks')).toBe(1);
    expect(
      change('fresh', 'default', malloc('small', 64 * KiB), malloc('medium', 256 * KiB), 'VmSize'),
    ).toBeGreaterThanOrEqual(256 * KiB);
  });

  it("node: 256 KiB comes from the heap because Node already raised the dynamic threshold; fixed at 128 KiB it is mmap'd", () => {
    expect(lab.runs).toHaveClaim('brk-below-mmap-above', 'refuted', { host: 'node' });
    expect(lab.claim('node', 'brk-below-mmap-above').evidence).toMatch(/dynamic threshold/);
    expect(placedIn('node', 'default', malloc('medium', 256 * KiB))).toBe('heap');
    expect(
      change('node', 'default', malloc('small', 64 * KiB), malloc('medium', 256 * KiB), 'brk'),
    ).toBeGreaterThanOrEqual(256 * KiB);
    expect(placedIn('node', 'fixed', malloc('medium', 256 * KiB))).toBe('mapped');
  });
});
