/**
 * Case 1, per call: malloc(64) + free from JS through malloc-lab (argument checks
 * and the safety registry included) vs. the same two libc calls through koffi vs.
 * an empty N-API call (the addon's `noop`, the floor of any addon call).
 *
 * Every round times each variant over ITERATIONS pairs, in a rotating order, so
 * the variants share the machine's noise; the ratio is taken per round.
 * Prints one JSON object on stdout.
 */
import { createRequire } from 'node:module';

import { free, malloc } from '../../dist/index.js';
import { native } from '../../dist/infra/native.js';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const require = createRequire(import.meta.url);
const ITERATIONS = Number(process.env.BENCH_PER_CALL_ITERATIONS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const WARMUP = 3;
const SIZE = 64;

const koffi = require('koffi');
const libc = koffi.load('libc.so.6');
const koffiMalloc = libc.func('void *malloc(size_t)');
const koffiFree = libc.func('void free(void *)');
const { noop, malloc: rawMalloc, free: rawFree } = native;

// One function per variant, so each loop is optimised for its own callee.
const variants = {
  'malloc-lab': (n) => {
    for (let i = 0; i < n; i++) free(malloc(SIZE));
  },
  koffi: (n) => {
    for (let i = 0; i < n; i++) koffiFree(koffiMalloc(SIZE));
  },
  'noop × 2': (n) => {
    for (let i = 0; i < n; i++) {
      noop();
      noop();
    }
  },
  'malloc-lab raw addon': (n) => {
    for (let i = 0; i < n; i++) rawFree(rawMalloc(SIZE));
  },
};

const names = Object.keys(variants);
const results = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(round + k) % names.length];
    const start = nowNs();
    variants[name](ITERATIONS);
    const ns = elapsedNs(start) / ITERATIONS;
    if (round >= WARMUP) results[name].push(ns);
  }
}

process.stdout.write(
  `${JSON.stringify({ iterations: ITERATIONS, rounds: ROUNDS, size: SIZE, koffi: koffi.version, nsPerPair: results })}\n`,
);
