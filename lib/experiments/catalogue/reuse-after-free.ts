/**
 * Seed 003, code sample 2: BUFSIZE / 4 × malloc(sizeof(uint32_t)), all freed,
 * then the same allocations again and freed again. The seed: "the second
 * allocation doesn't increase memory usage, it uses the freed yet not returned
 * memory again", printing p_arr[0] of each round.
 *
 * The default count is scaled down like small-overhead's (4 Mi blocks); --full
 * runs the seed's 2^28. Each round keeps its pointers in its own mmap'd array
 * (the seed reuses one p_arr), so the second round adds its array's 8 bytes a
 * block to RssAnon: the heap's part is RssAnon less that array.
 */
import { MINSIZE, PAGE, POINTER } from '../../glibc/model.js';
import { formatAddress } from '../../infra/units.js';
import { at, bytes, delta, ops, plural, signed, verdict } from '../framework/observe.js';
import { glibcAllocator } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { tcacheHeldOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Parameters } from '../framework/types.js';

/** sizeof(uint32_t): what each malloc asks for. */
const REQUEST = 4;

function build(parameters: Parameters): StepProgram {
  const count = parameters['count']!;
  const program = new StepProgram();
  program.step('start');
  program.step('alloc done', (s) => s.batchAlloc('first', count, [{ size: REQUEST }]));
  program.step('free done', (s) => s.batchFree('first'));
  program.step('allocate again done', (s) => s.batchAlloc('second', count, [{ size: REQUEST }]));
  program.step('exit', (s) => s.batchFree('second'));
  return program;
}

/** p_arr[0] of a round: batch_alloc's value2. */
function firstAddress(c: ClaimContext, label: string): number {
  return ops(c, 'seed', label, 'batch_alloc')[0]?.value2 ?? NaN;
}

export const reuseAfterFree: ExperimentDefinition = {
  id: 'reuse-after-free',
  title: 'A second round of malloc(4) reuses the memory the first round freed',
  seeds: ['003'],
  description:
    "Seed 003's code sample 2: count × malloc(sizeof(uint32_t)), all freed, allocated again and freed again. The seed's 1 GiB of uint32_t (2^28 blocks) is --full.",
  parameters: [
    {
      name: 'count',
      description: 'BUFSIZE / 4: malloc(sizeof(uint32_t)) calls per round',
      default: 4 * 1024 * 1024,
      full: 268435456,
    },
  ],
  variants: (parameters) => [{ name: 'seed', description: 'as the seed runs it', program: build(parameters) }],
  claims: [
    {
      id: 'second-round-no-growth',
      requires: [glibcAllocator()],
      claim: "The second allocation doesn't increase memory usage, it uses the freed yet not returned memory again.",
      judge: (c) => {
        const count = c.parameters['count']!;
        const firstHeap = delta(c, 'seed', 'start', 'alloc done', 'brk');
        const firstRss = delta(c, 'seed', 'start', 'alloc done', 'RssAnon');
        const secondBreak = delta(c, 'seed', 'free done', 'allocate again done', 'brk');
        const secondRss = delta(c, 'seed', 'free done', 'allocate again done', 'RssAnon');
        const pointers = Math.ceil((count * POINTER) / PAGE) * PAGE;
        const secondHeapRss = secondRss - pointers;
        // New chunks would cost 32 B each: allow at most 1 B a block (1/32 of the blocks new).
        const allowed = count;
        const freed = at(c, 'seed', 'free done').mallinfo;
        const again = at(c, 'seed', 'allocate again done').mallinfo;
        const tcached = tcacheHeldOf(c, 'seed', REQUEST);
        return verdict(
          secondBreak <= allowed && secondHeapRss <= allowed,
          `the first round moved the break ${signed(firstHeap)} (RssAnon ${signed(firstRss)}); the second moved it ${signed(secondBreak)}, ` +
            `RssAnon ${signed(secondRss)} of which ${bytes(pointers)} is its own pointer array (heap part ${signed(secondHeapRss)}; at most ${bytes(allowed)}, 1 B a block, allowed): ` +
            `the second round's mallocs took the freed 32-byte chunks back — the fastbins went from ${plural(freed.smblks, 'chunk')} to ${again.smblks}, the free bytes from ${bytes(freed.fordblks)} to ${bytes(again.fordblks)}` +
            (tcached > 0 ? `, and tcache, which malloc tries first, held ${tcached} of them` : ''),
        );
      },
    },
    {
      id: 'same-memory',
      requires: [glibcAllocator()],
      claim: 'The second round gets its blocks from the freed memory: its p_arr[0] is an address the first round had.',
      judge: (c) => {
        const first = firstAddress(c, 'alloc done');
        const second = firstAddress(c, 'allocate again done');
        const before = at(c, 'seed', 'free done');
        // The main arena is contiguous: it spans [break - arena, break).
        const heapEnd = Number(before.brk);
        const heapStart = heapEnd - before.mallinfo.arena;
        const inside = second >= heapStart && second < heapEnd;
        const offset = second - first;
        const tcached = tcacheHeldOf(c, 'seed', REQUEST);
        const tcacheLast = (tcached - 1) * MINSIZE;
        const start = at(c, 'seed', 'start').mallinfo;
        return verdict(
          inside && delta(c, 'seed', 'free done', 'allocate again done', 'brk') <= 0,
          `first round p_arr[0] = ${formatAddress(first)}, second round p_arr[0] = ${formatAddress(second)} (${signed(offset)}), inside the heap the first round left ` +
            `(${formatAddress(heapStart)}–${formatAddress(heapEnd)}, the break unmoved). ` +
            (tcached > 0 && offset === tcacheLast
              ? `It is the first round's ${tcached}th block, not its first: the first ${tcached} frees filled tcache (tcache_count ${tcached} in this run), which hands chunks back last-in first-out`
              : tcached === 0 && offset === (c.parameters['count']! - 1) * MINSIZE
                ? "It is the first round's last block: with tcache holding none in this run, the chunks came back from the fastbins, which hand them out last-in first-out"
                : offset === 0
                  ? "It is the first round's first block"
                  : `Not the first round's first block: it lies ${bytes(Math.abs(offset))} from p_arr[0]` +
                    (start.fordblks > 0
                      ? `; this heap already had ${bytes(start.fordblks)} free in ${plural(start.ordblks, 'free chunk')} when the program started, so the first round's blocks were not all consecutive`
                      : '')),
        );
      },
    },
  ],
};
