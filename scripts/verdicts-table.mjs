#!/usr/bin/env node
// Turns `malloc-lab run --all --json [--repeat N]` (stdin) into the README's verdicts
// table, so the table always comes from a real run: one column per world the run
// covered, each verdict with its count when the worlds ran more than once.
//   npx malloc-lab run --all --repeat 5 --json | node scripts/verdicts-table.mjs
import { readFileSync } from 'node:fs';

const runs = JSON.parse(readFileSync(0, 'utf8'));
const mark = { confirmed: '✔', refuted: '✘', inconclusive: '?' };
const ORDER = ['fresh', 'node', 'aged/fresh', 'aged/node'];
const worlds = ORDER.filter((world) => runs.some((run) => (run.world ?? run.host) === world));
const repeat = Math.max(...runs.map((run) => run.repeat ?? 1));

/** ✔, or with repetitions "✔ 5/5", and every verdict a claim got when they differed ("✔ 4/5 ✘ 1/5"). */
function cell(result) {
  if (result === undefined) return '—';
  const counts = result.counts ?? { [result.verdict]: 1 };
  const of = result.of ?? 1;
  const entries = Object.entries(counts).sort(([a], [b]) => (a === result.verdict ? -1 : b === result.verdict ? 1 : 0));
  if (of === 1) return mark[result.verdict];
  return entries.map(([verdict, count]) => `${mark[verdict]} ${count}/${of}`).join(' ');
}

const rows = new Map();
for (const run of runs) {
  for (const claim of run.claims) {
    const key = `${run.experiment}\u0000${claim.id}`;
    if (!rows.has(key)) rows.set(key, { experiment: run.experiment, claim: claim.claim, worlds: {} });
    rows.get(key).worlds[run.world ?? run.host] = claim;
  }
}
const first = runs[0];
const aged = runs.find((run) => run.ageing !== undefined)?.ageing;
const ageing = aged
  ? ` The aged heap: ${aged.blocks.toLocaleString('en-US')} mallocs (${aged.mix.map((entry) => `${entry.percent} % of ${entry.min}–${entry.max} B`).join(', ')}), each memset, ${aged.freedPercent} % freed in a random order (seed ${aged.seed}).`
  : '';
console.log(
  `Measured with glibc ${first.glibc}, kernel ${first.kernel}, allocator ${first.allocator}` +
    (repeat > 1 ? `, each world run ${repeat} times in fresh processes` : '') +
    `: ✔ confirmed, ✘ refuted, ? inconclusive` +
    (repeat > 1 ? '; a cell with two marks got different verdicts in different runs' : '') +
    `.${ageing}\n`,
);
console.log(`| experiment | claim | ${worlds.join(' | ')} |`);
console.log(`| --- | --- | ${worlds.map(() => ':-:').join(' | ')} |`);
for (const row of rows.values()) {
  const text = row.claim.replace(/\|/g, '\\|');
  console.log(`| \`${row.experiment}\` | ${text} | ${worlds.map((world) => cell(row.worlds[world])).join(' | ')} |`);
}
