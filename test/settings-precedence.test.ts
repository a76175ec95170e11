// The settings reader against glibc itself, on both hosts: when GLIBC_TUNABLES and a
// MALLOC_*_ alias both set a malloc parameter, the tunable wins whatever their order in
// the environment — as allocatorSettings (the one reader experiments use) says.
import { describe, expect, it } from 'vitest';

import { runOnHost, type HostName } from '../lib/experiments/framework/hosts.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { settingsIn } from '../lib/experiments/framework/settings.js';
import { MiB } from '../lib/infra/units.js';

const BIG = 4 * MiB;
const SMALL = 64 * 1024;
/** A 1 MiB request: below BIG it comes from the heap, above SMALL it is mmap'd. */
const REQUEST = 1 * MiB;

/** Where malloc(REQUEST) went under env: in the main heap (below the break) or a mapping of its own. */
async function placement(host: HostName, env: Record<string, string>): Promise<'heap' | 'mapped'> {
  const program = new StepProgram().step('malloc', (s) => s.malloc('block', REQUEST));
  const run = await runOnHost(program, host, { env });
  const step = run.steps[0]!;
  const address = step.ops[0]!.value;
  const brk = Number(step.sample!.brk);
  return address < brk && address >= brk - step.sample!.mallinfo.arena ? 'heap' : 'mapped';
}

const tunable = (value: number) => `glibc.malloc.mmap_threshold=${value}`;

describe('GLIBC_TUNABLES wins over the MALLOC_*_ alias, in glibc and in the settings reader', () => {
  const cases: [string, Record<string, string>, number][] = [
    // Object key order is the order the child's environment lists them in.
    ['tunable first, tunable large', { GLIBC_TUNABLES: tunable(BIG), MALLOC_MMAP_THRESHOLD_: String(SMALL) }, BIG],
    ['alias first, tunable large', { MALLOC_MMAP_THRESHOLD_: String(SMALL), GLIBC_TUNABLES: tunable(BIG) }, BIG],
    ['tunable first, tunable small', { GLIBC_TUNABLES: tunable(SMALL), MALLOC_MMAP_THRESHOLD_: String(BIG) }, SMALL],
    ['alias first, tunable small', { MALLOC_MMAP_THRESHOLD_: String(BIG), GLIBC_TUNABLES: tunable(SMALL) }, SMALL],
  ];
  for (const host of ['fresh', 'node'] as const) {
    for (const [name, env, winner] of cases) {
      it(`${host}: ${name} → mmap threshold ${winner === BIG ? '4 MiB' : '64 KiB'}`, async () => {
        const read = settingsIn(env).mmap_threshold;
        expect(read).toMatchObject({ value: winner, source: 'GLIBC_TUNABLES' });
        expect(await placement(host, env)).toBe(winner > REQUEST ? 'heap' : 'mapped');
      });
    }
    it(`${host}: the alias alone does act (so the cases above compare two settings that work)`, async () => {
      expect(await placement(host, { MALLOC_MMAP_THRESHOLD_: String(BIG) })).toBe('heap');
      expect(settingsIn({ MALLOC_MMAP_THRESHOLD_: String(BIG) }).mmap_threshold).toMatchObject({
        value: BIG,
        source: 'env',
      });
    });
  }
});
