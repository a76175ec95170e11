/**
 * Seed 003, code sample 1: BUFSIZE / 4 iterations of malloc(sizeof(uint32_t)),
 * then free() of every block in the same order. The seed expected 1 GiB and saw
 * 8 GiB ("malloc adds some extra bytes for bookkeeping"), and saw the memory
 * stay with the process after "free done". A last step adds malloc_trim(0).
 *
 * The default count is scaled down (4 Mi blocks); --full runs the seed's 2^28.
 * The pointer array lives in mmap'd memory like the seed's p_arr on the stack,
 * so it counts in RssAnon (8 bytes a block) but not in the heap: bytes per block
 * are judged on the heap (mallinfo2 and the break).
 */
import { MINSIZE, PAGE, POINTER, TCACHE_COUNT } from '../../glibc/layout.js';
import { at, bytes, delta, ops, signed, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters } from '../framework/types.js';

/** sizeof(uint32_t): what each malloc asks for. */
const REQUEST = 4;

function build(parameters: Parameters): StepProgram {
  const count = parameters['count']!;
  const program = new StepProgram();
  program.step('start');
  program.step('alloc done', (s) => s.batchAlloc('p_arr', count, [{ size: REQUEST }]));
  program.step('free done', (s) => s.batchFree('p_arr'));
  program.step('malloc_trim(0)', (s) => s.malloc_trim(0));
  return program;
}

/** The heap's growth over the malloc loop, per block. */
function perBlock(c: ClaimContext) {
  const count = c.parameters['count']!;
  const used = delta(c, 'seed', 'start', 'alloc done', 'mallinfo.uordblks');
  const grown = delta(c, 'seed', 'start', 'alloc done', 'brk');
  const rss = delta(c, 'seed', 'start', 'alloc done', 'RssAnon');
  // Free space the heap already had (Node's) can serve some blocks without moving the break.
  const spare = at(c, 'seed', 'start').mallinfo.fordblks;
  return { count, used, grown, rss, spare };
}

export const smallOverhead: ExperimentDefinition = {
  id: 'small-overhead',
  title: 'malloc(4) costs 32 bytes, and free() keeps them',
  seeds: ['003'],
  description:
    "Seed 003's code sample 1: count × malloc(sizeof(uint32_t)), all freed in order, then malloc_trim(0). The seed's 1 GiB of uint32_t (2^28 blocks) is --full.",
  parameters: [
    {
      name: 'count',
      description: 'BUFSIZE / 4: malloc(sizeof(uint32_t)) calls',
      default: 4 * 1024 * 1024,
      full: 268435456,
    },
  ],
  variants: (parameters) => [
    { name: 'seed', description: 'as the seed runs it, plus malloc_trim(0) at the end', program: build(parameters) },
  ],
  claims: [
    {
      id: 'bookkeeping-32',
      claim:
        'I expected it to take up only 1GiB ram but in fact it takes up 8GiB ram in total. malloc adds some extra bytes for bookkeeping: each 4-byte malloc costs 32 bytes.',
      judge: (c) => {
        const { count, used, grown, rss, spare } = perBlock(c);
        const usedPer = used / count;
        // The break grows by 32 B a block, less the free space the heap already had, plus at most the top pad and a page.
        const low = MINSIZE * count - spare;
        const high = (MINSIZE + 1) * count;
        return verdict(
          usedPer >= MINSIZE && usedPer < MINSIZE + 1 && grown >= low && grown < high,
          `${count} × malloc(${REQUEST}) took ${bytes(used)} of heap (mallinfo2 uordblks: ${usedPer.toFixed(2)} B a block) and moved the break ${signed(grown)} ` +
            `(${(grown / count).toFixed(2)} B a block) for ${bytes(REQUEST * count)} asked: ${(usedPer / REQUEST).toFixed(1)}× — ` +
            `the smallest chunk on 64-bit glibc is ${MINSIZE} B (an 8-byte size field and room for two free-list pointers), so 4 bytes cost 32. ` +
            `RssAnon grew ${signed(rss)} (${(rss / count).toFixed(1)} B a block), the pointer array's ${POINTER} B a block included`,
        );
      },
    },
    {
      id: 'free-keeps',
      claim: 'When it comes to "free done", the program still takes up the memory and doesn\'t return it to the OS.',
      judge: (c) => {
        const { grown } = perBlock(c);
        const rssGrown = delta(c, 'seed', 'start', 'alloc done', 'RssAnon');
        const breakFell = -delta(c, 'seed', 'alloc done', 'free done', 'brk');
        const released = -delta(c, 'seed', 'alloc done', 'free done', 'RssAnon');
        const after = at(c, 'seed', 'free done').mallinfo;
        return verdict(
          breakFell < PAGE && released <= 0.1 * rssGrown,
          `after the frees the break moved ${signed(-breakFell)} and RssAnon ${signed(-released)} of the ${bytes(rssGrown)} the loop added (heap ${signed(grown)}). ` +
            `The 32-byte chunks went to tcache (the first ${TCACHE_COUNT}) and the fastbins (${after.smblks} chunks, ${bytes(after.fsmblks)}): both count as in use, so none coalesces into the top chunk, ` +
            `and a fastbin free never reaches the FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB) check that could consolidate and trim`,
        );
      },
    },
    {
      id: 'trim-returns',
      claim: 'malloc_trim(0) then gives the freed memory back to the OS.',
      judge: (c) => {
        const { grown } = perBlock(c);
        const breakFell = -delta(c, 'seed', 'free done', 'malloc_trim(0)', 'brk');
        const released = -delta(c, 'seed', 'free done', 'malloc_trim(0)', 'RssAnon');
        const result = ops(c, 'seed', 'malloc_trim(0)', 'malloc_trim')[0]?.value;
        // Consolidating the fastbins merges everything above the 7 chunks tcache still holds into the top;
        // they stay, with the page the break rounds to.
        const pinned = TCACHE_COUNT * MINSIZE + PAGE;
        return verdict(
          breakFell >= grown - pinned,
          `malloc_trim(0) returned ${result} and moved the break ${signed(-breakFell)} (the loop had moved it ${signed(grown)}), RssAnon ${signed(-released)}: ` +
            `it consolidated the fastbin chunks into the top chunk and trimmed it with brk(); the ${TCACHE_COUNT} chunks in tcache count as in use and stay`,
        );
      },
    },
  ],
};
