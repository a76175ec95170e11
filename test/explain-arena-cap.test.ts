// The arena cap glibc uses, and the CPUs it counts for it. arena_get2 computes
// narenas_limit = 8 × n once more than arena_test (8) arenas exist. Which n
// depends on the build: the online CPUs up to 2.33 and since BZ 30945 (October
// 2023: 2.39, and the 2.34–2.38 release branches, which Debian 12's 2.36 follows);
// the CPUs of the affinity mask in 2.34–2.38 as first released. More threads than
// that cap, each mallocing, show which: bound to one CPU (taskset) they get 9 arenas
// under the affinity rule, 8 × online under the other. explain must report the cap the
// process really has, and say when its glibc's rule cannot be told.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';

import { PAUSE_FD, startHeldRun, type HeldRun } from '../lib/experiments/framework/held-run.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { affinityCpuCount, onlineCpuCount } from '../lib/process/explain/cpus.js';
import { explainProcess } from '../lib/process/explain/explain.js';

const online = onlineCpuCount() ?? 1;
// Threads enough to pass the cap whatever the CPU count: 8 × online take an arena
// each (the main thread holds the main arena), 4 more must share. 20 on 2 CPUs. Binding
// the process to fewer CPUs would not lower this: a glibc that counts online CPUs
// allows a bound process 8 × online arenas all the same.
const CAP_THREADS = 8 * online + 4;
// A step program numbers its threads 0 to 1023 (kMaxThreads, native/core/plain_bounds.h):
// past 127 online CPUs it cannot start enough of them to reach the cap.
const PROGRAM_THREADS = 1024;
const capUnreachable = CAP_THREADS > PROGRAM_THREADS;
const runs: HeldRun[] = [];
const measured: string[] = capUnreachable
  ? [
      `  skipped: ${online} CPUs need ${CAP_THREADS} threads to reach the cap; a step program starts at most ${PROGRAM_THREADS}`,
    ]
  : [];
afterAll(() => {
  for (const run of runs) run.kill();
  if (measured.length > 0) process.stdout.write(`\narena cap:\n${measured.join('\n')}\n`);
});

function manyThreads(threads: number): StepProgram {
  return new StepProgram()
    .step('threads', (s) => {
      for (let t = 0; t < threads; t++) s.threadStart(t);
      for (let t = 0; t < threads; t++) s.onThread(t, (on) => on.malloc(`block ${t}`, 1024));
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

describe('the arena cap', () => {
  it.skipIf(capUnreachable)(
    `${CAP_THREADS} threads on ${online} CPUs get 8 × ${online} arenas, as explain says`,
    async () => {
      const run = startHeldRun(manyThreads(CAP_THREADS), 'fresh');
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

  it.skipIf(!hasTaskset || online < 2 || capUnreachable)(
    'bound to one CPU (taskset -c 0): the arena count tells which CPUs this glibc counts, and explain follows it',
    async () => {
      const run = startHeldRun(manyThreads(CAP_THREADS), 'fresh', { prefix: ['taskset', '-c', '0'] });
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
    const run = startHeldRun(manyThreads(20), 'fresh', { env: { MALLOC_ARENA_MAX: '2' } });
    runs.push(run);
    const seen = await run.reached('threads');
    expect(seen.steps[0]!.ops.find((op) => op.op === 'arenas')!.value).toBe(2);
    const report = await explainProcess(run.pid, { agent: false });
    expect(report.glibc!.cap).toMatchObject({ value: 2, source: 'env' });
    expect(report.glibc!.arenas.count).toBe(2);
  });
});
