/**
 * Seed 004's alloca(): memory on the stack, taken by moving the stack pointer and
 * given back when the function returns (or when longjmp() unwinds past it), never
 * to be passed to free() or realloc(); and seed 001's "the free memory space between
 * the top of the heap and the top of the stack is large".
 *
 * `seed` calls alloca(size) in a function that writes each page of the block and
 * returns, twice; then twice descends `depth` frames that each malloc(frame) and
 * alloca(frame) and longjmp()s from the deepest back to a setjmp() before the first.
 * `free` and `realloc` hand an alloca'd block to free() and realloc(), each in its
 * own child process.
 */
import { formatAddress, KiB, MiB } from '../../infra/units.js';
import { endedIn, judgeAbort } from '../framework/aborts.js';
import { at, bytes, run, signed, succeeded, verdict } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters } from '../framework/types.js';

export const STEPS = {
  start: 'start',
  alloca: (size: number) => `alloca(${bytes(size)}) and return`,
  again: (size: number) => `alloca(${bytes(size)}) and return, again`,
  jump: (depth: number) => `longjmp out of ${depth} frames`,
  jumpAgain: (depth: number) => `longjmp out of ${depth} frames, again`,
  free: 'free() of an alloca block',
  realloc: 'realloc() of an alloca block',
} as const;

/** The block handed to free() and realloc(): a page. */
const MISUSED = 4 * KiB;

function seedProgram(parameters: Parameters): StepProgram {
  const { size, depth, frame } = parameters as { size: number; depth: number; frame: number };
  return new StepProgram({ unsafe: true })
    .step(STEPS.start)
    .step(STEPS.alloca(size), (s) => s.alloca(size))
    .step(STEPS.again(size), (s) => s.alloca(size))
    .step(STEPS.jump(depth), (s) => s.longjmpLeak(depth, frame))
    .step(STEPS.jumpAgain(depth), (s) => s.longjmpLeak(depth, frame));
}

function misuseProgram(call: 'free' | 'realloc'): StepProgram {
  return new StepProgram({ unsafe: true })
    .step(STEPS.start)
    .step(call === 'free' ? STEPS.free : STEPS.realloc, (s) => s.allocaFree(MISUSED, call));
}

/** What a step did to the heap: bytes in use, the main arena, the break. */
function heapChange(c: ClaimContext, from: string, to: string) {
  const before = at(c, 'seed', from);
  const after = at(c, 'seed', to);
  return {
    inUse: after.mallinfo.uordblks - before.mallinfo.uordblks,
    arena: after.mallinfo.arena - before.mallinfo.arena,
    brk: Number(after.brk) - Number(before.brk),
    vmStk: after.status.VmStk - before.status.VmStk,
  };
}

export const allocaStack: ExperimentDefinition = {
  id: 'alloca-stack',
  title: 'alloca(): stack memory, freed on return and by longjmp, never by free()',
  seeds: ['004', '001'],
  description:
    'alloca(2 MiB) in a function that returns, twice; eight nested frames that each malloc and alloca 64 KiB, left by longjmp, twice; ' +
    'and, each in its own child, free() and realloc() of an alloca block.',
  parameters: [
    { name: 'size', description: 'bytes of the alloca block (at most half of RLIMIT_STACK)', default: 2 * MiB },
    { name: 'depth', description: 'frames the longjmp leaves', default: 8 },
    { name: 'frame', description: 'bytes each of those frames mallocs and allocas', default: 64 * KiB },
  ],
  variants: (parameters) => [
    {
      name: 'seed',
      description: 'alloca and return, twice; longjmp out of nested frames that malloc and alloca, twice',
      program: seedProgram(parameters),
    },
    { name: 'free', description: `free() of an alloca(${bytes(MISUSED)}) block`, program: misuseProgram('free') },
    {
      name: 'realloc',
      description: `realloc() of an alloca(${bytes(MISUSED)}) block`,
      program: misuseProgram('realloc'),
    },
  ],
  allocators: ['glibc'],
  claims: [
    {
      id: 'on-the-stack',
      claim: 'Alloca(size_t) … Allocates data on the stack … Does this by moving the stack pointer further up',
      judge: (c) => {
        const size = c.parameters['size']!;
        const call = succeeded(c, 'seed', STEPS.alloca(size), 'alloca');
        const below = call.value2 - call.value;
        const heap = heapChange(c, STEPS.start, STEPS.alloca(size));
        const vmStk = at(c, 'seed', STEPS.alloca(size)).status.VmStk;
        const holds = below >= size && vmStk >= size && heap.inUse === 0 && heap.arena === 0 && heap.brk === 0;
        return verdict(
          holds,
          `alloca(${bytes(size)}) returned ${formatAddress(call.value)}, ${bytes(below)} below a local of the calling frame (${formatAddress(call.value2)}): ` +
            `the stack pointer moved by the block, toward lower addresses (the stack grows down here; "up" in the seed's picture); ` +
            `VmStk ${signed(heap.vmStk)} to ${bytes(vmStk)}; the heap: ${signed(heap.inUse)} in use, the break ${signed(heap.brk)}`,
        );
      },
    },
    {
      id: 'freed-on-return',
      claim: 'The data will be freed automatically when the function that called alloca() returns',
      judge: (c) => {
        const size = c.parameters['size']!;
        const first = succeeded(c, 'seed', STEPS.alloca(size), 'alloca');
        const second = succeeded(c, 'seed', STEPS.again(size), 'alloca');
        const heap = heapChange(c, STEPS.alloca(size), STEPS.again(size));
        return verdict(
          first.value === second.value && heap.vmStk === 0 && heap.inUse === 0,
          `the second alloca(${bytes(size)}) returned ${formatAddress(second.value)}, ` +
            (first.value === second.value
              ? 'the same address as the first: its block went when the function returned, and the space was taken again'
              : `not the first one's ${formatAddress(first.value)}`) +
            `; VmStk ${signed(heap.vmStk)}, heap in use ${signed(heap.inUse)}`,
        );
      },
    },
    {
      id: 'longjmp-clean',
      claim:
        "Especially useful with longjmp() … If you use malloc() and you use longjmp() to handle a signal to jump back to some previous function, any malloc()'d memory will not be free'd. But, if you used alloca(), then as the functions return, they will automatically free their alloca()'d memory.",
      judge: (c) => {
        const { depth, frame } = c.parameters as { depth: number; frame: number };
        const first = succeeded(c, 'seed', STEPS.jump(depth), 'longjmp_leak');
        const second = succeeded(c, 'seed', STEPS.jumpAgain(depth), 'longjmp_leak');
        const leak1 = heapChange(c, STEPS.again(c.parameters['size']!), STEPS.jump(depth));
        const leak2 = heapChange(c, STEPS.jump(depth), STEPS.jumpAgain(depth));
        const mallocd = depth * frame;
        const holds =
          leak1.inUse >= mallocd && leak2.inUse >= mallocd && first.value2 === second.value2 && leak2.vmStk === 0;
        return verdict(
          holds,
          `each descent malloc'd and alloca'd ${depth} × ${bytes(frame)} and longjmp()ed out of them: bytes in use grew by ${signed(leak1.inUse)}, then ${signed(leak2.inUse)} — ` +
            `the malloc'd blocks stayed allocated with nothing left pointing at them; the deepest alloca block was at ${formatAddress(first.value2)}, ` +
            `${first.value2 === second.value2 ? 'the same address' : formatAddress(second.value2)} the second time, and VmStk ${signed(leak2.vmStk)}: the jump gave the stack back`,
        );
      },
    },
    {
      id: 'free-aborts',
      claim:
        "Do NOT use free() or realloc() on this data: free() of an alloca'd block is an error glibc catches and aborts on.",
      judge: (c) =>
        judgeAbort(c, 'free', STEPS.free, (aborted) =>
          aborted
            ? "free() read a chunk header from the stack just below the block; glibc's check of it (the one its message names) failed, and it aborted before freeing anything."
            : 'free() accepted a stack address.',
        ),
    },
    {
      id: 'realloc-ruins',
      claim: 'Realloc() will ruin the stack frames of subsequent function calls',
      judge: (c): Judgement => {
        const child = run(c, 'realloc');
        const result = judgeAbort(c, 'realloc', STEPS.realloc, () => '');
        if (result.verdict === 'confirmed') {
          return {
            verdict: 'refuted',
            evidence: `${result.evidence.trim()} glibc 2.36 checked the size it read from the stack just below the block and aborted: the program ends there, before any later call could run on ruined frames.`,
          };
        }
        return {
          verdict: 'inconclusive',
          evidence: `realloc() returned${child.signal === null ? '' : ` (the child ended in "${endedIn(c, 'realloc')}")`}; whether later frames were ruined is not measured: ${result.evidence}`,
        };
      },
    },
    {
      id: 'heap-stack-gap',
      claim: 'The free memory space between the top of the heap and the top of the stack is large.',
      judge: (c) => {
        const size = c.parameters['size']!;
        const stack = succeeded(c, 'seed', STEPS.alloca(size), 'alloca').value;
        const sample = at(c, 'seed', STEPS.alloca(size));
        const gap = stack - Number(sample.brk);
        const unmapped = gap - sample.status.VmSize;
        return verdict(
          unmapped > sample.status.VmSize,
          `from the break ${formatAddress(Number(sample.brk))} to the stack (${formatAddress(stack)}) lie ${bytes(gap)}; ` +
            `even if all the ${bytes(sample.status.VmSize)} the process maps (VmSize: libraries, thread stacks, mmap'd blocks) sat in between, ${bytes(unmapped)} stay free, ` +
            `${Math.floor(unmapped / sample.status.VmSize)} times everything it maps`,
        );
      },
    },
  ],
};
