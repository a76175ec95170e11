#!/usr/bin/env node
/**
 * The load for server.mjs: a fixed, seeded sequence of requests, so every run
 * of a comparison sends the same work. About 70 % orders (1 to 400 items), 15 %
 * archives (16 KiB to 1 MiB of text), 15 % logins, CONCURRENCY at a time.
 *
 * usage: node load.mjs URL [--requests N] [--concurrency C] [--seed S]
 *   defaults: 600 requests, 8 at a time, seed 1
 * Prints one line of totals; exits 1 if any request failed.
 */
import { Agent, request } from 'node:http';

const args = process.argv.slice(2);
const url = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg));
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    console.error(`load: --${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
};
if (url === undefined || !/^http:\/\//.test(url)) {
  console.error('usage: node load.mjs http://HOST:PORT [--requests N] [--concurrency C] [--seed S]');
  process.exit(2);
}
const total = option('requests', 600);
const concurrency = option('concurrency', 8);
let seed = option('seed', 1);

/** mulberry32: the same sequence for the same seed. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt'.split(' ');
const text = (bytes) => {
  const parts = [];
  for (let length = 0; length < bytes;) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ');
};

function nextRequest(index) {
  const pick = random();
  if (pick < 0.7) {
    const items = Array.from({ length: 1 + Math.floor(random() ** 2 * 400) }, (_, i) => ({
      sku: `sku-${i}-${Math.floor(random() * 1e6)}`,
      quantity: 1 + Math.floor(random() * 9),
      price: Math.round(random() * 10000) / 100,
      note: text(Math.floor(random() * 120)),
    }));
    return { kind: 'orders', path: '/orders', body: JSON.stringify({ id: index, customer: `c${index % 97}`, items }) };
  }
  if (pick < 0.85)
    return { kind: 'archives', path: '/archive', body: text(16384 + Math.floor(random() ** 2 * 1032192)) };
  return { kind: 'logins', path: '/login', body: JSON.stringify({ user: `u${index % 50}`, password: text(24) }) };
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const counts = { orders: 0, archives: 0, logins: 0 };
let errors = 0;
let sent = 0;

function send({ path, body }) {
  return new Promise((resolve) => {
    const outgoing = request(new URL(path, url), { method: 'POST', agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    outgoing.on('error', () => resolve(false));
    outgoing.end(body);
  });
}

async function worker() {
  while (sent < total) {
    const next = nextRequest(sent++);
    counts[next.kind]++;
    if (!(await send(next))) errors++;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
agent.destroy();
const seconds = (performance.now() - started) / 1000;
console.log(
  `${total} requests in ${seconds.toFixed(1)} s: ${counts.orders} orders, ${counts.archives} archives, ${counts.logins} logins; ${errors} failed`,
);
process.exitCode = errors === 0 ? 0 : 1;
