/**
 * Case 2, batch: 1 M × malloc(64), then free them all, through malloc-lab's two batch
 * paths, vs. the same loops in C (bench/c/batch.c), which times its own malloc and
 * free loops with clock_gettime inside its own process.
 *
 *   allocBatch  allocBatch({ count: 1 M, size: 64 }) + set.release() in this Node
 *               process: one native call each, timed from JS around the two.
 *   step        a step program on the fresh host (the standalone executable, a
 *               single-threaded process like the C program): batch_alloc then
 *               batch_free of one set, timed by the interpreter's own clock (the
 *               records' nanoseconds), so the process start is not in it.
 *
 * Everything is measured on a warm heap, as the C program's rounds after its warm-up
 * are: a step program runs warm-up rounds before its timed ones, and in this Node
 * process, where anything that mallocs a large block between two rounds (a JIT
 * compile, a child process) makes glibc consolidate the million freed chunks and trim
 * the heap, each timed allocBatch round follows an untimed one (page faults are
 * counted to check). The C rounds come from C programs kept running beside the bench
 * (lib/coprocess.mjs). Blocks of rounds rotate between the sides, so all share the
 * machine's noise; ratios are taken per pair of rounds with the same index.
 * usage: node batch.mjs C_BINARY; prints one JSON object on stdout.
 */
import { runOnHost } from '../../dist/experiments/framework/hosts.js';
import { StepProgram } from '../../dist/experiments/framework/program.js';
import { allocBatch } from '../../dist/index.js';
import { startCoprocess } from '../lib/coprocess.mjs';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const [cBinary] = process.argv.slice(2);
const COUNT = Number(process.env.BENCH_BATCH_COUNT ?? 1_000_000);
const SIZE = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const PER_BLOCK = 3;
const WARMUP = 2;

function allocBatchRound() {
  const start = nowNs();
  const set = allocBatch({ count: COUNT, size: SIZE });
  set.release();
  return elapsedNs(start);
}

// sleep(0) marks the start of each round: a step's records carry the time each op
// ended, and the snapshot closing the previous step runs mallinfo2, which walks
// every free chunk (a million of them here).
const program = new StepProgram();
for (let round = 0; round < WARMUP + PER_BLOCK; round++) {
  program.step(`round ${round}`, (s) =>
    s
      .sleep(0)
      .batchAlloc('set', COUNT, [{ size: SIZE }])
      .batchFree('set'),
  );
}

async function stepRounds() {
  const run = await runOnHost(program, 'fresh');
  if (!run.completed) throw new Error(`the fresh host stopped: ${JSON.stringify(run.failure)} ${run.stderr}`);
  return run.steps.slice(WARMUP).map((step) => {
    const at = (op) => step.ops.find((record) => record.op === op).atNs;
    return at('batch_free') - at('sleep');
  });
}

const args = [String(COUNT), String(SIZE), String(WARMUP)];
const c = startCoprocess(cBinary, args);
const cThreaded = startCoprocess(cBinary, args, ['threaded']);
try {
  for (let i = 0; i < WARMUP; i++) allocBatchRound();
  const ns = { allocBatch: [], step: [], c: [], cThreaded: [] };
  let faultedRounds = 0;
  const sides = [
    async () => {
      for (let i = 0; i < PER_BLOCK; i++) {
        ns.c.push(c.round());
        ns.cThreaded.push(cThreaded.round());
      }
    },
    async () => {
      ns.step.push(...(await stepRounds()));
    },
    async () => {
      for (let i = 0; i < PER_BLOCK; i++) {
        allocBatchRound(); // untimed: regrows the heap if anything trimmed it since the last round
        const faults = process.resourceUsage().minorPageFault;
        ns.allocBatch.push(allocBatchRound());
        // The pointer array is COUNT / 512 pages; a trimmed heap would be COUNT / 50.
        if (process.resourceUsage().minorPageFault - faults > COUNT / 100) faultedRounds++;
      }
    },
  ];
  for (let block = 0; block < Math.ceil(ROUNDS / PER_BLOCK); block++) {
    for (let k = 0; k < sides.length; k++) await sides[(block + k) % sides.length]();
  }
  process.stdout.write(`${JSON.stringify({ count: COUNT, size: SIZE, rounds: ns.c.length, faultedRounds, ns })}\n`);
} finally {
  c.close();
  cThreaded.close();
}
