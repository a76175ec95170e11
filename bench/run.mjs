#!/usr/bin/env node
/**
 * `npm run bench`: malloc-lab side by side with its references, in one run.
 *
 *   1. per call   malloc(64) + free through malloc-lab vs. koffi's plain libc calls
 *                 vs. an empty N-API call (the addon's noop)
 *   2. batch      1 M x malloc(64) + free through a step program on the fresh host
 *                 and through allocBatch + release in Node, vs. the same loops in C
 *   3. snapshot   snapshot() vs. C open + read + parse of /proc/self/status;
 *                 statm() vs. C pread of a kept-open /proc/self/statm;
 *                 process.memoryUsage.rss()
 *   4. observer   glibc heap bytes changed per snapshot and per measure() (must be 0)
 *   5. experiments  wall time of each experiment `malloc-lab run --all` runs, per host
 *   6. sampler    one sample of a 50-process tree as `malloc-lab compare --tree` takes
 *                 it, vs. the same preads and parsing in C; its CPU cost in % of one
 *                 core at the default 100 ms interval (target < 1 %)
 *   7. explain    explainProcess() of a process with 10 000 mappings vs. a C read of its smaps
 *   8. agent      a malloc_info query over the agent's socket vs. malloc_info() in the service
 *   9. fleet      an `export --match` scrape of 50 services vs. C reads of their smaps_rollup
 *  10. run --all  the main job's wall time, its runs side by side vs. one after another
 *                 (--jobs 1), their CPU time, and whether every verdict is the same
 *                 (target: <= 20 s with all four allocators installed)
 *
 * Each case runs in its own Node process (bench/cases/*.mjs) so that one case's heap
 * and JIT state cannot colour another's. The machines this runs on are noisy:
 * every case alternates rounds of the measured side and its reference, and the
 * result is the median of the per-round ratios, never absolute times.
 *
 * usage: node bench/run.mjs [--markdown] [--update] [--json FILE]
 *   --markdown   print the tables as Markdown (as in BENCHMARKS.md)
 *   --update     rewrite the results section of BENCHMARKS.md with this run
 *   --json FILE  also write every raw measurement to FILE
 * Environment: CC (default cc), BENCH_ROUNDS (default 21),
 *   BENCH_EXPERIMENT_WAIT_CAP_MS (default 1000: see cases/experiments.mjs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { median, pairedRatio, summarize } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const markdown = args.includes('--markdown') || args.includes('--update');
const update = args.includes('--update');
const jsonIndex = args.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined;
const started = Date.now();

function progress(text) {
  process.stderr.write(`… ${text}\n`);
}

// ---------------------------------------------------------------- the machine

function firstLine(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      .trim();
  } catch {
    return 'unknown';
  }
}

function machine() {
  const require = createRequire(import.meta.url);
  let koffi = 'not installed';
  try {
    koffi = require('koffi').version;
  } catch {}
  let glibc = 'unknown';
  try {
    glibc = /** @type {any} */ (process.report.getReport()).header.glibcVersionRuntime ?? glibc;
  } catch {}
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    glibc,
    node: process.version,
    koffi,
    cc: firstLine(process.env.CC ?? 'cc', ['--version']),
    loadAverage: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}

// ---------------------------------------------------------------- running cases

function compileReferences() {
  const dir = mkdtempSync(join(os.tmpdir(), 'malloc-lab-bench-c-'));
  const cc = process.env.CC ?? 'cc';
  const built = {};
  /** @type {Record<string, [string, string[]]>} */
  const programs = {
    batch: ['bench/c/batch.c', ['-pthread', '-fno-builtin-malloc', '-fno-builtin-free']],
    procfs: ['bench/c/procfs.c', []],
    smaps: ['bench/c/smaps.c', []],
    manyMappings: ['bench/c/many-mappings.c', []],
    tree: ['bench/c/tree.c', []],
  };
  for (const [name, [source, flags]] of Object.entries(programs)) {
    const output = join(dir, name);
    try {
      execFileSync(cc, ['-O2', '-Wall', ...flags, '-o', output, join(root, source)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      built[name] = output;
    } catch (error) {
      built[name] = {
        error: `${cc} could not build ${source}: ${
          String(error.stderr ?? error.message)
            .trim()
            .split('\n')[0]
        }`,
      };
    }
  }
  return { dir, built };
}

function runCase(name, caseArgs = [], nodeArgs = []) {
  const child = spawnSync(process.execPath, [...nodeArgs, join(here, 'cases', `${name}.mjs`), ...caseArgs], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = child.stdout.trim().split('\n').at(-1);
  try {
    return JSON.parse(line);
  } catch {
    const reason = (child.stderr || child.stdout || `exit ${child.status}`).trim().split('\n').filter(Boolean);
    return { error: reason.find((l) => /Error|error:/.test(l)) ?? reason.at(-1) ?? `exit ${child.status}` };
  }
}

// ---------------------------------------------------------------- formatting

function time(ns) {
  if (!Number.isFinite(ns)) return '—';
  if (ns < 1e3) return `${ns.toFixed(ns < 100 ? 1 : 0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

function spread(summary) {
  return `±${summary.spreadPct.toFixed(summary.spreadPct < 10 ? 1 : 0)}%`;
}

/** One comparison row: measured vs reference, paired per round. */
function compare(label, measuredName, measured, referenceName, reference, target) {
  const m = summarize(measured);
  const r = summarize(reference);
  const ratio = pairedRatio(measured, reference);
  return {
    label,
    measuredName,
    measured: m,
    referenceName,
    reference: r,
    ratio,
    target,
    result: target === undefined ? 'info' : ratio.median <= target ? 'PASS' : 'MISS',
  };
}

function table(headers, rows) {
  if (markdown) {
    // Markdown drops leading spaces: a row that explains the one above gets an arrow.
    const escape = (cell) => String(cell).replaceAll('|', '\\|').replace(/^ {2}/, '↳ ');
    return [
      `| ${headers.join(' | ')} |`,
      `| ${headers.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
      ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
    ].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (row) =>
    row.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function comparisonTable(rows) {
  return table(
    [
      'case',
      'measured',
      'median',
      'spread',
      'reference',
      'median',
      'spread',
      'ratio',
      'ratio p25–p75',
      'target',
      'result',
    ],
    rows.map((row) =>
      row.error
        ? [
            row.label,
            row.error,
            '',
            '',
            '',
            '',
            '',
            '',
            '',
            row.target === undefined ? '—' : `≤ ${row.target.toFixed(2)}`,
            'SKIP',
          ]
        : [
            row.label,
            row.measuredName,
            time(row.measured.median),
            spread(row.measured),
            row.referenceName,
            time(row.reference.median),
            spread(row.reference),
            `${row.ratio.median.toFixed(2)}×`,
            `${row.ratio.p25.toFixed(2)}–${row.ratio.p75.toFixed(2)}`,
            row.target === undefined ? '—' : `≤ ${row.target.toFixed(2)}`,
            row.result === 'info' ? '' : row.result,
          ],
    ),
  );
}

// ---------------------------------------------------------------- the cases

const info = machine();
progress(`compiling the C references with ${process.env.CC ?? 'cc'}`);
const { dir: cDir, built } = compileReferences();
const raw = { machine: info };
const rows = [];

function missing(label, target, error) {
  rows.push({ label, target, error });
}

progress('1/10 per call: malloc(64) + free, koffi, noop');
const perCall = (raw.perCall = runCase('per-call'));
if (perCall.error) {
  missing('1 per call: malloc(64) + free', 1.0, perCall.error);
} else {
  const ns = perCall.nsPerPair;
  rows.push(
    compare('1 per call: malloc(64) + free', 'malloc-lab', ns['malloc-lab'], 'koffi (plain libc)', ns.koffi, 1.0),
  );
  rows.push(
    compare('  floor: two empty addon calls', 'malloc-lab', ns['malloc-lab'], 'noop × 2', ns['noop × 2'], undefined),
  );
  rows.push(
    compare(
      '  without the JS wrapper',
      'raw addon',
      ns['malloc-lab raw addon'],
      'koffi (plain libc)',
      ns.koffi,
      undefined,
    ),
  );
}

progress('2/10 batch: 1 M × malloc(64) + free vs. C');
const STEP = '2 batch, step program (fresh host)';
const IN_NODE = '2 batch, allocBatch in Node';
if (typeof built.batch !== 'string') {
  missing(STEP, 1.15, built.batch.error);
  missing(IN_NODE, 1.15, built.batch.error);
} else {
  const batch = (raw.batch = runCase('batch', [built.batch]));
  if (batch.error) {
    missing(STEP, 1.15, batch.error);
    missing(IN_NODE, 1.15, batch.error);
  } else {
    rows.push(compare(STEP, 'batch_alloc + batch_free', batch.ns.step, 'C loop', batch.ns.c, 1.15));
    rows.push(compare(IN_NODE, 'allocBatch + release', batch.ns.allocBatch, 'C loop', batch.ns.c, 1.15));
    rows.push(
      compare(
        '  like for like: C with a thread',
        'allocBatch + release',
        batch.ns.allocBatch,
        'C loop, threaded',
        batch.ns.cThreaded,
        undefined,
      ),
    );
    rows.push(
      compare('  glibc with a thread', 'C loop, threaded', batch.ns.cThreaded, 'C loop', batch.ns.c, undefined),
    );
  }
}

progress('3/10 snapshot: status, statm, memoryUsage.rss');
if (typeof built.procfs !== 'string') {
  missing('3 snapshot: /proc/self/status', 1.3, built.procfs.error);
  missing('  statm fast path', 2.0, built.procfs.error);
} else {
  const snap = (raw.snapshot = runCase('snapshot', [built.procfs]));
  if (snap.error) {
    missing('3 snapshot: /proc/self/status', 1.3, snap.error);
    missing('  statm fast path', 2.0, snap.error);
  } else {
    rows.push(
      compare(
        '3 snapshot: /proc/self/status',
        'snapshot()',
        snap.ns.snapshot,
        'C open+read+parse',
        snap.ns.cStatus,
        1.3,
      ),
    );
    rows.push(compare('  status() alone', 'status()', snap.ns.status, 'C open+read+parse', snap.ns.cStatus, undefined));
    rows.push(compare('  statm fast path', 'statm()', snap.ns.statm, 'C pread+parse', snap.ns.cStatm, 2.0));
    rows.push(
      compare(
        '  Node’s own',
        'memoryUsage.rss()',
        snap.ns['memoryUsage.rss'],
        'C pread+parse',
        snap.ns.cStatm,
        undefined,
      ),
    );
  }
}

progress('4/10 observer effect: heap bytes per snapshot and per measure()');
const observer = (raw.observer = runCase('observer', [], ['--expose-gc']));
const observerRows = [];
let observerPass = true;
if (observer.error) {
  observerRows.push(['(failed)', observer.error, '', '', '', 'SKIP']);
  observerPass = false;
} else {
  for (const [name, result] of Object.entries(observer)) {
    const { quietest, trials, calls } = result;
    const zero = quietest.uordblks === 0 && quietest.arena === 0;
    if (!result.contrast && !zero) observerPass = false;
    observerRows.push([
      name,
      `${calls}`,
      `${quietest.uordblks} / ${quietest.arena}`,
      `${trials.length}`,
      result.contrast
        ? `${(median(trials.map((t) => Math.abs(t.uordblks))) / calls).toFixed(0)} (median |Δ|)`
        : `${quietest.uordblks / calls}`,
      result.contrast ? '' : zero ? 'PASS' : 'MISS',
    ]);
  }
}

progress('5/10 experiments: malloc-lab run <id> --json, every experiment once');
const experiments = (raw.experiments = runCase('experiments'));
const experimentRows = [];
let experimentNote = '';
if (experiments.error) {
  experimentRows.push([experiments.error, '', '', '', '', '']);
} else {
  const totals = {};
  for (const e of experiments.experiments) {
    if (e.error) {
      experimentRows.push([e.experiment, '', '', e.error, '', '']);
      continue;
    }
    totals[e.world] = (totals[e.world] ?? 0) + e.durationMs;
    const capped = Object.entries(e.capped)
      .map(([name, { default: by, used }]) => `${name} ${used} ms (default ${by})`)
      .join(', ');
    const variants = e.variants.map((v) => v.durationMs);
    experimentRows.push([
      e.experiment,
      e.world,
      `${variants.length}`,
      time(e.durationMs * 1e6),
      time(median(variants) * 1e6),
      capped ? `† ${capped}` : '',
    ]);
  }
  experimentNote =
    `all experiments ${time(experiments.wallMs * 1e6)} wall (${Object.entries(totals)
      .map(([world, ms]) => `${world} ${time(ms * 1e6)}`)
      .join(', ')})` +
    (experiments.experiments.some((e) => e.capped && Object.keys(e.capped).length > 0)
      ? `; † waits by design, capped at ${experiments.waitCapMs} ms here`
      : '');
}

progress('6/10 sampler: one sample of a 50-process tree (compare --tree) vs. C');
const SAMPLER = '6 sampler: 50-process tree';
let samplerCost = null;
if (typeof built.tree !== 'string') {
  missing(SAMPLER, undefined, built.tree.error);
} else {
  const sampler = (raw.sampler = runCase('sampler', [built.tree]));
  if (sampler.error) {
    missing(SAMPLER, undefined, sampler.error);
  } else {
    rows.push(compare(SAMPLER, 'read()', sampler.ns.sampler, 'C pread+parse', sampler.ns.c, undefined));
    rows.push(
      compare(
        '  with the deep scan',
        'read(), every thread',
        sampler.ns.deepScan,
        'C, main threads only',
        sampler.ns.c,
        undefined,
      ),
    );
    samplerCost = sampler;
  }
}

progress('7/10 explain: the outside view of a process with 10 000 mappings vs a C read of its smaps');
const EXPLAIN = '7 explain, 10 000 mappings';
if (typeof built.smaps !== 'string' || typeof built.manyMappings !== 'string') {
  missing(EXPLAIN, 1.5, built.smaps.error ?? built.manyMappings.error);
} else {
  const explain = (raw.explain = runCase('explain', [built.smaps, built.manyMappings]));
  if (explain.error) missing(EXPLAIN, 1.5, explain.error);
  else {
    rows.push(compare(EXPLAIN, 'explainProcess()', explain.ns.explain, 'C read of smaps', explain.ns.c, 1.5));
    rows.push(
      compare(
        '  without the smaps_rollup check',
        'rollup: false',
        explain.ns.explainNoRollup,
        'C read of smaps',
        explain.ns.c,
        undefined,
      ),
    );
  }
}

progress('8/10 agent: a query for malloc_info over the socket vs malloc_info() in the service');
const agent = (raw.agent = runCase('agent'));
const AGENT = '8 agent query (malloc_info)';
if (agent.error) missing(AGENT, 1.5, agent.error);
else {
  rows.push(
    compare(AGENT, 'query over the socket', agent.ns.query, 'malloc_info() in-process', agent.ns.inProcess, 1.5),
  );
  rows.push(
    compare(
      '  full stats (V8, settings)',
      'stats query',
      agent.ns.stats,
      'malloc_info() in-process',
      agent.ns.inProcess,
      undefined,
    ),
  );
  rows.push(
    compare(
      '  the socket alone',
      'hello round trip',
      agent.ns.hello,
      'malloc_info() in-process',
      agent.ns.inProcess,
      undefined,
    ),
  );
}

progress('9/10 fleet: export --match scrape of 50 services vs C reads of their smaps_rollup');
const FLEET = '9 export --match, 50 services';
if (typeof built.smaps !== 'string') missing(FLEET, 1.5, built.smaps.error);
else {
  const fleet = (raw.fleet = runCase('fleet', [built.smaps]));
  if (fleet.error) missing(FLEET, 1.5, fleet.error);
  else {
    rows.push(compare(FLEET, 'HTTP scrape', fleet.ns.scrape, 'C reads of smaps_rollup', fleet.ns.c, 1.5));
    rows.push(
      compare(
        '  the first scrape (classes read)',
        'first scrape',
        [fleet.firstScrapeNs],
        'C reads of smaps_rollup',
        [median(fleet.ns.c)],
        undefined,
      ),
    );
  }
}
rmSync(cDir, { recursive: true, force: true });

progress('10/10 run --all: side by side vs one after another (--jobs 1)');
const RUN_ALL_TARGET_MS = 20_000;
const runAll = (raw.runAll = runCase('run-all'));
const runAllPass = !runAll.error && runAll.parallel.wallMs <= RUN_ALL_TARGET_MS && runAll.differing.length === 0;
const runAllRows = runAll.error
  ? [['(failed)', runAll.error, '', '', '']]
  : [
      [
        'side by side (default)',
        time(runAll.parallel.wallMs * 1e6),
        time(runAll.parallel.cpuMs * 1e6),
        `<= ${RUN_ALL_TARGET_MS / 1000} s`,
        runAll.parallel.wallMs <= RUN_ALL_TARGET_MS ? 'PASS' : 'MISS',
      ],
      [
        'one after another (--jobs 1)',
        time(runAll.sequential.wallMs * 1e6),
        time(runAll.sequential.cpuMs * 1e6),
        '',
        '',
      ],
      [
        'verdicts',
        runAll.differing.length === 0
          ? `all ${runAll.claims} the same`
          : `${runAll.differing.length} of ${runAll.claims} differ: ${runAll.differing.join('; ')}`,
        '',
        'identical',
        runAll.differing.length === 0 ? 'PASS' : 'MISS',
      ],
    ];
const runAllNote = runAll.error
  ? ''
  : runAll.allocatorsSkipped.length > 0
    ? `; the allocators experiment was skipped (${runAll.allocatorsSkipped.join(', ')}): the 20 s target holds with the allocators installed`
    : `; ${runAll.experiments} experiments, all four allocators installed`;

// ---------------------------------------------------------------- the report

const SAMPLER_TARGET_PCT = 1;
const samplerPass = samplerCost !== null && samplerCost.coreSharePct < SAMPLER_TARGET_PCT;
const targetRows = rows.filter((row) => row.target !== undefined);
// The targets outside the side-by-side table, each one check.
const otherTargets = [observerPass, samplerPass, runAllPass];
const targets = targetRows.length + otherTargets.length;
const misses = targetRows.filter((row) => row.result !== 'PASS').length + otherTargets.filter((pass) => !pass).length;
const seconds = ((Date.now() - started) / 1000).toFixed(0);
const rounds = Number(process.env.BENCH_ROUNDS ?? 21);

const heading = markdown ? (text) => `\n### ${text}\n` : (text) => `\n${text}\n`;
const lines = [];
lines.push(
  markdown
    ? `Run ${info.date} on ${info.cpu} × ${info.cores} cores, ${info.memoryGiB} GiB, Linux ${info.kernel}, glibc ${info.glibc}, Node ${info.node}, koffi ${info.koffi}, ${info.cc}; load average at start ${info.loadAverage}. ${rounds} rounds per case after warm-up; bench took ${seconds} s.\n`
    : `malloc-lab bench — ${info.date}\n${info.cpu} × ${info.cores} cores, ${info.memoryGiB} GiB, Linux ${info.kernel}, glibc ${info.glibc}, Node ${info.node}, koffi ${info.koffi}\n${info.cc}; load average at start ${info.loadAverage}; ${rounds} rounds per case after warm-up`,
);
lines.push(heading('Side by side (median of per-round ratios; spread = half the interquartile range)'));
lines.push(comparisonTable(rows));
lines.push(
  heading('Observer effect: glibc heap change over a trial of calls (mallinfo2 uordblks / arena), quietest trial'),
);
lines.push(table(['reader', 'calls', 'Δ uordblks / arena', 'trials', 'bytes per call', 'result'], observerRows));
lines.push(
  heading(
    'Sampler cost: CPU time of compare --tree sampling 50 processes, at the default interval (100 ms; deep scan every 2 s)',
  ),
);
lines.push(
  table(
    ['per sample', 'deep scan adds', '% of one core', 'target', 'result'],
    [
      samplerCost === null
        ? ['(failed)', '', '', `< ${SAMPLER_TARGET_PCT}%`, 'MISS']
        : [
            time(median(samplerCost.cpuNs.sampler)),
            time(Math.max(0, median(samplerCost.cpuNs.deepScan) - median(samplerCost.cpuNs.sampler))),
            `${samplerCost.coreSharePct.toFixed(2)}%`,
            `< ${SAMPLER_TARGET_PCT}%`,
            samplerPass ? 'PASS' : 'MISS',
          ],
    ],
  ),
);
lines.push(heading(`run --all: wall and CPU time, side by side vs one after another${runAllNote}`));
lines.push(table(['how', 'wall', 'CPU (all processes)', 'target', 'result'], runAllRows));
lines.push(heading(`Experiment wall time: durationMs per experiment and world (${experimentNote})`));
lines.push(table(['experiment', 'world', 'variants', 'durationMs', 'per variant (median)', 'note'], experimentRows));
lines.push(
  markdown
    ? `\n${targets - misses} of ${targets} targets met.`
    : `\n${targets - misses} of ${targets} targets met (${misses === 0 ? 'all PASS' : `${misses} MISS`}); ${seconds} s`,
);
const report = lines.join('\n');
process.stdout.write(`${report}\n`);

if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ ...raw, rows }, null, 2)}\n`);

if (update) {
  const file = join(root, 'BENCHMARKS.md');
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    process.stderr.write(`BENCHMARKS.md has no ${start} … ${end} section; not updated\n`);
  } else {
    writeFileSync(file, `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`);
    progress('BENCHMARKS.md updated');
  }
}
