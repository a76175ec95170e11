// `malloc-lab watch` against a real process (test/fixtures/phased-target.mjs):
// the sampled series shows the target's allocation, --peaks catches a peak that
// lasts less than an interval, the watch ends when the process exits, and on a
// terminal one line is redrawn in place. Through the built CLI (dist/cli.js).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { MiB } from '../lib/infra/units.js';
import { cliHarness, root, sleep } from './fixtures/cli-harness.js';

const ALLOCATION = 64 * MiB;
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-watch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const { children, startTarget, cli } = cliHarness([
  'dist/cli.js',
  'dist/commands/watch.js',
  'dist/report/watch-svg.js',
  'dist/index.js',
]);

interface Sample {
  t: number;
  VmRSS: number;
  RssAnon: number;
  VmSize: number;
  VmHWM: number;
  [field: string]: number;
}

describe('malloc-lab watch <pid>', () => {
  it('samples for --duration at --interval and shows the allocation in the RssAnon series (--json, --svg)', async () => {
    const target = await startTarget(['--mib', '64']);
    const svg = join(scratch, 'watch.svg');
    const watching = cli([
      'watch',
      String(target.pid),
      '--interval',
      '100',
      '--duration',
      '1.5',
      '--json',
      '--svg',
      svg,
    ]);
    await sleep(500);
    target.next();
    await target.waitFor(/^phase 1 allocated/);
    const result = await watching;
    expect(result.code, result.stderr).toBe(0);
    const series = JSON.parse(result.stdout);
    expect(series).toMatchObject({
      pid: target.pid,
      intervalMs: 100,
      durationMs: 1500,
      stopped: 'duration',
      peaks: false,
      peaksError: null,
    });
    const samples: Sample[] = series.samples;
    expect(samples.length).toBeGreaterThanOrEqual(10);
    expect(samples.length).toBeLessThanOrEqual(17);
    for (const sample of samples) {
      for (const field of ['t', 'VmRSS', 'RssAnon', 'RssFile', 'VmSize', 'VmHWM', 'VmSwap', 'Threads'])
        expect(typeof sample[field]).toBe('number');
    }
    // t is milliseconds since the first sample, on a 100 ms grid.
    expect(samples[0]!.t).toBeLessThan(50);
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.t).toBeGreaterThan(samples[i - 1]!.t);
    expect(samples.at(-1)!.t).toBeGreaterThanOrEqual(1300);
    const anon = samples.map((sample) => sample.RssAnon);
    expect(Math.max(...anon) - anon[0]!).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(result.stderr).toContain('watch: stopped after 1.5 s (--duration)');

    const chart = readFileSync(svg, 'utf8');
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(chart.trimEnd().endsWith('</svg>')).toBe(true);
    expect(chart).toContain(`malloc-lab watch — pid ${target.pid}`);
    expect(chart.match(/<polyline /g)?.length).toBeGreaterThanOrEqual(5);
  });

  it('stops when the process exits, and says so (plain lines when stdout is not a terminal)', async () => {
    const target = await startTarget();
    const watching = cli(['watch', String(target.pid), '--interval', '100']);
    await sleep(700);
    target.child.stdin!.end();
    await target.exited;
    const result = await watching;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^watching pid ${target.pid} \\(.*phased-target\\.mjs.*\\) every 100 ms`));
    const sampleLines = lines.filter((line) => /^ +\d+\.\d\d s {2}VmRSS /.test(line));
    expect(sampleLines.length).toBeGreaterThanOrEqual(3);
    expect(result.stdout).not.toContain('\r');
    expect(lines.at(-2)).toMatch(new RegExp(`^pid ${target.pid} exited; watched for \\d+\\.\\d s$`));
    expect(lines.at(-1)).toMatch(/^\d+ samples every 100 ms; RssAnon /);
  });

  it('Ctrl-C (SIGINT) stops the watch and still writes the series', async () => {
    const target = await startTarget();
    const child = spawn(process.execPath, ['dist/cli.js', 'watch', String(target.pid), '--interval', '100', '--json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await sleep(700);
    child.kill('SIGINT');
    expect(await closed, stderr).toBe(0);
    const series = JSON.parse(stdout);
    expect(series.stopped).toBe('interrupted');
    expect(series.samples.length).toBeGreaterThanOrEqual(3);
    expect(stderr).toMatch(/watch: interrupted after \d+\.\d s/);
  });

  it('--peaks: each VmHWM is the peak since the previous sample, so a short spike shows once', async () => {
    const target = await startTarget(['--mib', '64']);
    const watching = cli(['watch', String(target.pid), '--interval', '400', '--duration', '2.4', '--peaks', '--json']);
    await sleep(600);
    // Allocate and free between two samples: RSS will most likely never show it, VmHWM must.
    target.next();
    await target.waitFor(/^phase 1 allocated/);
    target.next();
    await target.waitFor(/^phase 2 freed/);
    const result = await watching;
    expect(result.code, result.stderr).toBe(0);
    const series = JSON.parse(result.stdout);
    expect(series.peaks).toBe(true);
    const samples: Sample[] = series.samples;
    const baseline = samples[0]!.VmRSS;
    const spike = samples.findIndex((sample) => sample.VmHWM - baseline >= 0.9 * ALLOCATION);
    expect(spike, JSON.stringify(samples.map((s) => [s.t, s.VmRSS, s.VmHWM]))).toBeGreaterThan(0);
    // After the reset the peak falls back to about the current RSS: it is not the lifetime peak.
    const last = samples.at(-1)!;
    expect(spike).toBeLessThan(samples.length - 1);
    expect(last.VmHWM).toBeLessThan(samples[spike]!.VmHWM - 0.9 * ALLOCATION);
    expect(last.VmHWM).toBeGreaterThanOrEqual(last.VmRSS);
  });

  it('without --peaks VmHWM keeps the lifetime peak (the control for the test above)', async () => {
    const target = await startTarget(['--mib', '64']);
    const watching = cli(['watch', String(target.pid), '--interval', '400', '--duration', '1.6', '--json']);
    await sleep(500);
    target.next();
    await target.waitFor(/^phase 1 allocated/);
    target.next();
    await target.waitFor(/^phase 2 freed/);
    const result = await watching;
    expect(result.code, result.stderr).toBe(0);
    const samples: Sample[] = JSON.parse(result.stdout).samples;
    const last = samples.at(-1)!;
    expect(last.VmHWM - samples[0]!.VmRSS).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(last.VmHWM - last.VmRSS).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal, redraws one line in place with a sparkline of VmRSS',
    async () => {
      const target = await startTarget(['--mib', '32', '--auto-ms', '300']);
      const command = `stty cols 120; ${JSON.stringify(process.execPath)} dist/cli.js watch ${target.pid} --interval 100 --duration 1`;
      const result = await cli([], {}, 8000, ['/usr/bin/script', ['-qec', command, '/dev/null']]);
      expect(result.code, result.stderr).toBe(0);
      const redraws = result.stdout.split('\r\x1b[K').slice(1);
      expect(redraws.length).toBeGreaterThanOrEqual(8);
      const last = redraws.at(-1)!.split(/\r?\n/)[0]!;
      expect(last).toMatch(
        new RegExp(`^pid ${target.pid} +\\d+\\.\\d s {2}VmRSS +[\\d.]+ MiB {2}RssAnon +[\\d.]+ MiB {2}[▁▂▃▄▅▆▇█]{8,}$`),
      );
      // The allocation shows as a rise in the line: the lowest and the highest blocks both appear.
      expect(last).toContain('▁');
      expect(last).toContain('█');
      expect(result.stdout).toMatch(/stopped after 1\.\d s \(--duration\)/);
    },
  );

  it('a gone pid and bad arguments are clear errors', async () => {
    const target = await startTarget();
    target.child.stdin!.end();
    await target.exited;
    const gone = await cli(['watch', String(target.pid), '--duration', '1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe(
      `malloc-lab: watch: no process with pid ${target.pid} (it exited or never existed) [ENOENT]`,
    );

    for (const [args, message] of [
      [['watch'], 'give the pid or name of the process to watch'],
      [['watch', '1', '--interval', '0'], '--interval is in milliseconds, an integer from 10 to 3600000, received "0"'],
      [['watch', '1', '--duration', 'soon'], '--duration is in seconds, a positive number, received "soon"'],
      [['watch', '1', '--svg'], '--svg needs a value'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });
});
