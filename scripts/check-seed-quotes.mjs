#!/usr/bin/env node
// Checks that every sentence of the seed-claims catalogue is the seed's own words,
// on the lines it names: node scripts/check-seed-quotes.mjs ../shared/seeds
// (the seed files, NNN_*.txt, are not part of the package). `…` in a quote stands
// for words left out; whitespace and line breaks compare as one space.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { SEED_CLAIMS } from '../dist/experiments/claims/index.js';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node scripts/check-seed-quotes.mjs <seeds directory>');
  process.exit(2);
}
const files = new Map(
  readdirSync(dir)
    .filter((name) => /^\d{3}_.*\.txt$/.test(name))
    .map((name) => [name.slice(0, 3), readFileSync(join(dir, name), 'utf8').split('\n')]),
);
const normal = (text) => text.replace(/\s+/g, ' ').trim();
let bad = 0;
for (const entry of SEED_CLAIMS) {
  const lines = files.get(entry.seed);
  if (lines === undefined) {
    console.log(`seed ${entry.seed}: no file in ${dir}`);
    bad++;
    continue;
  }
  const text = normal(entry.lines.map((line) => lines[line - 1] ?? '').join(' '));
  let from = 0;
  for (const part of entry.text
    .split('…')
    .map(normal)
    .filter((p) => p !== '')) {
    const found = text.indexOf(part, from);
    if (found < 0) {
      console.log(`seed ${entry.seed} lines ${entry.lines.join(',')}: not found: ${JSON.stringify(part)}`);
      bad++;
      break;
    }
    from = found + part.length;
  }
}
console.log(`${SEED_CLAIMS.length} sentences, ${bad} not quoted as the seeds have them`);
process.exitCode = bad === 0 ? 0 : 1;
