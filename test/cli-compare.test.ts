// `malloc-lab compare` through the built CLI (dist/cli.js): usage errors before
// anything runs, the table, --json (valid against its schema) and --svg, and
// Ctrl-C or SIGTERM to compare ending every process it started — the command,
// the children it forked (one of them ignoring SIGTERM, one that left the
// session with setsid) and the load generator — checked in /proc afterwards.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliHarness, sleep } from './fixtures/cli-harness.js';
import { buildWorkload, runningWith, schemaErrors } from './fixtures/compare-harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-cli-compare-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let workload: string;
beforeAll(() => {
  workload = buildWorkload(scratch);
});

const { children, cli } = cliHarness([
  'dist/cli.js',
  'dist/commands/compare.js',
  'dist/compare/compare.js',
  'dist/report/compare-table.js',
  'dist/report/compare-svg.js',
]);

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('malloc-lab compare', () => {
  it('refuses bad arguments with exit 2 and a missing command with exit 1, before anything runs', async () => {
    const none = await cli(['compare']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give the command to compare after --/);

    const noSeparator = await cli(['compare', 'node', 'server.js']);
    expect(noSeparator.code).toBe(2);
    expect(noSeparator.stderr).toMatch(/node: the command goes after --/);

    const unknown = await cli(['compare', '--fast', '--', 'true']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --fast/);

    const config = await cli(['compare', '--config', 'ptmalloc9', '--', 'true']);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/--config names no configuration of the matrix.*glibc-arena-2/);

    const interval = await cli(['compare', '--interval', '5', '--', 'true']);
    expect(interval.code).toBe(2);
    expect(interval.stderr).toMatch(/--interval is in milliseconds/);

    const linger = await cli(['compare', '--linger', '2', '--', 'true']);
    expect(linger.code).toBe(2);
    expect(linger.stderr).toMatch(/--linger counts from the end of --load/);

    const missing = await cli(['compare', '--', 'malloc-lab-no-such-command', '--flag']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^malloc-lab: compare: command not found: malloc-lab-no-such-command .*\[ENOENT\]/);
    expect(missing.stdout).toBe('');

    const directory = await cli(['compare', '--', scratch]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toMatch(/is not a file \[EACCES\]/);
  });

  it('--list shows the matrix with each setting and library', async () => {
    const result = await cli(['compare', '--list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^glibc-mmap-128k +GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=131072/m);
    expect(result.stdout).toMatch(
      /^jemalloc-release +MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 +\/\S+libjemalloc/m,
    );
  });

  it('prints the table and the verdict; --json is valid against its schema; --svg draws a line per configuration', async () => {
    const args = ['--config', 'glibc,jemalloc-release', '--duration', '0.8', '--', workload, 'fragments', '1024', '0'];
    const table = await cli(['compare', ...args], {}, 20_000);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^glibc +stopped +[\d.]+ MiB/m);
    expect(table.stdout).toMatch(/^jemalloc-release +stopped .* -\d+%/m);
    expect(table.stdout).toMatch(/Lowest final RSS: jemalloc-release/);

    const svg = join(scratch, 'compare.svg');
    const json = await cli(['compare', '--json', '--svg', svg, ...args], {}, 20_000);
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(schemaErrors(result)).toEqual([]);
    expect(result.summary.map((row: { status: string }) => row.status)).toEqual(['ok', 'ok']);
    expect(json.stderr).toMatch(/compare: Lowest final RSS: jemalloc-release/);
    const chart = readFileSync(svg, 'utf8');
    expect(chart.match(/<polyline /g)).toHaveLength(4); // two configurations, two panels
    expect(chart).toContain('jemalloc-release');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} to compare ends every process it started and prints what it measured`, async () => {
      const marked = buildWorkload(scratch, `compare-workload-${signal.toLowerCase()}`);
      const sleeper = signal === 'SIGINT' ? 'sleep 321' : 'sleep 322';
      const escaper = signal === 'SIGINT' ? 'sleep 331' : 'sleep 332';
      // The command forks two children, all three ignore SIGTERM; a grandchild leaves the session.
      const script = `setsid ${escaper} & exec ${marked} fork 64 0 ignore-term`;
      const comparing = cli(
        [
          'compare',
          '--tree',
          '--grace',
          '0.5',
          '--config',
          'glibc,jemalloc',
          '--load',
          `exec ${sleeper}`,
          '--ready-delay',
          '0.1',
          '--duration',
          '60',
          '--',
          'sh',
          '-c',
          script,
        ],
        {},
        30_000,
      );
      await until(
        () =>
          runningWith(marked).length === 3 && runningWith(sleeper).length === 1 && runningWith(escaper).length === 1,
        10_000,
        'the command, its two children, the escaped grandchild and the load generator',
      );
      await sleep(300); // a sample or two after the tree sampler has seen them all
      const cliProcess = [...children].at(-1)!;
      cliProcess.kill(signal);
      const result = await comparing;
      expect(result.code).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(result.stderr).toContain(`compare: ${signal}: ending the current run's processes`);
      expect(result.stdout).toMatch(/^glibc +interrupted/m);
      expect(result.stdout).toMatch(/Interrupted after 1 of 2 runs/);
      expect(runningWith(marked)).toEqual([]);
      expect(runningWith(sleeper)).toEqual([]);
      expect(runningWith(escaper)).toEqual([]);
    });
  }
});
