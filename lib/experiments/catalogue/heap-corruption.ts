/**
 * Seeds 001 and 004 on heap corruption: writing past the end of a fresh block
 * (it lands in the next block's metadata), freeing a block twice, and freeing a
 * pointer malloc never returned. Each misuse runs in its own child process
 * (programs built with unsafe: true), where glibc 2.36's checks abort it; the
 * run keeps the steps recorded before the crash, the signal and glibc's message.
 *
 * The misuse runs on a thread of its own: a new thread gets a new arena, so the
 * blocks and their neighbours are laid out the same way in the fresh executable
 * and in Node (whose main heap is already fragmented by V8 and libuv, which
 * would make "the block after a" and "a's bin" a matter of chance).
 */
import { chunkSize, SINCE, SIZE_SZ, TCACHE_COUNT } from '../../glibc/model.js';
import { formatAddress } from '../../infra/units.js';
import { endedIn, judgeAbort } from '../framework/aborts.js';
import { bytes, glibcOf, judged, ops, run, verdict } from '../framework/observe.js';
import { designedSettings } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import type { ExperimentDefinition, Parameters } from '../framework/types.js';

/** The thread the misuses run on. */
const THREAD = 1;
/** The byte the overflow writes ('A', as a string overrun would). */
const OVERFLOW_BYTE = 0x41;
/**
 * The fastbin variants fill a's tcache bin with glibc's default count (TCACHE_COUNT) of
 * blocks first: a run that changes tcache or the fastbins breaks their design.
 */
const binsAsDesigned = (variant: string) => designedSettings(['tcache_count', 'tcache_max', 'mxfast'], [variant]);

function program(keep = false): StepProgram {
  const built = new StepProgram({ unsafe: true, keep });
  built.step('thread started', (s) => s.threadStart(THREAD));
  return built;
}

function doubleFree(size: number): StepProgram {
  return program()
    .step('malloc(a)', (s) => s.onThread(THREAD, (t) => t.malloc('a', size)))
    .step('free(a)', (s) => s.onThread(THREAD, (t) => t.free('a')))
    .step('free(a) again', (s) => s.onThread(THREAD, (t) => t.unsafeFree('a')));
}

/** The first steps of both fastbin variants: TCACHE_COUNT blocks freed so a's tcache bin is full. */
function fillTcache(built: StepProgram, size: number, blocks: string[]): StepProgram {
  return built
    .step(`malloc ${TCACHE_COUNT} blocks, ${blocks.join(', ')}`, (s) =>
      s.onThread(THREAD, (t) => {
        for (let i = 0; i < TCACHE_COUNT; i++) t.malloc(`t${i}`, size);
        for (const block of blocks) t.malloc(block, size);
      }),
    )
    .step(`free the ${TCACHE_COUNT} (tcache bin full)`, (s) =>
      s.onThread(THREAD, (t) => {
        for (let i = 0; i < TCACHE_COUNT; i++) t.free(`t${i}`);
      }),
    );
}

function fastbinDoubleFree(size: number): StepProgram {
  return fillTcache(program(), size, ['a'])
    .step('free(a)', (s) => s.onThread(THREAD, (t) => t.free('a')))
    .step('free(a) again', (s) => s.onThread(THREAD, (t) => t.unsafeFree('a')));
}

export const DUP_STEP = `free(a) again, malloc ${TCACHE_COUNT} + x, y, z`;

function fastbinDup(size: number): StepProgram {
  // keep: x and z turn out to be one block, which the end-of-run frees would free twice.
  return (
    fillTcache(program(true), size, ['a', 'b'])
      .step('free(a)', (s) => s.onThread(THREAD, (t) => t.free('a')))
      .step('free(b)', (s) => s.onThread(THREAD, (t) => t.free('b')))
      // After the second free(a) the fastbin is a cycle a → b → a, and mallinfo2 (in
      // every snapshot) walks fastbins until NULL: the mallocs that empty it must run
      // in the same step. The first TCACHE_COUNT empty the tcache bin, x, y, z then
      // come from the fastbin.
      .step(DUP_STEP, (s) =>
        s.onThread(THREAD, (t) => {
          t.unsafeFree('a');
          for (let i = 0; i < TCACHE_COUNT; i++) t.malloc(`u${i}`, size);
          t.malloc('x', size).malloc('y', size).malloc('z', size);
        }),
      )
  );
}

function overwriteHeader(size: number): StepProgram {
  // From a's first byte to the end of b's size field: a's chunk size when b follows a.
  return program()
    .step('malloc(a), malloc(b)', (s) => s.onThread(THREAD, (t) => t.malloc('a', size).malloc('b', size)))
    .step("write past a's end", (s) => s.onThread(THREAD, (t) => t.unsafeWrite('a', 0, chunkSize(size), OVERFLOW_BYTE)))
    .step('free(b)', (s) => s.onThread(THREAD, (t) => t.free('b')));
}

/** The size a's length field is raised to: twice its chunk, so a freed and taken again spans b too. */
export const INCREMENTED_STEPS = {
  allocate: 'malloc(a), malloc(b), b written',
  increment: "a's length incremented",
  free: 'free(a)',
  again: 'malloc(c) of the incremented size',
  write: 'write all of c',
  read: "read b's first byte",
} as const;
/** What b holds, and what c is filled with. */
const B_BYTE = 0x42;
const C_BYTE = 0x43;

/** The request whose chunk is exactly the doubled one a's raised length field claims. */
const doubledRequest = (size: number) => 2 * chunkSize(size) - SIZE_SZ;

function incrementedLength(size: number): StepProgram {
  // The size field's low byte: chunk size | PREV_INUSE; written one word before a's first byte.
  const incremented = 2 * chunkSize(size) + 1;
  const request = doubledRequest(size);
  return program(true)
    .step(INCREMENTED_STEPS.allocate, (s) =>
      s.onThread(THREAD, (t) => t.malloc('a', size).malloc('b', size).fill('b', B_BYTE)),
    )
    .step(INCREMENTED_STEPS.increment, (s) => s.onThread(THREAD, (t) => t.unsafeWrite('a', -SIZE_SZ, 1, incremented)))
    .step(INCREMENTED_STEPS.free, (s) => s.onThread(THREAD, (t) => t.free('a')))
    .step(INCREMENTED_STEPS.again, (s) => s.onThread(THREAD, (t) => t.malloc('c', request).malloc_usable_size('c')))
    .step(INCREMENTED_STEPS.write, (s) => s.onThread(THREAD, (t) => t.fill('c', C_BYTE)))
    .step(INCREMENTED_STEPS.read, (s) => s.onThread(THREAD, (t) => t.unsafeRead('b', 0)));
}

/** The interior pointer freed: a + 16, whose would-be chunk header is a's own first 16 bytes. */
export const FOREIGN_OFFSET = 16;

function freeForeign(size: number): StepProgram {
  // Zeroed, so the fake header free() reads is the same on every run.
  return program()
    .step('malloc(a)', (s) => s.onThread(THREAD, (t) => t.malloc('a', size).fill('a', 0)))
    .step(`free(a + ${FOREIGN_OFFSET})`, (s) => s.onThread(THREAD, (t) => t.freeForeign('a', FOREIGN_OFFSET)));
}

export const heapCorruption: ExperimentDefinition = {
  id: 'heap-corruption',
  title: 'Heap corruption: writing past a block, double free, freeing a foreign pointer',
  seeds: ['001', '004'],
  description:
    "Seeds 001/004's heap-corruption errors, each in a child process that glibc 2.36 is expected to abort: " +
    "a write over a block's end into the next block's size field, free() twice (tcache, fastbin top, and the fastbin a, b, a pattern), " +
    'and free() of a pointer inside a block; and, surviving, a length field incremented over the next block, freed and taken again. ' +
    'The misuse runs on a thread with its own new arena, so the layout is the same on both hosts.',
  parameters: [{ name: 'size', description: 'bytes of each block (a tcache/fastbin size: at most 120)', default: 24 }],
  variants: (parameters: Parameters) => {
    const size = parameters['size']!;
    return [
      {
        name: 'double-free',
        description: 'malloc(a); free(a); free(a): a sits in the tcache',
        program: doubleFree(size),
      },
      {
        name: 'fastbin-double-free',
        description: `${TCACHE_COUNT} blocks of a's size freed first (tcache bin full), then free(a); free(a): a sits on top of its fastbin`,
        program: fastbinDoubleFree(size),
      },
      {
        name: 'fastbin-dup',
        description: `${TCACHE_COUNT} blocks freed first, then free(a); free(b); free(a), then mallocs that empty the tcache bin and the fastbin`,
        program: fastbinDup(size),
      },
      {
        name: 'overwrite-header',
        description: `malloc(a), malloc(b), then ${chunkSize(size)} bytes of 'A' written from a's start (8 past its usable end, over b's size field), then free(b)`,
        program: overwriteHeader(size),
      },
      {
        name: 'length-incremented',
        description: `malloc(a), malloc(b); a's length field raised from ${chunkSize(size)} to ${2 * chunkSize(size)}; free(a); malloc(${doubledRequest(size)}); c written`,
        program: incrementedLength(size),
      },
      {
        name: 'free-foreign',
        description: `free(a + ${FOREIGN_OFFSET}): a pointer inside a block, never returned by malloc`,
        program: freeForeign(size),
      },
    ];
  },
  allocators: ['glibc'],
  claims: [
    {
      id: 'write-past-end',
      claim:
        "Writing to the addresses just before/after a freshly allocated block may modify another block's metadata; such an error is usually hard to find " +
        '(glibc 2.36 notices it only when that block is freed, and aborts).',
      judge: (c) =>
        judged(() => {
          const size = c.parameters['size']!;
          const [a, b] = ops(c, 'overwrite-header', 'malloc(a), malloc(b)', 'malloc').map((op) => op.value);
          const gap = b! - a!;
          const adjacent = gap === chunkSize(size);
          const unnoticed =
            run(c, 'overwrite-header').steps.find((step) => step.label === "write past a's end")?.sample !== undefined;
          const result = judgeAbort(c, 'overwrite-header', 'free(b)', (aborted) =>
            adjacent
              ? `b starts ${bytes(gap)} after a (a's chunk), so the ${bytes(chunkSize(size))} written from a's start covered b's prev_size and size fields with 0x${OVERFLOW_BYTE.toString(16)} bytes. ` +
                (unnoticed ? 'The write itself went unnoticed (the snapshot after it was taken); ' : '') +
                (aborted
                  ? "glibc noticed only in free(b), when b's size no longer made sense: the error surfaces in an innocent call, far from the bad write."
                  : 'free(b) did not notice the corrupted size either.')
              : `b is not right after a (${bytes(gap)} apart, a's chunk is ${bytes(chunkSize(size))}), so the write hit some other chunk's header.`,
          );
          return adjacent ? result : { verdict: 'inconclusive', evidence: result.evidence };
        }),
    },
    {
      id: 'double-free',
      claim: 'Freeing a block that has already been freed is a serious error (glibc 2.36 detects it and aborts).',
      judge: (c) =>
        judged(() =>
          judgeAbort(c, 'double-free', 'free(a) again', (aborted, message = '') => {
            if (!aborted) return 'glibc did not catch the second free(a).';
            if (/tcache/.test(message))
              return `free(a) put a in the tcache and marked it with the tcache key; the second free(a) found the key, searched the tcache bin and found a there (${glibcOf(c)}: the tcache key check came in ${SINCE.tcacheDoubleFreeCheck}).`;
            if (/fasttop/.test(message))
              return 'free(a) put a in a fastbin (tcache took none of it in this run); the second free(a) found a on top of that fastbin (the "fasttop" check).';
            return 'glibc named the error in its message.';
          }),
        ),
    },
    {
      id: 'double-free-fastbin',
      requires: [binsAsDesigned('fastbin-double-free')],
      claim: `Freeing a block that has already been freed is a serious error, also when its tcache bin is full (glibc 2.36 detects it and aborts).`,
      judge: (c) =>
        judged(() =>
          judgeAbort(c, 'fastbin-double-free', 'free(a) again', (aborted) =>
            aborted
              ? `With ${TCACHE_COUNT} blocks of its size already in the tcache, free(a) put a in a fastbin; the second free(a) found a on top of that fastbin (the "fasttop" check, which ${glibcOf(c)} makes).`
              : 'glibc did not catch the second free(a) although a was on top of its fastbin.',
          ),
        ),
    },
    {
      id: 'double-free-fastbin-dup',
      requires: [binsAsDesigned('fastbin-dup')],
      claim:
        'Freeing a block that has already been freed is a serious error, also as free(a); free(b); free(a) (glibc 2.36 detects it and aborts).',
      judge: (c) =>
        judged(() => {
          const result = judgeAbort(c, 'fastbin-dup', DUP_STEP, (aborted) => {
            if (aborted) return 'glibc caught the second free(a) although b had been freed in between.';
            const mallocs = ops(c, 'fastbin-dup', DUP_STEP, 'malloc').map((op) => op.value);
            const [x, y, z] = mallocs.slice(TCACHE_COUNT);
            const a = ops(c, 'fastbin-dup', 'free(a)', 'free')[0]!.value;
            const twice = x === z;
            return (
              `${glibcOf(c)} did not detect it: its fastbin check only compares the freed block with the top of the bin, which was b. ` +
              `The bin became the cycle a → b → a, and malloc then handed out x = ${formatAddress(x!)}, y = ${formatAddress(y!)}, z = ${formatAddress(z!)}` +
              (twice
                ? ` — x and z are the same block${x === a ? ' (a)' : ''}: two owners, each overwriting the other's data.`
                : '.') +
              (run(c, 'fastbin-dup').signal === null
                ? ' The process went on as if nothing had happened, the seed\'s "hard to find" error.'
                : ' The step ran to its end as if nothing had happened; the corruption surfaced only later, as the ending above says: the seed\'s "hard to find" error.')
            );
          });
          return result;
        }),
    },
    {
      id: 'free-foreign',
      claim:
        'Freeing, through free(), a block not obtained from the malloc() family is a serious error (glibc 2.36 detects it and aborts).',
      judge: (c) =>
        judged(() =>
          judgeAbort(c, 'free-foreign', `free(a + ${FOREIGN_OFFSET})`, (aborted) =>
            aborted
              ? `free() read the would-be chunk header in the ${FOREIGN_OFFSET} bytes before the pointer — a's own zeroed data: a size of 0, which fails ${glibcOf(c)}'s check that a chunk does not wrap around the address space.`
              : 'glibc accepted the interior pointer.',
          ),
        ),
    },
    {
      id: 'length-incremented-overlap',
      requires: [binsAsDesigned('length-incremented')],
      claim:
        'If the length value is accidentally incremented, then the block is deallocated, but then re-allocated, then the program thinks it has 2 distinct memory blocks, but the first one actually overlaps with the adjacent one.',
      judge: (c) =>
        judged(() => {
          const size = c.parameters['size']!;
          const [a, b] = ops(c, 'length-incremented', INCREMENTED_STEPS.allocate, 'malloc').map((op) => op.value);
          const again = ops(c, 'length-incremented', INCREMENTED_STEPS.again);
          const cAddress = again.find((op) => op.op === 'malloc')?.value;
          const usable = again.find((op) => op.op === 'malloc_usable_size')?.value;
          const read = ops(c, 'length-incremented', INCREMENTED_STEPS.read, 'unsafe_read')[0]?.value;
          if (
            a === undefined ||
            b === undefined ||
            cAddress === undefined ||
            usable === undefined ||
            read === undefined
          ) {
            return { verdict: 'inconclusive', evidence: `the run stopped in "${endedIn(c, 'length-incremented')}"` };
          }
          const overlaps = cAddress === a && cAddress + usable > b;
          if (b - a !== chunkSize(size)) {
            return {
              verdict: 'inconclusive',
              evidence: `b is not right after a (${bytes(b - a)} apart): the layout the claim needs did not arise`,
            };
          }
          return verdict(
            overlaps && read === C_BYTE,
            `a (${formatAddress(a)}) and b (${formatAddress(b)}) were neighbours; with a's length raised from ${bytes(chunkSize(size))} to ${bytes(2 * chunkSize(size))}, ` +
              `free(a) passed glibc 2.36's checks and the next malloc of that size returned ${formatAddress(cAddress)}${cAddress === a ? ' — a again' : ''}, ` +
              `with ${bytes(usable)} usable, reaching ${bytes(cAddress + usable - b)} into b. Writing all of c turned b's first byte from 0x${B_BYTE.toString(16)} into 0x${read.toString(16)}: ` +
              (overlaps && read === C_BYTE
                ? 'two blocks the program holds as distinct share memory.'
                : 'no overlap showed.'),
          );
        }),
    },
  ],
};
