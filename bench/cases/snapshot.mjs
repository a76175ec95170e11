/**
 * Case 3, snapshot: one parsed /proc/self/status snapshot through malloc-lab
 * (snapshot(): the public call, object included) vs. a C loop of open + read +
 * close + parse of the same 17 fields (bench/c/procfs.c); statm() (a descriptor
 * kept open) vs. C's pread + parse of /proc/self/statm through a kept-open
 * descriptor; and process.memoryUsage.rss(), Node's own cheapest RSS reading.
 *
 * The C programs run beside the bench (lib/coprocess.mjs); rounds alternate with
 * ours and the ratio is taken per pair of adjacent rounds.
 * usage: node snapshot.mjs C_BINARY; prints one JSON object on stdout.
 */
import { snapshot, statm, status } from '../../dist/index.js';
import { startCoprocess } from '../lib/coprocess.mjs';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const [cBinary] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const STATUS_ITERATIONS = 400;
const STATM_ITERATIONS = 4000;

function time(read, iterations) {
  const start = nowNs();
  for (let i = 0; i < iterations; i++) read();
  return elapsedNs(start) / iterations;
}

const readers = {
  snapshot: [() => snapshot(), STATUS_ITERATIONS],
  status: [() => status(), STATUS_ITERATIONS],
  statm: [() => statm(), STATM_ITERATIONS],
  'memoryUsage.rss': [() => process.memoryUsage.rss(), STATUS_ITERATIONS],
};

const cStatus = startCoprocess(cBinary, ['status', String(STATUS_ITERATIONS), '2']);
const cStatm = startCoprocess(cBinary, ['statm', String(STATM_ITERATIONS), '2']);
try {
  for (const [read, iterations] of Object.values(readers)) time(read, iterations);
  const ns = { cStatus: [], cStatm: [], ...Object.fromEntries(Object.keys(readers).map((name) => [name, []])) };
  for (let round = 0; round < ROUNDS; round++) {
    const cFirst = round % 2 === 0;
    if (cFirst) {
      ns.cStatus.push(cStatus.round());
      ns.cStatm.push(cStatm.round());
    }
    for (const [name, [read, iterations]] of Object.entries(readers)) ns[name].push(time(read, iterations));
    if (!cFirst) {
      ns.cStatus.push(cStatus.round());
      ns.cStatm.push(cStatm.round());
    }
  }
  process.stdout.write(
    `${JSON.stringify({ rounds: ROUNDS, statusIterations: STATUS_ITERATIONS, statmIterations: STATM_ITERATIONS, ns })}\n`,
  );
} finally {
  cStatus.close();
  cStatm.close();
}
