// `malloc-lab status` against real processes: a child that allocates and frees in
// phases (test/fixtures/phased-target.mjs), a pid that is gone, a name that is
// ambiguous, and a process of another user (the CLI run as nobody against a
// root-owned target), through the built CLI (dist/cli.js).
import { type ChildProcess, spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { statusReport } from '../lib/commands/status.js';
import { MiB } from '../lib/units.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(root, 'test/fixtures/phased-target.mjs');
const ALLOCATION = 64 * MiB;

// --- helpers (each CLI test file carries its own: no shared state between files) ---

interface Target {
  child: ChildProcess;
  pid: number;
  /** Resolves with the first stdout line matching pattern (lines already seen count). */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  next(): void;
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

async function startTarget(extra: string[] = [], options: SpawnOptions = {}): Promise<Target> {
  const child = spawn(process.execPath, [FIXTURE, '--timeout-ms', '20000', ...extra], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], ...options });
  children.add(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = (pattern: RegExp, ms = 5000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`target did not print ${pattern} within ${ms} ms; stdout: ${lines.join(' | ')}; stderr: ${stderr}`)), ms);
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void exited.then(() => setTimeout(() => reject(new Error(`target exited before printing ${pattern}; stderr: ${stderr}`)), 50));
    });
  await waitFor(/^phase 0 ready/);
  return { child, pid: child.pid!, waitFor, next: () => child.stdin!.write('next\n'), exited };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: SpawnOptions = {}, timeoutMs = 8000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`malloc-lab ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Another user can run the CLI only as root (to switch) and if nobody can read the package. */
const asNobody = { uid: 65534, gid: 65534 };
const canRunAsNobody =
  process.getuid?.() === 0 &&
  spawnSync(process.execPath, ['-e', "require('fs').accessSync('dist/cli.js'); require('fs').accessSync('build', require('fs').constants.X_OK)"], {
    cwd: root,
    ...asNobody,
  }).status === 0;

beforeAll(() => {
  for (const file of ['dist/cli.js', 'dist/commands/status.js', 'dist/index.js']) {
    expect(existsSync(join(root, file)), `${file} is missing: build with \`npx tsc -p tsconfig.json\` (npm test does it first)`).toBe(true);
  }
});

describe('malloc-lab status <pid>', () => {
  it('shows RssAnon rising after the target allocates and falling after it frees', async () => {
    const target = await startTarget(['--mib', '64']);
    const read = async () => {
      const result = await cli(['status', String(target.pid), '--json']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout);
    };
    const before = await read();
    target.next();
    await target.waitFor(/^phase 1 allocated/);
    const allocated = await read();
    target.next();
    await target.waitFor(/^phase 2 freed/);
    const freed = await read();

    expect(before).toMatchObject({ pid: target.pid, self: false, mallinfo: null, arenas: null, smapsRollupError: null });
    expect(before.cmdline).toContain(FIXTURE);
    expect(allocated.status.RssAnon - before.status.RssAnon).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    // The exact counters agree with the approximate ones.
    expect(allocated.smapsRollup.Anonymous - before.smapsRollup.Anonymous).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(allocated.smapsRollup.USS - before.smapsRollup.USS).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(allocated.smapsRollup.USS).toBe(allocated.smapsRollup.Private_Clean + allocated.smapsRollup.Private_Dirty);
    // A 64 MiB block is mmap'd: free gives it back at once.
    expect(allocated.status.RssAnon - freed.status.RssAnon).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(allocated.status.VmHWM).toBeGreaterThanOrEqual(allocated.status.VmRSS);
  });

  it('prints status and smaps_rollup as a table for people', async () => {
    const target = await startTarget(['--mib', '16']);
    target.next();
    await target.waitFor(/^phase 1 allocated/);
    const result = await cli(['status', String(target.pid)]);
    expect(result.code, result.stderr).toBe(0);
    for (const field of ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmSize', 'VmHWM', 'VmSwap', 'Threads', 'Rss', 'Pss', 'USS', 'Anonymous', 'Swap']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${field}\\s`, 'm'));
    }
    expect(result.stdout).toContain(`/proc/${target.pid}/smaps_rollup — exact`);
    expect(result.stdout).toMatch(/^ {2}RssAnon +\d+(\.\d)? MiB/m);
    expect(result.stdout).not.toContain('mallinfo2');
  });

  it('finds a process by name, and lists the candidates when the name is ambiguous', async () => {
    const tag = `status-tag-${process.pid}-${Date.now()}`;
    const one = await startTarget([tag]);
    const found = await cli(['status', tag, '--json']);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).pid).toBe(one.pid);

    const two = await startTarget([tag]);
    const ambiguous = await cli(['status', tag]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stdout).toBe('');
    expect(ambiguous.stderr).toContain(`2 processes match "${tag}"`);
    expect(ambiguous.stderr).toContain(String(one.pid));
    expect(ambiguous.stderr).toContain(String(two.pid));
    expect(ambiguous.stderr).toContain('[ERR_AMBIGUOUS_PROCESS]');

    const none = await cli(['status', `${tag}-nobody-runs-this`]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no process named ".*-nobody-runs-this"/);
    expect(none.stderr).toContain('[ERR_NO_SUCH_PROCESS]');
  });

  it('says clearly that a pid is gone, and exits nonzero', async () => {
    const target = await startTarget();
    target.child.stdin!.end();
    await target.exited;
    const result = await cli(['status', String(target.pid)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(`malloc-lab: status: no process with pid ${target.pid} (it exited or never existed) [ENOENT]`);
  });

  it('requires a target: a snapshot of the CLI itself would be useless', async () => {
    const result = await cli(['status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('give the pid or name');
    expect(result.stderr).toContain('statusReport()');
    const bad = await cli(['status', '123', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option --bogus');
  });

  it.skipIf(!canRunAsNobody)('run as another user: shows status, and says smaps_rollup needs permission', async () => {
    const target = await startTarget(); // owned by root
    const text = await cli(['status', String(target.pid)], asNobody);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}VmRSS +\d+(\.\d)? MiB/m);
    expect(text.stdout).toContain(`/proc/${target.pid}/smaps_rollup — not shown: permission denied reading /proc/${target.pid}/smaps_rollup`);
    expect(text.stdout).not.toMatch(/^ {2}Pss /m);

    const json = await cli(['status', String(target.pid), '--json'], asNobody);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.status.VmRSS).toBeGreaterThan(0);
    expect(report.smapsRollup).toBeNull();
    expect(report.smapsRollupError).toMatchObject({ code: 'EACCES', reason: 'permission-denied' });
    expect(json.stderr).toContain('status: smaps_rollup not read: permission denied');

    // The same target read as root has it: the difference is the user, not the process.
    const asRoot = await cli(['status', String(target.pid), '--json']);
    expect(JSON.parse(asRoot.stdout).smapsRollup.Rss).toBeGreaterThan(0);
  });
});

describe('statusReport() in the calling process', () => {
  it('adds mallinfo2 and the arena census for this process only', async () => {
    const self = statusReport();
    expect(self.self).toBe(true);
    expect(self.pid).toBe(process.pid);
    expect(self.mallinfo!.uordblks).toBeGreaterThan(0);
    expect(self.arenas!.count).toBeGreaterThanOrEqual(1);
    expect(self.arenas!.arenas[0]!.main).toBe(true);
    expect(self.smapsRollup!.Rss).toBeGreaterThan(0);
    expect(statusReport(process.pid).self).toBe(true);

    const target = await startTarget();
    const other = statusReport(target.pid);
    expect(other).toMatchObject({ pid: target.pid, self: false, mallinfo: null, arenas: null });
    expect(other.status.VmRSS).toBeGreaterThan(0);
  });
});
