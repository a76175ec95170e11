// compareAllocators() on a real C workload (test/fixtures/compare-workload.c):
// jemalloc with immediate decay ends far below glibc after the same frees, a run
// whose preload was dropped behind compare's back is flagged instead of reported
// as jemalloc, every setting of the default matrix does what it is in the matrix
// for, and the faults (a crash, a missing library, a program that ignores
// SIGTERM, an abort) end with their status shown and no process left behind.
// Thresholds derive from the sizes the workload allocates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compareAllocators } from '../lib/compare/compare.js';
import type { CompareResult, ConfigurationSummary } from '../lib/compare/types.js';
import { MiB } from '../lib/infra/units.js';
import { mappedFiles } from '../lib/process/allocator-detection.js';
import { renderCompareSvg } from '../lib/report/compare-svg.js';
import { renderCompareTable } from '../lib/report/compare-table.js';
import { buildWorkload, DROP_PRELOAD, runningWith, schemaErrors } from './fixtures/compare-harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-compare-'));
let workload: string;
beforeAll(() => {
  workload = buildWorkload(scratch);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The workload's 10 KiB blocks: COUNT of them per process. */
const FRAGMENTS = 2048;
const FRAGMENT_BYTES = FRAGMENTS * 10 * 1024;

function row(result: CompareResult, name: string): ConfigurationSummary {
  const summary = result.summary.find((entry) => entry.configuration === name);
  if (summary === undefined) throw new Error(`no row ${name} in ${result.summary.map((entry) => entry.configuration)}`);
  return summary;
}

function expectValid(result: CompareResult): void {
  expect(schemaErrors(result)).toEqual([]);
  // Both renderings accept it.
  expect(renderCompareTable(result)).toContain(result.summary[0]!.configuration);
  expect(renderCompareSvg(result)).toMatch(/^<svg/);
}

describe('compareAllocators', () => {
  it('jemalloc with immediate decay ends far below glibc after the same frees, each checked in the live process', async () => {
    const result = await compareAllocators({
      command: [workload, 'fragments', String(FRAGMENTS), '0'],
      configurations: ['glibc', 'jemalloc-release'],
      durationMs: 1500,
    });
    expectValid(result);
    const glibc = row(result, 'glibc');
    const jemalloc = row(result, 'jemalloc-release');
    expect(glibc.status, glibc.note ?? '').toBe('ok');
    expect(jemalloc.status, jemalloc.note ?? '').toBe('ok');
    // glibc keeps the holes between the 1-byte blocks; jemalloc purges them.
    expect(glibc.rssAnon!.final.median).toBeGreaterThan(0.9 * FRAGMENT_BYTES);
    expect(glibc.rssAnon!.final.median - jemalloc.rssAnon!.final.median).toBeGreaterThan(0.8 * FRAGMENT_BYTES);
    expect(result.best?.configuration).toBe('jemalloc-release');
    expect(result.best!.finalVsBaseline).toBeLessThan(-0.5);

    const run = result.runs.find((entry) => entry.configuration === 'jemalloc-release')!;
    expect(run.verification.verdict).toBe('applied');
    expect(run.verification.processes[0]).toMatchObject({ pid: run.pid, allocator: 'jemalloc', ok: true });
    expect(run.exit).toMatchObject({ end: 'duration', ok: true, killed: false });
    expect(run.smapsRollup).toMatchObject({ when: 'stop', processes: 1 });
    expect(run.series.t.length).toBeGreaterThan(5);
    expect(run.cpu?.source).toBe('waited');
    expect(result.runs.find((entry) => entry.configuration === 'glibc')!.verification.processes[0]!.allocator).toBe(
      'glibc',
    );
    expect(renderCompareTable(result)).toMatch(/Lowest final RSS: jemalloc-release/);
  });

  it('a run whose preload was removed behind its back is flagged, not reported as jemalloc', async () => {
    const result = await compareAllocators({
      command: ['sh', DROP_PRELOAD, workload, 'fragments', String(FRAGMENTS), '0'],
      configurations: ['glibc', 'jemalloc-release'],
      durationMs: 1000,
    });
    expectValid(result);
    const jemalloc = row(result, 'jemalloc-release');
    expect(jemalloc.status).toBe('not-applied');
    expect(jemalloc.note).toMatch(/without .*libjemalloc.* in LD_PRELOAD/);
    // Its numbers are glibc's: none are reported for it.
    expect(jemalloc.rss).toBeNull();
    expect(jemalloc.vsBaseline).toBeNull();
    const run = result.runs.find((entry) => entry.configuration === 'jemalloc-release')!;
    expect(run.verification.verdict).toBe('not-applied');
    expect(run.verification.processes[0]).toMatchObject({ allocator: 'glibc', ok: false });
    expect(result.best?.configuration).toBe('glibc');
    expect(renderCompareTable(result)).toMatch(/jemalloc-release: NOT APPLIED: .*LD_PRELOAD/);
  });

  it('each setting of the default matrix gives back what it is in the matrix for', async () => {
    // The other allocators' release settings: holes between live 1-byte blocks.
    const fragments = await compareAllocators({
      command: [workload, 'fragments', String(FRAGMENTS), '0'],
      configurations: ['glibc', 'jemalloc-release', 'tcmalloc-release', 'mimalloc-release'],
      durationMs: 1200,
    });
    expectValid(fragments);
    expect(row(fragments, 'glibc').rssAnon!.final.median).toBeGreaterThan(0.9 * FRAGMENT_BYTES);
    for (const name of ['jemalloc-release', 'tcmalloc-release', 'mimalloc-release']) {
      expect(row(fragments, name).status, row(fragments, name).note ?? '').toBe('ok');
      expect(row(fragments, name).rssAnon!.final.median, name).toBeLessThan(0.5 * FRAGMENT_BYTES);
    }

    // The pinned mmap threshold: 1 MiB blocks freed after the dynamic threshold rose above them.
    const big = await compareAllocators({
      command: [workload, 'big', '64', '0'],
      configurations: ['glibc', 'glibc-mmap-128k'],
      durationMs: 1200,
    });
    expectValid(big);
    expect(row(big, 'glibc').rssAnon!.final.median).toBeGreaterThan(0.9 * 64 * MiB);
    expect(row(big, 'glibc-mmap-128k').rssAnon!.final.median).toBeLessThan(0.1 * 64 * MiB);

    // Two arenas: 8 pool threads taking turns reuse each other's holes only when they share an arena.
    const pool = await compareAllocators({
      command: [workload, 'pool', '1024', '0'],
      configurations: ['glibc', 'glibc-arena-2'],
      durationMs: 1200,
    });
    expectValid(pool);
    const eight = 8 * 1024 * 10 * 1024;
    expect(row(pool, 'glibc').rssAnon!.final.median).toBeGreaterThan(0.8 * eight);
    expect(row(pool, 'glibc-arena-2').rssAnon!.final.median).toBeLessThan(0.4 * eight);
  });

  it('a crash or a non-zero exit shows in its own row while the other configurations still run', async () => {
    const script = `if [ "$MALLOC_ARENA_MAX" = 2 ]; then kill -SEGV $$; fi; if [ "$EXIT_WITH" = 3 ]; then exit 3; fi; exec ${workload} fragments 256 300`;
    const result = await compareAllocators({
      command: ['sh', '-c', script],
      configurations: ['glibc', 'glibc-arena-2', 'exits:EXIT_WITH=3'],
    });
    expectValid(result);
    expect(row(result, 'glibc').status).toBe('ok');
    expect(row(result, 'glibc-arena-2')).toMatchObject({ status: 'failed' });
    expect(row(result, 'glibc-arena-2').note).toContain('SIGSEGV');
    expect(row(result, 'exits')).toMatchObject({ status: 'failed' });
    expect(row(result, 'exits').note).toContain('exit 3');
    expect(result.best?.configuration).toBe('glibc');
    const table = renderCompareTable(result);
    expect(table).toMatch(/glibc-arena-2\s+SIGSEGV/);
    expect(table).toMatch(/exits\s+exit 3/);
  });

  it('a library that is not there: its row says so, the others run', async () => {
    const result = await compareAllocators({
      command: [workload, 'fragments', '16', '200'],
      configurations: ['glibc', 'gone:jemalloc=/nonexistent/libjemalloc.so.2'],
    });
    expectValid(result);
    expect(row(result, 'gone')).toMatchObject({ status: 'missing', runs: 0, rss: null });
    expect(row(result, 'gone').note).toContain('/nonexistent/libjemalloc.so.2 cannot be preloaded: it does not exist');
    expect(result.runs.map((run) => run.configuration)).toEqual(['glibc']);
    expect(renderCompareTable(result)).toMatch(/gone: missing: .*\/nonexistent\/libjemalloc/);
  });

  it("a configuration's own LD_PRELOAD follows the allocator's library, and both are checked", async () => {
    // A library this process has mapped anyway: Node links libm.
    const libm = mappedFiles(0).find((file) => /\/libm\.so/.test(file))!;
    const result = await compareAllocators({
      command: [workload, 'fragments', '16', '400'],
      configurations: [`both:jemalloc,LD_PRELOAD=${libm}`, `stray:glibc,LD_PRELOAD=${libm}`],
    });
    expectValid(result);
    expect(row(result, 'both').status, row(result, 'both').note ?? '').toBe('ok');
    expect(result.runs[0]!.verification.processes[0]!.allocator).toBe('jemalloc');
    expect(row(result, 'stray').status, row(result, 'stray').note ?? '').toBe('ok');
  });

  it('with tree, the forked children are measured and checked; without, only the command', async () => {
    const command = [workload, 'fork', String(FRAGMENTS), '0'];
    const tree = await compareAllocators({ command, configurations: ['jemalloc'], durationMs: 1500, tree: true });
    expectValid(tree);
    const treeRun = tree.runs[0]!;
    expect(treeRun.maxProcesses).toBe(3);
    expect(treeRun.rssAnon!.final).toBeGreaterThan(3 * 0.9 * FRAGMENT_BYTES);
    expect(treeRun.verification.verdict).toBe('applied');
    expect(treeRun.verification.processes).toHaveLength(3);
    expect(treeRun.smapsRollup?.processes).toBe(3);

    const alone = await compareAllocators({ command, configurations: ['jemalloc'], durationMs: 1500 });
    const aloneRun = alone.runs[0]!;
    expect(aloneRun.maxProcesses).toBe(1);
    expect(aloneRun.rssAnon!.final).toBeLessThan(2 * FRAGMENT_BYTES);
    // Whatever the command forked ends with the run all the same.
    expect(runningWith(workload)).toEqual([]);
  });

  it('stops at durationMs with SIGTERM, and with SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const polite = await compareAllocators({
      command: [workload, 'fragments', '16', '0'],
      configurations: ['glibc'],
      durationMs: 600,
    });
    expect(polite.runs[0]!.exit).toMatchObject({ end: 'duration', signal: 'SIGTERM', killed: false, ok: true });

    const stubborn = await compareAllocators({
      command: [workload, 'fragments', '16', '0', 'ignore-term'],
      configurations: ['glibc'],
      durationMs: 600,
      graceMs: 400,
    });
    expectValid(stubborn);
    const run = stubborn.runs[0]!;
    expect(run.exit).toMatchObject({ end: 'duration', signal: 'SIGKILL', killed: true, ok: true });
    expect(run.exit.stoppedAtMs).toBeGreaterThanOrEqual(600);
    expect(run.wallMs).toBeGreaterThanOrEqual(run.exit.stoppedAtMs! + 400);
    expect(runningWith(workload)).toEqual([]);
  });

  it('starts the load on the ready line with its groups, ends the run lingerMs after it, and keeps its CPU out', async () => {
    const load =
      'echo "got $MALLOC_LAB_READY_1 from $MALLOC_LAB_PID ($MALLOC_LAB_CONFIGURATION)"; ' +
      'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; echo done';
    const result = await compareAllocators({
      command: ['sh', '-c', 'sleep 0.3; echo "listening on port 4242"; exec sleep 30'],
      configurations: ['glibc'],
      readyLine: 'port (\\d+)',
      load,
      lingerMs: 300,
      durationMs: 60_000,
    });
    expectValid(result);
    const run = result.runs[0]!;
    expect(run.readyAtMs).toBeGreaterThanOrEqual(300);
    expect(run.exit).toMatchObject({ end: 'linger', ok: true });
    expect(run.load).toMatchObject({ code: 0, stoppedByCompare: false });
    expect(run.load!.output).toContain(`got 4242 from ${run.pid} (glibc)`);
    expect(run.load!.startedAtMs).toBeGreaterThanOrEqual(run.readyAtMs!);
    expect(run.exit.stoppedAtMs).toBeGreaterThanOrEqual(run.load!.endedAtMs! + 300);
    // The load's busy loop ran in a child of this process too; the command's CPU leaves it out.
    expect(run.cpu).toMatchObject({ source: 'waited' });
    expect(run.cpu!.totalMs).toBeLessThan(100);

    const never = await compareAllocators({
      command: ['sh', '-c', 'echo starting; exec sleep 30'],
      configurations: ['glibc'],
      readyLine: 'listening',
      load: 'echo should not run',
      durationMs: 500,
    });
    expect(never.runs[0]!.load).toMatchObject({ startedAtMs: null });
    expect(never.runs[0]!.problems.join(' ')).toMatch(/never printed a line matching --ready-line listening/);
  });

  it('an abort ends the current run, its children and its load generator, and skips the rest', async () => {
    const marked = buildWorkload(scratch, 'compare-workload-abort');
    const controller = new AbortController();
    const comparing = compareAllocators({
      command: [marked, 'fork', '64', '0'],
      configurations: ['glibc', 'jemalloc'],
      tree: true,
      load: 'exec sleep 311',
      readyDelayMs: 100,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'sample' && event.t > 600) controller.abort();
      },
    });
    const result = await comparing;
    expectValid(result);
    expect(result.interrupted).toBe(true);
    expect(result.runs).toHaveLength(1);
    expect(result.runs[0]!.exit.end).toBe('interrupted');
    expect(result.runs[0]!.maxProcesses).toBe(3);
    expect(result.runs[0]!.load?.stoppedByCompare).toBe(true);
    expect(row(result, 'jemalloc').status).toBe('not-run');
    expect(runningWith(marked)).toEqual([]);
    expect(runningWith('sleep 311')).toEqual([]);
  });
});
