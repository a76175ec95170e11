// Seed 002's process limits on both hosts: RLIMIT_DATA and RLIMIT_AS, set with prlimit,
// stop heap and mmap'd blocks alike at the limit; a mapping above the break caps the heap.
import { beforeAll, describe, expect, it } from 'vitest';

import { processLimits, STEPS } from '../../lib/experiments/catalogue/process-limits.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { KiB, MiB } from '../../lib/infra/units.js';
import { HOSTS, view } from './view.js';

const HEADROOM = 32 * MiB;
const ENOMEM = 12;
const BLOCKS = { brk: 64 * KiB, mmap: 1 * MiB } as const;
const COUNTER = { data: 'VmData', as: 'VmSize' } as const;

let runs: ExperimentRun[];
const { claim, step, ops, brk } = view(() => runs);

beforeAll(async () => {
  runs = await runExperiment(processLimits);
}, 120_000);

describe('process-limits', () => {
  for (const host of HOSTS) {
    for (const resource of ['data', 'as'] as const) {
      for (const backing of ['brk', 'mmap'] as const) {
        it(`${host}: ${resource.toUpperCase()} limit stops ${backing === 'brk' ? 'heap' : "mmap'd"} blocks at the limit (ENOMEM)`, () => {
          const limit = ops(host, resource, STEPS.limit(resource, HEADROOM), 'prlimit')[0]!;
          expect(limit.value! - limit.value2!).toBe(HEADROOM);
          const label = STEPS.allocate(backing, BLOCKS[backing]);
          const [made] = ops(host, resource, label, 'alloc_until_refused');
          expect(made!.value2).toBe(ENOMEM);
          // Within one block (and glibc's 128 KiB top pad) of the headroom, never past the limit.
          expect(made!.value! * BLOCKS[backing]).toBeGreaterThan(HEADROOM - 2 * BLOCKS[backing] - 128 * KiB);
          const used = step(host, resource, label).status[COUNTER[resource]]!;
          expect(used).toBeLessThanOrEqual(limit.value!);
          const before = step(
            host,
            resource,
            backing === 'brk' ? STEPS.limit(resource, HEADROOM) : STEPS.threshold(BLOCKS.mmap),
          );
          const mapped = step(host, resource, label).mallinfo['hblks']! - before.mallinfo['hblks']!;
          if (backing === 'mmap') expect(mapped).toBe(made!.value);
          else expect(brk(step(host, resource, label)) - brk(before)).toBeGreaterThan(HEADROOM / 2);
          expect(claim(host, `${resource}-limits-${backing}`).verdict).toBe('confirmed');
        });
      }
    }

    it(`${host}: the limits count address space: the unwritten blocks add little to RssAnon`, () => {
      for (const resource of ['data', 'as'] as const) {
        const label = STEPS.allocate('brk', BLOCKS.brk);
        const rss =
          step(host, resource, label).status['RssAnon']! -
          step(host, resource, STEPS.limit(resource, HEADROOM)).status['RssAnon']!;
        expect(rss).toBeLessThan(HEADROOM / 4);
      }
      expect(claim(host, 'limits-count-address-space').verdict).toBe('confirmed');
    });

    it(`${host}: a page mapped above the break caps the heap; malloc goes on in mmap'd memory`, () => {
      const wall = ops(host, 'wall', STEPS.wall(256 * KiB), 'mmap_above_break')[0]!.value!;
      const end = ops(host, 'wall', STEPS.after, 'heap_range')[0]!;
      expect(end.value2).toBeLessThanOrEqual(wall);
      const blocks = ops(host, 'wall', STEPS.past, 'malloc');
      expect(blocks.every((record) => record.status === 0)).toBe(true);
      expect(blocks.some((record) => record.value! > wall)).toBe(true);
      expect(claim(host, 'mapping-stops-break').verdict).toBe('confirmed');
    });
  }
});
