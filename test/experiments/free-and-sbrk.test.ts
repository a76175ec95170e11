// TLPI's free_and_sbrk with the book's three invocations on both hosts: only
// freeing up to the top of the heap (top-half) lowers the program break.
import { beforeAll, describe, expect, it } from 'vitest';

import {
  freeAndSbrk,
  freeAndSbrkArguments,
  FREE_AND_SBRK_LABELS,
} from '../../lib/experiments/catalogue/free-and-sbrk.js';
import { resolveParameters, runExperiment } from '../../lib/experiments/framework/runner.js';
import { MallocLabError } from '../../lib/infra/errors.js';
import { brkOf, experimentRuns, type ExperimentRuns, HOSTS, KiB } from './helpers.js';

const TOP_PAD = 128 * KiB;
const PRESETS = ['every-second', 'all-but-last', 'top-half'] as const;

const runs = Object.fromEntries(PRESETS.map((preset) => [preset, experimentRuns()])) as Record<string, ExperimentRuns>;
const step = (preset: string, host: string, label: string) => runs[preset]!.step(host, label);
const allocating = (preset: string) =>
  FREE_AND_SBRK_LABELS.allocating(freeAndSbrkArguments(resolveParameters(freeAndSbrk, freeAndSbrk.presets![preset])));
/** How far free() lowered the break. */
const dropped = (preset: string, host: string) =>
  runs[preset]!.change(host, FREE_AND_SBRK_LABELS.freed, allocating(preset), 'brk');

beforeAll(async () => {
  for (const preset of PRESETS)
    runs[preset]!.load(await runExperiment(freeAndSbrk, { parameters: freeAndSbrk.presets![preset] }));
}, 180_000);

describe('free-and-sbrk arguments', () => {
  it("takes the seed's five arguments in argv order", () => {
    const positions = freeAndSbrk.parameters.map((parameter) => [parameter.name, parameter.position]);
    expect(positions).toEqual([
      ['numAllocs', 0],
      ['blockSize', 1],
      ['freeStep', 2],
      ['freeMin', 3],
      ['freeMax', 4],
    ]);
  });

  it('freeMax defaults to numAllocs, as in the seed', () => {
    expect(freeAndSbrkArguments(resolveParameters(freeAndSbrk, { numAllocs: 300, blockSize: 100 })).freeMax).toBe(300);
  });

  it('rejects freeMax > numAllocs (the seed asserts it) with an error naming freeMax', () => {
    let error: unknown;
    try {
      freeAndSbrk.variants(resolveParameters(freeAndSbrk, { numAllocs: 10, blockSize: 100, freeMax: 11 }));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MallocLabError);
    expect((error as MallocLabError).code).toBe('ERR_OUT_OF_RANGE');
    expect((error as MallocLabError).message).toMatch(/freeMax/);
  });
});

describe("free-and-sbrk: the book's three invocations", () => {
  for (const host of HOSTS) {
    it(`${host}: all three runs complete and the mallocs raise the break by at least numAllocs × blockSize − the top pad`, () => {
      for (const preset of PRESETS) {
        expect(runs[preset]!.run(host).variants.every((variant) => variant.completed)).toBe(true);
        const grown =
          brkOf(step(preset, host, allocating(preset))) - brkOf(step(preset, host, FREE_AND_SBRK_LABELS.initial));
        expect(grown).toBeGreaterThanOrEqual(1000 * 10240 - TOP_PAD);
      }
    });

    for (const preset of ['every-second', 'all-but-last']) {
      it(`${host}: ${preset} leaves the break where it was (free() keeps the break; the top claim does not apply)`, () => {
        expect(runs[preset]!.runs).toHaveClaim('free-keeps-break', 'confirmed', { host });
        expect(runs[preset]!.runs).toHaveClaim('top-lowers-break', 'inconclusive', { host });
        expect(dropped(preset, host)).toBe(0);
      });
    }

    it(`${host}: top-half lowers the break by at least the freed bytes beyond the top pad`, () => {
      expect(runs['top-half']!.runs).toHaveClaim('top-lowers-break', 'confirmed', { host });
      expect(runs['top-half']!.runs).toHaveClaim('free-keeps-break', 'inconclusive', { host });
      const freed = (1000 - 500 + 1) * 10240;
      expect(dropped('top-half', host)).toBeGreaterThanOrEqual(freed - TOP_PAD);
      // It cannot give back more than the freed chunks and the top chunk they joined.
      expect(dropped('top-half', host)).toBeLessThanOrEqual(freed + 2 * TOP_PAD);
    });
  }
});
