// Crash containment. What can abort a process by design — glibc's own heap-corruption
// checks, a wild write — happens only in a child process. The parent survives, and
// reports the child's signal and glibc's message; in the parent the same mistakes are
// refused with a typed error before glibc ever sees them.
import { describe, expect, it } from 'vitest';

import { runOnHost, type HostName } from '../lib/experiments/framework/hosts.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import * as lab from '../lib/index.js';
import { native } from '../lib/infra/native.js';
import { thrown } from './helpers.js';

interface Crash {
  name: string;
  /** Default: both hosts. */
  hosts?: HostName[];
  program: () => StepProgram;
  signal: NodeJS.Signals;
  /** glibc's message on the child's stderr (none for a plain segfault). */
  message?: RegExp;
  /** The last step that completed (its snapshot arrived) before the crash. */
  lastStep: string;
}

const crashes: Crash[] = [
  {
    name: 'a double free (tcache)',
    program: () =>
      new StepProgram({ unsafe: true })
        .step('malloc', (s) => s.malloc('a', 24))
        .step('free', (s) => s.free('a'))
        .step('free again', (s) => s.unsafeFree('a')),
    signal: 'SIGABRT',
    message: /free\(\): double free detected in tcache 2/,
    lastStep: 'free',
  },
  {
    name: 'free of a pointer malloc never returned (block + 16)',
    program: () =>
      new StepProgram({ unsafe: true })
        .step('malloc', (s) => s.malloc('a', 64))
        .step('free foreign', (s) => s.freeForeign('a', 16)),
    signal: 'SIGABRT',
    message: /free\(\): invalid (pointer|size)/,
    lastStep: 'malloc',
  },
  {
    // In a fresh process a and b are adjacent; in Node's used heap they may not be.
    hosts: ['fresh'],
    name: "an overflow that overwrites the next chunk's size",
    program: () =>
      new StepProgram({ unsafe: true })
        .step('malloc two', (s) => s.malloc('a', 24).malloc('b', 24))
        // 24 bytes of a, then the 8-byte size field of b's chunk, zeroed.
        .step('overflow', (s) => s.unsafeWrite('a', 24, 8, 0))
        .step('free b', (s) => s.free('b')),
    signal: 'SIGABRT',
    message: /free\(\): invalid (pointer|size)/,
    lastStep: 'overflow',
  },
  {
    name: 'a write far past the block (segmentation fault)',
    program: () =>
      new StepProgram({ unsafe: true })
        .step('malloc', (s) => s.malloc('a', 16))
        .step('wild write', (s) => s.unsafeWrite('a', 2 ** 40, 8, 1)),
    signal: 'SIGSEGV',
    lastStep: 'malloc',
  },
];

describe('crashes happen only in child processes', () => {
  for (const crash of crashes) {
    for (const host of crash.hosts ?? (['node', 'fresh'] as HostName[])) {
      it(`${host}: ${crash.name} kills the child with ${crash.signal}; the parent reports it and carries on`, async () => {
        const registryBefore = lab.registryStats();
        const parentBlock = lab.malloc(64);
        lab.fill(parentBlock, 3);

        const run = await runOnHost(crash.program(), host, { timeoutMs: 30_000 });

        expect(run.signal).toBe(crash.signal);
        expect(run.exitCode).toBeNull();
        if (crash.message) expect(run.stderr).toMatch(crash.message);
        // The records the child wrote before it died arrive; the run did not complete.
        expect(run.completed).toBe(false);
        const finished = run.steps.filter((step) => step.sample !== undefined).map((step) => step.label);
        expect(finished.at(-1)).toBe(crash.lastStep);
        // The parent is alive and its heap and registry are untouched by the child's crash.
        expect(lab.read(parentBlock, 0, 4)).toEqual(new Uint8Array([3, 3, 3, 3]));
        lab.free(parentBlock);
        expect(lab.registryStats()).toEqual(registryBefore);
      });
    }
  }

  it('the parent refuses the same mistakes with typed errors, before glibc sees them', () => {
    const a = lab.malloc(24);
    lab.free(a);
    expect(thrown(() => lab.free(a)).code).toBe('ERR_FREED_POINTER');
    const b = lab.malloc(64);
    expect(thrown(() => lab.free(b + 16n)).code).toBe('ERR_INTERIOR_POINTER');
    expect(thrown(() => lab.write(b, new Uint8Array(8), 64)).code).toBe('ERR_OUT_OF_BOUNDS');
    expect(thrown(() => lab.fill(b, 1, { offset: 2 ** 40, length: 8 })).code).toBe('ERR_OUT_OF_BOUNDS');
    lab.free(b);
  });

  it('heap-corrupting ops are refused without the unsafe flag, and no public function runs a program in-process', () => {
    const program = new StepProgram().step('malloc', (s) => s.malloc('a', 24)).step('free', (s) => s.free('a'));
    const corrupting = [
      new StepProgram().step('x', (s) => s.malloc('a', 24).free('a').unsafeFree('a')),
      new StepProgram().step('x', (s) => s.malloc('a', 24).unsafeWrite('a', 24, 8, 0xff)),
      new StepProgram().step('x', (s) => s.malloc('a', 24).freeForeign('a', 16)),
    ];
    expect(() => native.validateProgram(program.encode())).not.toThrow();
    for (const unsafe of corrupting) {
      expect(() => native.validateProgram(unsafe.encode())).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_PROGRAM', message: expect.stringMatching(/unsafe flag/) }),
      );
    }
    // The package's API has no way to run a step program in this process: only hosts
    // (children) do. It builds programs (StepProgram) and runs them with runOnHost.
    expect(Object.keys(lab).filter((name) => /runProgram|native|unsafe/i.test(name))).toEqual([]);
  });

  it('a child that hangs is killed at its timeout and reported, the parent unharmed', async () => {
    const program = new StepProgram().step('sleep', (s) => s.sleep(60_000));
    const run = await runOnHost(program, 'fresh', { timeoutMs: 500 });
    expect(run.signal).toBe('SIGKILL');
    expect(run.completed).toBe(false);
    expect(run.durationMs).toBeLessThan(30_000);
  });
});
