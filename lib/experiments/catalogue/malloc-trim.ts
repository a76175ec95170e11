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
import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import { chunkSize, FREE_CHUNK_LINKS, PAGE, POINTER } from '../../glibc/model.js';
import { formatAddress } from '../../infra/units.js';
import { at, bytes, delta, MissingMeasurement, ops, signed, verdict } from '../framework/observe.js';
import { designedSettings, glibcAllocator } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { tcacheHeldOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Parameters } from '../framework/types.js';

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

/** The thread whose arena the `thread` variant fills. */
const THREAD = 0;
/** What the `pad` variant asks malloc_trim to keep at the top of the heap. */
export const PAD = 1024 * 1024;
/** A trim threshold no free() reaches, so that only malloc_trim trims in the `pad` variant. */
const NEVER = 2 ** 30;

export const THREAD_STEPS = {
  allocated: 'a thread allocates',
  freed: 'the thread frees every other block',
  trimmed: 'malloc_trim(0) from the main thread',
} as const;

export const PAD_STEPS = {
  noTrim: 'mallopt(M_TRIM_THRESHOLD, 1 GiB)',
  allocated: 'allocated',
  freed: 'freed all',
  pad: `malloc_trim(${PAD})`,
  zero: 'malloc_trim(0)',
  again: 'malloc_trim(0) again',
} as const;

/** The holes program on a new thread's arena; malloc_trim(0) runs on the main thread. */
function threadProgram(parameters: Parameters): StepProgram {
  const { count, size } = parameters as { count: number; size: number };
  const rounds = Math.ceil(count / 4);
  return new StepProgram()
    .step('start', (s) => s.threadStart(THREAD).arenas())
    .step(THREAD_STEPS.allocated, (s) =>
      s
        // An op on a thread records the thread in value2: a malloc after the batch tells where its arena is.
        .onThread(THREAD, (t) =>
          t
            .batchAlloc('blocks', rounds, [
              { size, fill: 1 },
              { size: 1, fill: 1 },
            ])
            .malloc('where', 16),
        )
        .heapRange()
        .arenas(),
    )
    .step(THREAD_STEPS.freed, (s) => s.onThread(THREAD, (t) => t.batchFree('blocks', { step: 4, min: 1 })))
    .step(THREAD_STEPS.trimmed, (s) => s.malloc_trim(0));
}

/** Everything freed with trimming by free() off, then malloc_trim(pad), malloc_trim(0), and again. */
function padProgram(parameters: Parameters): StepProgram {
  const { count, size } = parameters as { count: number; size: number };
  return new StepProgram()
    .step(PAD_STEPS.noTrim, (s) => s.mallopt(MALLOPT_PARAMS.M_TRIM_THRESHOLD, NEVER))
    .step(PAD_STEPS.allocated, (s) => s.batchAlloc('blocks', Math.ceil(count / 4), [{ size, fill: 1 }]))
    .step(PAD_STEPS.freed, (s) => s.batchFree('blocks'))
    .step(PAD_STEPS.pad, (s) => s.malloc_trim(PAD))
    .step(PAD_STEPS.zero, (s) => s.malloc_trim(0))
    .step(PAD_STEPS.again, (s) => s.malloc_trim(0));
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
  // Free bytes the heap already had when the program started (an aged or a Node heap): malloc_trim gives their whole pages back too.
  const startFree = at(c, variant, 'start').mallinfo.fordblks;
  return { released, vmFell, breakFell, top, startFree };
}

/** "… and more than the holes: whole pages of the X of free chunks the heap had before the program" where that explains the excess. */
function beyondHoles(released: number, holesBytes: number, startFree: number): string {
  return released > holesBytes
    ? `; more than the holes held, for it also madvised whole free pages of the ${bytes(startFree)} of free chunks the heap had before the program`
    : '';
}

export const mallocTrim: ExperimentDefinition = {
  id: 'malloc-trim',
  title: 'malloc_trim(0) gives freed pages back with madvise, keeping pages that hold live data',
  seeds: ['003'],
  description:
    "Seed 003's malloc_trim answer: count × (size-byte block + 1-byte spacer), memset; every other large block freed, then malloc_trim(0); a variant that frees everything first; the holes in a thread's arena, trimmed from the main thread; and malloc_trim(pad), malloc_trim(0) and again with nothing left.",
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
    {
      name: 'thread',
      description:
        "the holes program in a thread's arena, a quarter of the blocks; malloc_trim(0) from the main thread",
      program: threadProgram(parameters),
    },
    {
      name: 'pad',
      description: `a quarter of the blocks, all freed with M_TRIM_THRESHOLD out of reach; malloc_trim(${bytes(PAD)}), malloc_trim(0), and again`,
      program: padProgram(parameters),
    },
  ],
  claims: [
    {
      id: 'trim-releases-freed',
      requires: [glibcAllocator()],
      claim:
        'Calling malloc_trim will release almost all freed memory back to the OS (aligned 4 KB pages fully freed).',
      judge: (c) => {
        const size = c.parameters['size']!;
        const { freed } = holes(c.parameters);
        const freedBytes = freed * size;
        const floor = freed * releasableAtLeast(size);
        const { released, startFree } = trimmed(c, 'holes', 'freed every other block');
        return verdict(
          released >= floor,
          `malloc_trim(0) lowered RssAnon by ${bytes(released)} (${Math.round((100 * released) / freedBytes)}% of the ${bytes(freedBytes)} in ${freed} freed blocks); ` +
            `each ${bytes(size)} hole holds at least ${bytes(releasableAtLeast(size))} of whole ${PAGE}-byte pages past its header and free-list links (${bytes(floor)} in all), ` +
            'which it madvises; the partial first and last pages stay' +
            beyondHoles(released, freedBytes, startFree),
        );
      },
    },
    {
      id: 'madvise-keeps-vsize',
      requires: [glibcAllocator()],
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
      requires: [glibcAllocator()],
      claim: 'Only pages containing still not freed data will be kept.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const { freed, live } = holes(c.parameters);
        const count = c.parameters['count']!;
        const liveBytes = live * size;
        const kept = delta(c, 'holes', 'start', 'malloc_trim(0)', 'RssAnon');
        const { startFree } = trimmed(c, 'holes', 'freed every other block');
        // Above the live blocks: the partial pages of each hole (at most 2), the spacers, the pointer array
        // and two pages for rounding at the ends. Below: pages of free chunks the heap had before the
        // program, which malloc_trim gives back too.
        const spacers = count * chunkSize(1);
        const pointers = 2 * count * POINTER;
        const ceiling = liveBytes + freed * 2 * PAGE + spacers + pointers + 2 * PAGE;
        const floor = liveBytes - startFree;
        return verdict(
          kept >= floor && kept <= ceiling,
          `after malloc_trim(0) RssAnon is ${signed(kept)} above the start: the ${live} live blocks hold ${bytes(liveBytes)}; ` +
            `at most ${bytes(ceiling - liveBytes)} more may stay (2 partial pages per hole, ${bytes(spacers)} of spacers, ${bytes(pointers)} of pointer array)` +
            (startFree > PAGE
              ? `, and up to ${bytes(startFree)} less, the free chunks the heap had before the program, whose whole pages malloc_trim gives back as well`
              : ''),
        );
      },
    },
    {
      id: 'trim-returns-1',
      requires: [glibcAllocator()],
      claim: 'malloc_trim returns 1 when some memory was released.',
      judge: (c) => {
        const value = ops(c, 'holes', 'malloc_trim(0)', 'malloc_trim')[0]?.value;
        const { released, breakFell } = trimmed(c, 'holes', 'freed every other block');
        return verdict(
          value === 1 && released > 0,
          `malloc_trim(0) returned ${value}; RssAnon fell by ${bytes(released)}, the break by ${bytes(breakFell)}`,
        );
      },
    },
    {
      id: 'all-freed-shrinks-break',
      requires: [glibcAllocator()],
      claim: 'When everything is freed, malloc_trim also trims the top of the heap: the break and VSIZE fall.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const grown = delta(c, 'all-freed', 'start', 'allocated', 'brk');
        const kept = delta(c, 'all-freed', 'start', 'freed all', 'brk');
        const { released, vmFell, breakFell, top } = trimmed(c, 'all-freed', 'freed all');
        const after = at(c, 'all-freed', 'malloc_trim(0)').mallinfo;
        // The first tcache_count spacers freed sit in tcache, which counts as in use, so the heap cannot
        // fall below the last of them (plus one pair for page rounding); everything above consolidates
        // into the top and is trimmed, with the top pad the growth included.
        const tcached = tcacheHeldOf(c, 'all-freed', 1);
        const pinned = (tcached + 1) * (chunkSize(size) + chunkSize(1));
        const floor = grown - pinned;
        const freedState = at(c, 'all-freed', 'freed all').mallinfo;
        if (grown - kept > 0.5 * grown) {
          return {
            verdict: 'inconclusive',
            evidence:
              `free() alone had already given back ${bytes(grown - kept)} of the ${bytes(grown)} the allocation added (the break is ${signed(kept)} above the start, the top chunk ${bytes(top)}), ` +
              `so there was nothing left at the top for malloc_trim(0) to trim (it moved the break ${signed(-breakFell)})`,
          };
        }
        return verdict(
          breakFell >= floor && vmFell >= floor,
          `free() left the break ${signed(kept)} above the start (top chunk ${bytes(top)}); malloc_trim(0) moved it ${signed(-breakFell)}, ` +
            `VmSize ${signed(-vmFell)}, RssAnon ${signed(-released)} (top chunk now ${bytes(after.keepcost)}). ` +
            `At least ${bytes(floor)} of the ${bytes(grown)} the allocation added must go: ` +
            (tcached > 0
              ? `tcache keeps the first ${tcached} freed spacers as in use (tcache_count ${tcached} in this run), and the heap cannot shrink below the last of them (${bytes(pinned)} with page rounding); `
              : `tcache holds no 1-byte chunk in this run, so only page rounding (${bytes(pinned)}) may stay; `) +
            (kept >= grown
              ? `free() alone had trimmed nothing: the fastbins held ${freedState.smblks} chunks after the frees, which count as in use until malloc_trim consolidated them into the top chunk`
              : `free() alone had already trimmed ${bytes(grown - kept)}`),
        );
      },
    },
    {
      id: 'trims-every-arena',
      requires: [glibcAllocator(), designedSettings(['arena_max', 'arena_test'], ['thread'])],
      claim:
        'Since 2007 this function will: Iterate over all malloc memory arenas (used in multithreaded applications) doing trim and fastbin consolidation; and release all aligned (4KB) pages fully freed.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const freed = Math.ceil(Math.ceil(c.parameters['count']! / 4) / 2);
        const floor = freed * releasableAtLeast(size);
        const first = ops(c, 'thread', THREAD_STEPS.allocated, 'malloc')[0]?.value;
        const heap = ops(c, 'thread', THREAD_STEPS.allocated, 'heap_range')[0];
        const [before, after] = ['start', THREAD_STEPS.allocated].map(
          (label) => ops(c, 'thread', label, 'arenas')[0]?.value ?? NaN,
        );
        if (first === undefined || heap === undefined) throw new MissingMeasurement('the thread allocated nothing');
        const outside = first < heap.value || first >= heap.value2;
        const released = -delta(c, 'thread', THREAD_STEPS.freed, THREAD_STEPS.trimmed, 'RssAnon');
        const result = verdict(
          outside && released >= floor,
          `the thread's blocks lie around ${formatAddress(first)}, outside the main heap (${formatAddress(heap.value)}–${formatAddress(heap.value2)}), in an arena of their own (arenas ${before} → ${after}); ` +
            `after it freed every other one (${freed} holes of ${bytes(size)}), malloc_trim(0) on the main thread lowered RssAnon by ${bytes(released)}, ` +
            `at least ${bytes(floor)} of whole pages expected from those holes`,
        );
        return outside
          ? result
          : { verdict: 'inconclusive', evidence: `the blocks came from the main heap: ${result.evidence}` };
      },
    },
    {
      id: 'trim-leaves-pad',
      requires: [glibcAllocator()],
      claim: 'malloc_trim(pad) resizes the data segment, leaving at least pad bytes at the end of it.',
      judge: (c) => {
        const before = at(c, 'pad', PAD_STEPS.freed);
        const after = at(c, 'pad', PAD_STEPS.pad);
        const fell = Number(before.brk) - Number(after.brk);
        return verdict(
          after.mallinfo.keepcost >= PAD && fell > 0,
          `with everything freed, the top chunk was ${bytes(before.mallinfo.keepcost)}; malloc_trim(${bytes(PAD)}) moved the break ${signed(-fell)} and left a top chunk of ${bytes(after.mallinfo.keepcost)}`,
        );
      },
    },
    {
      id: 'trim-fails-under-a-page',
      requires: [glibcAllocator()],
      claim: 'malloc_trim fails (returns 0) if less than one page worth of bytes can be freed.',
      judge: (c) => {
        const zero = ops(c, 'pad', PAD_STEPS.zero, 'malloc_trim')[0]?.value;
        const again = ops(c, 'pad', PAD_STEPS.again, 'malloc_trim')[0]?.value;
        if (zero === undefined || again === undefined) throw new MissingMeasurement('the trims did not run');
        const moved = -delta(c, 'pad', PAD_STEPS.zero, PAD_STEPS.again, 'RssAnon');
        const breakMoved = -delta(c, 'pad', PAD_STEPS.zero, PAD_STEPS.again, 'brk');
        const state = at(c, 'pad', PAD_STEPS.zero).mallinfo;
        const outsideTop = state.fordblks - state.keepcost;
        return verdict(
          zero === 1 && again === 0,
          `malloc_trim(0) after malloc_trim(${bytes(PAD)}) returned ${zero}; called again at once it returned ${again} ` +
            `(RssAnon ${signed(-moved)}, the break ${signed(-breakMoved)})` +
            (again === 1
              ? `: its 1 does not mean that memory came back. The heap still held ${bytes(outsideTop)} free outside the top chunk (${state.ordblks - 1} free chunks), ` +
                'whose whole pages malloc_trim madvises again at every call and counts as released, resident or not'
              : ''),
        );
      },
    },
  ],
};
