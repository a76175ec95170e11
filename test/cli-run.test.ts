// `malloc-lab run`'s worlds, repetitions and ageing options, and the README's verdicts
// table made from a run's JSON.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { parseRunArguments } from '../lib/commands/run.js';
import { sbrk16k } from '../lib/experiments/catalogue/sbrk-16k.js';
import { runExperiment, type ExperimentRun } from '../lib/experiments/framework/runner.js';
import { packageRoot } from '../lib/infra/binaries.js';
import { renderExperiment } from '../lib/report/text.js';

describe('run: worlds, --repeat and the ageing', () => {
  it('without --host and --heap, the three default worlds; --heap aged alone, the aged heap on both hosts', () => {
    expect(parseRunArguments(['sbrk-16k'])).toMatchObject({ repeat: 1, ageing: {} });
    expect(parseRunArguments(['sbrk-16k']).hosts).toBeUndefined();
    expect(parseRunArguments(['sbrk-16k', '--heap', 'aged'])).toMatchObject({ heaps: ['aged'] });
    expect(parseRunArguments(['sbrk-16k', '--heap', 'both', '--host', 'node'])).toMatchObject({
      heaps: ['clean', 'aged'],
      hosts: ['node'],
    });
  });

  it('--repeat and the ageing parameters', () => {
    const command = parseRunArguments([
      '--all',
      '--repeat',
      '5',
      '--age-blocks',
      '1000',
      '--age-freed',
      '25.5',
      '--age-seed',
      '3',
      '--age-mix',
      '90:16-64,10:1000-2000',
    ]);
    expect(command.repeat).toBe(5);
    expect(command.ageing).toEqual({
      blocks: 1000,
      freedPercent: 25.5,
      seed: 3,
      mix: [
        { percent: 90, min: 16, max: 64 },
        { percent: 10, min: 1000, max: 2000 },
      ],
    });
  });

  it('refuses what it cannot run, naming the option', () => {
    const usage = (argv: string[]) => {
      try {
        parseRunArguments(argv);
      } catch (error) {
        return error as Error & { code: string };
      }
      throw new Error('expected a usage error');
    };
    for (const [argv, pattern] of [
      [['sbrk-16k', '--heap', 'old'], /--heap must be clean, aged or both/],
      [['sbrk-16k', '--repeat', '0'], /--repeat must be 1 to 1000/],
      [['sbrk-16k', '--age-mix', '80:16'], /--age-mix takes percent:min-max classes/],
      [['sbrk-16k', '--age-freed', 'half'], /--age-freed takes a percentage/],
      [['sbrk-16k', '--age-freed', '120'], /freedPercent/],
    ] as const) {
      const error = usage([...argv]);
      expect(error.code).toBe('ERR_USAGE');
      expect(error.message).toMatch(pattern);
    }
  });
});

describe('reports of worlds and repetitions', () => {
  let runs: ExperimentRun[];
  beforeAll(async () => {
    runs = await runExperiment(sbrk16k, {
      worlds: [
        { host: 'fresh', heap: 'clean' },
        { host: 'fresh', heap: 'aged' },
      ],
      repeat: 2,
    });
  }, 60_000);

  it('the text report names the worlds, the repetitions and the ageing, and counts each verdict', () => {
    const text = renderExperiment(runs);
    expect(text).toContain('worlds: fresh, aged/fresh · each run 2 times, in fresh processes');
    expect(text).toContain(`aged heap: 50,000 mallocs (80 % of 16 B–256 B`);
    expect(text).toMatch(/ {6}aged\/fresh [✔✘?] \w+ 2\/2 — /);
    // sbrk-16k's first claim: confirmed in the empty heap, inconclusive in the aged one, and the report says where the heaps differed.
    expect(text).toMatch(/≠ the worlds' verdicts differ; at the start of variant seed: fresh: heap 0 B/);
  });

  it("the README's table has a column per world and each verdict's count", () => {
    const table = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'verdicts-table.mjs')], {
      input: JSON.stringify(runs),
      encoding: 'utf8',
    });
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('each world run 2 times in fresh processes');
    expect(table.stdout).toContain('| experiment | claim | fresh | aged/fresh |');
    expect(table.stdout).toMatch(/\| `sbrk-16k` \| malloc asks the OS .* \| ✔ 2\/2 \| \? 2\/2 \|/);
  });
});
