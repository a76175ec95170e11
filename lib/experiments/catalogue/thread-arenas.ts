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
import { defaultArenaMax, HEAP_MAX_SIZE, PAGE } from '../../glibc/model.js';
import { MiB } from '../../infra/units.js';
import { bytes, delta, MissingMeasurement, ops, plural, verdict } from '../framework/observe.js';
import { designedSettings, glibcAllocator, runParameters } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters, Variant } from '../framework/types.js';

/** The cap these claims read: 8 × the online CPUs, unless arena_max is set. */
const defaultCap = () => defaultArenaMax(cpus().length);

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

/** The step of crowdProgram at which its threads have malloc'd. */
export const crowdLabel = (threads: number) => `${threads} threads malloc`;

/** Threads each malloc once, until past the cap; cap settings apply before any thread. */
export function crowdProgram(threads: number, block: number, arenaMaxByMallopt?: number): StepProgram {
  const program = new StepProgram();
  program.step('start', (s) => {
    if (arenaMaxByMallopt !== undefined) s.mallopt(MALLOPT_PARAMS.M_ARENA_MAX, arenaMaxByMallopt);
    s.arenas();
  });
  program.step(crowdLabel(threads), (s) => {
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

/** The arenas malloc_stats listed after a step. */
export function arenasAfter(c: ClaimContext, variant: string, label: string): number {
  const value = ops(c, variant, label, 'arenas')[0]?.value;
  if (value === undefined || !Number.isFinite(value))
    throw new MissingMeasurement(`no arena count after "${label}" in variant ${variant}`);
  return value;
}

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
      default: defaultCap() + 4,
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
        const beyond = grown - stack;
        return verdict(
          grown >= stack && grown <= stack + 2 * MiB,
          `VmSize grew by ${bytes(grown)} for a thread stack of ${bytes(stack)} (the RLIMIT_STACK soft limit the run inherits)` +
            (beyond === PAGE
              ? ': the stack and one page more, the guard page glibc maps below it'
              : beyond > 0
                ? `, ${bytes(beyond)} more than the stack`
                : ''),
        );
      },
    },
    {
      id: 'first-malloc-64mib',
      claim: "A thread's first malloc(1K) makes the process's memory grow by 64M (a new arena); RSS grows little.",
      requires: [glibcAllocator(['seed']), designedSettings(['arena_max', 'arena_test'], ['seed'])],
      judge: (c): Judgement => {
        const vm = delta(c, 'seed', 'thread created', 'Thread malloc', 'VmSize');
        const rss = delta(c, 'seed', 'thread created', 'Thread malloc', 'RssAnon');
        const before = arenasAfter(c, 'seed', 'thread created');
        const after = arenasAfter(c, 'seed', 'Thread malloc');
        if (after === before) {
          return {
            verdict: 'inconclusive',
            evidence: `no arena was made (arenas ${before} → ${after}; VmSize ${bytes(vm)}): the thread was given one of the ${plural(before, 'arena')} the process already had, so its first malloc did not need a new one`,
          };
        }
        const reserved = vm >= HEAP_MAX_SIZE * 0.9 && vm <= HEAP_MAX_SIZE * 1.1;
        return verdict(
          after === before + 1 && reserved && rss < 1 * MiB,
          `arenas ${before} → ${after}; VmSize ${bytes(vm)}` +
            (reserved
              ? ` (the new arena's heap reserves HEAP_MAX_SIZE, ${bytes(HEAP_MAX_SIZE)}, of address space)`
              : '') +
            `, RssAnon ${bytes(rss)}`,
        );
      },
    },
    {
      id: 'second-malloc-free',
      claim: 'A second malloc on the same thread does not grow memory.',
      requires: [glibcAllocator(['seed'])],
      judge: (c) => {
        const vm = delta(c, 'seed', 'Thread malloc', 'Thread malloc again', 'VmSize');
        const rss = delta(c, 'seed', 'Thread malloc', 'Thread malloc again', 'RssAnon');
        const arenas = [arenasAfter(c, 'seed', 'Thread malloc'), arenasAfter(c, 'seed', 'Thread malloc again')];
        return verdict(
          vm === 0,
          `VmSize changed by ${bytes(vm)}, RssAnon by ${bytes(rss)}, arenas ${arenas[0]} → ${arenas[1]}: the second block came from the arena the thread already had`,
        );
      },
    },
    {
      id: 'cap-holds',
      claim: 'On 64-bit machines the number of arenas is at most 8 × the number of cores.',
      requires: [
        glibcAllocator(['crowd']),
        designedSettings(['arena_max', 'arena_test'], ['crowd']),
        runParameters('more threads than the cap', (p) =>
          p['threads']! + 1 > defaultCap()
            ? undefined
            : `the run has ${p['threads']} threads and the main thread for a cap of 8 × ${cpus().length} = ${defaultCap()}, so the cap is never reached (raise --threads)`,
        ),
      ],
      judge: (c) => {
        const cap = defaultCap();
        const threads = c.parameters['threads']!;
        const count = arenasAfter(c, 'crowd', crowdLabel(threads));
        const before = arenasAfter(c, 'crowd', 'start');
        return verdict(
          count <= cap,
          `${threads} threads each malloc'd: ${count} arenas (${before} before them) for a cap of 8 × ${cpus().length} = ${cap}` +
            (count === cap
              ? ': the cap stopped glibc making more, and the threads beyond it share existing arenas'
              : count < cap
                ? `: below the cap, with more threads than it`
                : ''),
        );
      },
    },
    {
      id: 'arena-max-agree',
      claim:
        'MALLOC_ARENA_MAX (and mallopt(M_ARENA_MAX, …)) caps the arenas regardless of cores: with 1, all threads share the main arena.',
      requires: [
        glibcAllocator(['mallopt', 'env', 'tunable']),
        designedSettings(['arena_max', 'arena_test'], ['mallopt', 'env', 'tunable']),
      ],
      judge: (c) => {
        const label = crowdLabel(c.parameters['threads']!);
        const counts = ['mallopt', 'env', 'tunable'].map((variant) => arenasAfter(c, variant, label));
        const [byMallopt, byEnv, byTunable] = counts;
        const beforeMallopt = arenasAfter(c, 'mallopt', 'start');
        return verdict(
          counts.every((count) => count === 1),
          `arenas with arena_max = 1 by mallopt: ${byMallopt}, by MALLOC_ARENA_MAX: ${byEnv}, by GLIBC_TUNABLES: ${byTunable}` +
            (beforeMallopt > 1
              ? `; the process already had ${beforeMallopt} arenas when mallopt ran, made before the program's first step, and a cap set at run time removes none (see late-cap-keeps-arenas): ` +
                'the threads shared those, not the main arena alone — only the env and tunable forms, read at start-up, hold'
              : ''),
        );
      },
    },
    {
      id: 'late-cap-keeps-arenas',
      claim: "mallopt(M_ARENA_MAX) at run time cannot remove arenas that already exist (malloc-lab's own claim).",
      requires: [glibcAllocator(['late-cap']), designedSettings(['arena_max', 'arena_test'], ['late-cap'])],
      judge: (c): Judgement => {
        const start = arenasAfter(c, 'late-cap', 'start');
        const before = arenasAfter(c, 'late-cap', '2 threads malloc');
        const capped = arenasAfter(c, 'late-cap', 'mallopt(M_ARENA_MAX, 1)');
        const after = arenasAfter(c, 'late-cap', 'a third thread mallocs');
        if (before <= 1) {
          return {
            verdict: 'inconclusive',
            evidence: `the process had ${plural(before, 'arena')} after two threads malloc'd (${start} at the start): there was no arena besides the main one for the cap to remove`,
          };
        }
        return verdict(
          after >= before,
          `arenas at the start: ${start}; after two threads malloc'd: ${before}; right after mallopt(M_ARENA_MAX, 1): ${capped}; after a third thread malloc'd: ${after}` +
            (after > before
              ? ' (the third thread still got an arena of its own)'
              : after === before
                ? ' (the third thread shared one)'
                : ''),
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
