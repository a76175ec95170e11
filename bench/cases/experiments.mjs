/**
 * Case 5, experiment wall time: what `malloc-lab run --all --json` costs, per
 * experiment and host, from the durationMs it reports per run and per variant (each
 * variant is a fresh child process: a Node process that loads the addon, or the
 * standalone executable).
 *
 * The experiments run one id at a time (`malloc-lab run <id> --json`, both hosts),
 * which is what --all does, so that a parameter can be passed: an experiment that
 * waits by design (a parameter in milliseconds, such as allocators' `watch`, which
 * idles 5 s per variant) has that wait capped at WAIT_CAP_MS, and the row says so.
 * No reference and no target: the numbers say what a run costs, and where.
 * Prints one JSON object on stdout.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { CATALOGUE } from '../../dist/experiments/catalogue/index.js';
import { elapsedNs, nowNs } from '../lib/stats.mjs';

const WAIT_CAP_MS = Number(process.env.BENCH_EXPERIMENT_WAIT_CAP_MS ?? 1000);
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const experiments = [];
const start = nowNs();
for (const definition of CATALOGUE) {
  const capped = {};
  for (const parameter of definition.parameters) {
    if (/^milliseconds/i.test(parameter.description) && parameter.default > WAIT_CAP_MS) {
      capped[parameter.name] = { default: parameter.default, used: WAIT_CAP_MS };
    }
  }
  const args = [
    cli,
    'run',
    definition.id,
    '--json',
    ...Object.entries(capped).flatMap(([name, { used }]) => [`--${name}`, String(used)]),
  ];
  const runStart = nowNs();
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  const wallMs = elapsedNs(runStart) / 1e6;
  let runs;
  try {
    runs = JSON.parse(child.stdout);
  } catch {
    const reason = child.stderr.trim().split('\n').at(-1) ?? `exit ${child.status}`;
    experiments.push({ experiment: definition.id, error: `run ${definition.id} --json failed: ${reason}`, wallMs });
    continue;
  }
  for (const run of runs) {
    experiments.push({
      experiment: run.experiment,
      host: run.host,
      world: run.world ?? run.host,
      allocator: run.allocator,
      durationMs: run.durationMs,
      capped,
      variants: run.variants.map((v) => ({ name: v.name, durationMs: v.durationMs, completed: v.completed })),
    });
  }
}
process.stdout.write(`${JSON.stringify({ waitCapMs: WAIT_CAP_MS, wallMs: elapsedNs(start) / 1e6, experiments })}\n`);
