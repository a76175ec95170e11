// Seed 002's process limits on both hosts: RLIMIT_DATA and RLIMIT_AS, set with prlimit,
// stop heap and mmap'd blocks alike at the limit; a mapping above the break caps the heap.
import { beforeAll, describe, expect, it } from 'vitest';

import { processLimits, STEPS } from '../../lib/experiments/catalogue/process-limits.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { KiB, MiB } from '../../lib/infra/units.js';
import { brkOf, experimentRuns, HOSTS } from './helpers.js';

const HEADROOM = 32 * MiB;
const ENOMEM = 12;
const BLOCKS = { brk: 64 * KiB, mmap: 1 * MiB } as const;
const COUNTER = { data: 'VmData', as: 'VmSize' } as const;

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(processLimits)), 120_000);

describe('process-limits', () => {
  for (const host of HOSTS) {
    for (const resource of ['data', 'as'] as const) {
      for (const backing of ['brk', 'mmap'] as const) {
        it(`${host}: ${resource.toUpperCase()} limit stops ${backing === 'brk' ? 'heap' : "mmap'd"} blocks at the limit (ENOMEM)`, () => {
          const limit = lab.ops(host, STEPS.limit(resource, HEADROOM), 'prlimit', resource)[0]!;
          expect(limit.value! - limit.value2!).toBe(HEADROOM);
          const label = STEPS.allocate(backing, BLOCKS[backing]);
          const [made] = lab.ops(host, label, 'alloc_until_refused', resource);
          expect(made!.value2).toBe(ENOMEM);
          // Within one block (and glibc's 128 KiB top pad) of the headroom, never past the limit.
          expect(made!.value! * BLOCKS[backing]).toBeGreaterThan(HEADROOM - 2 * BLOCKS[backing] - 128 * KiB);
          const used = lab.step(host, label, resource).status[COUNTER[resource]]!;
          expect(used).toBeLessThanOrEqual(limit.value!);
          const before = lab.step(
            host,
            backing === 'brk' ? STEPS.limit(resource, HEADROOM) : STEPS.threshold(BLOCKS.mmap),
            resource,
          );
          const mapped = lab.step(host, label, resource).mallinfo['hblks']! - before.mallinfo['hblks']!;
          if (backing === 'mmap') expect(mapped).toBe(made!.value);
          else expect(brkOf(lab.step(host, label, resource)) - brkOf(before)).toBeGreaterThan(HEADROOM / 2);
          expect(lab.claim(host, `${resource}-limits-${backing}`).verdict).toBe('confirmed');
        });
      }
    }

    it(`${host}: the limits count address space: the unwritten blocks add little to RssAnon`, () => {
      for (const resource of ['data', 'as'] as const) {
        const label = STEPS.allocate('brk', BLOCKS.brk);
        const rss =
          lab.step(host, label, resource).status['RssAnon']! -
          lab.step(host, STEPS.limit(resource, HEADROOM), resource).status['RssAnon']!;
        expect(rss).toBeLessThan(HEADROOM / 4);
      }
      expect(lab.claim(host, 'limits-count-address-space').verdict).toBe('confirmed');
    });

    it(`${host}: a page mapped above the break caps the heap; malloc goes on in mmap'd memory`, () => {
      const wall = lab.ops(host, STEPS.wall(256 * KiB), 'mmap_above_break', 'wall')[0]!.value!;
      const end = lab.ops(host, STEPS.after, 'heap_range', 'wall')[0]!;
      expect(end.value2).toBeLessThanOrEqual(wall);
      const blocks = lab.ops(host, STEPS.past, 'malloc', 'wall');
      expect(blocks.every((record) => record.status === 0)).toBe(true);
      expect(blocks.some((record) => record.value! > wall)).toBe(true);
      expect(lab.claim(host, 'mapping-stops-break').verdict).toBe('confirmed');
    });
  }
});
