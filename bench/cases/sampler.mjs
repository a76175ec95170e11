/**
 * Case 6, the compare sampler: what one sample of a 50-process tree costs
 * (`malloc-lab compare --tree`: statm, stat and the main thread's children file
 * of every process, re-read with pread), against bench/c/tree.c doing the same
 * reads and parsing in C. Also the sample that includes the deep scan (the
 * children files of every thread, once every 2 s), and the CPU time this process
 * spends per sample, from which the cost in % of one core at the default 100 ms
 * interval follows: (10 samples + 0.5 deep scans) per second.
 *
 * The tree: `sh` with 49 `sleep` children, in a session of its own, ended at the end.
 * usage: node sampler.mjs C_BINARY; prints one JSON object on stdout.
 */
import { spawn } from 'node:child_process';

import { ProcessTreeSampler } from '../../dist/compare/tree-sampler.js';
import { startCoprocess } from '../lib/coprocess.mjs';
import { elapsedNs, median, nowNs } from '../lib/stats.mjs';

const [cBinary] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const ITERATIONS = 100;
const PROCESSES = 50;
const INTERVAL_MS = 100;
const DEEP_SCAN_MS = 2000;

const tree = spawn('sh', ['-c', `for i in $(seq ${PROCESSES - 1}); do sleep 600 & done; wait`], {
  detached: true,
  stdio: 'ignore',
});
const pause = new Int32Array(new SharedArrayBuffer(4));
let reference;
try {
  const probe = new ProcessTreeSampler(tree.pid, { tree: true });
  const deadline = Date.now() + 10_000;
  while (probe.read().processes < PROCESSES) {
    if (Date.now() > deadline) throw new Error(`the tree did not reach ${PROCESSES} processes`);
    Atomics.wait(pause, 0, 0, 20);
  }
  probe.close();

  const plain = new ProcessTreeSampler(tree.pid, { tree: true, deepScanMs: Infinity });
  const deep = new ProcessTreeSampler(tree.pid, { tree: true, deepScanMs: 0 });
  const time = (sampler) => {
    const cpu = process.cpuUsage();
    const start = nowNs();
    let processes = 0;
    for (let i = 0; i < ITERATIONS; i++) processes = sampler.read().processes;
    const wall = elapsedNs(start) / ITERATIONS;
    const used = process.cpuUsage(cpu);
    if (processes !== PROCESSES) throw new Error(`read ${processes} processes, expected ${PROCESSES}`);
    return { wall, cpu: ((used.user + used.system) * 1000) / ITERATIONS };
  };
  reference = startCoprocess(cBinary, [String(tree.pid), String(ITERATIONS), '2']);
  time(plain);
  time(deep);
  const ns = { sampler: [], deepScan: [], c: [] };
  const cpuNs = { sampler: [], deepScan: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const cFirst = round % 2 === 0;
    if (cFirst) ns.c.push(reference.round());
    const a = time(plain);
    const b = time(deep);
    ns.sampler.push(a.wall);
    cpuNs.sampler.push(a.cpu);
    ns.deepScan.push(b.wall);
    cpuNs.deepScan.push(b.cpu);
    if (!cFirst) ns.c.push(reference.round());
  }
  plain.close();
  deep.close();
  const perSecond = 1000 / INTERVAL_MS;
  const deepPerSecond = 1000 / DEEP_SCAN_MS;
  const sampleCpu = median(cpuNs.sampler);
  const deepExtra = Math.max(0, median(cpuNs.deepScan) - sampleCpu);
  const coreShare = ((perSecond * sampleCpu + deepPerSecond * deepExtra) / 1e9) * 100;
  process.stdout.write(
    `${JSON.stringify({ rounds: ROUNDS, iterations: ITERATIONS, processes: PROCESSES, intervalMs: INTERVAL_MS, deepScanMs: DEEP_SCAN_MS, ns, cpuNs, coreSharePct: coreShare })}\n`,
  );
} finally {
  reference?.close();
  try {
    process.kill(-tree.pid, 'SIGKILL');
  } catch {}
}
