/**
 * Case 8, fleets: `malloc-lab export --match TAG` serving 50 Node services (each
 * with the agent, bench/lib/fleet-member.mjs) answers a scrape, over HTTP, vs a C
 * loop reading the same 50 processes' /proc/<pid>/smaps_rollup (bench/c/smaps.c):
 * what any exporter of these figures must at least pay. The explain classes are
 * refreshed in the background once a minute (--classes-every 60); the first
 * scrape, which reads them for every process, is reported on its own.
 * usage: node fleet.mjs SMAPS_BINARY; prints one JSON object on stdout.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startCoprocess } from '../lib/coprocess.mjs';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const [cSmaps] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const MEMBERS = Number(process.env.BENCH_FLEET ?? 50);
const tag = `malloc-lab-bench-fleet-${process.pid}`;

function ready(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready: ${out}`)));
  });
}

const members = [];
const exporterArgs = [join(root, 'dist', 'cli.js'), 'export', '--match', tag, '--port', '0', '--classes-every', '60'];
let exporter;
try {
  for (let started = 0; started < MEMBERS; started += 10) {
    const batch = [];
    for (let i = started; i < Math.min(MEMBERS, started + 10); i++) {
      const child = spawn(process.execPath, [join(here, '..', 'lib', 'fleet-member.mjs'), tag], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      members.push(child);
      batch.push(ready(child));
    }
    await Promise.all(batch);
  }
  exporter = spawn(process.execPath, exporterArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  exporter.stderr.resume();
  const url = await ready(exporter);
  // A plain keep-alive HTTP client, as Prometheus keeps its connections: fetch() would add its own weight.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrape = () =>
    new Promise((resolve, reject) => {
      const start = nowNs();
      http
        .get(url, { agent }, (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const ns = elapsedNs(start);
            if (response.statusCode !== 200) reject(new Error(`scrape: HTTP ${response.statusCode}`));
            else resolve({ ns, text: Buffer.concat(chunks).toString('utf8') });
          });
        })
        .on('error', reject);
    });
  const first = await scrape();
  const served = new Set(
    [...first.text.matchAll(/malloclab_process_resident_bytes\{pid="(\d+)"/g)].map((match) => match[1]),
  );
  if (served.size !== MEMBERS) throw new Error(`the exporter served ${served.size} processes, not ${MEMBERS}`);
  const classes = (first.text.match(/^malloclab_explain_class_resident_bytes\{/gm) ?? []).length;
  const c = startCoprocess(cSmaps, ['rollups', members.map((child) => child.pid).join(','), '2']);
  try {
    for (let i = 0; i < 3; i++) await scrape();
    const ns = { scrape: [], c: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const cFirst = round % 2 === 0;
      if (cFirst) ns.c.push(c.round());
      ns.scrape.push((await scrape()).ns);
      if (!cFirst) ns.c.push(c.round());
    }
    process.stdout.write(
      `${JSON.stringify({ rounds: ROUNDS, members: MEMBERS, firstScrapeNs: first.ns, bytes: first.text.length, classSamples: classes, ns })}\n`,
    );
  } finally {
    c.close();
  }
} finally {
  exporter?.kill('SIGTERM');
  for (const child of members) child.stdin.end();
}
