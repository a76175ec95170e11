// Seed 000's first program in the clean worlds (the aged one: aged-world.test.ts), with the
// verdicts this glibc gives and the settings a run can change under it.
import { beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../../lib/experiments/catalogue/free-not-returned.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { AGED, CLEAN, experimentRuns, HOSTS, MiB, pinnedGlibc } from './helpers.js';

const lab = experimentRuns();
/** tcache off: GLIBC_TUNABLES=glibc.malloc.tcache_count=0 (the second named run). */
const noTcache = experimentRuns();
/** A trim threshold no free() reaches, in the aged heap where free() otherwise trims. */
const noTrim = experimentRuns();
const glibc = pinnedGlibc();

beforeAll(async () => {
  lab.load(await runExperiment(freeNotReturned, { worlds: CLEAN }));
  noTcache.load(
    await runExperiment(freeNotReturned, { worlds: CLEAN, env: { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' } }),
  );
  noTrim.load(
    await runExperiment(freeNotReturned, { worlds: AGED, env: { MALLOC_TRIM_THRESHOLD_: String(1024 * MiB) } }),
  );
}, 180_000);

describe('free-not-returned', () => {
  for (const host of HOSTS) {
    it(`${host}: the malloc phase grows RssAnon by about SIZE × PAGE`, () => {
      expect(lab.runs).toHaveClaim('malloc-grows', 'confirmed', { host });
      expect(lab.change(host, 'before malloc', 'malloc OK', 'RssAnon', 'seed')).toBeGreaterThanOrEqual(9 * MiB);
    });

    it(`${host}: free() keeps the memory (confirmed), the 1-byte blocks' chunks between the 10 KiB ones`, () => {
      expect(lab.runs).toHaveClaim('free-keeps', 'confirmed', { host });
      const [, pairwise] = lab.ops(host, 'malloc OK', 'batch_adjacent', 'seed');
      expect(pairwise!.value!).toBeGreaterThan(pairwise!.value2! / 3);
    });

    it(`${host}: malloc_trim(0) gives it back (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('trim-returns', 'confirmed', { host });
    });

    it(`${host}, tcache off: the evidence never names tcache as holding the 1-byte chunks`, () => {
      for (const claim of noTcache.run(host).claims)
        expect(claim.evidence).not.toMatch(/in tcache|tcache still|tcache holds \d/);
      expect(noTcache.claim(host, 'page-free-returns').evidence).not.toMatch(/tcache, which malloc_consolidate/);
    });
  }

  it.skipIf(!glibc.matches)(
    `fresh: the seed's malloc(PAGE); free() ending gives nothing back: tcache (glibc 2.36) pins the first 1-byte chunks (refuted) — ${glibc.reason}`,
    () => {
      expect(lab.runs).toHaveClaim('page-free-returns', 'refuted', { host: 'fresh' });
      const evidence = lab.claim('fresh', 'page-free-returns').evidence;
      expect(evidence).toMatch(/the other 7 in tcache/);
      expect(evidence).toMatch(/glibc 2\.36/);
      expect(lab.change('fresh', 'All free', 'malloc(PAGE)', 'brk', 'page-free')).toBe(0);
    },
  );

  it('fresh, tcache off: malloc(PAGE); free() does give the memory back (confirmed), the block carved from the consolidated top', () => {
    expect(noTcache.runs).toHaveClaim('page-free-returns', 'confirmed', { host: 'fresh' });
    expect(noTcache.claim('fresh', 'page-free-returns').evidence).toMatch(/came from the top chunk/);
    expect(-noTcache.change('fresh', 'malloc(PAGE)', 'All free', 'RssAnon', 'page-free')).toBeGreaterThanOrEqual(
      8 * MiB,
    );
    // All 1024 freed 32-byte chunks went to the fastbins: tcache held none.
    const before = noTcache.step('fresh', 'malloc OK', 'seed').mallinfo['smblks']!;
    expect(noTcache.step('fresh', 'free OK', 'seed').mallinfo['smblks']! - before).toBe(1024);
  });

  it("node, tcache off: whichever way Node's heap takes it (the verdict depends on which free chunk malloc(PAGE) gets), the evidence says where the block came from", () => {
    expect(noTcache.claim('node', 'page-free-returns').evidence).toMatch(
      /the block came from (the top chunk|a free chunk inside the heap)/,
    );
  });

  for (const host of HOSTS) {
    it(`aged/${host}, trim threshold out of reach: free() keeps the memory, and the evidence names the threshold in force`, () => {
      expect(noTrim.runs).toHaveClaim('free-keeps', 'confirmed', { world: `aged/${host}` });
      expect(noTrim.claim(`aged/${host}`, 'free-keeps').evidence).toMatch(
        /below M_TRIM_THRESHOLD \(1\.0 GiB in this run\)/,
      );
    });
  }
});
