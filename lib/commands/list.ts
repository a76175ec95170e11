/** `malloc-lab list`: ids, one-line descriptions and the seeds they come from. */
import { CATALOGUE } from '../experiments/catalogue/index.js';
import { renderTable } from '../report/table.js';

export function listCommand(print: (line: string) => void): number {
  print(
    renderTable(
      ['id', 'seed', 'what it reproduces'],
      CATALOGUE.map((d) => [d.id, d.seeds.join(', '), d.title]),
      3,
    ),
  );
  return 0;
}
