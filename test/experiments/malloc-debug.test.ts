// Seed 004's malloc debugging on both hosts: mtrace's log read back into a leak report,
// mcheck and MALLOC_CHECK_ against a one-byte overflow (in children), and what the
// debugging malloc costs, all from the numbers each run recorded.
import { beforeAll, describe, expect, it } from 'vitest';

import { checkCanary, mallocDebug, STEPS } from '../../lib/experiments/catalogue/malloc-debug.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { parseMtraceLog } from '../../lib/glibc/mtrace-log.js';
import { MCHECK_STATUS } from '../../lib/glibc/process-constants.js';
import { experimentRuns, HOSTS } from './helpers.js';

const COUNT = 200_000;
const SIZE = 24;

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(mallocDebug)), 120_000);

describe('malloc-debug', () => {
  for (const host of HOSTS) {
    it(`${host}: the mtrace log, read back, reports the one block never freed and names its step`, () => {
      const log = lab.variant(host, 'debug').captured!['MALLOC_TRACE']!;
      expect(log).toMatch(/^= Start$/m);
      expect(log).toMatch(/^= End$/m);
      const cache = lab.ops(host, STEPS.cache, 'malloc', 'debug')[0]!.value!;
      const ours = parseMtraceLog(log).leaks.filter((block) =>
        lab.steps(host, 'debug').some((s) => s.ops.some((o) => o.op === 'malloc' && o.value === Number(block.address))),
      );
      expect(ours.map((block) => [Number(block.address), block.size])).toEqual([[cache, 3000]]);
      expect(lab.claim(host, 'mtrace-leak-report').verdict).toBe('confirmed');
      expect(lab.claim(host, 'mtrace-leak-report').evidence).toContain(STEPS.cache);
    });

    it(`${host}: without MALLOC_TRACE mtrace() opens nothing; without the preload nothing is traced or checked`, () => {
      const opened =
        lab.step(host, STEPS.mtrace, 'mcheck').mallinfo['uordblks']! -
        lab.step(host, STEPS.mcheck, 'mcheck').mallinfo['uordblks']!;
      expect(opened).toBe(0);
      expect(lab.claim(host, 'mtrace-needs-env').verdict).toBe('confirmed');
      expect(lab.variant(host, 'plain').captured).toEqual({ MALLOC_TRACE: null });
      expect(lab.ops(host, STEPS.mcheck, 'mcheck', 'plain')[0]!.value).toBe(-1);
      expect(lab.variant(host, 'plain').completed).toBe(true);
      expect(lab.variant(host, 'plain').signal).toBeNull();
      expect(lab.claim(host, 'debug-needs-preload').verdict).toBe('confirmed');
    });

    it(`${host}: MALLOC_CHECK_=3 aborts at free() of a block overflowed by one byte, which plain glibc lets pass`, () => {
      expect(lab.steps(host, 'plain').map((s) => s.label)).toContain(STEPS.free);
      const debug = lab.variant(host, 'debug');
      // The check misses only when this block's canary, derived from its address, is the very
      // byte written (0): about one address in 256. Then free() accepts the block.
      const block = lab.ops(host, STEPS.probe, 'malloc', 'debug')[0]!.value!;
      if (checkCanary(block) === 0) {
        expect(debug.signal).toBeNull();
        expect(lab.steps(host, 'debug').map((s) => s.label)).toContain(STEPS.free);
        expect(lab.claim(host, 'check-catches-overflow').verdict).toBe('inconclusive');
        return;
      }
      expect(debug.signal).toBe('SIGABRT');
      expect(debug.stderr).toContain('free(): invalid pointer');
      expect(lab.steps(host, 'debug').map((s) => s.label)).not.toContain(STEPS.free);
      expect(lab.claim(host, 'check-catches-overflow').verdict).toBe('confirmed');
    });

    it(`${host}: the debugging malloc takes more memory (one more byte a request) and more CPU`, () => {
      const grown = (name: string) =>
        lab.step(host, STEPS.allocate(COUNT, SIZE), name).mallinfo['uordblks']! -
        lab.step(host, STEPS.muntrace, name).mallinfo['uordblks']!;
      // 24-byte requests: 32-byte chunks plain, 48 with the canary byte.
      expect(grown('debug') / grown('plain')).toBeCloseTo(48 / 32, 2);
      expect(lab.claim(host, 'debug-costs-memory').verdict).toBe('confirmed');
      const cpu = (name: string) =>
        [STEPS.allocate(COUNT, SIZE), STEPS.release(COUNT)]
          .map((label) => {
            const [start, end] = lab.ops(host, label, 'clock', name);
            return end!.value2! - start!.value2!;
          })
          .reduce((a, b) => a + b);
      // A ratio measured in this run, reported as such: the verdict follows it.
      expect(lab.claim(host, 'debug-costs-time').verdict).toBe(cpu('debug') > cpu('plain') ? 'confirmed' : 'refuted');
      expect(lab.claim(host, 'debug-costs-time').evidence).toMatch(/\d\.\d\d×/);
    });
  }

  it('fresh: mcheck(NULL) before the first malloc catches the write at mprobe(); the read before it goes unseen', () => {
    expect(lab.ops('fresh', STEPS.mcheck, 'mcheck', 'mcheck')[0]!.value).toBe(0);
    expect(lab.ops('fresh', STEPS.read, 'mprobe', 'mcheck')[0]!.value).toBe(MCHECK_STATUS.MCHECK_OK);
    expect(lab.variant('fresh', 'mcheck').signal).toBe('SIGABRT');
    expect(lab.variant('fresh', 'mcheck').stderr).toContain('memory clobbered past end of allocated block');
    expect(lab.claim('fresh', 'mcheck-catches-write').verdict).toBe('confirmed');
    expect(lab.claim('fresh', 'mcheck-misses-read').verdict).toBe('refuted');
  });

  it('node: mcheck(NULL) comes too late (Node has called malloc), so both mcheck claims are inconclusive', () => {
    expect(lab.ops('node', STEPS.mcheck, 'mcheck', 'mcheck')[0]!.value).toBe(-1);
    expect(lab.ops('node', STEPS.mprobe, 'mprobe', 'mcheck')[0]!.value).toBe(MCHECK_STATUS.MCHECK_DISABLED);
    expect(lab.variant('node', 'mcheck').completed).toBe(true);
    expect(lab.claim('node', 'mcheck-catches-write').verdict).toBe('inconclusive');
    expect(lab.claim('node', 'mcheck-misses-read').verdict).toBe('inconclusive');
  });
});
