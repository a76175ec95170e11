// Seeds 001/004's heap corruption on both hosts: each misuse aborts its own child
// process (or, for free(a); free(b); free(a), goes unnoticed), and the parent lives on.
import { beforeAll, describe, expect, it } from 'vitest';

import {
  chunkSize,
  DUP_STEP,
  heapCorruption,
  INCREMENTED_STEPS,
} from '../../lib/experiments/catalogue/heap-corruption.js';
import { runOnHost } from '../../lib/experiments/framework/hosts.js';
import { StepProgram } from '../../lib/experiments/framework/program.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS } from './helpers.js';

const lab = experimentRuns();
const { variant, steps } = lab;

beforeAll(async () => lab.load(await runExperiment(heapCorruption)), 120_000);

describe('heap-corruption', () => {
  for (const host of HOSTS) {
    it(`${host}: writing past a's end into b's size field aborts only at free(b) (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('write-past-end', 'confirmed', { host });
      expect(variant(host, 'overwrite-header').signal).toBe('SIGABRT');
      expect(variant(host, 'overwrite-header').stderr).toContain('double free or corruption (out)');
      // b is right after a, and the write itself left a snapshot behind: it went unnoticed.
      const [a, b] = steps(host, 'overwrite-header')
        .find((s) => s.label === 'malloc(a), malloc(b)')!
        .ops.map((op) => op.value!);
      expect(b! - a!).toBe(chunkSize(24));
      expect(steps(host, 'overwrite-header').map((s) => s.label)).toContain("write past a's end");
      expect(steps(host, 'overwrite-header').map((s) => s.label)).not.toContain('free(b)');
    });

    it(`${host}: free(a) twice is caught by the tcache check (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('double-free', 'confirmed', { host });
      expect(variant(host, 'double-free').signal).toBe('SIGABRT');
      expect(variant(host, 'double-free').stderr).toContain('free(): double free detected in tcache 2');
      expect(lab.claim(host, 'double-free').evidence).toContain('free(): double free detected in tcache 2');
      // The steps before the crash are kept.
      expect(steps(host, 'double-free').map((s) => s.label)).toEqual(['thread started', 'malloc(a)', 'free(a)']);
    });

    it(`${host}: with the tcache bin full, free(a) twice is caught by the fastbin top check (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('double-free-fastbin', 'confirmed', { host });
      expect(variant(host, 'fastbin-double-free').stderr).toContain('double free or corruption (fasttop)');
      // a went to a fastbin: one chunk of a's size there before the second free.
      const before = steps(host, 'fastbin-double-free').find((s) => s.label === 'free(a)')!;
      expect(before.mallinfo['fsmblks']).toBe(chunkSize(24));
    });

    it(`${host}: free(a); free(b); free(a) goes undetected and malloc hands a out twice (refuted)`, () => {
      expect(lab.runs).toHaveClaim('double-free-fastbin-dup', 'refuted', { host });
      expect(variant(host, 'fastbin-dup').signal).toBeNull();
      expect(variant(host, 'fastbin-dup').exitCode).toBe(0);
      const mallocs = steps(host, 'fastbin-dup')
        .find((s) => s.label === DUP_STEP)!
        .ops.filter((op) => op.op === 'malloc');
      const [x, y, z] = mallocs.slice(-3).map((op) => op.value);
      expect(x).toBe(z);
      expect(y).not.toBe(x);
    });

    it(`${host}: a length field raised by a bad write makes the next malloc hand out a block overlapping its neighbour (confirmed)`, () => {
      expect(variant(host, 'length-incremented').completed).toBe(true);
      expect(variant(host, 'length-incremented').signal).toBeNull();
      const [a, b] = steps(host, 'length-incremented')
        .find((s) => s.label === INCREMENTED_STEPS.allocate)!
        .ops.map((op) => op.value!);
      const again = steps(host, 'length-incremented').find((s) => s.label === INCREMENTED_STEPS.again)!.ops;
      const c = again.find((op) => op.op === 'malloc')!.value!;
      const usable = again.find((op) => op.op === 'malloc_usable_size')!.value!;
      expect(b! - a!).toBe(chunkSize(24));
      expect(c).toBe(a);
      expect(c + usable).toBeGreaterThan(b!);
      expect(steps(host, 'length-incremented').find((s) => s.label === INCREMENTED_STEPS.read)!.ops[0]!.value).toBe(
        0x43,
      );
      expect(lab.runs).toHaveClaim('length-incremented-overlap', 'confirmed', { host });
    });

    it(`${host}: free() of a pointer inside a block aborts (confirmed)`, () => {
      expect(lab.runs).toHaveClaim('free-foreign', 'confirmed', { host });
      expect(variant(host, 'free-foreign').signal).toBe('SIGABRT');
      expect(variant(host, 'free-foreign').stderr).toContain('free(): invalid pointer');
    });
  }

  it('the crashes stay in the children: this process goes on running step programs', async () => {
    const aborted = lab.runs.flatMap((r) => r.variants).filter((v) => v.signal === 'SIGABRT');
    expect(aborted.length).toBe(8);
    const program = new StepProgram().step('malloc and free', (s) => s.malloc('a', 4096).fill('a', 1).free('a'));
    for (const host of HOSTS) {
      const after = await runOnHost(program, host);
      expect(after.completed).toBe(true);
      expect(after.signal).toBeNull();
      expect(after.steps[0]!.sample).toBeDefined();
    }
  }, 60_000);
});
