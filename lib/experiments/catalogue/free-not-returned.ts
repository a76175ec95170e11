/**
 * Seed 000, first program: 1024 × (malloc(10240) + memset, malloc(1) + memset),
 * then free(a[j]); free(b[j]) for all j. The seed says top shows memory keeps
 * its size after the frees, and that an extra malloc(PAGE); free() at the end
 * makes glibc give it back. A third variant calls malloc_trim(0) instead.
 *
 * Whether free() keeps the memory depends on where the blocks land: in an empty
 * heap each 10 KiB chunk is followed by its 1-byte block's chunk, which tcache and
 * the fastbins keep marked in use when freed, so no free merges; in a heap with old
 * holes (the aged world) the 1-byte blocks fill those, the 10 KiB chunks lie back
 * to back, and their frees merge into the top chunk, which free() trims. The spans
 * of both kinds of block (batch_span) and mallinfo2 show which happened.
 */
import { CHUNK_HEADER, chunkSize, MIN_LARGE_SIZE } from '../../glibc/model.js';
import { formatAddress } from '../../infra/units.js';
import { at, bytes, delta, glibcOf, ops, plural, signed, topStart, verdict } from '../framework/observe.js';
import { glibcAllocator } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { settingsOf, settingSource, tcacheHeldIn, thresholdsOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';

const STEPS = {
  before: 'before malloc',
  malloc: 'malloc OK',
  free: 'free OK',
  page: 'malloc(PAGE)',
  pageFree: 'All free',
  trim: 'malloc_trim(0)',
} as const;

function build(parameters: Parameters, ending: 'none' | 'page' | 'trim'): StepProgram {
  const { size, page } = parameters as { size: number; page: number };
  const program = new StepProgram();
  program.step(STEPS.before);
  program.step(STEPS.malloc, (s) =>
    s
      .batchAlloc('ab', size, [
        { size: page, fill: 1 },
        { size: 1, fill: 1 },
      ])
      // Where the PAGE blocks (1st, 3rd, …) went: back to back, or each followed by its 1-byte block.
      .batchAdjacent('ab', chunkSize(page), { step: 2, min: 1 })
      .batchAdjacent('ab', chunkSize(page) + chunkSize(1), { step: 2, min: 1 }),
  );
  program.step(STEPS.free, (s) => s.batchFree('ab'));
  if (ending === 'page') {
    // The seed's malloc(PAGE); free() with a snapshot between the two calls.
    program.step(STEPS.page, (s) => s.malloc('ptr', page));
    program.step(STEPS.pageFree, (s) => s.free('ptr'));
  } else if (ending === 'trim') {
    program.step(STEPS.trim, (s) => s.malloc_trim(0));
  }
  return program;
}

/** The loop's blocks as the run placed them, and what free() did with them. */
function layout(c: ClaimContext, variant: string) {
  const { size: count, page } = c.parameters as { size: number; page: number };
  const [backToBack, pairwise] = ops(c, variant, STEPS.malloc, 'batch_adjacent');
  const before = at(c, variant, STEPS.before);
  const allocated = at(c, variant, STEPS.malloc);
  const freed = at(c, variant, STEPS.free);
  return {
    count,
    page,
    big: chunkSize(page),
    tiny: chunkSize(1),
    /** Successive PAGE blocks whose chunks touch, of the pairs. */
    backToBack: backToBack?.value ?? NaN,
    /** Successive PAGE blocks with exactly one 1-byte block's chunk between them. */
    pairwise: pairwise?.value ?? NaN,
    pairs: backToBack?.value2 ?? NaN,
    /** Bytes of free chunks the loop reused (free bytes that fell while the heap's use grew). */
    reused: Math.max(0, before.mallinfo.fordblks - allocated.mallinfo.fordblks),
    used: allocated.mallinfo.uordblks - before.mallinfo.uordblks,
    grown: allocated.status.RssAnon - before.status.RssAnon,
    released: allocated.status.RssAnon - freed.status.RssAnon,
    breakBack: Number(allocated.brk) - Number(freed.brk),
    allocated,
    freed,
  };
}

type Layout = ReturnType<typeof layout>;

/** Where the PAGE blocks lay: how many touch the next one, how many have a 1-byte chunk between. */
function placement(m: Layout): string {
  return (
    `of the ${m.pairs} pairs of successive ${bytes(m.page)} blocks, ${m.backToBack} lie back to back (their ${bytes(m.big)} chunks touch) ` +
    `and ${m.pairwise} have one ${m.tiny}-byte chunk between them, the 1-byte block's` +
    (m.reused > 0 ? `; the loop reused ${bytes(m.reused)} of free chunks the heap already had` : '')
  );
}

/**
 * Whether the 1-byte chunks missing from the fastbins after the frees are exactly
 * the ones tcache holds (its count per size in this run), and none was consolidated.
 */
function inTcache(m: Layout, holds: number): boolean {
  return holds > 0 && m.count - (m.freed.mallinfo.smblks - m.allocated.mallinfo.smblks) === holds;
}

/** What tcache does with 1-byte chunks in this run: holds this many of them, or nothing (and why). */
function tcacheNote(c: ClaimContext, variant: string): { holds: number; text: string } {
  const tcache = settingsOf(c, variant);
  const held = tcacheHeldIn(tcache, 1);
  if (held > 0)
    return {
      holds: held,
      text: `tcache (${glibcOf(c)}; since 2.26, newer than the seed) holds ${held} freed chunks of each size${tcache.tcache_count.source === 'default' ? '' : ` (${settingSource(tcache.tcache_count)})`}`,
    };
  const off = tcache.tcache_count.value === 0 ? tcache.tcache_count : tcache.tcache_max;
  return { holds: 0, text: `tcache holds none in this run (${settingSource(off)})` };
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
        const grown = delta(c, 'seed', STEPS.before, STEPS.malloc, 'RssAnon');
        if (c.allocator !== 'glibc') {
          return verdict(
            grown >= 0.9 * expected,
            `RssAnon grew by ${bytes(grown)} for ${bytes(expected)} of memset blocks (${c.allocator}: glibc's heap counters do not apply)`,
          );
        }
        const m = layout(c, 'seed');
        // Blocks that reuse free chunks the heap already had add no new pages.
        const fresh = m.used - m.reused;
        return verdict(
          grown >= 0.9 * Math.min(expected, fresh),
          `RssAnon grew by ${bytes(grown)} for ${bytes(expected)} of memset blocks: the heap's use grew by ${bytes(m.used)} (mallinfo2 uordblks)` +
            (m.reused > 0.01 * m.used
              ? `, ${bytes(m.reused)} of it in free chunks the heap already had (free bytes fell by as much), whose pages were there before the loop`
              : ''),
        );
      },
    },
    {
      id: 'free-keeps',
      claim: 'After free() completes the memory is not reduced: glibc does not return it to the operating system.',
      requires: [glibcAllocator(['seed'])],
      judge: (c) => {
        const m = layout(c, 'seed');
        const holds = m.released <= 0.1 * m.grown;
        const fastbinned = m.freed.mallinfo.smblks - m.allocated.mallinfo.smblks;
        const tcache = tcacheNote(c, 'seed');
        let why: string;
        if (m.breakBack > 0 && m.backToBack > m.pairwise) {
          why =
            `${placement(m)}. Freed in order, blocks that touch merge into one growing free chunk; past 64 KiB (FASTBIN_CONSOLIDATION_THRESHOLD) each such free consolidates the fastbins ` +
            `(${plural(m.freed.mallinfo.smblks, 'chunk')} in them after the frees, of the ${m.count} 1-byte chunks freed), and once the merged chunk reached the top chunk free() trimmed the top ` +
            `past M_TRIM_THRESHOLD, down to ${bytes(m.freed.mallinfo.keepcost)}`;
        } else if (m.breakBack > 0) {
          why = `${placement(m)}. The freed chunks reached the top chunk and free() trimmed it to ${bytes(m.freed.mallinfo.keepcost)}`;
        } else if (m.pairwise > m.pairs / 2) {
          why =
            `${placement(m)}. free() put ${fastbinned} of the ${m.count} 32-byte chunks in the fastbins (fastbin chunks +${fastbinned})` +
            (inTcache(m, tcache.holds)
              ? ` and the other ${m.count - fastbinned} in tcache (${tcache.text}); both keep`
              : `, which keep`) +
            ` a chunk marked in use, so a freed ${bytes(m.page)} chunk merges only with one that touches it: the ${m.count} freed became ${plural(m.freed.mallinfo.ordblks - m.allocated.mallinfo.ordblks, 'more free chunk')}, ` +
            `none reached the 64 KiB at which free() consolidates and trims, and the top chunk stayed ${bytes(m.freed.mallinfo.keepcost)}`;
        } else {
          const thresholds = thresholdsOf(c, 'seed');
          why =
            `${placement(m)}. The top chunk after the frees is ${bytes(m.freed.mallinfo.keepcost)}` +
            (m.freed.mallinfo.keepcost < thresholds.trim
              ? `, below M_TRIM_THRESHOLD (${bytes(thresholds.trim)} in this run${thresholds.dynamic ? ', unless glibc had raised it' : ''})`
              : '') +
            `; the freed bytes stayed in ${m.freed.mallinfo.ordblks} free chunks (${bytes(m.freed.mallinfo.fordblks)})`;
        }
        return verdict(
          holds,
          `free() released ${bytes(m.released)} of the ${bytes(m.grown)} the loop added (break moved back ${bytes(m.breakBack)}): ${why}`,
        );
      },
    },
    {
      id: 'page-free-returns',
      claim: 'With the extra malloc(PAGE); free() at the end, glibc returns the memory to the operating system.',
      requires: [glibcAllocator(['page-free'])],
      judge: (c): Judgement => {
        const m = layout(c, 'page-free');
        const kept = delta(c, 'page-free', STEPS.before, STEPS.free, 'RssAnon');
        if (m.released > 0.5 * m.grown) {
          return {
            verdict: 'inconclusive',
            evidence: `free() alone had already given back ${bytes(m.released)} of the ${bytes(m.grown)} the loop added (see free-keeps), so nothing was left for the extra malloc(PAGE); free() to return`,
          };
        }
        const afterMalloc = at(c, 'page-free', STEPS.page);
        const afterFree = at(c, 'page-free', STEPS.pageFree);
        const released = afterMalloc.status.RssAnon - afterFree.status.RssAnon;
        const breakFell = Number(afterMalloc.brk) - Number(afterFree.brk);
        const block = ops(c, 'page-free', STEPS.page, 'malloc')[0]?.value ?? NaN;
        // Carved from the top chunk: the top now starts right where the block's chunk ends.
        const fromTop = block - CHUNK_HEADER + m.big === topStart(afterMalloc);
        const holds = released >= 0.8 * kept;
        // A large request consolidates the fastbins first (malloc_consolidate).
        const consolidated =
          chunkSize(m.page) >= MIN_LARGE_SIZE
            ? `malloc(${bytes(m.page)}), a large request, consolidated the fastbins first (fastbin chunks ${m.freed.mallinfo.smblks} → ${afterMalloc.mallinfo.smblks}), ` +
              `which grew the top chunk from ${bytes(m.freed.mallinfo.keepcost)} to ${bytes(afterMalloc.mallinfo.keepcost + (fromTop ? m.big : 0))}`
            : `malloc(${bytes(m.page)}) took a chunk of ${bytes(m.big)}`;
        const outside = afterMalloc.mallinfo.fordblks - afterMalloc.mallinfo.keepcost;
        const where = fromTop
          ? `the block came from the top chunk (at ${formatAddress(block)})`
          : `the block came from a free chunk inside the heap (${formatAddress(block)}, below the top chunk at ${formatAddress(topStart(afterMalloc))}), ` +
            `one of ${afterMalloc.mallinfo.ordblks - 1} free chunks (${bytes(outside)}) the consolidation could not merge into the top`;
        const tcache = tcacheNote(c, 'page-free');
        const pinned =
          !fromTop && m.pairwise > m.pairs / 2 && inTcache(m, tcache.holds)
            ? `; chunks marked in use lie between them and the top: free() had put ${m.count - tcache.holds} of the ${m.count} 32-byte chunks in the fastbins, ` +
              `which malloc_consolidate merged, and the other ${tcache.holds} in tcache, which it leaves alone — ${tcache.text}`
            : !fromTop
              ? '; chunks still in use lie between them and the top'
              : '';
        const ending = holds
          ? `. Its free() trimmed the heap: RssAnon fell by ${bytes(released)}, the break by ${bytes(breakFell)}, the top chunk is now ${bytes(afterFree.mallinfo.keepcost)} — ` +
            'free() trims only when the chunk it frees, merged with its free neighbours, reaches 64 KiB, and the top chunk M_TRIM_THRESHOLD' +
            (fromTop ? ': the block merged back into the top chunk it was carved from' : '')
          : `. Its free() merged it with nothing that reaches the top chunk (the top stayed ${bytes(afterFree.mallinfo.keepcost)}, the break moved ${signed(-breakFell)}): ` +
            `a chunk under 64 KiB never makes free() consider trimming, so the ${bytes(afterFree.mallinfo.keepcost)} top chunk was kept`;
        return verdict(
          holds,
          `malloc(PAGE); free() released ${bytes(released)} of the ${bytes(kept)} still held. ${consolidated}; ${where}${pinned}${ending}`,
        );
      },
    },
    {
      id: 'trim-returns',
      claim: 'malloc_trim(0) gives the freed memory back (RSS falls; the seed 003 answer).',
      requires: [glibcAllocator(['trim'])],
      judge: (c) => {
        const kept = delta(c, 'trim', STEPS.before, STEPS.free, 'RssAnon');
        const freed = at(c, 'trim', STEPS.free);
        const trimmed = at(c, 'trim', STEPS.trim);
        const released = freed.status.RssAnon - trimmed.status.RssAnon;
        const breakFell = Number(freed.brk) - Number(trimmed.brk);
        const vmFell = freed.status.VmSize - trimmed.status.VmSize;
        const madvised = released - Math.max(0, breakFell);
        const result = ops(c, 'trim', STEPS.trim, 'malloc_trim')[0]?.value;
        return verdict(
          released >= 0.8 * kept,
          `malloc_trim(0) returned ${result} and lowered RssAnon by ${bytes(released)}, against the ${bytes(kept)} the loop still held after free(): ` +
            `the break fell by ${bytes(breakFell)} (the top chunk, ${bytes(freed.mallinfo.keepcost)} → ${bytes(trimmed.mallinfo.keepcost)}; VmSize ${signed(-vmFell)})` +
            (madvised > 0.01 * Math.max(released, 1)
              ? ` and ${bytes(madvised)} more came from whole free pages inside the heap, which it madvised without unmapping (${bytes(freed.mallinfo.fordblks - freed.mallinfo.keepcost)} were free outside the top chunk)`
              : ''),
        );
      },
    },
  ],
};
