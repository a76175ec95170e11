// explain and trim through the agent, on a Node service in a known state
// (test/fixtures/agent-service.mjs): four thread arenas with 4 MiB of free chunks
// each, a main heap with 16 MiB of holes under live blocks, a 32 MiB mmapped block.
// The agent's free bytes must match the service's own malloc_info within 5 % and
// the known holes within max(5 %, 256 KiB); trim must give back at least 80 % of
// the free whole pages the service made; a service without the agent gets a clear
// refusal with the line to add.
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { explainProcess } from '../lib/process/explain/explain.js';
import type { ExplainReport } from '../lib/process/explain/types.js';
import { renderExplainText } from '../lib/report/explain-text.js';
import { cliHarness } from './fixtures/cli-harness.js';
import { startService, stopServices } from './fixtures/services.js';
import { KiB, MiB } from './helpers.js';

const { cli } = cliHarness(['dist/cli.js', 'dist/integrations/agent-import.js']);
afterEach(stopServices);

const PAGE = 4096;
const HEADER = 48; // sizeof(struct malloc_chunk): mtrim keeps it before the first whole page
const tolerance = (known: number) => Math.max(0.05 * known, 256 * KiB);
const measured: string[] = [];
afterAll(() => {
  if (measured.length > 0) process.stdout.write(`\nexplain with the agent:\n${measured.join('\n')}\n`);
});

/** Whole pages mtrim can madvise in a free chunk of `size` bytes, wherever it starts (16-byte aligned). */
function wholePages(size: number): number {
  let fewest = Infinity;
  for (let offset = 0; offset < PAGE; offset += 16) {
    const first = Math.ceil((offset + HEADER) / PAGE) * PAGE;
    fewest = Math.min(fewest, Math.floor((offset + size - first) / PAGE));
  }
  return fewest;
}

function part(report: ExplainReport, name: string) {
  return report.verdict.split!.find((entry) => entry.part === name)!.bytes;
}

describe('explain with the agent', () => {
  it("reports the arenas' free bytes as malloc_info does, the split and the mechanisms the state has", async () => {
    const service = await startService();
    const report = await explainProcess(service.pid);
    const inside = await service.inside();
    expect(report.view).toBe('outside+agent');
    expect(report.agent!.answered).toBe(true);
    expect(report.glibc!.arenas.countedBy).toBe('agent');
    expect(report.glibc!.arenas.count).toBe(inside.arenas.length);

    // Per arena: explain's free bytes (through the agent) against malloc_info taken inside right after.
    for (const arena of inside.arenas) {
      const listed = report.glibc!.arenas.list.find((entry) => entry.index === arena.index);
      expect(listed, `arena ${arena.index}`).toBeDefined();
      expect(Math.abs(listed!.freeBytes! - arena.freeBytes)).toBeLessThanOrEqual(
        Math.max(0.05 * arena.freeBytes, 64 * KiB),
      );
    }
    // The four test threads made the four newest arenas (malloc_info lists the newest first): 4 MiB of holes each.
    const { built } = service;
    const threadArenas = report.glibc!.arenas.list.filter(
      (arena) => arena.index !== null && arena.index >= 1 && arena.index <= built.threads,
    );
    expect(threadArenas).toHaveLength(built.threads);
    for (const arena of threadArenas) {
      measured.push(
        `  arena #${arena.index} free: expected ${(built.threadFreeBytesEach / MiB).toFixed(3)} MiB, measured ${(arena.freeBytes! / MiB).toFixed(3)} MiB`,
      );
      expect(Math.abs(arena.freeBytes! - built.threadFreeBytesEach)).toBeLessThanOrEqual(
        tolerance(built.threadFreeBytesEach),
      );
    }
    const main = report.glibc!.arenas.list.find((arena) => arena.main)!;
    measured.push(
      `  main arena free: at least ${(built.mainFreeBytes / MiB).toFixed(3)} MiB of holes, measured ${(main.freeBytes! / MiB).toFixed(3)} MiB (the service's own free chunks included)`,
    );
    expect(main.freeBytes!).toBeGreaterThanOrEqual(built.mainFreeBytes - tolerance(built.mainFreeBytes));

    // The split: glibc's free-but-resident holds at least the holes; the JS heap is V8's figure.
    const knownFree = built.mainFreeBytes + built.threads * built.threadFreeBytesEach;
    measured.push(
      `  glibc-free-resident: expected ≥ ${(knownFree / MiB).toFixed(3)} MiB, measured ${(part(report, 'glibc-free-resident') / MiB).toFixed(3)} MiB`,
    );
    expect(part(report, 'glibc-free-resident')).toBeGreaterThanOrEqual(knownFree - tolerance(knownFree));
    expect(part(report, 'js-heap')).toBe(report.agent!.v8Heap!['total_physical_size']);
    const split = report.verdict.split!.reduce((sum, entry) => sum + entry.bytes, 0);
    expect(Math.abs(split - report.totals.residentBytes)).toBeLessThanOrEqual(PAGE);

    const mechanism = (id: string) => report.verdict.mechanisms.find((entry) => entry.id === id);
    expect(mechanism('arena-proliferation')?.holds).toBe(true);
    expect(mechanism('main-heap-fragmentation')?.holds).toBe(true);
    expect(mechanism('real-growth')?.holds).toBe(false);
    // V8's pages are told apart by the agent's figure.
    expect(report.classes.find((entry) => entry.name === 'v8-heap')!.regionCount).toBeGreaterThan(0);

    const trimAdvice = report.verdict.recommendations.find((entry) => entry.action === 'malloc_trim(0)')!;
    const created =
      (built.mainFreeBytes / (32 * KiB)) * wholePages(32 * KiB + 16) * PAGE +
      built.threads * (built.threadFreeBytesEach / (64 * KiB)) * wholePages(64 * KiB + 16) * PAGE;
    expect(trimAdvice.expectedBytes!).toBeGreaterThanOrEqual(created);
    expect(renderExplainText(report)).toContain('malloc_trim(0) can give back about');
  });

  it('trim through the agent gives back at least 80 % of the free whole pages the service made', async () => {
    const service = await startService();
    const { built } = service;
    const created =
      (built.mainFreeBytes / (32 * KiB)) * wholePages(32 * KiB + 16) * PAGE +
      built.threads * (built.threadFreeBytesEach / (64 * KiB)) * wholePages(64 * KiB + 16) * PAGE;
    const before = await explainProcess(service.pid);
    const result = await cli(['trim', String(service.pid), '--json'], {}, 20_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const trimmed = JSON.parse(result.stdout) as {
      released: boolean;
      reclaimedBytes: number;
      durationMs: number;
      before: { RssAnon: number };
    };
    measured.push(
      `  trim: free whole pages made ${(created / MiB).toFixed(3)} MiB; reclaimed ${(trimmed.reclaimedBytes / MiB).toFixed(3)} MiB (${((100 * trimmed.reclaimedBytes) / created).toFixed(1)} %) in ${trimmed.durationMs.toFixed(2)} ms`,
    );
    expect(trimmed.released).toBe(true);
    expect(trimmed.reclaimedBytes).toBeGreaterThanOrEqual(0.8 * created);
    // Afterwards the outside view sees the heaps' resident bytes fall by what trim reported.
    const after = await explainProcess(service.pid);
    const heaps = (report: ExplainReport) =>
      report.classes
        .filter((entry) => entry.name === 'glibc-main-heap' || entry.name === 'glibc-arenas')
        .reduce((sum, entry) => sum + entry.residentBytes, 0);
    expect(heaps(before) - heaps(after)).toBeGreaterThanOrEqual(0.8 * created);
    expect(part(after, 'glibc-free-resident')).toBeLessThan(
      part(before, 'glibc-free-resident') - 0.8 * created + tolerance(created),
    );
    // What explain said trim would give back, against what it did; afterwards little is left to give.
    const advice = (report: ExplainReport) =>
      report.verdict.recommendations.find((entry) => entry.action === 'malloc_trim(0)')?.expectedBytes ?? 0;
    measured.push(
      `  explain's estimate of what trim gives back: ${(advice(before) / MiB).toFixed(3)} MiB before it, ${(advice(after) / MiB).toFixed(3)} MiB after`,
    );
    expect(Math.abs(advice(before) - trimmed.reclaimedBytes)).toBeLessThanOrEqual(
      Math.max(0.1 * trimmed.reclaimedBytes, 512 * KiB),
    );
    expect(advice(after)).toBeLessThan(0.1 * advice(before));
    // Free memory no longer resident costs nothing: the arenas hold it, but the verdict no longer blames them.
    const mechanism = (report: ExplainReport, id: string) => report.verdict.mechanisms.find((entry) => entry.id === id);
    const holds = (report: ExplainReport, id: string) => mechanism(report, id)?.holds;
    const why = (report: ExplainReport, id: string) => JSON.stringify(mechanism(report, id));
    expect(holds(before, 'arena-proliferation'), why(before, 'arena-proliferation')).toBe(true);
    expect(holds(after, 'arena-proliferation'), why(after, 'arena-proliferation')).toBe(false);

    const text = await cli(['trim', String(service.pid)], {}, 20_000);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^pid \d+: malloc_trim\(0\) (released memory|found nothing to release) in [\d.]+ ms/);
  });

  it('a service without the agent: explain says what it cannot know, trim fails with the line to add (exit 1)', async () => {
    const service = await startService(['--no-agent']);
    const report = await explainProcess(service.pid);
    expect(report.view).toBe('outside');
    expect(report.agent).toBeNull();
    expect(report.verdict.split).toBeNull();
    expect(report.verdict.cannotKnow.join('\n')).toContain("import 'malloc-lab/agent'");
    // Still: the arenas are counted from outside, exactly.
    const inside = await service.inside();
    expect(report.glibc!.arenas.countedBy).toBe('heap_info');
    expect(report.glibc!.arenas.count).toBe(inside.arenas.length);

    const result = await cli(['trim', String(service.pid)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('has no malloc-lab agent');
    expect(result.stderr).toContain("import 'malloc-lab/agent';");
    expect(result.stderr).toContain('[ERR_NO_AGENT]');
    await expect(explainProcess(service.pid, { agent: true })).rejects.toMatchObject({ code: 'ERR_NO_AGENT' });
  });
});
