/**
 * Seed 003's malloc_trim answer: "calling malloc_trim will release almost all
 * freed memory back to the OS. Only pages containing still not freed data will
 * be kept", "madvised pages are still counted in VSIZE, but usually help to
 * reduce RSS", and since 2007 it "releases all aligned (4 KB) pages fully freed"
 * in every bin with madvise(MADV_DONTNEED).
 *
 * Program: count × (malloc(size) + memset, malloc(1) + memset) so each large
 * block has a live spacer after it, then every other large block is freed. The
 * live blocks between the holes keep the top chunk from shrinking, so only
 * madvise can give memory back. A second variant frees everything, so the
 * consolidated free space reaches the top and malloc_trim lowers the break too.
 */
import { at, bytes, delta, ops, signed, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters } from '../framework/types.js';

/** sizeof(struct malloc_chunk) on 64-bit: header and free-list links, which malloc_trim never madvises. */
const FREE_CHUNK_LINKS = 48;
/** Chunks are multiples of 16 bytes, the smallest holds 32. */
const chunkSize = (request: number) => Math.max(32, Math.ceil((request + 8) / 16) * 16);
/** The seed's "aligned (4 KB) pages" (x86-64). */
const PAGE = 4096;
/** Free chunks each size of tcache holds before fastbins/bins (glibc >= 2.26). */
const TCACHE_COUNT = 7;

function build(parameters: Parameters, freeing: 'holes' | 'all'): StepProgram {
  const { count, size } = parameters as { count: number; size: number };
  const program = new StepProgram();
  program.step('start');
  program.step('allocated', (s) =>
    s.batchAlloc('blocks', count, [
      { size, fill: 1 },
      { size: 1, fill: 1 },
    ]),
  );
  if (freeing === 'holes') {
    // Blocks are 1-based [large, spacer, large, spacer, …]: step 4 frees large blocks 1, 3, 5, …
    program.step('freed every other block', (s) => s.batchFree('blocks', { step: 4, min: 1 }));
  } else {
    program.step('freed all', (s) => s.batchFree('blocks'));
  }
  program.step('malloc_trim(0)', (s) => s.malloc_trim(0));
  return program;
}

/** Large blocks the holes variant frees (1st, 3rd, …) and keeps. */
function holes(parameters: Parameters): { freed: number; live: number } {
  const count = parameters['count']!;
  return { freed: Math.ceil(count / 2), live: Math.floor(count / 2) };
}

/**
 * The least malloc_trim can give back from one freed block: it madvises the whole
 * pages between the chunk's free-list links (sizeof(struct malloc_chunk), 48 bytes)
 * and its end, so at most the partial first and last pages stay.
 */
function releasableAtLeast(size: number): number {
  const span = chunkSize(size) - FREE_CHUNK_LINKS;
  return Math.max(0, Math.floor(span / PAGE) - 1) * PAGE;
}

function trimmed(c: ClaimContext, variant: string, before: string) {
  const released = -delta(c, variant, before, 'malloc_trim(0)', 'RssAnon');
  const vmFell = -delta(c, variant, before, 'malloc_trim(0)', 'VmSize');
  const breakFell = -delta(c, variant, before, 'malloc_trim(0)', 'brk');
  const top = at(c, variant, before).mallinfo.keepcost;
  return { released, vmFell, breakFell, top };
}

export const mallocTrim: ExperimentDefinition = {
  id: 'malloc-trim',
  title: 'malloc_trim(0) gives freed pages back with madvise, keeping pages that hold live data',
  seeds: ['003'],
  description:
    "Seed 003's malloc_trim answer: count × (size-byte block + 1-byte spacer), memset; every other large block freed, then malloc_trim(0); and a variant that frees everything first.",
  parameters: [
    { name: 'count', description: 'large blocks (each followed by a 1-byte spacer)', default: 4096 },
    { name: 'size', description: 'bytes of each large block (below the 128 KiB mmap threshold)', default: 16384 },
  ],
  variants: (parameters) => [
    {
      name: 'holes',
      description: 'every other large block freed: live blocks between the holes',
      program: build(parameters, 'holes'),
    },
    { name: 'all-freed', description: 'every block freed', program: build(parameters, 'all') },
  ],
  claims: [
    {
      id: 'trim-releases-freed',
      claim:
        'Calling malloc_trim will release almost all freed memory back to the OS (aligned 4 KB pages fully freed).',
      judge: (c) => {
        const size = c.parameters['size']!;
        const { freed } = holes(c.parameters);
        const freedBytes = freed * size;
        const floor = freed * releasableAtLeast(size);
        const { released } = trimmed(c, 'holes', 'freed every other block');
        return verdict(
          released >= floor,
          `malloc_trim(0) lowered RssAnon by ${bytes(released)} (${Math.round((100 * released) / freedBytes)}% of the ${bytes(freedBytes)} in ${freed} freed blocks); ` +
            `each ${bytes(size)} hole holds at least ${bytes(releasableAtLeast(size))} of whole ${PAGE}-byte pages past its header and free-list links (${bytes(floor)} in all), ` +
            'and those are what it madvises; the partial first and last pages stay',
        );
      },
    },
    {
      id: 'madvise-keeps-vsize',
      claim: 'madvised pages are still counted in VSIZE, but usually help to reduce RSS.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const { freed } = holes(c.parameters);
        const { released, vmFell, breakFell, top } = trimmed(c, 'holes', 'freed every other block');
        const floor = freed * releasableAtLeast(size);
        // The only mapping malloc_trim may drop here is the top chunk above the last live block.
        return verdict(
          vmFell <= top && released >= floor,
          `VmSize changed by ${signed(-vmFell)} (break ${signed(-breakFell)}; only the ${bytes(top)} top chunk above the last live block could be unmapped) ` +
            `while RssAnon fell by ${bytes(released)}: the holes were madvise(MADV_DONTNEED)'d, not unmapped`,
        );
      },
    },
    {
      id: 'live-pages-kept',
      claim: 'Only pages containing still not freed data will be kept.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const { freed, live } = holes(c.parameters);
        const count = c.parameters['count']!;
        const liveBytes = live * size;
        const kept = delta(c, 'holes', 'start', 'malloc_trim(0)', 'RssAnon');
        // Above the live blocks: the partial pages of each hole (at most 2), the spacers, the pointer array
        // and two pages for rounding at the ends.
        const spacers = count * chunkSize(1);
        const pointers = 2 * count * 8;
        const ceiling = liveBytes + freed * 2 * PAGE + spacers + pointers + 2 * PAGE;
        return verdict(
          kept >= liveBytes && kept <= ceiling,
          `after malloc_trim(0) RssAnon is ${signed(kept)} above the start: the ${live} live blocks hold ${bytes(liveBytes)}; ` +
            `at most ${bytes(ceiling - liveBytes)} more may stay (2 partial pages per hole, ${bytes(spacers)} of spacers, ${bytes(pointers)} of pointer array)`,
        );
      },
    },
    {
      id: 'trim-returns-1',
      claim: 'malloc_trim returns 1 when some memory was released.',
      judge: (c) => {
        const value = ops(c, 'holes', 'malloc_trim(0)', 'malloc_trim')[0]?.value;
        return verdict(value === 1, `malloc_trim(0) returned ${value}`);
      },
    },
    {
      id: 'all-freed-shrinks-break',
      claim: 'When everything is freed, malloc_trim also trims the top of the heap: the break and VSIZE fall.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const grown = delta(c, 'all-freed', 'start', 'allocated', 'brk');
        const kept = delta(c, 'all-freed', 'start', 'freed all', 'brk');
        const { released, vmFell, breakFell, top } = trimmed(c, 'all-freed', 'freed all');
        const after = at(c, 'all-freed', 'malloc_trim(0)').mallinfo;
        // The first TCACHE_COUNT spacers freed sit in tcache, which counts as in use, so the heap cannot
        // fall below the last of them (plus one pair for page rounding); everything above consolidates
        // into the top and is trimmed, with the top pad the growth included.
        const pinned = (TCACHE_COUNT + 1) * (chunkSize(size) + chunkSize(1));
        const floor = grown - pinned;
        return verdict(
          breakFell >= floor && vmFell >= floor,
          `free() left the break ${signed(kept)} above the start (top chunk ${bytes(top)}); malloc_trim(0) moved it ${signed(-breakFell)}, ` +
            `VmSize ${signed(-vmFell)}, RssAnon ${signed(-released)} (top chunk now ${bytes(after.keepcost)}). ` +
            `At least ${bytes(floor)} of the ${bytes(grown)} the allocation added must go: only the first ${TCACHE_COUNT} freed spacers stay in tcache (as in use) and pin the ${bytes(pinned)} below them; ` +
            (kept >= grown
              ? `free() alone had trimmed nothing: each ${bytes(size)} chunk sat between spacers held in tcache/fastbins, so none reached the top until malloc_trim consolidated the fastbins`
              : `free() alone had already trimmed ${bytes(grown - kept)}`),
        );
      },
    },
  ],
};
