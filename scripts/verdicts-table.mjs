#!/usr/bin/env node
// Turns `malloc-lab run --all --json` (stdin) into the README's verdicts table,
// so the table always comes from a real run: node scripts/verdicts-table.mjs < runs.json
import { readFileSync } from 'node:fs';

const runs = JSON.parse(readFileSync(0, 'utf8'));
const mark = { confirmed: '✔', refuted: '✘', inconclusive: '?' };
const rows = new Map();
for (const run of runs) {
  for (const claim of run.claims) {
    const key = `${run.experiment}\u0000${claim.id}`;
    if (!rows.has(key)) rows.set(key, { experiment: run.experiment, id: claim.id, claim: claim.claim, hosts: {} });
    rows.get(key).hosts[run.host] = claim.verdict;
  }
}
const first = runs[0];
console.log(
  `Measured with glibc ${first.glibc}, kernel ${first.kernel}, allocator ${first.allocator}: ✔ confirmed, ✘ refuted, ? inconclusive.\n`,
);
console.log('| experiment | claim | fresh | node |');
console.log('| --- | --- | :-: | :-: |');
for (const row of rows.values()) {
  const text = row.claim.replace(/\|/g, '\\|');
  console.log(`| \`${row.experiment}\` | ${text} | ${mark[row.hosts.fresh] ?? '—'} | ${mark[row.hosts.node] ?? '—'} |`);
}
