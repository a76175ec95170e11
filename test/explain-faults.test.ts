// explain where reading goes wrong: a process that exits in the middle of the
// read, kernel threads and zombies (no address space), another user's process,
// and a process with 100 000 mappings. Each gives a clear answer: an error with
// its code, a report marked partial or denied, never a crash.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { MallocLabError } from '../lib/infra/errors.js';
import { explainProcess } from '../lib/process/explain/explain.js';
import type { ExplainReport } from '../lib/process/explain/types.js';
import { readSmapsRollupOfPid } from '../lib/process/proc-files.js';
import { asNobody, canRunAsNobody, cliHarness, root } from './fixtures/cli-harness.js';
import { KiB } from './helpers.js';

const { cli, startTarget } = cliHarness(['dist/cli.js']);
const build = mkdtempSync(join(tmpdir(), 'malloc-lab-faults-'));
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});
afterAll(() => rmSync(build, { recursive: true, force: true }));

let manyMappings: string | undefined;
function manyMappingsBinary(): string {
  if (manyMappings === undefined) {
    manyMappings = join(build, 'many-mappings');
    execFileSync(process.env['CC'] ?? 'cc', ['-O2', '-o', manyMappings, join(root, 'bench/c/many-mappings.c')]);
  }
  return manyMappings;
}

/** Starts bench/c/many-mappings.c: count one-page mappings, every touch-th writable page resident. */
function startMany(count: number, touch: number): Promise<{ child: ChildProcess; resident: number }> {
  const child = spawn(manyMappingsBinary(), [String(count), String(touch)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^ready (\d+) (\d+)\n/.exec(out);
      if (match !== null) resolve({ child, resident: Number(match[2]) });
    });
    child.once('exit', (code) => reject(new Error(`many-mappings exited (${code}) before it was ready: ${out}`)));
  });
}

function classOf(report: ExplainReport, name: string) {
  return report.classes.find((entry) => entry.name === name)!;
}

describe('no address space', () => {
  it.skipIf(!readFileSync('/proc/2/comm', 'latin1').startsWith('kthreadd'))(
    'a kernel thread: said so, ESRCH',
    async () => {
      const error = await explainProcess(2).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(MallocLabError);
      expect(error).toMatchObject({ code: 'ESRCH' });
      expect((error as Error).message).toMatch(/pid 2 has no address space \(a kernel thread, or a zombie/);
      const result = await cli(['explain', '2']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/has no address space .* \[ESRCH\]/);
    },
  );

  it('a zombie (exited, not reaped): said so, ESRCH', async () => {
    // sh forks a child that exits at once, then execs sleep, which never reaps it.
    const parent = spawn('sh', ['-c', '(exit 0) & exec sleep 30'], { stdio: 'ignore' });
    children.add(parent);
    let zombie: number | undefined;
    for (let tries = 0; tries < 100 && zombie === undefined; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const task of readdirSync(`/proc/${parent.pid}/task`)) {
        const kids = readFileSync(`/proc/${parent.pid}/task/${task}/children`, 'latin1').trim();
        for (const kid of kids.split(' ').filter((word) => word !== '')) {
          if (/^State:\s+Z/m.test(readFileSync(`/proc/${kid}/status`, 'latin1'))) zombie = Number(kid);
        }
      }
    }
    expect(zombie, 'a zombie child of sleep').toBeDefined();
    await expect(explainProcess(zombie)).rejects.toMatchObject({ code: 'ESRCH' });
  });

  it('a pid that does not exist: ENOENT', async () => {
    await expect(explainProcess(0x7ffffffe)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('a process that exits in the middle of the read', () => {
  it('gets an error with its code, or a report marked partial: never a crash', async () => {
    const outcomes: string[] = [];
    for (const delayMs of [1, 5, 20, 80, 300, 2000]) {
      const { child } = await startMany(30_000, 1000);
      // explain reads synchronously, so the kill comes from another process, while it reads.
      const killer = spawn('sh', ['-c', `sleep ${delayMs / 1000}; kill -9 ${child.pid}`], { stdio: 'ignore' });
      children.add(killer);
      const outcome = await explainProcess(child.pid!, { agent: false }).then(
        (report) => report.outcome,
        (error: unknown) => {
          expect(error).toBeInstanceOf(MallocLabError);
          expect(['ENOENT', 'ESRCH']).toContain((error as MallocLabError).code);
          expect((error as Error).message).toMatch(/exited|no process|no address space/);
          return `error ${(error as MallocLabError).code}`;
        },
      );
      outcomes.push(outcome);
      await new Promise((resolve) => killer.once('exit', resolve));
    }
    process.stdout.write(`\nexplain of a process killed while read, by delay: ${outcomes.join(', ')}\n`);
    // Every outcome is one of these; the early kills land inside the read.
    for (const outcome of outcomes) expect(['complete', 'partial', 'error ENOENT', 'error ESRCH']).toContain(outcome);
    expect(outcomes.some((outcome) => outcome !== 'complete')).toBe(true);
  });
});

describe("another user's process", () => {
  it.skipIf(!canRunAsNobody)(
    'as nobody, explain of a root process says what it could read and why not the rest (exit 1)',
    async () => {
      const target = await startTarget(['explain-foreign']);
      const result = await cli(['explain', String(target.pid)], asNobody);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^pid ${target.pid} `));
      expect(result.stdout).toMatch(/only \/proc\/\d+\/status is readable: RSS [\d.]+ \w+ \(anonymous/);
      expect(result.stdout).toContain(
        'permission denied: it takes the same user (and ptrace access), or root / CAP_SYS_PTRACE',
      );
      const json = await cli(['explain', String(target.pid), '--json'], asNobody);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as ExplainReport;
      expect(report.outcome).toBe('denied');
      expect(report.access.smaps.readable).toBe(false);
      expect(report.totals.status.VmRSS).toBeGreaterThan(0);
      expect(report.classes).toEqual([]);
    },
  );

  it.skipIf(process.getuid?.() !== 0 || !canRunAsNobody)(
    "as root, a nobody process's memory is all readable",
    async () => {
      const target = await startTarget(['explain-nobody'], asNobody);
      const report = await explainProcess(target.pid, { agent: false });
      expect(report.outcome).toBe('complete');
      expect(report.access.mem.readable).toBe(true);
    },
  );
});

describe('a process with 100 000 mappings', () => {
  const count = 100_000;
  const limitFile = '/proc/sys/vm/max_map_count';
  const limit = Number(readFileSync(limitFile, 'latin1'));
  const canRaise = process.getuid?.() === 0;
  it.skipIf(limit < count + 1000 && !canRaise)(
    'is read whole: every mapping classed, the sum equal to smaps_rollup',
    async () => {
      // The kernel's default limit (65530) is below it: raise it for this test only.
      if (limit < count + 1000) writeFileSync(limitFile, String(count + 1000));
      try {
        const { child, resident } = await startMany(count, 10);
        const report = await explainProcess(child.pid!, { agent: false });
        const rollup = readSmapsRollupOfPid(child.pid!).Rss;
        expect(report.outcome).toBe('complete');
        expect(report.totals.mappings).toBeGreaterThanOrEqual(count);
        expect(report.classes.reduce((sum, entry) => sum + entry.residentBytes, 0)).toBe(rollup);
        // The one-page mappings are small anonymous ones: the written pages are their resident bytes.
        const small = classOf(report, 'other-anonymous').parts.find((part) => part.kind === 'small')!;
        expect(small.count).toBeGreaterThanOrEqual(count);
        expect(Math.abs(small.residentBytes - resident)).toBeLessThanOrEqual(Math.max(0.05 * resident, 256 * KiB));
        // The report stays small: regions are listed up to the limit, the rest counted.
        expect(classOf(report, 'other-anonymous').regions.length).toBeLessThanOrEqual(20);
        expect(JSON.stringify(report).length).toBeLessThan(200_000);
      } finally {
        if (limit < count + 1000) writeFileSync(limitFile, String(limit));
      }
    },
  );
});
