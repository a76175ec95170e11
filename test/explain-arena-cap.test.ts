// The arena cap glibc uses, and the CPUs it counts for it. arena_get2 computes
// narenas_limit = 8 × n once more than arena_test (8) arenas exist. Which n
// depends on the build: the online CPUs up to 2.33 and since BZ 30945 (October
// 2023: 2.39, and the 2.34–2.38 release branches, which Debian 12's 2.36 follows);
// the CPUs of the affinity mask in 2.34–2.38 as first released. Twenty threads that
// each malloc show which: bound to one CPU (taskset) they get 9 arenas under the
// affinity rule, 8 × online under the other. explain must report the cap the
// process really has, and say when its glibc's rule cannot be told.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';

import { PAUSE_FD, startHeldRun, type HeldRun } from '../lib/experiments/framework/held-run.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { affinityCpuCount, onlineCpuCount } from '../lib/process/explain/cpus.js';
import { explainProcess } from '../lib/process/explain/explain.js';

const THREADS = 20;
const runs: HeldRun[] = [];
const measured: string[] = [];
afterAll(() => {
  for (const run of runs) run.kill();
  if (measured.length > 0) process.stdout.write(`\narena cap:\n${measured.join('\n')}\n`);
});

function manyThreads(): StepProgram {
  return new StepProgram()
    .step('threads', (s) => {
      for (let t = 0; t < THREADS; t++) s.threadStart(t);
      for (let t = 0; t < THREADS; t++) s.onThread(t, (on) => on.malloc(`block ${t}`, 1024));
      s.arenas();
    })
    .step('hold', (s) => s.pause(PAUSE_FD));
}

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
const online = onlineCpuCount() ?? 1;

describe('the arena cap', () => {
  it.skipIf(8 * online >= THREADS + 1)(
    `${THREADS} threads on ${online} CPUs get 8 × ${online} arenas, as explain says`,
    async () => {
      const run = startHeldRun(manyThreads(), 'fresh');
      runs.push(run);
      const seen = await run.reached('threads');
      const arenas = seen.steps[0]!.ops.find((op) => op.op === 'arenas')!.value;
      expect(affinityCpuCount(run.pid)).toBe(online);
      expect(arenas).toBe(8 * online);
      const report = await explainProcess(run.pid, { agent: false });
      expect(report.glibc!.cap).toMatchObject({ value: arenas, source: 'cpus', cpusCounted: online });
      expect(report.glibc!.arenas.count).toBe(arenas);
      measured.push(
        `  ${online} CPUs online and in the mask: ${arenas} arenas; explain's cap ${report.glibc!.cap.value}`,
      );
    },
  );

  it.skipIf(!hasTaskset || online < 2 || 8 * online >= THREADS + 1)(
    'bound to one CPU (taskset -c 0): the arena count tells which CPUs this glibc counts, and explain follows it',
    async () => {
      const run = startHeldRun(manyThreads(), 'fresh', { prefix: ['taskset', '-c', '0'] });
      runs.push(run);
      const seen = await run.reached('threads');
      const arenas = seen.steps[0]!.ops.find((op) => op.op === 'arenas')!.value;
      const report = await explainProcess(run.pid, { agent: false });
      expect(report.cpus.affinity).toBe(1);
      expect(report.glibc!.arenas.count).toBe(arenas);
      measured.push(
        `  glibc ${report.glibc!.version}, bound to 1 of ${online} CPUs: ${arenas} arenas (the affinity rule would give 9, the online rule ${8 * online}); explain's cap ${report.glibc!.cap.value} (${report.glibc!.cap.cpuRule})`,
      );
      if (arenas === 8 * online) {
        // Online CPUs: more arenas than one CPU's cap allows proves it.
        expect(report.glibc!.cap).toMatchObject({ value: 8 * online, cpusCounted: online, cpuRule: 'online' });
      } else {
        expect(arenas).toBe(9);
        expect(report.glibc!.cap).toMatchObject({ value: null, cpuRule: 'online-or-affinity' });
        expect(report.glibc!.cap.note).toContain('BZ 30945');
      }
    },
  );

  it('MALLOC_ARENA_MAX sets the cap: 20 threads share 2 arenas', async () => {
    const run = startHeldRun(manyThreads(), 'fresh', { env: { MALLOC_ARENA_MAX: '2' } });
    runs.push(run);
    const seen = await run.reached('threads');
    expect(seen.steps[0]!.ops.find((op) => op.op === 'arenas')!.value).toBe(2);
    const report = await explainProcess(run.pid, { agent: false });
    expect(report.glibc!.cap).toMatchObject({ value: 2, source: 'env' });
    expect(report.glibc!.arenas.count).toBe(2);
  });
});
