// Human output that fits the terminal: at 80 and 120 columns (--width, COLUMNS, or a
// pseudo-terminal's own size) no line of run <id>, run --all, status, explain, compare,
// list or watch is wider; text wraps at word boundaries and never splits a number from
// its unit; piped output with no width keeps whole lines; colour only on a terminal and
// never under NO_COLOR; progress only on a terminal and never under --json; an option
// run does not know is named as such; run ends with its verdict summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CATALOGUE } from '../lib/experiments/catalogue/index.js';
import { renderTable } from '../lib/report/table.js';
import { displayWidth, outputWidth, useColour, wrapLine } from '../lib/report/terminal.js';
import { cliHarness, root } from './fixtures/cli-harness.js';
import { buildWorkload } from './fixtures/compare-harness.js';

const { cli, startTarget } = cliHarness(['dist/cli.js', 'dist/report/terminal.js', 'dist/report/run-summary.js']);
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-width-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The environment of a pipe with no width asked for. */
function pipedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['COLUMNS'];
  delete env['NO_COLOR'];
  return { ...env, ...extra };
}

function tooWide(text: string, width: number): string[] {
  return text.split('\n').filter((line) => displayWidth(line) > width);
}

describe('wrapping and tables', () => {
  it('wraps at word boundaries with a hanging indent, keeping numbers with their units and addresses whole', () => {
    const line =
      '      node  ✔ confirmed — RssAnon grew by 10.1 MiB for 10.0 MiB of memset blocks, the break moved from 0x55d4c3a2b000 to 0x55d4c4a2c000 in 5 s';
    const lines = wrapLine(line, 80);
    expect(lines.length).toBeGreaterThan(1);
    for (const part of lines) expect(displayWidth(part)).toBeLessThanOrEqual(80);
    // The continuation hangs under the evidence, after the verdict's dash.
    const hang = line.indexOf('RssAnon');
    for (const part of lines.slice(1)) expect(part.length - part.trimStart().length).toBe(hang);
    // Nothing was lost or split: the words come back in order.
    expect(lines.map((part) => part.trim()).join(' ')).toBe(line.trim());
    // Each number with its unit, and each address, is whole on one line.
    for (const whole of line.match(/\d+(?:\.\d+)? (?:MiB|KiB|s)\b|0x[0-9a-f]+/g)!) {
      expect(
        lines.some((part) => part.includes(whole)),
        whole,
      ).toBe(true);
    }
  });

  it('a table wraps its text column, then drops the columns it may lose and says which', () => {
    const header = ['step', 'RssAnon', 'VmSize', 'break'];
    const rows = [
      ['before malloc with a long description of the step', '7.4 MiB', '744.0 MiB', '0x55d4c3a2b000'],
      ['malloc OK', '17.3 MiB (+9.8 MiB)', '754.0 MiB (+9.9 MiB)', '+9.9 MiB'],
    ];
    const natural = renderTable(header, rows);
    expect(Math.max(...natural.split('\n').map(displayWidth))).toBeGreaterThan(60);
    const wrapped = renderTable(header, rows, { width: 72 });
    expect(tooWide(wrapped, 72)).toEqual([]);
    expect(wrapped).toContain('0x55d4c3a2b000');
    const dropped = renderTable(header, rows, { width: 48, drop: [2] });
    expect(tooWide(dropped, 48)).toEqual([]);
    expect(dropped).not.toContain('754.0 MiB');
    expect(dropped).toMatch(/not shown at 48 columns: VmSize/);
    // No width: whole lines, as before.
    expect(renderTable(header, rows, { drop: [2] })).toBe(natural);
  });

  it('the width comes from --width, then COLUMNS, then the terminal; colour from a terminal without NO_COLOR', () => {
    expect(outputWidth(100, { COLUMNS: '90' }, { isTTY: true, columns: 80 })).toBe(100);
    expect(outputWidth(undefined, { COLUMNS: '90' }, { isTTY: true, columns: 80 })).toBe(90);
    expect(outputWidth(undefined, {}, { isTTY: true, columns: 80 })).toBe(80);
    expect(outputWidth(undefined, {}, { isTTY: false })).toBeUndefined();
    expect(useColour({}, { isTTY: true })).toBe(true);
    expect(useColour({ NO_COLOR: '1' }, { isTTY: true })).toBe(false);
    expect(useColour({}, { isTTY: false })).toBe(false);
  });
});

describe('the commands at 80 and 120 columns', () => {
  let workload: string;
  beforeAll(() => {
    workload = buildWorkload(scratch);
  });

  it('run --all: every line fits at 80 (--width) and at 120 (COLUMNS), and it ends with the summary', async () => {
    for (const [width, args, env] of [
      [80, ['--width', '80'], pipedEnv()],
      [120, [], pipedEnv({ COLUMNS: '120' })],
    ] as const) {
      const result = await cli(['run', '--all', ...args], { env }, 180_000);
      expect(result.code, result.stderr).toBe(0);
      expect(tooWide(result.stdout, width)).toEqual([]);
      const summary = result.stdout.slice(result.stdout.lastIndexOf('summary: '));
      expect(summary).toMatch(new RegExp(`^summary: ${CATALOGUE.length} experiments, \\d+ claims, 3 worlds`));
      for (const definition of CATALOGUE) expect(summary).toMatch(new RegExp(`^${definition.id} `, 'm'));
      expect(summary).toMatch(/\d+ ✔ confirmed · \d+ ✘ refuted · \d+ \? inconclusive/);
      // Piped: no colour, no progress.
      expect(result.stdout).not.toContain('\x1b[');
      expect(result.stderr).toBe('');
    }
  }, 400_000);

  it('run <id>, status, explain, compare, list and watch fit at 80 and 120', async () => {
    const target = await startTarget();
    for (const width of [80, 120]) {
      const outputs: Record<string, string> = {};
      const run = await cli(['run', 'free-not-returned', '--width', String(width)], {}, 60_000);
      outputs['run'] = run.stdout;
      outputs['status'] = (await cli(['status', String(target.pid), '--width', String(width)])).stdout;
      outputs['explain'] = (
        await cli(['explain', String(target.pid)], { env: pipedEnv({ COLUMNS: String(width) }) }, 30_000)
      ).stdout;
      const compare = await cli(
        [
          'compare',
          '--width',
          String(width),
          '--config',
          'glibc,glibc-arena-2',
          '--duration',
          '0.6',
          '--',
          workload,
          'fragments',
          '1024',
          '0',
        ],
        {},
        30_000,
      );
      expect(compare.code, compare.stderr).toBe(0);
      outputs['compare'] = compare.stdout;
      outputs['list'] = (await cli(['list', '--width', String(width)])).stdout;
      outputs['watch'] = (
        await cli(['watch', String(target.pid), '--duration', '0.3', '--interval', '100', '--width', String(width)])
      ).stdout;
      for (const [name, text] of Object.entries(outputs)) {
        expect(text.length, `${name} printed nothing`).toBeGreaterThan(100);
        expect(tooWide(text, width), `${name} at ${width}`).toEqual([]);
      }
      expect(outputs['run']).toMatch(/^summary: 1 experiment, \d+ claims/m);
    }
  }, 240_000);

  it('piped with no width, lines stay whole (a claim and its evidence on one line, for grep)', async () => {
    const result = await cli(['run', 'free-not-returned', '--host', 'fresh'], { env: pipedEnv() }, 60_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((line) => /^ +fresh +✔ confirmed — free\(\) released/.test(line));
    expect(at, result.stdout).toBeGreaterThanOrEqual(0);
    // The whole evidence on its line: far wider than any terminal, and no continuation under it.
    expect(lines[at]!.length).toBeGreaterThan(200);
    expect(lines[at + 1]).not.toMatch(/^ {12,}[a-z(0-9]/);
  });
});

describe('on a terminal (a pseudo-terminal from script(1))', () => {
  const hasScript = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).status === 0;
  const onTerminal = (command: string, env: NodeJS.ProcessEnv) =>
    spawnSync('script', ['-qec', `stty cols 100 rows 40; ${command}`, '/dev/null'], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it.skipIf(!hasScript)(
    'fits the terminal, colours the verdicts and shows progress; NO_COLOR and --json turn them off',
    () => {
      const cliPath = join(root, 'dist', 'cli.js');
      const coloured = onTerminal(`${process.execPath} ${cliPath} run sbrk-16k --host fresh`, pipedEnv());
      expect(coloured.status, coloured.stderr).toBe(0);
      const text = coloured.stdout.replace(/\r/g, '');
      expect(text).toContain('\u001b[32m✔');
      // One owner of the colour: a mark is painted once, not wrapped in a second escape pair.
      for (const colour of ['32', '31', '33']) expect(text).not.toContain(`\u001b[${colour}m\u001b[${colour}m`);
      expect(text).toMatch(/… \[0\/1 done\] sbrk-16k: \w+ in fresh/);
      // What stays on the screen: each line after its last erase (progress is redrawn, then erased).
      const shown = text.split('\n').map((line) => line.slice(line.lastIndexOf('\u001b[K') + 1).replace(/^\[K/, ''));
      expect(shown.filter((line) => displayWidth(line) > 100)).toEqual([]);

      const plain = onTerminal(`${process.execPath} ${cliPath} run sbrk-16k --host fresh`, pipedEnv({ NO_COLOR: '1' }));
      expect(plain.stdout).not.toContain('\x1b[3');
      const json = onTerminal(`${process.execPath} ${cliPath} run sbrk-16k --host fresh --json`, pipedEnv());
      expect(json.stdout).not.toContain('…');
      expect(() => JSON.parse(json.stdout.replace(/\r/g, ''))).not.toThrow();
    },
  );
});

describe('usage', () => {
  it('names an option run does not know, and a parameter the experiment does not have', async () => {
    const unknown = await cli(['run', 'sbrk-16k', '--htm', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/run: unknown option --htm \(run takes/);
    const foreign = await cli(['run', 'sbrk-16k', '--watch', '10']);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/sbrk-16k has no parameter --watch \(its parameters: /);
    const width = await cli(['list', '--width', '12']);
    expect(width.code).toBe(2);
    expect(width.stderr).toMatch(/--width is the columns to fit, an integer from 40/);
  });
});
