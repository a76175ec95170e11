/**
 * Seed 000, first program: 1024 × (malloc(10240) + memset, malloc(1) + memset),
 * then free(a[j]); free(b[j]) for all j. The seed says top shows memory keeps
 * its size after the frees, and that an extra malloc(PAGE); free() at the end
 * makes glibc give it back. A third variant calls malloc_trim(0) instead.
 */
import { at, bytes, delta, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ExperimentDefinition, Parameters } from '../framework/types.js';

function build(parameters: Parameters, ending: 'none' | 'page' | 'trim'): StepProgram {
  const { size, page } = parameters as { size: number; page: number };
  const program = new StepProgram();
  program.step('before malloc');
  program.step('malloc OK', (s) =>
    s.batchAlloc('ab', size, [
      { size: page, fill: 1 },
      { size: 1, fill: 1 },
    ]),
  );
  program.step('free OK', (s) => s.batchFree('ab'));
  if (ending === 'page') {
    program.step('All free', (s) => s.malloc('ptr', page).free('ptr'));
  } else if (ending === 'trim') {
    program.step('malloc_trim(0)', (s) => s.malloc_trim(0));
  }
  return program;
}

export const freeNotReturned: ExperimentDefinition = {
  id: 'free-not-returned',
  title: 'free() does not give memory back to the OS (and what does)',
  seeds: ['000'],
  description:
    "Seed 000's first program: 1024 × (10 KiB + 1 B) blocks, memset, all freed; its commented-out malloc(PAGE); free() ending, and a malloc_trim(0) ending.",
  parameters: [
    { name: 'size', description: 'SIZE: rounds of the loop', default: 1024 },
    { name: 'page', description: 'PAGE: bytes of each large block', default: 10240 },
  ],
  variants: (parameters) => [
    { name: 'seed', description: 'as the seed runs it', program: build(parameters, 'none') },
    {
      name: 'page-free',
      description: 'with the commented-out malloc(PAGE); free() at the end',
      program: build(parameters, 'page'),
    },
    { name: 'trim', description: 'with malloc_trim(0) at the end', program: build(parameters, 'trim') },
  ],
  claims: [
    {
      id: 'malloc-grows',
      claim: 'During the malloc phase the memory the process occupies keeps growing.',
      judge: (c) => {
        const expected = c.parameters['size']! * c.parameters['page']!;
        const grown = delta(c, 'seed', 'before malloc', 'malloc OK', 'RssAnon');
        return verdict(
          grown >= 0.9 * expected,
          `RssAnon grew by ${bytes(grown)} for ${bytes(expected)} of memset blocks`,
        );
      },
    },
    {
      id: 'free-keeps',
      claim: 'After free() completes the memory is not reduced: glibc does not return it to the operating system.',
      judge: (c) => {
        const grown = delta(c, 'seed', 'before malloc', 'malloc OK', 'RssAnon');
        const released = -delta(c, 'seed', 'malloc OK', 'free OK', 'RssAnon');
        const breakBack = -delta(c, 'seed', 'malloc OK', 'free OK', 'brk');
        return verdict(
          released <= 0.1 * grown,
          `free() released ${bytes(released)} of the ${bytes(grown)} the loop added (break moved back ${bytes(breakBack)}): ` +
            'each freed 10 KiB chunk sits between 1-byte chunks held in tcache/fastbins, which count as in use, so nothing coalesces into the top chunk to be trimmed',
        );
      },
    },
    {
      id: 'page-free-returns',
      claim: 'With the extra malloc(PAGE); free() at the end, glibc returns the memory to the operating system.',
      judge: (c) => {
        const kept = delta(c, 'page-free', 'before malloc', 'free OK', 'RssAnon');
        const released = -delta(c, 'page-free', 'free OK', 'All free', 'RssAnon');
        const top = at(c, 'page-free', 'All free').mallinfo.keepcost;
        const holds = released >= 0.8 * kept;
        return verdict(
          holds,
          `malloc(PAGE); free() released ${bytes(released)} of the ${bytes(kept)} still held; the top chunk is now ${bytes(top)}. ` +
            (holds
              ? 'The 10 KiB request consolidated the fastbins, the free chunks merged into the top chunk, and the free() that followed trimmed it past M_TRIM_THRESHOLD.'
              : 'The 10 KiB request did consolidate the fastbins into the top chunk, but tcache (glibc >= 2.26, newer than the seed) still holds the first 1-byte chunks as in use, ' +
                'so malloc(PAGE) got an exact-fit 10 KiB chunk between them; its free() merged with nothing, stayed under the 64 KiB that triggers a trim, and the large top chunk was never trimmed.'),
        );
      },
    },
    {
      id: 'trim-returns',
      claim: 'malloc_trim(0) gives the freed memory back (RSS falls; the seed 003 answer).',
      judge: (c) => {
        const kept = delta(c, 'trim', 'before malloc', 'free OK', 'RssAnon');
        const released = -delta(c, 'trim', 'free OK', 'malloc_trim(0)', 'RssAnon');
        const vmSize = at(c, 'trim', 'malloc_trim(0)').status.VmSize - at(c, 'trim', 'free OK').status.VmSize;
        return verdict(
          released >= 0.8 * kept,
          `malloc_trim(0) released ${bytes(released)} of the ${bytes(kept)} held; VmSize changed by ${bytes(vmSize)}`,
        );
      },
    },
  ],
};
