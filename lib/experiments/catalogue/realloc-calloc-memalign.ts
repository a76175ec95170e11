/**
 * Seed 004's "other heap allocation methods": calloc(numitems, size), realloc's
 * three cases (enough adjacent memory; a block at the top end of the heap, where
 * the program break is extended; a block in the middle, moved and copied), and
 * memalign(boundary, size) with its power-of-two boundary.
 *
 * The realloc variants set M_MMAP_MAX to 0 first: the seed's model is one brk
 * heap, and glibc would otherwise serve blocks of 128 KiB and more (the default
 * mmap threshold) with mmap, where realloc is mremap and the break never moves.
 * With 1 MiB blocks, a block malloc'd there is larger than any free chunk a
 * Node heap has, so it comes from the top of the heap on both hosts.
 */
import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import { CHUNK_HEADER as HEADER, chunkSize, PAGE } from '../../glibc/model.js';
import { formatAddress } from '../../infra/units.js';
import { at, bytes, cpuOf, glibcOf, judged, ops, signed, topStart as topOf, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import { tcacheHeldOf, thresholdsOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';
/** Boundaries tried with each aligned allocator: a cache line, a page, 64 KiB. */
export const BOUNDARIES = [64, 4096, 65536];
/** Not a power of two: glibc's memalign rounds it up to 4096, posix_memalign refuses it. */
export const ODD_BOUNDARY = 3000;
/** calloc(2^32, 2^32): the product does not fit in size_t. */
const HUGE = 2 ** 32;
const EINVAL = 22;
const ENOMEM = 12;

function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(value));
}

export const STEPS = {
  mmapOff: 'mallopt(M_MMAP_MAX, 0)',
  mallocA: 'malloc(a)',
  pastTop: 'realloc(a) past the top chunk',
  withinTop: 'realloc(a) within the top chunk',
  mallocAB: 'malloc(a), malloc(b)',
  moved: 'realloc(a)',
  freed: 'malloc(p), memset, free(p)',
  calloc1: 'calloc(1, size)',
  malloc1: 'malloc(size)',
  callocN: 'calloc(numitems, size)',
  overflow: 'calloc(2^32, 2^32)',
  valloc: 'valloc(size)',
  odd: `memalign(${ODD_BOUNDARY}, size), aligned_alloc(${ODD_BOUNDARY}, size)`,
  oddPosix: `posix_memalign(${ODD_BOUNDARY}, size)`,
} as const;

const boundaryStep = (boundary: number) => `boundary ${boundary}`;

function reallocTop(size: number, grow: number): StepProgram {
  return new StepProgram()
    .step(STEPS.mmapOff, (s) => s.mallopt(MALLOPT_PARAMS.M_MMAP_MAX, 0))
    .step(STEPS.mallocA, (s) => s.malloc('a', size).fill('a', 1))
    .step(STEPS.pastTop, (s) =>
      s
        .clock()
        .realloc('a', 2 * size)
        .clock(),
    )
    .step(STEPS.withinTop, (s) => s.realloc('a', 2 * size + grow));
}

function reallocMiddle(size: number): StepProgram {
  return new StepProgram()
    .step(STEPS.mmapOff, (s) => s.mallopt(MALLOPT_PARAMS.M_MMAP_MAX, 0))
    .step(STEPS.mallocAB, (s) => s.malloc('a', size).fill('a', 1).malloc('b', size).fill('b', 1))
    .step(STEPS.moved, (s) =>
      s
        .clock()
        .realloc('a', 2 * size)
        .clock(),
    );
}

function callocProgram(numitems: number, size: number): StepProgram {
  return (
    new StepProgram()
      .step(STEPS.freed, (s) => s.malloc('p', size).fill('p', 0xff).free('p'))
      .step(STEPS.calloc1, (s) => s.calloc('one', 1, size))
      .step(STEPS.malloc1, (s) => s.malloc('m', size))
      .step(STEPS.callocN, (s) => s.calloc('items', numitems, size).malloc_usable_size('items'))
      // Last: a failing op ends the run.
      .step(STEPS.overflow, (s) => s.calloc('huge', HUGE, HUGE))
  );
}

function memalignProgram(size: number): StepProgram {
  const built = new StepProgram();
  for (const boundary of BOUNDARIES) {
    built.step(boundaryStep(boundary), (s) =>
      s
        .memalign(`m${boundary}`, boundary, size)
        .posix_memalign(`p${boundary}`, boundary, size)
        .aligned_alloc(`a${boundary}`, boundary, size)
        .malloc_usable_size(`m${boundary}`),
    );
  }
  return (
    built
      .step(STEPS.valloc, (s) => s.valloc('v', size))
      .step(STEPS.odd, (s) => s.memalign('odd', ODD_BOUNDARY, size).aligned_alloc('oddAligned', ODD_BOUNDARY, size))
      // Last: EINVAL ends the run.
      .step(STEPS.oddPosix, (s) => s.posix_memalign('oddPosix', ODD_BOUNDARY, size))
  );
}

const first = (c: ClaimContext, variant: string, label: string, op: 'malloc' | 'realloc' | 'calloc') => {
  const record = ops(c, variant, label, op)[0];
  return record?.value ?? NaN;
};
/** Where the top chunk begins: it runs up to the break and keepcost is its size. */
const topStart = (c: ClaimContext, variant: string, label: string) => topOf(at(c, variant, label));
const inconclusive = (evidence: string): Judgement => ({ verdict: 'inconclusive', evidence });

export const reallocCallocMemalign: ExperimentDefinition = {
  id: 'realloc-calloc-memalign',
  title: "calloc, realloc's three cases, and memalign's boundary",
  seeds: ['004'],
  description:
    "Seed 004's calloc(numitems, size), realloc growing a block at the top end of the heap (in place, then past the top chunk so the break moves) " +
    'and a block with a live neighbour (moved and copied, its CPU time against the growth in place), and memalign/posix_memalign/aligned_alloc/valloc at several boundaries. ' +
    'The realloc variants turn mmap off (M_MMAP_MAX 0) so that 1 MiB blocks stay on the brk heap the seed describes.',
  parameters: [
    {
      name: 'size',
      description: 'realloc: bytes of block a (and of its neighbour b); it grows to twice that',
      default: 1024 * 1024,
    },
    {
      name: 'grow',
      description: 'realloc: the last growth, small enough for the top pad (128 KiB) left after the break moved',
      default: 64 * 1024,
    },
    { name: 'numitems', description: 'calloc: number of items', default: 1000 },
    { name: 'itemsize', description: 'calloc: bytes of each item', default: 24 },
    { name: 'alignsize', description: 'memalign: bytes of each aligned block', default: 1000 },
  ],
  variants: (parameters: Parameters) => {
    const { size, grow, numitems, itemsize, alignsize } = parameters as Record<string, number>;
    return [
      {
        name: 'realloc-top',
        description: 'a at the top end of the heap grows past the top chunk, then within it',
        program: reallocTop(size!, grow!),
      },
      {
        name: 'realloc-middle',
        description: 'a with a live neighbour b after it grows',
        program: reallocMiddle(size!),
      },
      {
        name: 'calloc',
        description:
          'calloc after a freed block of the same size, calloc(numitems, size), and a product too large for size_t',
        program: callocProgram(numitems!, itemsize!),
      },
      {
        name: 'memalign',
        description: `memalign, posix_memalign, aligned_alloc at ${BOUNDARIES.join(', ')}; valloc; a boundary of ${ODD_BOUNDARY}`,
        program: memalignProgram(alignsize!),
      },
    ];
  },
  allocators: ['glibc'],
  claims: [
    {
      id: 'calloc-items',
      claim: 'calloc(numitems, size) allocates memory for a set number of items that each have the same fixed size.',
      judge: (c) =>
        judged(() => {
          const { numitems, itemsize } = c.parameters as Record<string, number>;
          const wanted = numitems! * itemsize!;
          const usable = ops(c, 'calloc', STEPS.callocN, 'malloc_usable_size')[0]!.value;
          const overflow = ops(c, 'calloc', STEPS.overflow, 'calloc')[0];
          if (overflow === undefined) return inconclusive(`the run stopped before ${STEPS.overflow}`);
          const refused = overflow.status === ENOMEM;
          const freed = ops(c, 'calloc', STEPS.freed, 'malloc')[0]!.value;
          const one = first(c, 'calloc', STEPS.calloc1, 'calloc');
          const next = first(c, 'calloc', STEPS.malloc1, 'malloc');
          const reuse =
            one === freed
              ? `calloc(1, ${itemsize}) reused the block just freed (${formatAddress(freed)}).`
              : `calloc(1, ${itemsize}) did not reuse the block just freed (${formatAddress(freed)}, got ${formatAddress(one)})` +
                (next === freed
                  ? tcacheHeldOf(c, 'calloc', itemsize!) > 0
                    ? `: that block sat in the tcache, which calloc in ${glibcOf(c)} does not take from; the next malloc got it back.`
                    : ': the next malloc got it back.'
                  : '.');
          return verdict(
            usable >= wanted && refused,
            `calloc(${numitems}, ${itemsize}) gave a block of ${usable} B usable for the ${wanted} B the items need; ` +
              `calloc(2^32, 2^32), whose product does not fit in size_t, ${refused ? 'was refused with ENOMEM' : `returned status ${overflow.status}`} ` +
              `(glibc multiplies with an overflow check instead of wrapping to a small block). ${reuse}`,
          );
        }),
    },
    {
      id: 'realloc-adjacent',
      claim: 'realloc to a larger size: if there is enough adjacent memory available, it is allocated.',
      judge: (c) =>
        judged(() => {
          const { size, grow } = c.parameters as Record<string, number>;
          const before = at(c, 'realloc-top', STEPS.pastTop);
          const after = at(c, 'realloc-top', STEPS.withinTop);
          const from = first(c, 'realloc-top', STEPS.pastTop, 'realloc');
          const to = first(c, 'realloc-top', STEPS.withinTop, 'realloc');
          const needed = chunkSize(2 * size! + grow!) - chunkSize(2 * size!);
          const top = before.mallinfo.keepcost;
          const adjacent = from - HEADER + chunkSize(2 * size!) === topStart(c, 'realloc-top', STEPS.pastTop);
          if (!adjacent || needed > top) {
            return inconclusive(
              `a was ${adjacent ? '' : 'not '}followed by the top chunk (${bytes(top)}) and needed ${bytes(needed)} more: not the case of enough adjacent memory`,
            );
          }
          const brk = Number(after.brk - before.brk);
          const used = top - after.mallinfo.keepcost;
          return verdict(
            to === from && brk === 0,
            `a (${bytes(2 * size!)}) was followed by the free top chunk of ${bytes(top)}; growing it by ${bytes(grow!)} ` +
              `${to === from ? 'kept its address' : `moved it from ${formatAddress(from)} to ${formatAddress(to)}`}, took ${bytes(used)} from the top chunk, and the break moved ${signed(brk)}.`,
          );
        }),
    },
    {
      id: 'realloc-top',
      claim: 'If the memory block being resized is at the top end of the heap, the program break is extended.',
      judge: (c) =>
        judged(() => {
          const { size } = c.parameters as Record<string, number>;
          const before = at(c, 'realloc-top', STEPS.mallocA);
          const after = at(c, 'realloc-top', STEPS.pastTop);
          const a = first(c, 'realloc-top', STEPS.mallocA, 'malloc');
          const moved = first(c, 'realloc-top', STEPS.pastTop, 'realloc');
          const top = before.mallinfo.keepcost;
          const needed = chunkSize(2 * size!) - chunkSize(size!);
          const atTop = a - HEADER + chunkSize(size!) === topStart(c, 'realloc-top', STEPS.mallocA);
          if (!atTop)
            return inconclusive(
              `a (${formatAddress(a)}) was not followed by the top chunk: it did not sit at the top end of the heap`,
            );
          if (needed <= top)
            return inconclusive(
              `the top chunk (${bytes(top)}) already held the ${bytes(needed)} a needed: the break had no reason to move`,
            );
          const brk = Number(after.brk - before.brk);
          const rss = after.status.RssAnon - before.status.RssAnon;
          return verdict(
            moved === a && brk >= needed - top,
            `a (${bytes(size!)}) ended where the top chunk (${bytes(top)}) began; growing it by ${bytes(needed)} needed more than that: ` +
              `realloc ${moved === a ? 'kept its address' : `moved it to ${formatAddress(moved)}`} and the break moved ${signed(brk)} ` +
              `(the ${bytes(needed - top)} missing, plus the ${bytes(thresholdsOf(c, 'realloc-top').topPad)} top pad glibc adds to every extension, rounded to pages). ` +
              `RssAnon changed by ${signed(rss)}: nothing was copied, the new part is not touched yet.`,
          );
        }),
    },
    {
      id: 'realloc-middle',
      claim:
        'If the memory block is in the middle of the heap and there is not enough adjacent memory available, a new memory block is allocated ' +
        '(either from the free list or at the top end of the heap) and all data is copied from old block to new block.',
      judge: (c) =>
        judged(() => {
          const { size } = c.parameters as Record<string, number>;
          const [a, b] = ops(c, 'realloc-middle', STEPS.mallocAB, 'malloc').map((op) => op.value);
          const moved = first(c, 'realloc-middle', STEPS.moved, 'realloc');
          if (b! - a! !== chunkSize(size!)) {
            return inconclusive(
              `b (${formatAddress(b!)}) does not follow a (${formatAddress(a!)}) directly: a had no live neighbour to stop it growing in place`,
            );
          }
          const before = at(c, 'realloc-middle', STEPS.mallocAB);
          const after = at(c, 'realloc-middle', STEPS.moved);
          const rss = after.status.RssAnon - before.status.RssAnon;
          const brk = Number(after.brk - before.brk);
          const copied = rss >= 0.9 * size!;
          const where =
            moved > b! && brk > 0
              ? `at the top end of the heap (the break moved ${signed(brk)})`
              : 'from the free list';
          // Time of the realloc since the op before it (one snapshot in between): the copy's cost.
          // Each realloc timed from the op before it (one snapshot in between, in both).
          const elapsed = (variant: string, previous: string, label: string) =>
            (ops(c, variant, label, 'realloc')[0]!.atNs - ops(c, variant, previous).at(-1)!.atNs) / 1000;
          const copying = elapsed('realloc-middle', STEPS.mallocAB, STEPS.moved);
          const inPlace = elapsed('realloc-top', STEPS.mallocA, STEPS.pastTop);
          return verdict(
            moved !== a && copied,
            `a (${formatAddress(a!)}) was followed by b, still in use; growing a to ${bytes(2 * size!)} ` +
              (moved !== a ? `gave a new block at ${formatAddress(moved)}, ${where}. ` : 'kept its address. ') +
              `RssAnon grew by ${bytes(rss)} for the ${bytes(size!)} of data: ${copied ? 'the copy wrote every byte into pages never touched before' : 'less than the data, so not all of it was copied into fresh pages'} ` +
              `(timed with the snapshot before it, this realloc took ${copying.toFixed(0)} µs; the same growth in place, in realloc-top, ${inPlace.toFixed(0)} µs).`,
          );
        }),
    },
    {
      id: 'realloc-move-costs',
      claim: 'A realloc that moves the block is very CPU-intensive. Use very sparingly.',
      judge: (c) =>
        judged(() => {
          const { size } = c.parameters as Record<string, number>;
          const moved = first(c, 'realloc-middle', STEPS.moved, 'realloc');
          const a = first(c, 'realloc-middle', STEPS.mallocAB, 'malloc');
          const inPlace =
            first(c, 'realloc-top', STEPS.pastTop, 'realloc') === first(c, 'realloc-top', STEPS.mallocA, 'malloc');
          if (moved === a || !inPlace) {
            return inconclusive('the two reallocs did not split into one that moved and one that grew in place');
          }
          const moving = cpuOf(c, 'realloc-middle', STEPS.moved);
          const growing = cpuOf(c, 'realloc-top', STEPS.pastTop);
          return verdict(
            moving > growing,
            `growing ${bytes(size!)} to ${bytes(2 * size!)}: the realloc that moved and copied took ${(moving / 1000).toFixed(0)} µs of CPU, ` +
              `the one that grew in place ${(growing / 1000).toFixed(0)} µs — ${(moving / growing).toFixed(1)}× (this thread's CPU clock, in two processes of this run)`,
          );
        }),
    },
    {
      id: 'memalign-aligned',
      claim: 'memalign(boundary, size) allocates size bytes starting at an address aligned to a multiple of boundary.',
      judge: (c) =>
        judged(() => {
          const size = c.parameters['alignsize']!;
          const results: string[] = [];
          let aligned = true;
          for (const boundary of BOUNDARIES) {
            const step = ops(c, 'memalign', boundaryStep(boundary));
            for (const record of step.filter((op) => op.op !== 'malloc_usable_size')) {
              const ok = record.status === 0 && record.value % boundary === 0;
              aligned &&= ok;
              if (!ok)
                results.push(`${record.op}(${boundary}) gave ${formatAddress(record.value)} (status ${record.status})`);
            }
            const usable = step.find((op) => op.op === 'malloc_usable_size')!.value;
            aligned &&= usable >= size;
          }
          const page = PAGE;
          const vallocRecord = ops(c, 'memalign', STEPS.valloc, 'valloc')[0]!;
          aligned &&= vallocRecord.value % page === 0;
          return verdict(
            aligned,
            results.length === 0
              ? `memalign, posix_memalign and aligned_alloc gave ${BOUNDARIES.length * 3} blocks of ${bytes(size)} at boundaries ${BOUNDARIES.join(', ')}: every address a multiple of its boundary ` +
                  `(e.g. ${formatAddress(ops(c, 'memalign', boundaryStep(BOUNDARIES.at(-1)!))[0]!.value)} for ${BOUNDARIES.at(-1)}); valloc gave ${formatAddress(vallocRecord.value)}, page-aligned.`
              : `not aligned: ${results.join('; ')}`,
          );
        }),
    },
    {
      id: 'power-of-two',
      claim: "memalign's boundary must be a power of two.",
      judge: (c) =>
        judged(() => {
          const posix = ops(c, 'memalign', STEPS.oddPosix, 'posix_memalign')[0];
          if (posix === undefined) return inconclusive(`the run stopped before ${STEPS.oddPosix}`);
          const odd = ops(c, 'memalign', STEPS.odd);
          const rounded = nextPowerOfTwo(ODD_BOUNDARY);
          const lenient = odd.filter((op) => op.status === 0 && op.value % rounded === 0).map((op) => op.op);
          const refused = posix.status === EINVAL;
          return verdict(
            refused,
            `posix_memalign(${ODD_BOUNDARY}) ${refused ? 'was refused with EINVAL' : `returned status ${posix.status}`}. ` +
              (lenient.length > 0
                ? `${glibcOf(c)}'s ${lenient.join(' and ')} did not refuse ${ODD_BOUNDARY}: they rounded it up to the power of two ${rounded} (the address is a multiple of it), so the rule holds in what they do, not in what they accept.`
                : `memalign and aligned_alloc with ${ODD_BOUNDARY}: ${odd.map((op) => `${op.op} status ${op.status}`).join(', ')}.`),
          );
        }),
    },
  ],
};
