/**
 * Seed 003: "the implementation of this modified behavior of free() using
 * malloc_trim could be done using the malloc hook functionality. This would not
 * require any source code changes to the core glibc library."
 *
 * glibc 2.34 removed the hooks: libc.so.6 keeps __free_hook and __malloc_hook only as
 * compatibility symbols (for binaries linked before), which its malloc and free never
 * read. The program looks the symbols up (dlsym, which sees default versions, and
 * dlvsym at glibc's base version), points __free_hook at a hook that frees and calls
 * malloc_trim(0), and frees seed 000's blocks through it: once in plain glibc, once
 * with libc_malloc_debug.so preloaded, the library that still honours the hooks.
 */
import { mallocDebugLibrary } from '../framework/hosts.js';
import { at, bytes, MissingMeasurement, ops, verdict } from '../framework/observe.js';
import { HOOK_LOOKUP, StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters, Variant } from '../framework/types.js';

export const STEPS = {
  start: 'start',
  allocate: (count: number) => `malloc ${count} × (10 KiB + 1 B), written`,
  install: 'point __free_hook at a hook that frees and trims',
  free: 'free them all',
  remove: 'clear the hook',
} as const;

const BLOCK = 10 * 1024;

function program(parameters: Parameters): StepProgram {
  const count = parameters['count']!;
  return new StepProgram({ unsafe: true })
    .step(STEPS.start)
    .step(STEPS.allocate(count), (s) =>
      s.batchAlloc('blocks', count, [
        { size: BLOCK, fill: 1 },
        { size: 1, fill: 1 },
      ]),
    )
    .step(STEPS.install, (s) => s.freeHookInstall({ trim: true }))
    .step(STEPS.free, (s) => s.batchFree('blocks'))
    .step(STEPS.remove, (s) => s.freeHookRemove());
}

/** What one variant saw: the lookups, the hook's calls, RssAnon across the frees. */
function hooked(c: ClaimContext, variant: string) {
  const count = c.parameters['count']!;
  const install = ops(c, variant, STEPS.install, 'free_hook_install')[0];
  const remove = ops(c, variant, STEPS.remove, 'free_hook_remove')[0];
  if (install === undefined || remove === undefined)
    throw new MissingMeasurement(`the hook ops did not run in ${variant}`);
  const lookup = install.value2;
  return {
    defaultFree: (lookup & HOOK_LOOKUP.freeHookDefault) !== 0,
    defaultMalloc: (lookup & HOOK_LOOKUP.mallocHookDefault) !== 0,
    compat: (lookup & HOOK_LOOKUP.freeHookCompat) !== 0,
    calls: remove.value,
    frees: 2 * count,
    written: at(c, variant, STEPS.allocate(count)).status.RssAnon,
    freed: at(c, variant, STEPS.free).status.RssAnon,
  };
}

export const mallocHooks: ExperimentDefinition = {
  id: 'malloc-hooks',
  title: 'A free() that trims through __free_hook: gone from glibc 2.34 on',
  seeds: ['003'],
  description:
    "dlsym/dlvsym lookups of __free_hook and __malloc_hook, then seed 000's 256 × (10 KiB + 1 B) freed through a __free_hook that calls malloc_trim(0), " +
    'in plain glibc and with libc_malloc_debug.so preloaded.',
  parameters: [{ name: 'count', description: 'rounds of (10 KiB + 1 B) blocks', default: 256 }],
  variants: (parameters): Variant[] => {
    const library = mallocDebugLibrary();
    return [
      { name: 'plain', description: 'glibc as it is', program: program(parameters) },
      {
        name: 'debug',
        description: 'libc_malloc_debug.so preloaded',
        program: program(parameters),
        env: library.path === undefined ? {} : { LD_PRELOAD: library.path },
      },
    ];
  },
  allocators: ['glibc'],
  claims: [
    {
      id: 'free-hook-trim',
      claim:
        'The implementation of this modified behavior of free() using malloc_trim could be done using the malloc hook functionality. This would not require any source code changes to the core glibc library.',
      judge: (c) => {
        const plain = hooked(c, 'plain');
        const works = plain.calls >= plain.frees;
        const debugText = (() => {
          const missing = mallocDebugLibrary().missing;
          if (missing !== undefined) return ` (${missing})`;
          const debug = hooked(c, 'debug');
          return (
            ` With libc_malloc_debug.so preloaded the hook ran ${debug.calls} times for the ${debug.frees} frees (RssAnon ${bytes(debug.written)} → ${bytes(debug.freed)}): ` +
            'only that debugging library, meant to stay out of production, still calls it.'
          );
        })();
        return verdict(
          works,
          `glibc: dlsym finds ${plain.defaultFree ? 'a' : 'no'} __free_hook and ${plain.defaultMalloc ? 'a' : 'no'} __malloc_hook; ` +
            `${plain.compat ? "the compatibility __free_hook (glibc's base version, for binaries linked before 2.34) is there, and" : 'no compatibility __free_hook either;'} ` +
            `pointed at the trimming hook, it was called ${plain.calls} times for ${plain.frees} frees (RssAnon ${bytes(plain.written)} → ${bytes(plain.freed)}).` +
            debugText,
        );
      },
    },
  ],
};
