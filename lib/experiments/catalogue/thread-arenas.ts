/**
 * Seed 000's second program: create a thread, malloc(1024) on it (again a few
 * seconds later), create a second thread that does the same. The seed says a
 * thread costs about `ulimit -s` of virtual memory, its first malloc makes VmSize
 * jump by 64 MiB (its own arena), and a second malloc adds nothing; glibc makes
 * up to 8 × cores arenas, capped by MALLOC_ARENA_MAX / mallopt(M_ARENA_MAX).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import { MiB } from '../../infra/units.js';
import { bytes, delta, ops, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters, Variant } from '../framework/types.js';

/** HEAP_MAX_SIZE on 64-bit: each non-main arena heap reserves this much address space. */
const ARENA_RESERVATION = 64 * MiB;

function seedProgram(parameters: Parameters): StepProgram {
  const program = new StepProgram();
  program.step('start', (s) => s.arenas());
  program.step('thread created', (s) => s.threadStart(0).arenas());
  program.step('Thread malloc', (s) => s.onThread(0, (t) => t.malloc('first', parameters['block']!)).arenas());
  program.step('Thread malloc again', (s) => s.onThread(0, (t) => t.malloc('again', parameters['block']!)).arenas());
  program.step('Creating Another thread', (s) => s.threadStart(1).arenas());
  program.step('second thread malloc', (s) => s.onThread(1, (t) => t.malloc('second', parameters['block']!)).arenas());
  return program;
}

/** Threads each malloc once, until past the cap; cap settings apply before any thread. */
export function crowdProgram(threads: number, block: number, arenaMaxByMallopt?: number): StepProgram {
  const program = new StepProgram();
  program.step('start', (s) => {
    if (arenaMaxByMallopt !== undefined) s.mallopt(MALLOPT_PARAMS.M_ARENA_MAX, arenaMaxByMallopt);
    s.arenas();
  });
  program.step(`${threads} threads malloc`, (s) => {
    for (let t = 0; t < threads; t++) s.threadStart(t).onThread(t, (on) => on.malloc(`block${t}`, block));
    s.arenas();
  });
  return program;
}

/** Two threads make arenas, then mallopt(M_ARENA_MAX, 1): existing arenas stay. */
function lateCapProgram(block: number): StepProgram {
  const program = new StepProgram();
  program.step('start', (s) => s.arenas());
  program.step('2 threads malloc', (s) => {
    for (let t = 0; t < 2; t++) s.threadStart(t).onThread(t, (on) => on.malloc(`block${t}`, block));
    s.arenas();
  });
  program.step('mallopt(M_ARENA_MAX, 1)', (s) => s.mallopt(MALLOPT_PARAMS.M_ARENA_MAX, 1).arenas());
  program.step('a third thread mallocs', (s) =>
    s
      .threadStart(2)
      .onThread(2, (on) => on.malloc('block2', block))
      .arenas(),
  );
  return program;
}

export const arenasAfter = (c: ClaimContext, variant: string, label: string) =>
  ops(c, variant, label, 'arenas')[0]?.value ?? NaN;

export const threadArenas: ExperimentDefinition = {
  id: 'thread-arenas',
  title: "a thread's first malloc reserves a 64 MiB arena; arena caps",
  seeds: ['000'],
  description:
    "Seed 000's thread program (thread, malloc(1024) twice, a second thread), many threads up to the 8 × cores cap, and arena_max = 1 by mallopt, env and tunable.",
  parameters: [
    { name: 'block', description: 'bytes each thread mallocs (the seed: 1024)', default: 1024 },
    {
      name: 'threads',
      description: 'threads for the cap variants (default: 8 × CPUs + 4)',
      default: 8 * cpus().length + 4,
    },
  ],
  variants: (p): Variant[] => [
    { name: 'seed', description: "seed 000's thread program", program: seedProgram(p) },
    {
      name: 'crowd',
      description: `${p['threads']} threads, default cap`,
      program: crowdProgram(p['threads']!, p['block']!),
    },
    {
      name: 'mallopt',
      description: 'mallopt(M_ARENA_MAX, 1) before the threads',
      program: crowdProgram(p['threads']!, p['block']!, 1),
    },
    {
      name: 'env',
      description: 'MALLOC_ARENA_MAX=1',
      program: crowdProgram(p['threads']!, p['block']!),
      env: { MALLOC_ARENA_MAX: '1' },
    },
    {
      name: 'tunable',
      description: 'GLIBC_TUNABLES=glibc.malloc.arena_max=1',
      program: crowdProgram(p['threads']!, p['block']!),
      env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' },
    },
    {
      name: 'late-cap',
      description: 'mallopt(M_ARENA_MAX, 1) after two threads made arenas',
      program: lateCapProgram(p['block']!),
    },
  ],
  claims: [
    {
      id: 'thread-costs-stack',
      claim:
        'When a thread is created, the virtual memory of the process grows by about `ulimit -s`, the thread stack size.',
      judge: (c) => {
        const grown = delta(c, 'seed', 'start', 'thread created', 'VmSize');
        const stack = threadStackSize();
        return verdict(
          grown >= stack && grown <= stack + 2 * MiB,
          `VmSize grew by ${bytes(grown)} for a thread stack of ${bytes(stack)} (RLIMIT_STACK soft limit, inherited by the run; glibc adds a guard page)`,
        );
      },
    },
    {
      id: 'first-malloc-64mib',
      claim: "A thread's first malloc(1K) makes the process's memory grow by 64M (a new arena); RSS grows little.",
      judge: (c) => {
        const vm = delta(c, 'seed', 'thread created', 'Thread malloc', 'VmSize');
        const rss = delta(c, 'seed', 'thread created', 'Thread malloc', 'RssAnon');
        const before = arenasAfter(c, 'seed', 'thread created');
        const after = arenasAfter(c, 'seed', 'Thread malloc');
        const newArena = after === before + 1;
        const holds = newArena && vm >= ARENA_RESERVATION * 0.9 && vm <= ARENA_RESERVATION * 1.1 && rss < 1 * MiB;
        return verdict(
          holds,
          `arenas ${before} → ${after}; VmSize ${bytes(vm)} (a non-main arena heap reserves ${bytes(ARENA_RESERVATION)} of address space, HEAP_MAX_SIZE), RssAnon ${bytes(rss)}` +
            (newArena ? '' : ': the thread reused an existing arena (the process already had arenas free for reuse)'),
        );
      },
    },
    {
      id: 'second-malloc-free',
      claim: 'A second malloc on the same thread does not grow memory.',
      judge: (c) => {
        const vm = delta(c, 'seed', 'Thread malloc', 'Thread malloc again', 'VmSize');
        return verdict(vm === 0, `VmSize changed by ${bytes(vm)}: the thread's arena already has room`);
      },
    },
    {
      id: 'cap-holds',
      claim: 'On 64-bit machines the number of arenas is at most 8 × the number of cores.',
      judge: (c) => {
        const cap = 8 * cpus().length;
        const count = arenasAfter(c, 'crowd', `${c.parameters['threads']} threads malloc`);
        return verdict(
          count <= cap && count >= Math.min(cap, 2),
          `${c.parameters['threads']} threads each malloc'd: ${count} arenas for a cap of 8 × ${cpus().length} = ${cap}`,
        );
      },
    },
    {
      id: 'arena-max-agree',
      claim:
        'MALLOC_ARENA_MAX (and mallopt(M_ARENA_MAX, …)) caps the arenas regardless of cores: with 1, all threads share the main arena.',
      judge: (c) => {
        const label = `${c.parameters['threads']} threads malloc`;
        const counts = ['mallopt', 'env', 'tunable'].map((variant) => arenasAfter(c, variant, label));
        const [byMallopt, byEnv, byTunable] = counts;
        const beforeMallopt = arenasAfter(c, 'mallopt', 'start');
        return verdict(
          counts.every((count) => count === 1),
          `arenas with arena_max = 1 by mallopt: ${byMallopt}, by MALLOC_ARENA_MAX: ${byEnv}, by GLIBC_TUNABLES: ${byTunable}` +
            (beforeMallopt > 1
              ? `; the process already had ${beforeMallopt} arenas when mallopt ran (Node's own threads made them at start-up), and a run-time cap cannot remove them — only the env and tunable forms, read at start-up, hold`
              : ''),
        );
      },
    },
    {
      id: 'late-cap-keeps-arenas',
      claim: "mallopt(M_ARENA_MAX) at run time cannot remove arenas that already exist (malloc-lab's own claim).",
      judge: (c) => {
        const before = arenasAfter(c, 'late-cap', '2 threads malloc');
        const after = arenasAfter(c, 'late-cap', 'a third thread mallocs');
        return verdict(
          after >= before && before > 1,
          `arenas after two threads: ${before}; after mallopt(M_ARENA_MAX, 1) and a third thread: ${after}`,
        );
      },
    },
  ],
};

/**
 * The stack glibc gives a new thread: the RLIMIT_STACK soft limit the run
 * inherits from this process, or 2 MiB (x86_64's default) when it is unlimited.
 */
function threadStackSize(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /^Max stack size\s+(\S+)/m.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? 2 * MiB : Number(soft);
}
