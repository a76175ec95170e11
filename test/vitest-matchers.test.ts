// malloc-lab/vitest: the matchers pass on what glibc really does, and FAIL — with
// messages in human units — when the numbers say otherwise.
import { beforeAll, describe, expect, it } from 'vitest';

import { freeNotReturned } from '../lib/experiments/catalogue/free-not-returned.js';
import { runExperiment, type ExperimentRun } from '../lib/experiments/framework/runner.js';
import { allocBatch, breakRoom, free, malloc, measure, sample, touch } from '../lib/index.js';
import { installMatchers, mallocLabMatchers } from '../lib/integrations/vitest.js';
import { trim } from '../lib/service/trim.js';
import { KiB, MiB } from './helpers.js';

/** The message of the assertion error fn raises (failing the test if it raises none). */
function failure(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail, but it passed');
}

/** A real sample with RssAnon/VmRSS moved by known amounts, to pin message text exactly. */
function shifted(rssAnon: number, vmRss = rssAnon) {
  const before = sample();
  const after = {
    ...before,
    status: { ...before.status, RssAnon: before.status.RssAnon + rssAnon, VmRSS: before.status.VmRSS + vmRss },
  };
  return { label: 'shifted', before, after };
}

describe('RssAnon / RSS growth and shrinkage', () => {
  it('malloc 10 MiB + touch: passes toGrowRssAnonBy({ atLeast: 9 MiB }), fails 1 GiB with the numbers', () => {
    const m = measure('malloc 10 MiB + touch', () => {
      const block = malloc(10 * MiB);
      touch(block);
      return block;
    });
    try {
      expect(m).toGrowRssAnonBy({ atLeast: 9 * MiB });
      expect(m).toGrowRssAnonBy({ atLeast: 9 * MiB, atMost: 12 * MiB });
      expect(m).toGrowRssBy({ atLeast: 9 * MiB });
      expect(m).toGrowVmSizeBy({ atLeast: 10 * MiB });
      expect(m).not.toShrinkRssAnonBy({ atLeast: 1 * MiB });

      expect(failure(() => expect(m).toGrowRssAnonBy({ atLeast: 1024 * MiB }))).toMatch(
        /^expected RssAnon to grow by at least 1\.0 GiB, but it grew by (9|10)\.\d MiB \(\d+(\.\d)? MiB → \d+(\.\d)? MiB\) in "malloc 10 MiB \+ touch"$/,
      );
      expect(failure(() => expect(m).toGrowRssAnonBy({ atMost: 1 * MiB }))).toMatch(
        /^expected RssAnon to grow by at most 1\.0 MiB, but it grew by (9|10)\.\d MiB/,
      );
      expect(failure(() => expect(m).not.toGrowRssAnonBy({ atLeast: 9 * MiB }))).toMatch(
        /^expected RssAnon not to grow by at least 9\.0 MiB, but it grew by (9|10)\.\d MiB/,
      );
      expect(failure(() => expect(m).toShrinkRssAnonBy({ atLeast: 1 * MiB }))).toMatch(
        /^expected RssAnon to shrink by at least 1\.0 MiB, but it grew by (9|10)\.\d MiB/,
      );
    } finally {
      free(m.result);
    }
  });

  it('free of a mapped 32 MiB block: passes toShrinkRssAnonBy, fails when asked for more', () => {
    const block = malloc(32 * MiB);
    touch(block);
    const m = measure('free 32 MiB', () => free(block));
    expect(m).toShrinkRssAnonBy({ atLeast: 31 * MiB });
    expect(m).toShrinkVmSizeBy({ atLeast: 32 * MiB });
    expect(m).not.toGrowRssAnonBy({ atLeast: 1 * MiB });
    expect(failure(() => expect(m).toShrinkRssAnonBy({ atLeast: 64 * MiB }))).toMatch(
      /^expected RssAnon to shrink by at least 64\.0 MiB, but it fell by 3\d\.\d MiB .* in "free 32 MiB"$/,
    );
  });

  it('messages name the field and the exact amounts', () => {
    expect(failure(() => expect(shifted(5 * MiB)).toGrowRssAnonBy({ atLeast: 6 * MiB }))).toMatch(
      /^expected RssAnon to grow by at least 6\.0 MiB, but it grew by 5\.0 MiB \(/,
    );
    expect(failure(() => expect(shifted(0)).toGrowRssAnonBy({ atLeast: 1 }))).toMatch(/but it did not change/);
    expect(failure(() => expect(shifted(-3 * MiB)).toGrowRssAnonBy({ atLeast: 0 }))).toMatch(/but it fell by 3\.0 MiB/);
    expect(
      failure(() => expect(shifted(2 * MiB, -512 * KiB)).toShrinkRssBy({ atLeast: 1 * MiB, atMost: 2 * MiB })),
    ).toMatch(/^expected RSS \(VmRSS\) to shrink by at least 1\.0 MiB and at most 2\.0 MiB, but it fell by 512 KiB \(/);
    expect(failure(() => expect(shifted(2 * MiB)).toShrinkRssAnonBy({ atLeast: 0, atMost: 1 * MiB }))).toMatch(
      /but it grew by 2\.0 MiB/,
    );
    // atMost alone bounds the move in the named direction: growing "by at most" passes when it fell.
    expect(shifted(-2 * MiB)).toGrowRssAnonBy({ atMost: 64 * KiB });
    expect(failure(() => expect(shifted(65 * KiB)).toGrowRssAnonBy({ atMost: 64 * KiB }))).toMatch(
      /at most 64\.0 KiB, but it grew by 65\.0 KiB/,
    );
    // Bounds are inclusive.
    expect(shifted(5 * MiB)).toGrowRssAnonBy({ atLeast: 5 * MiB, atMost: 5 * MiB });
  });

  it('trim() results and snapshot pairs are measurements too', () => {
    // Every other block of 32 MiB freed: holes between live blocks, which only a trim gives back.
    const set = allocBatch({ count: 512, size: 64 * KiB, fill: 1 });
    const freed = set.free({ step: 2 }) * 64 * KiB;
    const result = trim();
    set.release();
    expect(result).toShrinkRssAnonBy({ atLeast: 0.8 * freed });
    expect(failure(() => expect(result).not.toShrinkRssAnonBy({ atLeast: 0.8 * freed }))).toMatch(
      /^expected RssAnon not to shrink by at least 12\.8 MiB, but it fell by \d+\.\d MiB \(.*\)$/,
    );
  });

  it('misuse fails with a sentence, also under .not', () => {
    expect(failure(() => expect(42).toGrowRssAnonBy({ atLeast: 1 }))).toMatch(
      /toGrowRssAnonBy: expected a measurement .* received number 42/,
    );
    expect(failure(() => expect({ before: 1, after: 2 }).not.toShrinkRssAnonBy({ atLeast: 1 }))).toMatch(
      /expected a measurement/,
    );
    const m = shifted(1);
    expect(failure(() => expect(m).toGrowRssAnonBy(undefined as never))).toMatch(
      /bounds must be an object such as \{ atLeast: 9 \* MiB \}/,
    );
    expect(failure(() => expect(m).toGrowRssAnonBy({}))).toMatch(/give bounds\.atLeast, bounds\.atMost or both/);
    expect(failure(() => expect(m).not.toGrowRssAnonBy({ atLeast: -1 }))).toMatch(
      /bounds\.atLeast must be a non-negative number of bytes, received number -1/,
    );
    expect(failure(() => expect(m).toGrowRssAnonBy({ atLeast: 2 * MiB, atMost: MiB }))).toMatch(
      /atLeast \(2\.0 MiB\) is more than bounds\.atMost \(1\.0 MiB\)/,
    );
  });
});

describe('the program break', () => {
  it('heap growth moves it up; a noop and a mapped block do not move it', (context) => {
    // Now and then a Node process starts with a mapping right above its break (V8's code
    // range): glibc then grows the main arena with mmap'd memory and the break cannot move.
    const { room } = breakRoom();
    const grown = measure('16 MiB of 64 KiB blocks', () => allocBatch({ count: 256, size: 64 * KiB, fill: 1 }));
    const noop = measure('noop', () => undefined);
    const mapped = measure('malloc 64 MiB', () => malloc(64 * MiB));
    try {
      if (room < 20 * MiB) {
        expect(noop).not.toMoveBreak();
        expect(mapped).not.toMoveBreak();
        context.skip(`this worker's brk heap has ${room} bytes of room, too little to grow 16 MiB`);
      }
      expect(grown).toMoveBreak();
      expect(grown).toMoveBreak({ direction: 'up', atLeast: 15 * MiB });
      expect(noop).not.toMoveBreak();
      expect(mapped).not.toMoveBreak();

      expect(failure(() => expect(noop).toMoveBreak())).toMatch(
        /^expected the program break to move, but it stayed at 0x[0-9a-f]+ in "noop"$/,
      );
      expect(failure(() => expect(grown).not.toMoveBreak())).toMatch(
        /^expected the program break not to move, but it moved up by 1\d\.\d MiB \(0x[0-9a-f]+ → 0x[0-9a-f]+\) in "16 MiB of 64 KiB blocks"$/,
      );
      expect(failure(() => expect(grown).toMoveBreak({ direction: 'down' }))).toMatch(
        /^expected the program break to move down, but it moved up by/,
      );
      expect(failure(() => expect(grown).toMoveBreak({ atMost: 1 * MiB }))).toMatch(
        /^expected the program break to move by at most 1\.0 MiB, but it moved up by 1\d\.\d MiB/,
      );
    } finally {
      grown.result.release();
      free(mapped.result);
    }
  });

  it('a measurement without the break (trim()) is refused with what to use instead', () => {
    expect(failure(() => expect(trim()).toMoveBreak())).toMatch(
      /toMoveBreak: the measurement has no program break .* measure\(\)/,
    );
    expect(failure(() => expect(trim()).not.toMoveBreak())).toMatch(/has no program break/);
  });
});

describe('experiment claims', () => {
  let runs: ExperimentRun[];
  beforeAll(async () => {
    runs = await runExperiment(freeNotReturned, {
      worlds: [
        { host: 'node', heap: 'clean' },
        { host: 'fresh', heap: 'clean' },
        { host: 'fresh', heap: 'aged' },
      ],
    });
  }, 120_000);
  const clean = () => runs.filter((run) => run.heap === 'clean');

  it('passes on the verdicts this glibc gives, per host, world or heap, or on every run', () => {
    expect(clean()).toHaveClaim('free-keeps', 'confirmed');
    expect(clean()).toHaveClaim('free-keeps');
    expect(runs).toHaveClaim('trim-returns', 'confirmed');
    // A host alone means its clean heap; the aged heap is asked for by heap or world.
    expect(runs).toHaveClaim('free-keeps', 'confirmed', { host: 'fresh' });
    expect(runs).toHaveClaim('free-keeps', 'refuted', { heap: 'aged' });
    expect(runs).toHaveClaim('free-keeps', 'refuted', { world: 'aged/fresh' });
    expect(runs.find((run) => run.world === 'fresh')).toHaveClaim('page-free-returns', 'refuted');
    expect(runs).not.toHaveClaim('page-free-returns', 'confirmed');
  });

  it('fails with the claim, the verdict and the evidence of each run', () => {
    const message = failure(() => expect(runs).toHaveClaim('free-keeps', 'confirmed'));
    expect(message).toMatch(
      /^expected claim free-keeps \(".+"\) to be confirmed on every run, but:\n {2}free-not-returned in node: confirmed — .*\n {2}free-not-returned in fresh: confirmed — .*\n {2}free-not-returned in aged\/fresh: refuted — .*trimmed the top/s,
    );
    expect(failure(() => expect(runs).not.toHaveClaim('free-keeps', 'confirmed', { host: 'node' }))).toMatch(
      /^expected claim free-keeps \(".+"\) not to be confirmed, but:\n {2}free-not-returned in node: confirmed — /,
    );
  });

  it('a claim that does not exist, a host not run, a skipped run and a non-run fail even under .not', () => {
    expect(failure(() => expect(runs).not.toHaveClaim('free-kept', 'confirmed'))).toMatch(
      /free-not-returned in node has no claim "free-kept" \(its claims: malloc-grows, free-keeps, page-free-returns, trim-returns\)/,
    );
    const fresh = runs.filter((run) => run.host === 'fresh');
    expect(failure(() => expect(fresh).toHaveClaim('free-keeps', 'confirmed', { host: 'node' }))).toMatch(
      /no run in node clean \(runs given: fresh, aged\/fresh\)/,
    );
    const skipped = { ...fresh[0]!, claims: [], skipped: 'jemalloc is not installed' };
    expect(failure(() => expect(skipped).not.toHaveClaim('free-keeps', 'refuted'))).toMatch(
      /did not run, so claim free-keeps was not judged: jemalloc is not installed/,
    );
    expect(failure(() => expect(shifted(0)).toHaveClaim('free-keeps'))).toMatch(
      /expected an ExperimentRun or an array of them/,
    );
    expect(failure(() => expect(runs).toHaveClaim('free-keeps', 'yes' as never))).toMatch(
      /verdict must be one of confirmed, refuted, inconclusive/,
    );
  });
});

describe('registration', () => {
  it('installMatchers registers them on a given expect; mallocLabMatchers lists them', () => {
    const extended: object[] = [];
    installMatchers({ extend: (matchers) => extended.push(matchers) });
    expect(extended).toEqual([mallocLabMatchers]);
    expect(Object.keys(mallocLabMatchers).sort()).toEqual([
      'toGrowRssAnonBy',
      'toGrowRssBy',
      'toGrowVmSizeBy',
      'toHaveClaim',
      'toMoveBreak',
      'toShrinkRssAnonBy',
      'toShrinkRssBy',
      'toShrinkVmSizeBy',
    ]);
  });
});
