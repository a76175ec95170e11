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
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { at, bytes, delta, ops, signed, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';

const SIZE_SZ = 8;
const MALLOC_ALIGNMENT = 16;
const MINSIZE = 32;
const PAGE = 4096;
/** glibc's defaults for M_TOP_PAD and M_TRIM_THRESHOLD. */
const DEFAULT_TOP_PAD = 128 * 1024;
const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
/** A free whose merged chunk reaches this size makes free() consider trimming the top. */
const FASTBIN_CONSOLIDATION_THRESHOLD = 64 * 1024;
/** The seed's MAX_ALLOCS: the size of its ptr[] array. */
const MAX_ALLOCS = 1_000_000;

/** request2size(): the chunk glibc carves for a malloc(n). */
const chunkSize = (n: number) => Math.max(MINSIZE, (n + SIZE_SZ + MALLOC_ALIGNMENT - 1) & ~(MALLOC_ALIGNMENT - 1));

/** A glibc malloc setting in force for a run: its environment variable, its tunable, or the default. */
function glibcSetting(env: Record<string, string>, variable: string, tunable: string, fallback: number): number {
  const fromTunables = env['GLIBC_TUNABLES']
    ?.split(':')
    .find((entry) => entry.startsWith(`${tunable}=`))
    ?.split('=')[1];
  const value = Number(env[variable] ?? fromTunables ?? fallback);
  return Number.isFinite(value) ? value : fallback;
}

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
  program.step(FREE_AND_SBRK_LABELS.allocating(a), (s) => s.batchAlloc('ptr', a.numAllocs, [{ size: a.blockSize }]));
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
  const env = c.runs['seed']?.env ?? {};
  return {
    a,
    grown: delta(c, 'seed', FREE_AND_SBRK_LABELS.initial, allocating, 'brk'),
    dropped: -delta(c, 'seed', allocating, FREE_AND_SBRK_LABELS.freed, 'brk'),
    freed: ops(c, 'seed', FREE_AND_SBRK_LABELS.freed, 'batch_free')[0]?.value ?? 0,
    mmapped: at(c, 'seed', allocating).mallinfo.hblks - at(c, 'seed', FREE_AND_SBRK_LABELS.initial).mallinfo.hblks,
    afterAlloc: at(c, 'seed', allocating).mallinfo,
    afterFree: at(c, 'seed', FREE_AND_SBRK_LABELS.freed).mallinfo,
    pad: glibcSetting(env, 'MALLOC_TOP_PAD_', 'glibc.malloc.top_pad', DEFAULT_TOP_PAD),
    trim: glibcSetting(env, 'MALLOC_TRIM_THRESHOLD_', 'glibc.malloc.trim_threshold', DEFAULT_TRIM_THRESHOLD),
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
        (m.grown > 0
          ? ` (the break's ${signed(m.grown)} is glibc's first heap, made for its own small allocations such as the tcache struct)`
          : ''),
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
        return verdict(
          m.dropped <= 0,
          `free() of ${m.freed} blocks (${bytes(m.freed * m.a.blockSize)}) moved the break by ${signed(-m.dropped)} (the mallocs had raised it by ${bytes(m.grown)}): ` +
            `block ${m.a.numAllocs} stays allocated at the top of the heap, so no freed chunk can reach the top chunk; ` +
            `the freed blocks ${merged} and wait in glibc's bins for later mallocs (free bytes: ${bytes(m.afterAlloc.fordblks)} → ${bytes(m.afterFree.fordblks)})`,
        );
      },
    },
    {
      id: 'top-lowers-break',
      claim:
        'If free() is used at memory regions at the top end of the heap, the program break is actually decreased: free() merges adjacent free blocks into one big block.',
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
        // glibc trims to leave M_TOP_PAD in the top chunk, so at least the freed bytes beyond the pad must come back.
        const expected = Math.max(PAGE, run * m.a.blockSize - m.pad);
        const runChunks = run * chunkSize(m.a.blockSize);
        const topBefore = m.afterAlloc.keepcost;
        const topAfter = m.afterFree.keepcost;
        const accounted = topBefore + runChunks - topAfter;
        const holds = m.dropped >= expected;
        let why: string;
        if (holds) {
          why =
            `freeing block ${m.a.numAllocs} merged it${run > 1 ? `, and the ${run - 1} freed blocks below it already coalesced into one chunk,` : ''} into the top chunk; ` +
            `that merged chunk passed FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB) and the top chunk passed M_TRIM_THRESHOLD (${bytes(m.trim)}), so free() called systrim, ` +
            `which lowered the break and kept a ${bytes(topAfter)} top chunk (the ${bytes(m.pad)} top pad, page-rounded): ` +
            `old top ${bytes(topBefore)} + freed chunks ${bytes(runChunks)} − kept top = ${bytes(accounted)}${accounted === m.dropped ? ', the drop exactly' : ''}`;
        } else if (topBefore + runChunks < FASTBIN_CONSOLIDATION_THRESHOLD) {
          why = `the chunk merged into the top was only ${bytes(topBefore + runChunks)}, below the 64 KiB FASTBIN_CONSOLIDATION_THRESHOLD that makes free() consider trimming`;
        } else if (topBefore + runChunks < m.trim) {
          why = `the top chunk (${bytes(topBefore + runChunks)} with the freed blocks) stayed below M_TRIM_THRESHOLD (${bytes(m.trim)}), so glibc kept it for later mallocs`;
        } else {
          why = `glibc kept ${bytes(topAfter)} as the top chunk (top pad ${bytes(m.pad)}, M_TRIM_THRESHOLD ${bytes(m.trim)}; the dynamic mmap threshold raises the trim threshold after a large mmapped block is freed)`;
        }
        return verdict(
          holds,
          `freeing blocks ${m.a.freeMin}..${m.a.freeMax} (step ${m.a.freeStep}; ${run} contiguous at the top, ${bytes(run * m.a.blockSize)}) lowered the break by ${bytes(m.dropped)} ` +
            `(expected at least ${bytes(expected)}: the freed top bytes beyond the ${bytes(m.pad)} top pad, at least a page): ${why}`,
        );
      },
    },
  ],
};
