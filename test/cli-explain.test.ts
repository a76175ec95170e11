// `malloc-lab explain` through dist/cli.js: by name and by pid, text, --json and
// --svg, --no-agent, and clear errors (exit 2 for usage, 1 for a gone pid).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { ExplainReport } from '../lib/process/explain/types.js';
import { cliHarness } from './fixtures/cli-harness.js';
import { startService, stopServices } from './fixtures/services.js';

const { cli } = cliHarness(['dist/cli.js', 'dist/commands/explain.js']);
afterEach(stopServices);
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-cli-explain-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('malloc-lab explain', () => {
  it('explains a service found by name: the classes, the arenas, the agent and the verdict', async () => {
    const tag = `explain-cli-${process.pid}`;
    const service = await startService([tag]);
    const result = await cli(['explain', tag], {}, 20_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).toMatch(new RegExp(`^pid ${service.pid}  \\S*node .*agent-service\\.mjs ${tag}`));
    expect(text).toContain('view: outside + the agent');
    expect(text).toMatch(/^RSS [\d.]+ \w+ \(= smaps_rollup\) in \d+ mappings/m);
    for (const name of ['glibc-main-heap', 'glibc-arenas', 'thread-stacks', 'anonymous-mmap', 'code-and-files']) {
      expect(text).toMatch(new RegExp(`^${name} +[\\d.]+ \\w+ +[\\d.]+ %`, 'm'));
    }
    expect(text).toMatch(/^glibc 2\.\d+: \d+ arenas, counted by malloc_info \(the agent\)/m);
    expect(text).toContain('yes arena-proliferation');
    expect(text).toContain('malloc_trim(0) can give back about');
  });

  it('--json is the report, --svg draws it, --no-agent keeps to the outside view', async () => {
    const service = await startService();
    const svg = join(scratch, 'explain.svg');
    const result = await cli(['explain', String(service.pid), '--json', '--svg', svg, '--no-agent'], {}, 20_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`explain: wrote ${svg}\n`);
    const report = JSON.parse(result.stdout) as ExplainReport;
    expect(report.pid).toBe(service.pid);
    expect(report.view).toBe('outside');
    expect(report.agent).toBeNull();
    const drawing = readFileSync(svg, 'utf8');
    expect(drawing.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(drawing.trimEnd().endsWith('</svg>')).toBe(true);
    expect(drawing).toContain('resident memory by class');
    expect(drawing).toContain('glibc-arenas');
  });

  it('usage errors exit 2, a gone pid exits 1, with one line on stderr', async () => {
    for (const [args, message] of [
      [['explain'], 'give the pid or name of the process to explain'],
      [['explain', '1', '2'], 'takes one process'],
      [['explain', '1', '--color'], 'unknown option --color'],
      [['explain', '1', '--svg'], '--svg needs a value'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const gone = await cli(['explain', '2147483000']);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe(
      'malloc-lab: explain: no process with pid 2147483000 (it exited or never existed) [ENOENT]',
    );
    const trimUsage = await cli(['trim', '1', '--pad', '-4']);
    expect(trimUsage.code).toBe(2);
    expect(trimUsage.stderr).toContain('--pad must be a number of bytes');
  });
});
