/**
 * Seeds 003 and 004 on exit and fork: the OS takes back all of a process's memory
 * when it terminates (shared pages only when their last user goes), free() before
 * exit is work with no effect, memory can be "recycled" by forking copies that run
 * and exit, and seed 002's "each process has its own heap".
 *
 * Children are fork()ed by the step program: each mallocs and writes its blocks,
 * reports its RssAnon and heap, waits, then (told so) frees them or not and ends
 * with _exit(0). The parent waits for the exit without reaping, reads the exited
 * child's /proc/<pid>/statm (what the kernel still counts resident for it), then
 * reaps it and reads its CPU time from wait4's rusage. The system's own counters
 * (/proc/meminfo) are not used: in a virtual machine they need not follow one
 * process's pages.
 */
import { KiB, MiB } from '../../infra/units.js';
import { at, bytes, ms, ops, signed, succeeded, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ExperimentDefinition, Parameters, Variant } from '../framework/types.js';

/** The recycled workload: seed 000's loop, 1024 × (10 KiB + 1 B), memset. */
const ROUND = { count: 1024, size: 10 * KiB, spacer: true };
const roundBytes = ROUND.count * (ROUND.size + 1);

export const STEPS = {
  start: 'start',
  child: (k: number) => `child ${k} runs the loop and exits`,
  hold: (size: number) => `a child mallocs and writes ${bytes(size)}`,
  exit: 'the child exits without freeing',
  reap: 'the parent reaps it',
  round: (round: number) => `round ${round}: one child frees its blocks and exits, one just exits`,
  shared: (size: number) => `malloc and write ${bytes(size)}`,
  forked: 'a child forked, allocating nothing',
  sharedExit: 'that child exits',
  sharedReap: 'the parent reaps it, and frees its block',
  inProcess: (k: number) => `round ${k}: the loop, then free, in this process`,
} as const;

/**
 * The children's program: first the recycling children (while the parent's heap is
 * as it started), then one that holds `held` bytes and exits, then the free-or-exit
 * rounds. One process, so Node starts once.
 */
function childrenProgram(parameters: Parameters): StepProgram {
  const { held, blocks, rounds, children } = parameters as Record<string, number>;
  const block = 256 * KiB;
  const program = new StepProgram().step(STEPS.start);
  for (let k = 1; k <= children!; k++) {
    program.step(STEPS.child(k), (s) => s.forkHold(k, ROUND).forkExit(k, { free: false }).forkReap(k));
  }
  program
    .step(STEPS.hold(held!), (s) => s.forkHold(0, { count: Math.ceil(held! / block), size: block }))
    .step(STEPS.exit, (s) => s.forkExit(0, { free: false }))
    .step(STEPS.reap, (s) => s.forkReap(0));
  for (let r = 0; r < rounds!; r++) {
    program.step(STEPS.round(r + 1), (s) => {
      for (const [child, free] of [
        [2 * r, true],
        [2 * r + 1, false],
      ] as const) {
        s.forkHold(child, { count: blocks!, size: 64 }).forkExit(child, { free }).forkReap(child);
      }
    });
  }
  return program;
}

/** The parent's program: a block shared with a child that exits, then seed 000's loop run here. */
function parentProgram(parameters: Parameters): StepProgram {
  const { held, children } = parameters as Record<string, number>;
  const program = new StepProgram()
    .step(STEPS.shared(held!), (s) => s.malloc('shared', held!).fill('shared', 1).pss())
    .step(STEPS.forked, (s) => s.forkHold(1, { count: 0, size: 0 }).pss())
    .step(STEPS.sharedExit, (s) => s.forkExit(1, { free: false }))
    .step(STEPS.sharedReap, (s) => s.forkReap(1).pss().free('shared'));
  for (let k = 1; k <= children!; k++) {
    program.step(STEPS.inProcess(k), (s) =>
      s
        .batchAlloc('loop', ROUND.count, [
          { size: ROUND.size, fill: 1 },
          { size: 1, fill: 1 },
        ])
        .batchFree('loop'),
    );
  }
  return program;
}

export const exitAndFork: ExperimentDefinition = {
  id: 'exit-and-fork',
  title: 'Exit gives all memory back; free() before exit is wasted work; forked copies recycle memory',
  seeds: ['003', '004', '002'],
  description:
    'A child that mallocs and writes 64 MiB and exits without freeing, read by the parent before and after it is reaped; a child sharing the parent’s pages; ' +
    'children that free 250 000 blocks before _exit against children that just exit (their CPU time, from rusage); four children each running seed 000’s loop against the same loop run four times in the parent.',
  parameters: [
    {
      name: 'held',
      description: 'bytes the exiting child (and the sharing parent) malloc and write',
      default: 64 * MiB,
    },
    { name: 'blocks', description: '64-byte blocks each child of the free-or-exit rounds mallocs', default: 250_000 },
    { name: 'rounds', description: 'free-or-exit rounds (the cheapest of each kind is compared)', default: 3 },
    { name: 'children', description: 'children (and in-process rounds) of the recycling comparison', default: 4 },
  ],
  variants: (parameters): Variant[] => [
    {
      name: 'children',
      description: `${parameters['children']} children each run seed 000's loop and exit; one writes ${bytes(parameters['held']!)} and exits; ${parameters['rounds']} rounds of free-then-exit against exit`,
      program: childrenProgram(parameters),
    },
    {
      name: 'parent',
      description: `the parent writes ${bytes(parameters['held']!)} that a child shares until it exits; then seed 000's loop, ${parameters['children']} times, in the parent`,
      program: parentProgram(parameters),
    },
  ],
  allocators: ['glibc'],
  claims: [
    {
      id: 'exit-returns',
      claim: "Upon program termination, all allocated memory is returned to the system (i.e. automatically free'd).",
      judge: (c) => {
        const held = c.parameters['held']!;
        const hold = succeeded(c, 'children', STEPS.hold(held), 'fork_hold');
        const exited = succeeded(c, 'children', STEPS.exit, 'fork_exit');
        const parent =
          at(c, 'children', STEPS.reap).status.RssAnon -
          at(c, 'children', STEPS.child(c.parameters['children']!)).status.RssAnon;
        return verdict(
          hold.value >= held && exited.value >= held && exited.value2 === 0,
          `the child held ${bytes(exited.value)} (its RssAnon after writing ${bytes(held)}) and exited without a single free(); ` +
            `exited but not yet reaped, its /proc/<pid>/statm counted ${bytes(exited.value2)} resident: the kernel had already taken back every page when it ended; ` +
            `the parent's RssAnon changed by ${signed(parent)}`,
        );
      },
    },
    {
      id: 'shared-stays',
      claim:
        'If the memory is shared with other processes, it is still needed for them, so releasing it from use by this process only decrements the number of processes using the memory. It is not immediately available for any other use.',
      judge: (c) => {
        const held = c.parameters['held']!;
        const alone = succeeded(c, 'parent', STEPS.shared(held), 'pss').value;
        const sharing = succeeded(c, 'parent', STEPS.forked, 'pss').value;
        const after = succeeded(c, 'parent', STEPS.sharedReap, 'pss').value;
        const rss = at(c, 'parent', STEPS.shared(held)).status.RssAnon;
        const rssAfter = at(c, 'parent', STEPS.sharedExit).status.RssAnon;
        const child = succeeded(c, 'parent', STEPS.forked, 'fork_hold').value;
        // Every anonymous page of the parent is shared with the child after fork: the parent's share halves.
        const halved = Math.abs(alone - sharing - rss / 2) <= 0.1 * (rss / 2);
        const back = Math.abs(after - alone) <= 0.1 * (rss / 2);
        return verdict(
          halved && back && rssAfter >= 0.9 * rss,
          `the parent wrote ${bytes(held)}; the forked child, allocating nothing, showed ${bytes(child)} RssAnon — the same pages. ` +
            `The parent's proportional share (Pss_Anon) went ${bytes(alone)} → ${bytes(sharing)} while both used them, and back to ${bytes(after)} when the child exited: ` +
            `its exit only took one user away; the pages stayed resident for the parent (RssAnon ${bytes(rss)} → ${bytes(rssAfter)})`,
        );
      },
    },
    {
      id: 'free-before-exit-wasted',
      claim:
        'No, terminating a program, as with exit or abort, does not reclaim memory in the same way as free. Using free causes some activity that ultimately has no effect when the operating system discards the data maintained by malloc and free.',
      judge: (c) => {
        const { rounds, blocks } = c.parameters as { rounds: number; blocks: number };
        const freeing: number[] = [];
        const exiting: number[] = [];
        let held = 0;
        let afterFree = 0;
        let zombies = 0;
        for (let r = 0; r < rounds; r++) {
          const label = STEPS.round(r + 1);
          freeing.push(succeeded(c, 'children', label, 'fork_reap', 0).value);
          exiting.push(succeeded(c, 'children', label, 'fork_reap', 1).value);
          held = succeeded(c, 'children', label, 'fork_hold', 0).value;
          afterFree = succeeded(c, 'children', label, 'fork_exit', 0).value;
          zombies += ops(c, 'children', label, 'fork_exit').reduce((sum, record) => sum + record.value2, 0);
        }
        const withFree = Math.min(...freeing);
        const withoutFree = Math.min(...exiting);
        return verdict(
          withFree > withoutFree && zombies === 0,
          `children holding ${blocks} blocks (RssAnon ${bytes(held)}): free() of all of them then _exit took ${ms(withFree)} of CPU, _exit alone ${ms(withoutFree)} ` +
            `(the cheapest of ${rounds} each, from rusage): ${(withFree / withoutFree).toFixed(2)}×. ` +
            `The frees left the child's RssAnon at ${bytes(afterFree)}${afterFree >= 0.9 * held ? ': they gave nothing back to the system' : ''}; ` +
            'after _exit, with or without them, the kernel counted 0 pages resident for every child',
        );
      },
    },
    {
      id: 'fork-recycles',
      claim:
        'If your program design relies on this memory be recycled, it may be achievable using multiple copies of your program (by fork()~ing) which run and exit.',
      judge: (c) => {
        const children = c.parameters['children']!;
        const start = at(c, 'children', STEPS.start).status.RssAnon;
        const end = at(c, 'children', STEPS.child(children)).status.RssAnon;
        const holds = Array.from({ length: children }, (_, k) =>
          succeeded(c, 'children', STEPS.child(k + 1), 'fork_hold'),
        );
        const inProcess =
          at(c, 'parent', STEPS.inProcess(children)).status.RssAnon - at(c, 'parent', STEPS.sharedReap).status.RssAnon;
        return verdict(
          holds.every((hold) => hold.value2 >= 0.9 * roundBytes) && end - start <= 0.1 * roundBytes,
          `${children} children each ran seed 000's loop (${bytes(roundBytes)}) and exited without freeing: their heaps counted ${holds.map((hold) => bytes(hold.value2)).join(', ')} in use ` +
            `(RssAnon ${holds.map((hold) => bytes(hold.value)).join(', ')}), while the parent's RssAnon changed by ${signed(end - start)}. ` +
            `The same loop and its frees ${children} times in one process left that process holding ${signed(inProcess)}`,
        );
      },
    },
    {
      id: 'own-heap',
      claim: 'Each process has its own heap',
      judge: (c) => {
        const children = c.parameters['children']!;
        const first = at(c, 'children', STEPS.start);
        const last = at(c, 'children', STEPS.child(children));
        const grown = Array.from(
          { length: children },
          (_, k) => succeeded(c, 'children', STEPS.child(k + 1), 'fork_hold').value2,
        );
        const parentInUse = last.mallinfo.uordblks - first.mallinfo.uordblks;
        const parentBreak = Number(last.brk) - Number(first.brk);
        return verdict(
          grown.every((bytesInUse) => bytesInUse >= 0.9 * roundBytes) && parentInUse === 0 && parentBreak === 0,
          `each child's malloc counted ${grown.map(bytes).join(', ')} more in use in its heap (after fork, a copy of the parent's), ` +
            `while the parent's heap counted ${signed(parentInUse)} in use and its break moved ${signed(parentBreak)}`,
        );
      },
    },
  ],
};

/** Bytes a child of the recycling comparison allocates (for the tests). */
export const RECYCLED_BYTES = roundBytes;
