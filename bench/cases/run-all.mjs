/**
 * Case 10, `malloc-lab run --all`: the main job's wall time as it runs (independent
 * runs side by side, lib/experiments/framework/scheduler.ts) beside the same job one
 * child process after another (`--jobs 1`), with the CPU time each took (the CLI and
 * every process it waited for, from /proc/self/stat's cutime and cstime) and whether
 * every verdict is the same. With all four allocators installed the target is 20 s.
 * Prints one JSON object on stdout.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { CLOCK_TICKS_PER_SECOND, readProcStat } from '../../dist/process/proc-stat.js';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** CPU time of the processes this one has waited for (cutime and cstime of /proc/self/stat), in ms. */
function childrenCpuMs() {
  const self = readProcStat(0);
  return ((self.cutime + self.cstime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

function runAll(extra) {
  const cpuBefore = childrenCpuMs();
  const start = nowNs();
  const child = spawnSync(process.execPath, [cli, 'run', '--all', '--json', ...extra], {
    encoding: 'utf8',
    maxBuffer: 512 << 20,
  });
  const wallMs = elapsedNs(start) / 1e6;
  const cpuMs = childrenCpuMs() - cpuBefore;
  if (child.status !== 0)
    throw new Error(`run --all ${extra.join(' ')} failed: ${child.stderr.trim().split('\n').at(-1)}`);
  const runs = JSON.parse(child.stdout);
  const verdicts = {};
  for (const run of runs) {
    for (const claim of run.claims) verdicts[`${run.experiment} ${run.world ?? run.host} ${claim.id}`] = claim.verdict;
  }
  const skipped = runs
    .filter((run) => run.skipped !== undefined)
    .map((run) => `${run.experiment} ${run.world ?? run.host}`);
  return { wallMs, cpuMs, verdicts, skipped, experiments: new Set(runs.map((run) => run.experiment)).size };
}

const parallel = runAll([]);
const sequential = runAll(['--jobs', '1']);
const differing = Object.keys({ ...sequential.verdicts, ...parallel.verdicts })
  .filter((key) => sequential.verdicts[key] !== parallel.verdicts[key])
  .map(
    (key) =>
      `${key}: ${sequential.verdicts[key] ?? 'none'} one by one, ${parallel.verdicts[key] ?? 'none'} side by side`,
  );
const allocatorsSkipped = parallel.skipped.filter((key) => key.startsWith('allocators '));
process.stdout.write(
  `${JSON.stringify({
    parallel: { wallMs: parallel.wallMs, cpuMs: parallel.cpuMs },
    sequential: { wallMs: sequential.wallMs, cpuMs: sequential.cpuMs },
    experiments: parallel.experiments,
    claims: Object.keys(parallel.verdicts).length,
    differing,
    allocatorsSkipped,
  })}\n`,
);
