// The step interpreter: malformed programs are refused before any step runs, on
// both hosts; the fresh host is a process whose heap is untouched until the first
// step; records come back in order with the ops' results.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { startHeldRun, PAUSE_FD } from '../lib/experiments/framework/held-run.js';
import { hostExecutable, runOnHost } from '../lib/experiments/framework/hosts.js';
import { PROGRAM_MAGIC, StepProgram } from '../lib/experiments/framework/program.js';
import { native } from '../lib/infra/native.js';
import { MiB } from '../lib/infra/units.js';
import { readStatusOfPid } from '../lib/process/proc-files.js';

function raw(slots: number, steps: number[][], flags = 0): Float64Array {
  return Float64Array.from([
    PROGRAM_MAGIC,
    1,
    slots,
    1,
    flags,
    steps.length,
    ...steps.flatMap(([op, ...args]) => [op!, args.length, ...args]),
  ]);
}

// [program, what the message must say]
const malformed: [string, Float64Array, RegExp][] = [
  ['no header', Float64Array.from([1, 2, 3]), /not a step program/],
  ['unknown op', raw(1, [[99]]), /unknown op 99/],
  ['wrong argument count', raw(1, [[1, 0]]), /1 arguments \(expected 2\)/],
  ['a slot that does not exist', raw(1, [[1, 5, 16]]), /slot 5 does not exist/],
  ['free of a slot never allocated (dangling)', raw(2, [[4, 1]]), /holds no live block/],
  [
    'a step that frees twice',
    raw(1, [
      [1, 0, 16],
      [4, 0],
      [4, 0],
    ]),
    /step 2 \(free\).*freed twice/,
  ],
  [
    'malloc over a live slot (a leak)',
    raw(1, [
      [1, 0, 16],
      [1, 0, 16],
    ]),
    /still holds a live block/,
  ],
  ['negative size', raw(1, [[1, 0, -5]]), /negative/],
  ['fractional size', raw(1, [[1, 0, 1.5]]), /not an integer/],
  ['NaN argument', raw(1, [[1, 0, NaN]]), /not finite/],
  ['unknown mallopt param', raw(1, [[14, 42, 1]]), /unknown param 42/],
  [
    'heap corruption without the unsafe flag',
    raw(1, [
      [1, 0, 16],
      [40, 0],
    ]),
    /unsafe flag/,
  ],
  [
    'on_thread of a thread never started',
    raw(1, [
      [32, 0],
      [1, 0, 16],
    ]),
    /thread 0 is not running/,
  ],
  ['trailing values', Float64Array.from([...raw(1, [[22]]), 7]), /after the last step/],
];

describe('malformed step programs', () => {
  for (const [name, program, message] of malformed) {
    it(`${name}: refused in-process with ERR_BAD_PROGRAM, and by the fresh executable with exit 2`, () => {
      expect(() => native.validateProgram(program)).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_PROGRAM', message: expect.stringMatching(message) }),
      );
      const [fresh] = hostExecutable('fresh');
      const child = spawnSync(fresh!, [], { input: Buffer.from(program.buffer), encoding: 'utf8' });
      expect(child.status).toBe(2);
      expect(child.stderr).toMatch(message);
    });
  }
});

describe('the fresh host', () => {
  it('links no C++ runtime (libstdc++ would malloc 73 KiB before main)', () => {
    const [fresh] = hostExecutable('fresh');
    const libraries = execFileSync('ldd', [fresh!], { encoding: 'utf8' });
    expect(libraries).toMatch(/libc\.so\.6/);
    expect(libraries).not.toMatch(/libstdc\+\+/);
  });

  it('starts with an untouched heap, like a C program: the first snapshot sees no arena yet', async () => {
    const program = new StepProgram().step('start').step('one malloc', (s) => s.malloc('a', 16));
    const run = await runOnHost(program, 'fresh');
    expect(run.completed).toBe(true);
    expect(run.steps[0]!.sample!.mallinfo.arena).toBe(0);
    expect(run.steps[1]!.sample!.mallinfo.arena).toBeGreaterThan(0);
    expect(run.steps[1]!.sample!.brk).toBeGreaterThan(run.steps[0]!.sample!.brk);
  });
});

describe('runs on both hosts', () => {
  for (const host of ['fresh', 'node'] as const) {
    it(`${host}: ops report their results and a failing op stops the run with its errno`, async () => {
      const program = new StepProgram()
        .step('alloc', (s) => s.malloc('a', 100).malloc_usable_size('a').calloc('b', 4, 8).realloc('b', 4096))
        .step('huge', (s) => s.malloc('huge', 2 ** 52))
        .step('never reached', (s) => s.free('a'));
      const run = await runOnHost(program, host);
      const [malloc, usable, calloc, realloc] = run.steps[0]!.ops;
      expect(malloc!.status).toBe(0);
      expect(malloc!.value % 16).toBe(0);
      expect(usable!.value).toBeGreaterThanOrEqual(100);
      expect(calloc!.value).toBeGreaterThan(0);
      expect(realloc!.status).toBe(0);
      expect(run.failure).toEqual({ label: 'huge', op: 'malloc', status: 12 });
      expect(run.steps[2]!.sample).toBeUndefined();
      expect(run.completed).toBe(true); // the end record still arrives
      expect(run.exitCode).toBe(1);
    });

    it(`${host}: a program runs its ops on a native thread, whose first malloc makes a new arena`, async () => {
      const program = new StepProgram()
        .step('arenas before', (s) => s.arenas())
        .step('thread malloc', (s) =>
          s
            .threadStart(0)
            .onThread(0, (t) => t.malloc('t', 1024))
            .arenas(),
        )
        .step('stopped', (s) => s.free('t').threadStop(0));
      const run = await runOnHost(program, host);
      expect(run.failure).toBeUndefined();
      const before = run.steps[0]!.ops[0]!.value;
      const after = run.steps[1]!.ops.find((op) => op.op === 'arenas')!.value;
      expect(after).toBe(before + 1);
    });

    it(`${host}: pause holds the state built so far until the parent lets it go on`, async () => {
      const program = new StepProgram()
        .step('built', (s) => s.malloc('a', 4 * MiB).fill('a', 1))
        .step('held', (s) => s.pause(PAUSE_FD))
        .step('after', (s) => s.free('a'));
      const run = startHeldRun(program, host);
      try {
        const seen = await run.reached('built');
        expect(seen.steps[1]!.sample).toBeUndefined();
        // Held: the block is still resident in the live child, and the next step has not run.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(readStatusOfPid(run.pid).RssAnon).toBeGreaterThanOrEqual(4 * MiB * 0.9);
        run.resume();
        const done = await run.finished;
        expect(done.failure).toBeUndefined();
        expect(done.steps[2]!.sample).toBeDefined();
        expect(done.exitCode).toBe(0);
      } finally {
        run.kill();
      }
    });
  }
});

describe('nothing runs between steps but the steps', () => {
  it('node host: 500 steps (half of them malloc(64)+free) see the same in-use bytes, arena and VmSize at every snapshot', async () => {
    // One native call runs the whole program: no JS (hence no V8 allocation or
    // GC, and no measuring code) can run between two steps. Any allocation on
    // the glibc heap or growth of V8's heap would show as a changed value here.
    const program = new StepProgram();
    for (let i = 0; i < 500; i++)
      program.step(`step ${i}`, (s) => {
        if (i % 2 === 1) s.malloc('a', 64).free('a');
      });
    const run = await runOnHost(program, 'node');
    const distinct = (read: (i: number) => number) => new Set(run.steps.map((_, i) => read(i))).size;
    expect(run.steps.every((step) => step.sample !== undefined)).toBe(true);
    expect(distinct((i) => run.steps[i]!.sample!.mallinfo.uordblks)).toBe(1);
    expect(distinct((i) => run.steps[i]!.sample!.mallinfo.arena)).toBe(1);
    expect(distinct((i) => run.steps[i]!.sample!.status.VmSize)).toBe(1);
  });
});
