#!/usr/bin/env node
// Turns the seed-claims catalogue into the README's seed-by-seed claim map, with the
// verdicts of a real run beside each judging claim:
//   npx malloc-lab run --all --json > runs.json && node scripts/claims-table.mjs runs.json
// (without runs.json, the map alone).
import { readFileSync } from 'node:fs';

import { SEED_CLAIMS, SEED_IDS } from '../dist/experiments/claims/index.js';
import { seedSummary } from '../dist/report/seed-claims.js';

const runs = process.argv[2] === undefined ? [] : JSON.parse(readFileSync(process.argv[2], 'utf8'));
const mark = { confirmed: '✔', refuted: '✘', inconclusive: '?' };
const verdicts = new Map();
for (const run of runs) {
  for (const claim of run.claims) {
    const key = `${run.experiment}/${claim.id}`;
    verdicts.set(key, { ...verdicts.get(key), [run.host]: mark[claim.verdict] });
  }
}
const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

for (const seed of SEED_IDS) {
  const entries = SEED_CLAIMS.filter((entry) => entry.seed === seed).sort((a, b) => a.lines[0] - b.lines[0]);
  const { sentences, judged, notJudgeable } = seedSummary(entries);
  console.log(`#### Seed ${seed}: ${sentences} sentences, ${judged} judged, ${notJudgeable} not judgeable here\n`);
  console.log(`| line | the seed says | judged by${runs.length > 0 ? ' (fresh / node)' : ''} |`);
  console.log('| --- | --- | --- |');
  for (const entry of entries) {
    const said = entry.english === undefined ? entry.text : `${entry.text}<br>*${entry.english}*`;
    const by =
      'judgedBy' in entry
        ? entry.judgedBy
            .map((reference) => {
              const found = verdicts.get(`${reference.experiment}/${reference.claim}`);
              const marks = found === undefined ? '' : ` ${found.fresh ?? '—'} / ${found.node ?? '—'}`;
              const opposite = reference.negates ? ' (states the opposite)' : '';
              return `\`${reference.experiment}\` \`${reference.claim}\`${opposite}${marks}`;
            })
            .join('<br>')
        : `not judgeable here: ${entry.notJudgeable.why}; it would take ${entry.notJudgeable.needs}`;
    console.log(`| ${entry.lines.join(', ')} | ${cell(said)} | ${cell(by)} |`);
  }
  console.log('');
}
