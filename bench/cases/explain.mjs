/**
 * Case 6, explain from outside: explainProcess(pid) of a process with 10 000
 * mappings (bench/c/many-mappings.c: one-page mappings, every tenth writable page
 * resident) vs one plain C read of its /proc/<pid>/smaps (bench/c/smaps.c): the
 * kernel's cost of producing the text is the floor. Rounds alternate; the ratio
 * is taken per pair of adjacent rounds. Also reported: the same with the
 * smaps_rollup check turned off, and with 100 000-mapping sizes noted in the JSON.
 * usage: node explain.mjs SMAPS_BINARY MANY_MAPPINGS_BINARY; prints one JSON object.
 */
import { spawn } from 'node:child_process';

import { explainProcess } from '../../dist/index.js';
import { startCoprocess } from '../lib/coprocess.mjs';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const [cSmaps, manyMappings] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const MAPPINGS = 10_000;

const target = spawn(manyMappings, [String(MAPPINGS), '10'], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  let out = '';
  target.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    if (out.includes('\n')) resolve();
  });
  target.once('exit', (code) => reject(new Error(`many-mappings exited (${code})`)));
});
const pid = target.pid;
const c = startCoprocess(cSmaps, ['smaps', String(pid), '3']);

async function ours(options) {
  const start = nowNs();
  const report = await explainProcess(pid, options);
  const ns = elapsedNs(start);
  if (report.totals.mappings < MAPPINGS) throw new Error(`explain saw ${report.totals.mappings} mappings`);
  return ns;
}

try {
  for (let i = 0; i < 3; i++) await ours({ agent: false });
  const ns = { explain: [], explainNoRollup: [], c: [] };
  let mappings = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cFirst = round % 2 === 0;
    if (cFirst) ns.c.push(c.round());
    ns.explain.push(await ours({ agent: false }));
    ns.explainNoRollup.push(await ours({ agent: false, rollup: false }));
    if (!cFirst) ns.c.push(c.round());
  }
  mappings = (await explainProcess(pid, { agent: false })).totals.mappings;
  process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, mappings, ns })}\n`);
} finally {
  c.close();
  target.kill('SIGKILL');
}
