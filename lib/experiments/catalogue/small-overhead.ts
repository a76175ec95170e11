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
import { chunkSize, isFastbinSize, MINSIZE, PAGE, POINTER } from '../../glibc/model.js';
import { at, bytes, delta, ops, signed, verdict } from '../framework/observe.js';
import { glibcAllocator } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { settingsOf, tcacheHeldIn } from '../framework/settings.js';
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

/** Where the run's settings put a freed 4-byte block's chunk: how many tcache holds, and whether the rest go to fastbins. */
function binsFor(c: ClaimContext) {
  const settings = settingsOf(c, 'seed');
  const chunk = chunkSize(REQUEST);
  return {
    tcached: tcacheHeldIn(settings, REQUEST),
    fast: isFastbinSize(chunk, settings.mxfast.value),
  };
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
      requires: [glibcAllocator()],
      claim:
        'I expected it to take up only 1GiB ram but in fact it takes up 8GiB ram in total. malloc adds some extra bytes for bookkeeping: each 4-byte malloc costs 32 bytes.',
      judge: (c) => {
        const { count, used, grown, rss, spare } = perBlock(c);
        const usedPer = used / count;
        // The break grows by 32 B a block, less the free space the heap already had, plus at most the top pad and a page.
        const low = MINSIZE * count - spare;
        const high = (MINSIZE + 1) * count;
        // mallinfo2 counts every arena: a Node process's helper threads may allocate or free a few
        // bytes of their own while the loop runs, so the bound is within a byte a block, both ways.
        const off = used - MINSIZE * count;
        return verdict(
          Math.abs(usedPer - MINSIZE) < 1 && grown >= low && grown < high,
          `${count} × malloc(${REQUEST}) took ${bytes(used)} of heap (mallinfo2 uordblks: ${usedPer.toFixed(2)} B a block` +
            (off === 0 ? `, exactly ${MINSIZE} × ${count}` : `, ${signed(off)} off ${MINSIZE} × ${count}`) +
            `) and moved the break ${signed(grown)} ` +
            `(${(grown / count).toFixed(2)} B a block) for ${bytes(REQUEST * count)} asked: ${(usedPer / REQUEST).toFixed(1)}× — ` +
            `the smallest chunk on 64-bit glibc is ${MINSIZE} B (an 8-byte size field and room for two free-list pointers), so 4 bytes cost 32. ` +
            `RssAnon grew ${signed(rss)} (${(rss / count).toFixed(1)} B a block), the pointer array's ${POINTER} B a block included`,
        );
      },
    },
    {
      id: 'free-keeps',
      requires: [glibcAllocator()],
      claim: 'When it comes to "free done", the program still takes up the memory and doesn\'t return it to the OS.',
      judge: (c) => {
        const { grown } = perBlock(c);
        const rssGrown = delta(c, 'seed', 'start', 'alloc done', 'RssAnon');
        const breakFell = -delta(c, 'seed', 'alloc done', 'free done', 'brk');
        const released = -delta(c, 'seed', 'alloc done', 'free done', 'RssAnon');
        const count = c.parameters['count']!;
        const before = at(c, 'seed', 'alloc done').mallinfo;
        const after = at(c, 'seed', 'free done').mallinfo;
        const fastbinned = after.smblks - before.smblks;
        const { tcached, fast } = binsFor(c);
        const kept = breakFell < PAGE && released <= 0.1 * rssGrown;
        const where =
          fastbinned + tcached === count && fast
            ? `free() put ${fastbinned} of the ${count} 32-byte chunks in the fastbins (${bytes(after.fsmblks)})` +
              (tcached > 0
                ? ` and the first ${tcached} in tcache (tcache_count ${tcached} in this run); both keep`
                : ', which keep') +
              ' a chunk marked in use, so none coalesces with a neighbour or reaches the top chunk, and a free into a fastbin returns before the check at FASTBIN_CONSOLIDATION_THRESHOLD (64 KiB) that could consolidate and trim'
            : `the fastbins hold ${after.smblks} chunks (${bytes(after.fsmblks)}) after the frees, ${fast ? 'fewer than the blocks freed' : 'fastbins being off in this run'}; the free chunks number ${after.ordblks} (${bytes(after.fordblks)}), the top chunk ${bytes(after.keepcost)}`;
        return verdict(
          kept,
          `after the frees the break moved ${signed(-breakFell)} and RssAnon ${signed(-released)} of the ${bytes(rssGrown)} the loop added (heap ${signed(grown)}). ${where}`,
        );
      },
    },
    {
      id: 'trim-returns',
      requires: [glibcAllocator()],
      claim: 'malloc_trim(0) then gives the freed memory back to the OS.',
      judge: (c) => {
        const { grown } = perBlock(c);
        const breakFell = -delta(c, 'seed', 'free done', 'malloc_trim(0)', 'brk');
        const released = -delta(c, 'seed', 'free done', 'malloc_trim(0)', 'RssAnon');
        const result = ops(c, 'seed', 'malloc_trim(0)', 'malloc_trim')[0]?.value;
        // Consolidating the fastbins merges everything above the chunks tcache still holds into the top;
        // they stay, with the page the break rounds to.
        const { tcached } = binsFor(c);
        const pinned = tcached * MINSIZE + PAGE;
        const before = at(c, 'seed', 'free done').mallinfo;
        const after = at(c, 'seed', 'malloc_trim(0)').mallinfo;
        return verdict(
          breakFell >= grown - pinned,
          `malloc_trim(0) returned ${result} and moved the break ${signed(-breakFell)} (the loop had moved it ${signed(grown)}), RssAnon ${signed(-released)}: ` +
            `it consolidated the fastbins (${before.smblks} chunks → ${after.smblks}) into the top chunk and trimmed it with brk()` +
            (tcached > 0 ? `; the ${tcached} chunks tcache holds count as in use and stay` : ''),
        );
      },
    },
  ],
};
