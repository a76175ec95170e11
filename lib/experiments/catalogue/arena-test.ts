/**
 * Seed 000: "MALLOC_ARENA_TEST_: when the number of memory pools reaches this value,
 * the number of CPU cores is checked", and its spelling of both variables.
 *
 * glibc 2.36's arena_get2 (malloc/arena.c) computes its arena limit once, the first
 * time a thread needs a new arena while more than arena_test arenas exist: then it
 * asks for the CPUs (sched_getaffinity) and caps at 8 × CPUs (64-bit); before that
 * it creates arenas without looking. arena_test defaults to 8 on 64-bit. So with
 * arena_test above 8 × CPUs, arena_test + 1 arenas appear before the cap is set,
 * more than the cap allows. glibc reads MALLOC_ARENA_TEST and MALLOC_ARENA_MAX
 * (GLIBC_TUNABLES glibc.malloc.arena_test and arena_max), no trailing underscore.
 *
 * Each variant starts more threads than any of these counts, each mallocs once.
 */
import { availableParallelism } from 'node:os';

import { ARENAS_PER_CPU, DEFAULT_ARENA_TEST, defaultArenaMax } from '../../glibc/model.js';
import { verdict } from '../framework/observe.js';
import { designedSettings } from '../framework/preconditions.js';
import type { ClaimContext, ExperimentDefinition, Parameters, Variant } from '../framework/types.js';
import { arenasAfter, crowdLabel, crowdProgram } from './thread-arenas.js';

/** The CPUs glibc counts: the ones this process may run on (the runs inherit its affinity). */
const cpus = () => availableParallelism();

/** An arena_test above the cap, so that the arenas it lets through outnumber 8 × CPUs. */
export function testAboveCap(): number {
  return defaultArenaMax(cpus()) + 4;
}

const threadsFor = (test: number) => test + 4;

function counts(c: ClaimContext) {
  const label = crowdLabel(c.parameters['threads']!);
  return Object.fromEntries(
    ['default', 'env', 'tunable', 'seed-spelling', 'arena-max'].map((variant) => [
      variant,
      arenasAfter(c, variant, label),
    ]),
  ) as Record<'default' | 'env' | 'tunable' | 'seed-spelling' | 'arena-max', number>;
}

export const arenaTest: ExperimentDefinition = {
  id: 'arena-test',
  title: 'MALLOC_ARENA_TEST: arenas are created freely until that many exist, then the CPUs set the cap',
  seeds: ['000'],
  description:
    'More threads than arena_test + 1 each malloc once: with the default arena_test, with arena_test above 8 × CPUs (MALLOC_ARENA_TEST and the tunable), ' +
    "with the seed's spellings MALLOC_ARENA_TEST_ and MALLOC_ARENA_MAX_, and with MALLOC_ARENA_MAX=1.",
  parameters: [
    { name: 'test', description: 'the arena_test set (default: 8 × CPUs + 4)', default: testAboveCap() },
    {
      name: 'threads',
      description: 'threads that malloc (default: arena_test + 4)',
      default: threadsFor(testAboveCap()),
    },
  ],
  variants: (parameters: Parameters): Variant[] => {
    const { test, threads } = parameters as { test: number; threads: number };
    const crowd = () => crowdProgram(threads, 1024);
    return [
      { name: 'default', description: 'no setting: arena_test 8', program: crowd() },
      {
        name: 'env',
        description: `MALLOC_ARENA_TEST=${test}`,
        program: crowd(),
        env: { MALLOC_ARENA_TEST: String(test) },
      },
      {
        name: 'tunable',
        description: `GLIBC_TUNABLES=glibc.malloc.arena_test=${test}`,
        program: crowd(),
        env: { GLIBC_TUNABLES: `glibc.malloc.arena_test=${test}` },
      },
      {
        name: 'seed-spelling',
        description: `MALLOC_ARENA_TEST_=${test} MALLOC_ARENA_MAX_=1, as the seed spells them`,
        program: crowd(),
        env: { MALLOC_ARENA_TEST_: String(test), MALLOC_ARENA_MAX_: '1' },
      },
      { name: 'arena-max', description: 'MALLOC_ARENA_MAX=1', program: crowd(), env: { MALLOC_ARENA_MAX: '1' } },
    ];
  },
  allocators: ['glibc'],
  claims: [
    {
      id: 'test-then-cores',
      // Its variants set arena_test and arena_max themselves; a run's own setting would override them.
      requires: [designedSettings(['arena_max', 'arena_test'])],
      claim:
        'The behaviour can be controlled with environment variables: MALLOC_ARENA_TEST: when the number of memory pools (arenas) reaches this value, the number of CPU cores is checked.',
      judge: (c) => {
        const { test, threads } = c.parameters as { test: number; threads: number };
        const cap = defaultArenaMax(cpus());
        const count = counts(c);
        const holds = count.default === cap && count.env === test + 1 && count.tunable === test + 1;
        return verdict(
          holds,
          `${threads} threads each malloc'd once. With the default arena_test (${DEFAULT_ARENA_TEST}): ${count.default} arenas, the cap of ${ARENAS_PER_CPU} × ${cpus()} CPUs = ${cap}. ` +
            `With arena_test = ${test}, above that cap: ${count.env} arenas by MALLOC_ARENA_TEST, ${count.tunable} by the tunable` +
            (count.env === test + 1
              ? ` — glibc created arenas without looking at the CPUs until more than ${test} existed (${test + 1}), then counted the CPUs and created no more`
              : ''),
        );
      },
    },
    {
      id: 'seed-spelling',
      // Its variants set arena_test and arena_max themselves; a run's own setting would override them.
      requires: [designedSettings(['arena_max', 'arena_test'])],
      claim:
        'The variables are `MALLOC_ARENA_TEST_` and `MALLOC_ARENA_MAX_` (as the seed spells them, with a trailing underscore).',
      judge: (c) => {
        const { test } = c.parameters as { test: number };
        const count = counts(c);
        return verdict(
          count['seed-spelling'] !== count.default,
          `with MALLOC_ARENA_TEST_=${test} and MALLOC_ARENA_MAX_=1: ${count['seed-spelling']} arenas, as with neither (${count.default}); ` +
            `without the underscore, MALLOC_ARENA_TEST=${test} gave ${count.env} and MALLOC_ARENA_MAX=1 gave ${count['arena-max']}`,
        );
      },
    },
  ],
};
