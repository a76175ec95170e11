// explain against a known state, on both hosts. A step program builds it in a
// child that stays alive (pause steps): four threads with 8 MiB filled in their
// own arenas, a main heap of 32 KiB blocks with every other one freed, and a
// 32 MiB mmapped block. explain reads the child from outside twice, before and
// after the build, and each class must have moved by the known bytes within
// max(5 %, 256 KiB); the arena count must equal what glibc itself lists
// (malloc_stats, in the child), the stacks the threads that exist, and the
// classes must add up to smaps_rollup's Rss.
import { afterAll, describe, expect, it } from 'vitest';

import { PAUSE_FD, startHeldRun, type HeldRun } from '../lib/experiments/framework/held-run.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { explainProcess } from '../lib/process/explain/explain.js';
import type { ExplainReport } from '../lib/process/explain/types.js';
import { readSmapsRollupOfPid, readStatusOfPid } from '../lib/process/proc-files.js';
import { KiB, MiB } from './helpers.js';

const THREADS = 4;
const THREAD_BLOCKS = 128;
const THREAD_BLOCK = 64 * KiB;
const MAIN_BLOCKS = 1024;
const MAIN_BLOCK = 32 * KiB;
const BIG = 32 * MiB;

/** The state of the issue: four threads, a fragmented main heap, a 32 MiB mmapped block. */
export function knownStateProgram(): StepProgram {
  const program = new StepProgram();
  program.step('baseline', (s) => s.arenas());
  program.step('hold baseline', (s) => s.pause(PAUSE_FD));
  program.step('threads', (s) => {
    for (let t = 0; t < THREADS; t++) s.threadStart(t);
    for (let t = 0; t < THREADS; t++) {
      s.onThread(t, (on) => on.batchAlloc(`thread ${t}`, THREAD_BLOCKS, [{ size: THREAD_BLOCK, fill: 1 }]));
    }
  });
  program.step('fragment', (s) =>
    s.batchAlloc('main', MAIN_BLOCKS, [{ size: MAIN_BLOCK, fill: 2 }]).batchFree('main', { step: 2 }),
  );
  program.step('mmapped', (s) => s.malloc('big', BIG).fill('big', 3));
  program.step('built', (s) => s.arenas());
  program.step('hold built', (s) => s.pause(PAUSE_FD));
  return program;
}

const tolerance = (known: number) => Math.max(0.05 * known, 256 * KiB);

function classOf(report: ExplainReport, name: string) {
  const found = report.classes.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no class ${name}`);
  return found;
}

function part(report: ExplainReport, name: string, kind: string) {
  return (
    classOf(report, name).parts.find((entry) => entry.kind === kind) ?? { count: 0, residentBytes: 0, reservedBytes: 0 }
  );
}

/** Measured vs expected per class, kept for the closing note (printed at the end). */
const measured: string[] = [];

const runs: HeldRun[] = [];
afterAll(() => {
  for (const run of runs) run.kill();
  if (measured.length > 0) process.stdout.write(`\nexplain ground truth:\n${measured.join('\n')}\n`);
});

describe.each(['fresh', 'node'] as const)('explain on the %s host, against a known state', (host) => {
  it('classes move by the known bytes, arenas and stacks are counted exactly, the sum is smaps_rollup', async () => {
    const run = startHeldRun(knownStateProgram(), host);
    runs.push(run);
    const atBaseline = await run.reached('baseline');
    const before = await explainProcess(run.pid, { agent: false });
    run.resume();
    const atBuilt = await run.reached('built');
    const after = await explainProcess(run.pid, { agent: false });
    const rollup = readSmapsRollupOfPid(run.pid).Rss;
    const status = readStatusOfPid(run.pid);
    run.resume();
    const finished = await run.finished;
    expect(finished.failure).toBeUndefined();

    const arenasBefore = atBaseline.steps[0]!.ops[0]!.value;
    const arenasAfter = atBuilt.steps.find((step) => step.label === 'built')!.ops[0]!.value;
    expect(arenasAfter).toBe(arenasBefore + THREADS);

    // Arena count: what glibc lists inside (malloc_stats) equals what heap_info says outside.
    expect(before.glibc!.arenas.countedBy).toBe('heap_info');
    expect(before.glibc!.arenas.count).toBe(arenasBefore);
    expect(after.glibc!.arenas.count).toBe(arenasAfter);

    const delta = (name: string) => classOf(after, name).residentBytes - classOf(before, name).residentBytes;
    const expected: [string, number, number][] = [
      ['glibc-main-heap', MAIN_BLOCKS * MAIN_BLOCK, delta('glibc-main-heap')],
      ['glibc-arenas', THREADS * THREAD_BLOCKS * THREAD_BLOCK, delta('glibc-arenas')],
      [
        'anonymous-mmap (malloc chunks)',
        BIG,
        part(after, 'anonymous-mmap', 'malloc-chunk').residentBytes -
          part(before, 'anonymous-mmap', 'malloc-chunk').residentBytes,
      ],
      // Each new thread touches a few pages of its 8 MiB stack.
      ['thread-stacks', 0, delta('thread-stacks')],
    ];
    for (const [name, known, got] of expected) {
      measured.push(
        `  ${host.padEnd(5)} ${name.padEnd(31)} expected ${(known / MiB).toFixed(3).padStart(8)} MiB  measured ${(got / MiB).toFixed(3).padStart(8)} MiB  (off by ${((got - known) / KiB).toFixed(0)} KiB; allowed ${(tolerance(known) / KiB).toFixed(0)} KiB)`,
      );
      expect(Math.abs(got - known), `${name}: measured ${got}, expected ${known}`).toBeLessThanOrEqual(
        tolerance(known),
      );
    }

    // The 32 MiB block is one mapping of its own, confirmed by its chunk header.
    expect(part(after, 'anonymous-mmap', 'malloc-chunk').count).toBe(
      part(before, 'anonymous-mmap', 'malloc-chunk').count + 1,
    );
    // Stacks: one per thread (the main thread's [stack] included), each by its stack pointer.
    expect(after.threads.count).toBe(status.Threads);
    expect(after.threads.stacks.filter((stack) => stack.foundBy !== 'cache')).toHaveLength(status.Threads);
    expect(after.threads.unplaced).toEqual([]);
    const threadStacks = classOf(after, 'thread-stacks').reservedBytes - classOf(before, 'thread-stacks').reservedBytes;
    // Each thread stack reserves its size plus a guard page: RLIMIT_STACK (8 MiB here) + 4 KiB.
    expect(threadStacks).toBeGreaterThanOrEqual(THREADS * 8 * MiB);
    expect(threadStacks).toBeLessThanOrEqual(THREADS * (8 * MiB + 64 * KiB));

    // Every resident byte is in one class: the classes add up to smaps_rollup's Rss.
    const sum = after.classes.reduce((total, entry) => total + entry.residentBytes, 0);
    expect(sum).toBe(after.totals.residentBytes);
    expect(after.totals.rollupRssBytes).toBe(after.totals.residentBytes);
    measured.push(`  ${host.padEnd(5)} sum of classes ${sum} B, smaps_rollup Rss ${rollup} B (read again after)`);
    expect(Math.abs(rollup - sum)).toBeLessThanOrEqual(host === 'fresh' ? 0 : 64 * KiB);

    // glibc's own mmapped-chunk count (mp_, read from outside) agrees with the headers found.
    expect(after.glibc!.parameters).not.toBeNull();
    expect(after.glibc!.parameters!.mmappedChunks).toBeGreaterThanOrEqual(1);
    expect(after.glibc!.parameters!.mmappedBytes).toBeGreaterThanOrEqual(BIG);
  });
});
