/**
 * TLPI's free_and_sbrk (seeds 003 and 004): malloc numAllocs blocks of blockSize
 * (no memset), free blocks freeMin..freeMax (1-based, ascending) in steps of
 * freeStep, and print the break before, after the mallocs, and after the frees.
 * The book: free() does not lower the break in general, but does when the freed
 * blocks reach the top end of the heap. Its three invocations are the presets:
 * only `top-half` (1000 10240 1 500 1000) lowers the break.
 *
 * One argument set tests one side of the book's statement: the claim that does
 * not apply to the arguments given (the last block freed or not) is inconclusive.
 */
import { CHUNK_HEADER, chunkSize, FASTBIN_CONSOLIDATION_THRESHOLD, MINSIZE, PAGE } from '../../glibc/model.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { at, bytes, delta, ops, signed, topStart, verdict } from '../framework/observe.js';
import { glibcAllocator } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { thresholdsOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';

/** The seed's MAX_ALLOCS: the size of its ptr[] array. */
const MAX_ALLOCS = 1_000_000;

export interface FreeAndSbrkArguments {
  numAllocs: number;
  blockSize: number;
  freeStep: number;
  freeMin: number;
  freeMax: number;
}

function outOfRange(message: string): MallocLabError {
  return new MallocLabError(`free-and-sbrk: ${message}`, ErrorCodes.OUT_OF_RANGE);
}

/** The seed's argv with its defaults applied (freeMax 0 means numAllocs), checked as the seed would need. */
export function freeAndSbrkArguments(parameters: Parameters): FreeAndSbrkArguments {
  const numAllocs = parameters['numAllocs']!;
  const blockSize = parameters['blockSize']!;
  const freeStep = parameters['freeStep']!;
  const freeMin = parameters['freeMin']!;
  const freeMax = parameters['freeMax'] === 0 ? numAllocs : parameters['freeMax']!;
  if (numAllocs < 1 || numAllocs > MAX_ALLOCS)
    throw outOfRange(`numAllocs must be 1 to ${MAX_ALLOCS} (the seed's MAX_ALLOCS), received ${numAllocs}`);
  if (freeStep < 1) throw outOfRange(`freeStep must be at least 1, received ${freeStep}`);
  if (freeMin < 1) throw outOfRange(`freeMin must be at least 1 (blocks are numbered from 1), received ${freeMin}`);
  // The seed's assert(freeMax <= numAllocs).
  if (freeMax > numAllocs) throw outOfRange(`freeMax must be at most numAllocs (${numAllocs}), received ${freeMax}`);
  return { numAllocs, blockSize, freeStep, freeMin, freeMax };
}

/** Whether the loop j = freeMin-1 … freeMax-1 (step freeStep) frees the last block, the one at the top of the heap. */
function freesLast(a: FreeAndSbrkArguments): boolean {
  return a.freeMax === a.numAllocs && a.freeMin <= a.freeMax && (a.numAllocs - a.freeMin) % a.freeStep === 0;
}

/** Freed blocks that lie next to each other right below the top chunk (all of them with step 1). */
function topRun(a: FreeAndSbrkArguments): number {
  if (!freesLast(a)) return 0;
  return a.freeStep === 1 ? a.freeMax - a.freeMin + 1 : 1;
}

export const FREE_AND_SBRK_LABELS = {
  initial: 'Initial program break',
  allocating: (a: FreeAndSbrkArguments) => `Allocating ${a.numAllocs}*${a.blockSize} bytes`,
  freed: 'After free()',
};

function build(a: FreeAndSbrkArguments): StepProgram {
  const program = new StepProgram();
  program.step(FREE_AND_SBRK_LABELS.initial);
  program.step(FREE_AND_SBRK_LABELS.allocating(a), (s) =>
    s
      .batchAlloc('ptr', a.numAllocs, [{ size: a.blockSize }])
      // How many blocks sit right below the next one, and where they span: the top end is a run of them.
      .batchAdjacent('ptr', chunkSize(a.blockSize))
      .batchSpan('ptr')
      .batchSpan('ptr', { min: a.numAllocs }),
  );
  // With freeMin > freeMax the seed's loop frees nothing.
  program.step(FREE_AND_SBRK_LABELS.freed, (s) => {
    if (a.freeMin <= a.freeMax) s.batchFree('ptr', { step: a.freeStep, min: a.freeMin, max: a.freeMax });
  });
  return program;
}

/** The break and heap numbers both claims read. */
function measure(c: ClaimContext) {
  const a = freeAndSbrkArguments(c.parameters);
  const allocating = FREE_AND_SBRK_LABELS.allocating(a);
  const thresholds = thresholdsOf(c, 'seed');
  const [adjacent] = ops(c, 'seed', allocating, 'batch_adjacent');
  const [span, last] = ops(c, 'seed', allocating, 'batch_span');
  const initial = at(c, 'seed', FREE_AND_SBRK_LABELS.initial);
  return {
    a,
    grown: delta(c, 'seed', FREE_AND_SBRK_LABELS.initial, allocating, 'brk'),
    dropped: -delta(c, 'seed', allocating, FREE_AND_SBRK_LABELS.freed, 'brk'),
    freed: ops(c, 'seed', FREE_AND_SBRK_LABELS.freed, 'batch_free')[0]?.value ?? 0,
    mmapped: at(c, 'seed', allocating).mallinfo.hblks - at(c, 'seed', FREE_AND_SBRK_LABELS.initial).mallinfo.hblks,
    afterAlloc: at(c, 'seed', allocating).mallinfo,
    afterFree: at(c, 'seed', FREE_AND_SBRK_LABELS.freed).mallinfo,
    pad: thresholds.topPad,
    trim: thresholds.trim,
    dynamic: thresholds.dynamic,
    /** Blocks right below the next one (chunks touching), of the pairs. */
    adjacent: adjacent?.value ?? NaN,
    pairs: adjacent?.value2 ?? NaN,
    /** Blocks below the top chunk the program started with: in free chunks the heap already had. */
    lowest: span?.value ?? NaN,
    /** The last block's address. */
    last: last?.value ?? NaN,
    initialTop: topStart(initial),
  };
}

type Measured = ReturnType<typeof measure>;

/** Why neither claim can be judged: the blocks did not come from the break. */
function notFromBreak(m: Measured): Judgement | undefined {
  if (m.mmapped >= m.a.numAllocs) {
    return {
      verdict: 'inconclusive',
      evidence:
        `all ${m.a.numAllocs} blocks of ${bytes(m.a.blockSize)} were mmap'd (at or above the mmap threshold, 128 KiB unless raised), not taken from the program break, so free() had no break to lower` +
        (m.grown > 0 ? ` (the break's ${signed(m.grown)} is the heap glibc set up at its first malloc)` : ''),
    };
  }
  if (m.grown > 0) return undefined;
  return {
    verdict: 'inconclusive',
    evidence: `the break moved by ${signed(m.grown)} while ${m.a.numAllocs} × ${bytes(m.a.blockSize)} were malloc'd: the blocks did not come from the program break (mmap'd, or free space the heap already held), so free() had no break to lower`,
  };
}

const arguments_ = (a: FreeAndSbrkArguments) => `${a.numAllocs} ${a.blockSize} ${a.freeStep} ${a.freeMin} ${a.freeMax}`;

export const freeAndSbrk: ExperimentDefinition = {
  id: 'free-and-sbrk',
  title: "TLPI's free_and_sbrk: free() lowers the break only at the top of the heap",
  seeds: ['003', '004'],
  description:
    "TLPI's free_and_sbrk numAllocs blockSize [freeStep [freeMin [freeMax]]]: malloc the blocks (untouched), free a range of them in ascending order, watch the program break.",
  parameters: [
    { name: 'numAllocs', description: 'blocks to malloc', default: 1000, position: 0 },
    { name: 'blockSize', description: 'bytes of each block', default: 10240, position: 1 },
    { name: 'freeStep', description: 'free every freeStep-th block of the range', default: 1, position: 2 },
    { name: 'freeMin', description: 'first block to free (1-based)', default: 1, position: 3 },
    {
      name: 'freeMax',
      description: 'last block to free (1-based); 0 means numAllocs, as when the seed is not given it',
      default: 0,
      position: 4,
    },
  ],
  presets: {
    'every-second': { numAllocs: 1000, blockSize: 10240, freeStep: 2 },
    'all-but-last': { numAllocs: 1000, blockSize: 10240, freeStep: 1, freeMin: 1, freeMax: 999 },
    'top-half': { numAllocs: 1000, blockSize: 10240, freeStep: 1, freeMin: 500, freeMax: 1000 },
  },
  variants: (parameters) => {
    const a = freeAndSbrkArguments(parameters);
    return [{ name: 'seed', description: `free_and_sbrk ${arguments_(a)}`, program: build(a) }];
  },
  claims: [
    {
      id: 'free-keeps-break',
      claim:
        "In general, free() doesn't lower the program break, but instead adds the block of memory to a list of free blocks that are recycled by future calls to malloc().",
      requires: [glibcAllocator()],
      judge: (c): Judgement => {
        const m = measure(c);
        const unjudged = notFromBreak(m);
        if (unjudged) return unjudged;
        if (freesLast(m.a)) {
          return {
            verdict: 'inconclusive',
            evidence: `not applicable to these arguments: they free block ${m.a.numAllocs}, the last one, at the top end of the heap — the exception the next claim covers (run the every-second or all-but-last preset)`,
          };
        }
        const added = m.afterFree.ordblks - m.afterAlloc.ordblks;
        const merged =
          added <= 1
            ? 'coalesced into one free chunk'
            : `stay apart as ${added} more free chunks (their neighbours are live)`;
        // The last block's chunk ends where the top chunk starts: it sits at the top end.
        const lastAtTop =
          m.last - CHUNK_HEADER + chunkSize(m.a.blockSize) ===
          topStart(at(c, 'seed', FREE_AND_SBRK_LABELS.allocating(m.a)));
        return verdict(
          m.dropped <= 0,
          `free() of ${m.freed} blocks (${bytes(m.freed * m.a.blockSize)}) moved the break by ${signed(-m.dropped)} (the mallocs had raised it by ${bytes(m.grown)}): ` +
            (lastAtTop
              ? `block ${m.a.numAllocs}, still allocated, sits right below the top chunk, so no freed chunk can reach the top chunk; `
              : `the top chunk did not take any freed chunk (${bytes(m.afterAlloc.keepcost)} → ${bytes(m.afterFree.keepcost)}); `) +
            `the freed blocks ${merged} and wait in glibc's bins for later mallocs (free bytes: ${bytes(m.afterAlloc.fordblks)} → ${bytes(m.afterFree.fordblks)})`,
        );
      },
    },
    {
      id: 'top-lowers-break',
      claim:
        'If free() is used at memory regions at the top end of the heap, the program break is actually decreased: free() merges adjacent free blocks into one big block.',
      requires: [glibcAllocator()],
      judge: (c): Judgement => {
        const m = measure(c);
        const unjudged = notFromBreak(m);
        if (unjudged) return unjudged;
        const run = topRun(m.a);
        if (run === 0) {
          return {
            verdict: 'inconclusive',
            evidence: `not applicable to these arguments: block ${m.a.numAllocs}, at the top of the heap, is not freed (run the top-half preset)`,
          };
        }
        const topBefore = m.afterAlloc.keepcost;
        const topAfter = m.afterFree.keepcost;
        // Freed bytes that joined the top chunk: what the break gave back plus what the top grew by.
        const merged = m.dropped + topAfter - topBefore;
        // systrim keeps M_TOP_PAD (and MINSIZE, page-rounded) of the top and gives back the rest.
        const trimmedToPad = topAfter < m.pad + PAGE + MINSIZE;
        const holds = m.dropped >= PAGE && trimmedToPad;
        const freedBytes = m.freed * chunkSize(m.a.blockSize);
        let why: string;
        if (holds) {
          why =
            `freeing block ${m.a.numAllocs} merged it, with the freed blocks below it that touch it (already one free chunk), into the top chunk: ` +
            `${bytes(merged)} of the ${bytes(freedBytes)} freed joined the top` +
            (merged < 0.9 * freedBytes ? ' (the rest lie in free chunks apart from it)' : '') +
            `; that chunk passed FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB) and the top chunk M_TRIM_THRESHOLD (${bytes(m.trim)} in this run), so free() called systrim, ` +
            `which lowered the break and kept a ${bytes(topAfter)} top chunk (the ${bytes(m.pad)} top pad, page-rounded)`;
        } else if (m.dropped < PAGE && topAfter < FASTBIN_CONSOLIDATION_THRESHOLD) {
          why = `the top chunk is only ${bytes(topAfter)} after the frees: no freed chunk that reached it was 64 KiB (FASTBIN_CONSOLIDATION_THRESHOLD), the size at which free() considers trimming`;
        } else if (m.dropped < PAGE && topAfter < m.trim) {
          why = `the top chunk (${bytes(topAfter)} after the frees) stayed below M_TRIM_THRESHOLD (${bytes(m.trim)} in this run), so glibc kept it for later mallocs`;
        } else {
          why =
            `glibc kept ${bytes(topAfter)} as the top chunk (top pad ${bytes(m.pad)}, M_TRIM_THRESHOLD ${bytes(m.trim)} in this run` +
            (m.dynamic ? ', unless the free of an mmapped chunk had raised it' : '') +
            ')';
        }
        return verdict(
          holds,
          `freeing blocks ${m.a.freeMin}..${m.a.freeMax} (step ${m.a.freeStep}${m.pairs > 0 ? `; ${m.adjacent} of the ${m.pairs} successive pairs of blocks touch` : ''}) ` +
            `lowered the break by ${bytes(m.dropped)}: ${why}`,
        );
      },
    },
  ],
};
