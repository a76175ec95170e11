/**
 * Case 7, the agent: one query for glibc's figures (mallinfo2 and malloc_info,
 * parsed here) over the agent's Unix socket, from another process, vs calling
 * malloc_info() inside the service itself (bench/lib/agent-target.mjs, a heap
 * with five arenas and free chunks of many sizes). Both sides read the same heap;
 * rounds alternate. Also reported: the full `stats` answer (V8's heap, settings)
 * that explain asks for, and the round trip of an empty answer (hello): the
 * socket's own floor.
 * usage: node agent.mjs; prints one JSON object on stdout.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { connectToAgent, mallocInfoOf } from '../../dist/process/agent-client.js';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const QUERIES = 200;

const target = spawn(process.execPath, [join(here, '..', 'lib', 'agent-target.mjs')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = [];
const waiting = [];
let buffered = '';
target.stdout.setEncoding('utf8').on('data', (chunk) => {
  buffered += chunk;
  for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  }
});
const nextLine = () => new Promise((resolve) => (lines.length > 0 ? resolve(lines.shift()) : waiting.push(resolve)));
await nextLine(); // ready

const client = await connectToAgent(target.pid, 'bench');
async function queries(op, n) {
  const start = nowNs();
  for (let i = 0; i < n; i++) {
    if (op === 'hello') {
      await client.hello();
      continue;
    }
    const answer = op === 'malloc' ? await client.malloc() : await client.stats();
    mallocInfoOf(answer);
  }
  return elapsedNs(start) / n;
}
async function inside(n) {
  target.stdin.write(`time ${n}\n`);
  return Number(await nextLine());
}

try {
  await queries('malloc', 50);
  await inside(50);
  const ns = { query: [], stats: [], hello: [], inProcess: [] };
  let arenas = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const insideFirst = round % 2 === 0;
    if (insideFirst) ns.inProcess.push(await inside(QUERIES));
    ns.query.push(await queries('malloc', QUERIES));
    ns.stats.push(await queries('stats', QUERIES / 4));
    ns.hello.push(await queries('hello', QUERIES));
    if (!insideFirst) ns.inProcess.push(await inside(QUERIES));
  }
  arenas = mallocInfoOf(await client.malloc()).arenas.length;
  process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, queries: QUERIES, arenas, ns })}\n`);
} finally {
  client.close();
  target.stdin.end();
}
