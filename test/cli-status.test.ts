// `malloc-lab status` against real processes: a child that allocates and frees in
// phases (test/fixtures/phased-target.mjs), a pid that is gone, a name that is
// ambiguous, and a process of another user (the CLI run as nobody against a
// root-owned target), through the built CLI (dist/cli.js).
import { describe, expect, it } from 'vitest';

import { statusReport } from '../lib/bridge/status-report.js';
import { MiB } from '../lib/infra/units.js';
import { cliHarness, FIXTURE, asNobody, canRunAsNobody } from './fixtures/cli-harness.js';

const ALLOCATION = 64 * MiB;

const { startTarget, cli } = cliHarness(['dist/cli.js', 'dist/commands/status.js', 'dist/index.js']);

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

    expect(before).toMatchObject({
      pid: target.pid,
      self: false,
      mallinfo: null,
      arenas: null,
      smapsRollupError: null,
    });
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
    for (const field of [
      'VmRSS',
      'RssAnon',
      'RssFile',
      'RssShmem',
      'VmSize',
      'VmHWM',
      'VmSwap',
      'Threads',
      'Rss',
      'Pss',
      'USS',
      'Anonymous',
      'Swap',
    ]) {
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
    expect(result.stderr.trim()).toBe(
      `malloc-lab: status: no process with pid ${target.pid} (it exited or never existed) [ENOENT]`,
    );
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
    expect(text.stdout).toContain(
      `/proc/${target.pid}/smaps_rollup — not shown: permission denied reading /proc/${target.pid}/smaps_rollup`,
    );
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
