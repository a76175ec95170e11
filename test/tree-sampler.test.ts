// The process-tree sampler that compare uses, against real processes: its
// RSS and RssAnon (from statm, re-read with pread) agree with what
// /proc/<pid>/status says, it finds forked children (also those a thread other
// than the main one forked, through the deep scan), and drops the exited.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ProcessTreeSampler } from '../lib/compare/tree-sampler.js';
import { MiB } from '../lib/infra/units.js';
import { parseKbFields } from '../lib/process/proc-files.js';
import { buildWorkload } from './fixtures/compare-harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-sampler-'));
let workload: string;
const started: ChildProcess[] = [];
beforeAll(() => {
  workload = buildWorkload(scratch);
});
afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts the workload in a session of its own and resolves once it printed "freed". */
function start(...args: string[]): Promise<ChildProcess> {
  const child = spawn(workload, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the workload exited with ${code}`)));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => T, done: (value: T) => boolean): Promise<T> {
  for (let tries = 0; tries < 100; tries++) {
    const value = read();
    if (done(value)) return value;
    await sleep(50);
  }
  return read();
}

describe('ProcessTreeSampler', () => {
  it("reads the same RSS and RssAnon as the process's status", async () => {
    const child = await start('fragments', '4096', '0'); // holds 40 MiB of freed fragments
    const sampler = new ProcessTreeSampler(child.pid!);
    const reading = sampler.read();
    const status = parseKbFields(readFileSync(`/proc/${child.pid}/status`, 'latin1'), ['VmRSS', 'RssAnon']);
    sampler.close();
    expect(reading.processes).toBe(1);
    expect(reading.rssAnon).toBeGreaterThan(0.9 * 40 * MiB);
    // Both come from the same kernel counters, read a moment apart by a process that holds still.
    expect(Math.abs(reading.rssAnon - status.RssAnon)).toBeLessThan(MiB);
    expect(Math.abs(reading.rss - status.VmRSS)).toBeLessThan(MiB);
    expect(sampler.rootTicks()).toBeDefined();
  });

  it('follows forked children with tree, sums them, and drops them when they exit', async () => {
    const child = await start('fork', '2048', '0');
    const sampler = new ProcessTreeSampler(child.pid!, { tree: true });
    // The children are seen as soon as they fork; wait until they have also allocated.
    const reading = await until(
      () => sampler.read(),
      (value) => value.processes === 3 && value.rssAnon > 3 * 0.9 * 20 * MiB,
    );
    expect(reading.processes).toBe(3);
    expect(reading.rssAnon).toBeGreaterThan(3 * 0.9 * 20 * MiB);
    const [, first] = sampler.pids();
    process.kill(first!, 'SIGKILL');
    const after = await until(
      () => sampler.read(),
      (value) => value.processes === 2,
    );
    expect(after.processes).toBe(2);
    expect(sampler.pids()).not.toContain(first);
    expect(sampler.seen()).toBe(3);
    sampler.close();

    const alone = new ProcessTreeSampler(child.pid!);
    expect(alone.read().processes).toBe(1);
    alone.close();
  });

  it('finds a child forked by a thread other than the main one only through the deep scan', async () => {
    const child = await start('thread-fork', '256', '0');
    await sleep(200);
    const shallow = new ProcessTreeSampler(child.pid!, { tree: true, deepScanMs: Infinity });
    const deep = new ProcessTreeSampler(child.pid!, { tree: true, deepScanMs: 0 });
    expect(shallow.read().processes).toBe(1);
    const found = deep.read();
    expect(found.processes).toBe(2);
    expect(found.added).toHaveLength(1);
    shallow.close();
    deep.close();
  });
});
