/**
 * `malloc-lab list`: ids, one-line descriptions and the seeds they come from;
 * `--claims`: every checkable sentence of the seeds and what judges it.
 */
import { CATALOGUE } from '../experiments/catalogue/index.js';
import { SEED_CLAIMS } from '../experiments/claims/index.js';
import { renderSeedClaims } from '../report/seed-claims.js';
import { renderTable } from '../report/table.js';
import { eachArgument, usageError } from './arguments.js';
import type { Output } from './output.js';

export function listCommand(argv: string[], out: Output): number {
  let claims = false;
  let json = false;
  eachArgument('list', argv, (token) => {
    if (token === '--claims') claims = true;
    else if (token === '--json') json = true;
    else throw usageError('list', `unknown argument ${JSON.stringify(token)} (expected --claims or --json)`);
  });
  if (claims) {
    if (json) out.data(JSON.stringify(SEED_CLAIMS, null, 2));
    else out.print(renderSeedClaims());
    return 0;
  }
  if (json) {
    out.data(
      JSON.stringify(
        CATALOGUE.map((d) => ({ id: d.id, seeds: d.seeds, title: d.title })),
        null,
        2,
      ),
    );
    return 0;
  }
  out.print(
    renderTable(
      ['id', 'seed', 'what it reproduces'],
      CATALOGUE.map((d) => [d.id, d.seeds.join(', '), d.title]),
      { textColumns: 3, width: out.width, wrap: [2] },
    ),
  );
  return 0;
}
