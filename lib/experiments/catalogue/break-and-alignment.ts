/**
 * Seed 004's small facts of the program break and of malloc's blocks, with seed
 * 003's "the heap is probably non-empty on program start" and seed 001's record
 * keeping. Three programs:
 * - `sbrk`: sbrk(0), sbrk(1) twice, sbrk(4095), then back down, with VmData (the
 *   kernel's count of the data segment's pages) after each;
 * - `heap`: malloc(120 KiB) a number of times (below the mmap threshold: from the
 *   heap), then blocks of many sizes, all on the main thread, and the heap's range
 *   (start_brk from /proc/self/stat, and the break);
 * - `thread`: on a new thread (a new arena, so neighbours are laid out alike in the
 *   fresh executable and in Node) pairs of same-size blocks, two 16 KiB blocks freed
 *   side by side, and a freed 64 KiB block asked for 16 KiB twice.
 */
import { chunkSize, MALLOC_ALIGNMENT, PAGE, pageAlign, SIZE_SZ } from '../../glibc/model.js';
import { formatAddress, KiB } from '../../infra/units.js';
import { at, bytes, MissingMeasurement, ops, signed, succeeded, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';

/** The thread whose new arena the layout programs use. */
const THREAD = 1;
/** Request sizes whose addresses the alignment claim looks at: odd, even, around 16 and 32, small and large. */
export const ALIGNMENT_SIZES = [
  1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 24, 25, 31, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000, 1023,
  1024, 4000,
];
/** Request sizes laid out in pairs on the thread: the smallest, the largest a 32-byte chunk holds, one more. */
export const PAIR_SIZES = [1, 24, 25];
const SPLIT_FROM = 64 * KiB;
const SPLIT_INTO = 16 * KiB;
const NEIGHBOUR = 16 * KiB;
/** Larger than either 16 KiB neighbour alone, within the two merged. */
const MERGED_REQUEST = 30 * KiB;

export const STEPS = {
  start: 'start',
  sbrk0: 'sbrk(0)',
  sbrk1: 'sbrk(1)',
  sbrk1Again: 'sbrk(1) again',
  sbrkRest: 'sbrk(4095)',
  shrink: 'sbrk(-4095)',
  shrinkBytes: 'sbrk(-1) twice',
  aligned: `malloc ${ALIGNMENT_SIZES.length} sizes, 1 B to 4000 B`,
  end: 'the heap at the end',
  threadStarted: 'thread started',
  pairs: `malloc two blocks each of ${PAIR_SIZES.join(', ')} B`,
  neighbours: 'malloc two 16 KiB blocks and a guard',
  freeNeighbours: 'free both 16 KiB blocks',
  merged: 'malloc(30 KiB)',
  splitFrom: 'malloc(64 KiB) and a guard',
  freeSplitFrom: 'free the 64 KiB block',
  splitInto: 'malloc(16 KiB) twice',
} as const;

export const growthLabel = (size: number, k: number) => `malloc(${bytes(size)}) #${k}`;

function sbrkProgram(): StepProgram {
  return new StepProgram()
    .step(STEPS.start, (s) => s.heapRange())
    .step(STEPS.sbrk0, (s) => s.sbrk(0))
    .step(STEPS.sbrk1, (s) => s.sbrk(1))
    .step(STEPS.sbrk1Again, (s) => s.sbrk(1))
    .step(STEPS.sbrkRest, (s) => s.sbrk(4095))
    .step(STEPS.shrink, (s) => s.sbrk(-4095))
    .step(STEPS.shrinkBytes, (s) => s.sbrk(-1).sbrk(-1));
}

function heapProgram(parameters: Parameters): StepProgram {
  const { growths, block } = parameters as { growths: number; block: number };
  const program = new StepProgram().step(STEPS.start, (s) => s.heapRange());
  for (let k = 1; k <= growths; k++) program.step(growthLabel(block, k), (s) => s.malloc(`grow${k}`, block));
  return program
    .step(STEPS.aligned, (s) => ALIGNMENT_SIZES.forEach((size, i) => s.malloc(`aligned${i}`, size)))
    .step(STEPS.end, (s) => s.heapRange());
}

function threadProgram(): StepProgram {
  return new StepProgram()
    .step(STEPS.threadStarted, (s) => s.threadStart(THREAD))
    .step(STEPS.pairs, (s) =>
      s.onThread(THREAD, (t) => {
        for (const size of PAIR_SIZES) t.malloc(`pair${size}a`, size).malloc(`pair${size}b`, size);
      }),
    )
    .step(STEPS.neighbours, (s) =>
      s.onThread(THREAD, (t) => t.malloc('c1', NEIGHBOUR).malloc('c2', NEIGHBOUR).malloc('h', 16)),
    )
    .step(STEPS.freeNeighbours, (s) => s.onThread(THREAD, (t) => t.free('c1').free('c2')))
    .step(STEPS.merged, (s) => s.onThread(THREAD, (t) => t.malloc('x', MERGED_REQUEST)))
    .step(STEPS.splitFrom, (s) => s.onThread(THREAD, (t) => t.malloc('big', SPLIT_FROM).malloc('g', 16)))
    .step(STEPS.freeSplitFrom, (s) => s.onThread(THREAD, (t) => t.free('big')))
    .step(STEPS.splitInto, (s) => s.onThread(THREAD, (t) => t.malloc('s1', SPLIT_INTO).malloc('s2', SPLIT_INTO)));
}

/** What each malloc of a step returned. */
const addresses = (c: ClaimContext, variant: string, label: string) =>
  ops(c, variant, label, 'malloc').map((record) => record.value);

/** The sbrk steps: what the break and VmData did at each. */
function sbrkMoves(c: ClaimContext) {
  const labels = [STEPS.sbrk1, STEPS.sbrk1Again, STEPS.sbrkRest, STEPS.shrink, STEPS.shrinkBytes];
  let previous = STEPS.sbrk0 as string;
  return labels.map((label) => {
    const records = ops(c, 'sbrk', label, 'sbrk');
    if (records.length === 0 || records.some((record) => record.status !== 0)) {
      throw new MissingMeasurement(`an sbrk in "${label}" failed`);
    }
    const from = records[0]!.value;
    const to = records.at(-1)!.value2;
    const vmData = at(c, 'sbrk', label).status.VmData - at(c, 'sbrk', previous).status.VmData;
    previous = label;
    return { label, from, to, moved: to - from, vmData, pagesExpected: pageAlign(to) - pageAlign(from) };
  });
}

const moveText = (move: { label: string; moved: number; vmData: number }) =>
  `${move.label}: break ${move.moved >= 0 ? '+' : ''}${move.moved} B, VmData ${signed(move.vmData)}`;

export const breakAndAlignment: ExperimentDefinition = {
  id: 'break-and-alignment',
  title: "The break moves by bytes, the kernel maps pages; malloc's alignment, record keeping and free list",
  seeds: ['004', '003', '001', '002'],
  description:
    'sbrk(0), sbrk(1) twice, sbrk(4095) and back, with VmData; malloc(120 KiB) repeatedly and blocks of 30 sizes on the main thread, ' +
    "with the heap's start and break; on a new thread's arena, pairs of blocks, two freed neighbours and a freed 64 KiB block reused.",
  parameters: [
    { name: 'growths', description: 'malloc(block) steps that grow the heap', default: 16 },
    { name: 'block', description: 'bytes of each growth step (below the 128 KiB mmap threshold)', default: 120 * KiB },
  ],
  variants: (parameters) => [
    {
      name: 'sbrk',
      description: 'sbrk(0), sbrk(1) twice, sbrk(4095), sbrk(-4095), sbrk(-1) twice',
      program: sbrkProgram(),
    },
    {
      name: 'heap',
      description: `malloc(${bytes(parameters['block']!)}) ${parameters['growths']} times, then ${ALIGNMENT_SIZES.length} sizes, on the main thread`,
      program: heapProgram(parameters),
    },
    {
      name: 'thread',
      description:
        'on a new thread: block pairs, two freed 16 KiB neighbours, a freed 64 KiB block asked for 16 KiB twice',
      program: threadProgram(),
    },
  ],
  allocators: ['glibc'],
  claims: [
    {
      id: 'heap-at-start',
      claim: "{1} The heap is probably non-empty on program start, but assuming it's not illustrates my point.",
      judge: (c) => {
        const range = succeeded(c, 'sbrk', STEPS.start, 'heap_range');
        const size = range.value2 - range.value;
        const inUse = at(c, 'sbrk', STEPS.start).mallinfo.uordblks;
        const arena = at(c, 'sbrk', STEPS.start).mallinfo.arena;
        return verdict(
          size > 0 || arena > 0,
          size > 0 || arena > 0
            ? `at the first step the heap already spans ${bytes(size)} (start_brk ${formatAddress(range.value)} to the break ${formatAddress(range.value2)}); mallinfo2 counts ${bytes(inUse)} in use in the main arena's ${bytes(arena)}: ${c.heap === 'aged' ? 'the ageing workload' : c.host === 'node' ? "the Node process's start-up" : 'something'} had allocated before the first step`
            : `at the first step the heap is empty: the break is still at the heap's start (${formatAddress(range.value)}) and mallinfo2().arena is 0 — nothing called malloc before the first step (as in a C program whose start-up does not allocate)`,
        );
      },
    },
    {
      id: 'sbrk0-current',
      claim: 'Sbrk(0) simply returns the current program break; this can also be useful.',
      judge: (c) => {
        const call = succeeded(c, 'sbrk', STEPS.sbrk0, 'sbrk');
        const before = Number(at(c, 'sbrk', STEPS.start).brk);
        const after = Number(at(c, 'sbrk', STEPS.sbrk0).brk);
        return verdict(
          call.value === before && call.value2 === before && after === before,
          `sbrk(0) returned ${formatAddress(call.value)}; the break read before and after it: ${formatAddress(before)}, ${formatAddress(after)}`,
        );
      },
    },
    {
      id: 'sbrk-one-page',
      claim: 'Sbrk(1) increases the heap by 1 page.',
      judge: (c) => {
        const [first] = sbrkMoves(c);
        return verdict(
          first!.moved === 1 && first!.vmData === PAGE,
          `sbrk(1) moved the break by ${first!.moved} byte, and VmData grew by ${signed(first!.vmData)}: the break is a byte address, the kernel maps the data segment in whole ${bytes(PAGE)} pages`,
        );
      },
    },
    {
      id: 'sbrk-returns-old-break',
      claim: 'Its return value is the old program break; which is the START of the newly allocated page.',
      judge: (c) => {
        const old = Number(at(c, 'sbrk', STEPS.sbrk0).brk);
        const call = succeeded(c, 'sbrk', STEPS.sbrk1, 'sbrk');
        const aligned = old % PAGE === 0;
        return verdict(
          call.value === old && aligned,
          `sbrk(1) returned ${formatAddress(call.value)}, the break before it was ${formatAddress(old)}` +
            (aligned
              ? `, a page boundary: the page the kernel mapped starts there`
              : `, ${old % PAGE} bytes into a page: the new page starts at ${formatAddress(pageAlign(old))}, not at the old break`),
        );
      },
    },
    {
      id: 'brk-page-rounded',
      claim:
        'Brk(end_segment) … Set the program break … This gets rounded up to nearest page boundary, as allocation happens in pages.',
      judge: (c) => {
        const moves = sbrkMoves(c);
        const matches = moves.every((move) => move.vmData === move.pagesExpected);
        const unrounded = moves.find((move) => move.to % PAGE !== 0);
        return verdict(
          matches && unrounded !== undefined,
          `${moves.map(moveText).join('; ')} — VmData always moved to the page boundary above the break${matches ? '' : ' (not at every step)'}, ` +
            (unrounded === undefined
              ? 'and the break itself sat on page boundaries'
              : `while the break itself is not rounded: sbrk reported ${formatAddress(unrounded.to)} after "${unrounded.label}"`),
        );
      },
    },
    {
      id: 'sbrk-shrinks',
      claim: 'Although sbrk can both increase and decrease the heap size (a negative increment lowers the break).',
      judge: (c) => {
        const moves = sbrkMoves(c);
        const down = moves.slice(3);
        const start = Number(at(c, 'sbrk', STEPS.sbrk0).brk);
        const end = down.at(-1)!.to;
        const vmBack = at(c, 'sbrk', STEPS.shrinkBytes).status.VmData - at(c, 'sbrk', STEPS.sbrk0).status.VmData;
        return verdict(
          down.every((move) => move.moved < 0) && end === start && vmBack === 0,
          `${down.map(moveText).join('; ')}: the break is back at ${formatAddress(end)} (it started at ${formatAddress(start)}), VmData ${signed(vmBack)} against before the first sbrk(1)`,
        );
      },
    },
    {
      id: 'malloc-sbrk-pages',
      claim:
        'Else, it uses sbrk() to allocate memory; usually some multiple of the virtual memory page size, then adds it to the free list.',
      judge: (c) => {
        const { growths, block } = c.parameters as { growths: number; block: number };
        const labels = [STEPS.start as string, ...Array.from({ length: growths }, (_, k) => growthLabel(block, k + 1))];
        const moves = labels
          .slice(1)
          .map((label, i) => Number(at(c, 'heap', label).brk) - Number(at(c, 'heap', labels[i]!).brk));
        const grown = moves.filter((move) => move !== 0);
        if (grown.length === 0) {
          return {
            verdict: 'inconclusive',
            evidence: `${growths} × malloc(${bytes(block)}) never moved the break: the heap's free space served them all`,
          };
        }
        return verdict(
          grown.every((move) => move > 0 && move % PAGE === 0),
          `${growths} × malloc(${bytes(block)}) moved the break ${grown.length} times: ${grown.map((move) => `${bytes(move)} (${move / PAGE} pages)`).join(', ')}`,
        );
      },
    },
    {
      id: 'heap-contiguous',
      claim: 'Heap is a contiguous region in memory, whose current limit is the program break.',
      judge: (c) => {
        const { growths, block } = c.parameters as { growths: number; block: number };
        const range = succeeded(c, 'heap', STEPS.end, 'heap_range');
        const labels = [...Array.from({ length: growths }, (_, k) => growthLabel(block, k + 1)), STEPS.aligned];
        const blocks = labels.flatMap((label) => addresses(c, 'heap', label));
        const outside = blocks.filter((address) => address < range.value || address >= range.value2);
        const breaks = [STEPS.start as string, ...labels].map((label) => Number(at(c, 'heap', label).brk));
        const neverDown = breaks.every((value, i) => i === 0 || value >= breaks[i - 1]!);
        return verdict(
          outside.length === 0 && neverDown,
          `${blocks.length - outside.length} of the ${blocks.length} blocks malloc'd on the main thread lie between the heap's start ${formatAddress(range.value)} and the break ${formatAddress(range.value2)} ` +
            `(${bytes(range.value2 - range.value)}, one range)${outside.length === 0 ? '' : `; outside it: ${outside.map(formatAddress).join(', ')}`}; ` +
            `the break ${neverDown ? 'only grew' : 'also moved down'} while they were allocated`,
        );
      },
    },
    {
      id: 'malloc-aligned',
      claim:
        'Is on a BYTE BOUNDARY, so appropriate for any char/int/data type we wish to assign there (efficient access): on 64-bit glibc every block is aligned to 16 bytes.',
      judge: (c) => {
        const blocks = addresses(c, 'heap', STEPS.aligned);
        const aligned = blocks.filter((address) => address % MALLOC_ALIGNMENT === 0);
        const only16 = aligned.filter((address) => address % (2 * MALLOC_ALIGNMENT) !== 0);
        return verdict(
          blocks.length === ALIGNMENT_SIZES.length && aligned.length === blocks.length,
          `${aligned.length} of the ${blocks.length} blocks (1 B to 4000 B) start at a multiple of ${MALLOC_ALIGNMENT}; ` +
            `${only16.length} of them at an odd multiple, so ${MALLOC_ALIGNMENT} bytes is what is promised, not more`,
        );
      },
    },
    {
      id: 'record-keeping',
      claim:
        'Most implementations allocate more space than requested and use the additional space for record keeping: malloc() includes a length of block, and a free block holds pointers to the previous and next free blocks.',
      judge: (c) => {
        const mallocs = ops(c, 'thread', STEPS.pairs, 'malloc').map((record) => record.value);
        const spacings = PAIR_SIZES.map((size, i) => ({
          size,
          spacing: mallocs[2 * i + 1]! - mallocs[2 * i]!,
          expected: chunkSize(size),
        }));
        if (mallocs.length !== 2 * PAIR_SIZES.length) throw new MissingMeasurement('not every pair was allocated');
        const holds = spacings.every((pair) => pair.spacing === pair.expected);
        return verdict(
          holds,
          spacings.map((pair) => `malloc(${pair.size}) blocks lie ${bytes(pair.spacing)} apart`).join(', ') +
            `: each block costs its size plus one ${SIZE_SZ}-byte length word, rounded up to ${MALLOC_ALIGNMENT} bytes, and at least ${chunkSize(1)} bytes — ` +
            `the room a free block needs for its length and its two links; a block in use carries no pointer to the next allocated block (malloc(24) fits in 32 bytes)`,
        );
      },
    },
    {
      id: 'takes-what-it-needs',
      claim:
        'It first checks the free list. If memory with the required size is available, it takes just as much as it needs and allocates it.',
      judge: (c) => {
        const big = succeeded(c, 'thread', STEPS.splitFrom, 'malloc').value;
        const [s1, s2] = ops(c, 'thread', STEPS.splitInto, 'malloc').map((record) => record.value);
        const first = s1 === big;
        const second = s2 === big + chunkSize(SPLIT_INTO);
        return verdict(
          first && second,
          `the freed ${bytes(SPLIT_FROM)} block was at ${formatAddress(big)}; malloc(${bytes(SPLIT_INTO)}) returned ${formatAddress(s1!)}` +
            `${first ? ' (the freed block)' : ''} and the next one ${formatAddress(s2!)}` +
            `${second ? `, ${bytes(chunkSize(SPLIT_INTO))} further: the first took only its ${bytes(chunkSize(SPLIT_INTO))} chunk and left the rest free for the second` : ''}`,
        );
      },
    },
    {
      id: 'coalesced-satisfies',
      claim:
        "The glibc free() function checks if free'd memory is adjacent, and if it is, it groups them into one big block of free memory, which can satisfy a larger future malloc().",
      judge: (c): Judgement => {
        const [c1, c2] = ops(c, 'thread', STEPS.neighbours, 'malloc').map((record) => record.value);
        const x = succeeded(c, 'thread', STEPS.merged, 'malloc').value;
        const adjacent = c2! - c1! === chunkSize(NEIGHBOUR);
        const result = verdict(
          x === c1,
          `two ${bytes(NEIGHBOUR)} blocks side by side (${formatAddress(c1!)}, ${formatAddress(c2!)}) were freed; malloc(${bytes(MERGED_REQUEST)}), larger than either, ` +
            (x === c1
              ? `got ${formatAddress(x)}, the first one's address: the two had merged into one free block`
              : `got ${formatAddress(x)}, elsewhere`),
        );
        return adjacent
          ? result
          : { verdict: 'inconclusive', evidence: `the two blocks were not adjacent: ${result.evidence}` };
      },
    },
  ],
};
