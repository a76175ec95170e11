/**
 * One run: the user's command under one configuration, in a fresh process tree,
 * sampled until it exits or compare stops it, with the configuration checked in
 * the live processes and a load generator beside it when asked.
 *
 * Time line: spawn (detached: a session of its own) → a sample at once and every
 * interval → the configuration checked in each process one interval after it is
 * first seen, then at doubling intervals, and once more before a stop → on
 * --ready-line (or after --ready-delay) the load generator starts → the run ends
 * when the command exits, at --duration, --linger after the load generator
 * ended, or on abort; compare stops the command with SIGTERM, then SIGKILL after
 * the grace period, and ends whatever the session still holds.
 *
 * CPU time comes from this process's own account of its waited-for children
 * (/proc/self/stat cutime and cstime) across the command's life: exact to the
 * clock tick, and it includes the descendants the command waited for. The load
 * generator is a child too; its share is taken out when it ends first (read at its
 * exit), and when both are reaped at once the sampled figure is used instead.
 */
import { spawn } from 'node:child_process';

import { ALLOCATOR_ENV } from '../experiments/framework/hosts.js';
import { readSmapsRollupOfPid, SMAPS_ROLLUP_FIELDS, type SmapsRollup } from '../process/proc-files.js';
import { CLOCK_TICKS_PER_SECOND, readProcStat } from '../process/proc-stat.js';
import type { Configuration } from './configurations.js';
import { LoadGenerator } from './load-generator.js';
import { lines } from './output-lines.js';
import { claim, endSession, openSession } from './sessions.js';
import { summarizeSeries } from './statistics.js';
import { type Ticks, ProcessTreeSampler } from './tree-sampler.js';
import type { CompareRun, CpuTime, LoadRun, RunEnd, RunExit, RunRollup, Series } from './types.js';
import { checkProcess, type ProcessCheck, verdictOf } from './verification.js';

export interface RunPlan {
  executable: string;
  args: string[];
  /** argv[0] as the user wrote it. */
  argv0: string;
  cwd: string;
  /** Extra environment for every run. */
  env: Record<string, string>;
  tree: boolean;
  intervalMs: number;
  durationMs: number | null;
  graceMs: number;
  load: string | null;
  readyLine: RegExp | null;
  readyDelayMs: number;
  lingerMs: number | null;
  /** How often the root's smaps_rollup is read while it runs (the latest stands in when it exits on its own). */
  rollupEveryMs: number;
  signal?: AbortSignal;
  onOutput?: (line: string, stream: 'stdout' | 'stderr' | 'load') => void;
  onSample?: (t: number, rss: number, processes: number) => void;
}

const TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND;

/** The environment of a run: the parent's without its allocator variables, the plan's, the configuration's. */
export function runEnvironment(configuration: Configuration, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !ALLOCATOR_ENV.test(key)) env[key] = value;
  }
  Object.assign(env, extra, configuration.env);
  if (configuration.library !== null) {
    env['LD_PRELOAD'] = [configuration.library, configuration.env['LD_PRELOAD']].filter(Boolean).join(':');
  }
  return env;
}

function waitedTicks(): Ticks {
  const self = readProcStat(0);
  return { user: self.cutime, system: self.cstime };
}

function isReaped(pid: number): boolean {
  try {
    readProcStat(pid);
    return false;
  } catch {
    return true;
  }
}

const toCpu = (ticks: Ticks, source: CpuTime['source']): CpuTime => ({
  userMs: ticks.user * TICK_MS,
  systemMs: ticks.system * TICK_MS,
  totalMs: (ticks.user + ticks.system) * TICK_MS,
  source,
});

function sumRollups(rollups: SmapsRollup[]): SmapsRollup {
  const total = { USS: 0 } as SmapsRollup;
  for (const field of SMAPS_ROLLUP_FIELDS) total[field] = 0;
  for (const rollup of rollups) {
    for (const field of SMAPS_ROLLUP_FIELDS) if (Number.isFinite(rollup[field])) total[field] += rollup[field];
    total.USS += rollup.USS;
  }
  return total;
}

function describeExit(
  exit: Omit<RunExit, 'description' | 'ok'>,
  graceMs: number,
): { description: string; ok: boolean } {
  const status = exit.signal !== null ? exit.signal : exit.code !== null ? `exit ${exit.code}` : 'no status';
  switch (exit.end) {
    case 'exited':
      return { description: status, ok: exit.code === 0 };
    case 'not-started':
      return { description: 'not started', ok: false };
    case 'interrupted':
      return { description: `interrupted (${status})`, ok: false };
    default: {
      const at = `stopped at ${((exit.stoppedAtMs ?? 0) / 1000).toFixed(1)} s`;
      return {
        description: exit.killed ? `${at}, SIGKILL after ${graceMs / 1000} s` : `${at} (${status})`,
        ok: true,
      };
    }
  }
}

interface Exited {
  code: number | null;
  signal: string | null;
  atMs: number;
  waited: Ticks;
  /** The load generator was reaped in the same batch: the waited figure includes it. */
  ambiguous: boolean;
}

/**
 * The command's CPU time: the waited-for account (exact) unless the load
 * generator's reaping muddles it; with --tree, the sampled sum when it is larger
 * (descendants orphaned by the stop are reaped by init, not by the command).
 */
function commandCpu(
  tree: boolean,
  waitedBefore: Ticks,
  finished: Exited | null,
  load: LoadGenerator | null,
  sampled: Ticks | null,
): CpuTime | null {
  if (finished !== null && !finished.ambiguous) {
    const loadMuddled =
      load !== null && load.record.endedAtMs !== null && load.record.endedAtMs < finished.atMs && load.share === null;
    if (!loadMuddled) {
      const share = load?.share ?? { user: 0, system: 0 };
      const waited = {
        user: finished.waited.user - waitedBefore.user - share.user,
        system: finished.waited.system - waitedBefore.system - share.system,
      };
      const useSampled = tree && sampled !== null && sampled.user + sampled.system > waited.user + waited.system;
      return useSampled ? toCpu(sampled!, 'sampled') : toCpu(waited, 'waited');
    }
  }
  return sampled !== null ? toCpu(sampled, 'sampled') : null;
}

/** Runs the command once under the configuration. Never throws for the command's own failures. */
export async function runConfiguration(
  configuration: Configuration,
  plan: RunPlan,
  position: { order: number; repeat: number },
): Promise<CompareRun> {
  const env = runEnvironment(configuration, plan.env);
  const output = { stdout: [] as string[], stderr: [] as string[] };
  const problems: string[] = [];
  const series: Series = { t: [], rss: [], rssAnon: [], processes: [] };
  const startedAt = new Date().toISOString();
  const waitedBefore = waitedTicks();
  const start = performance.now();
  const elapsed = () => performance.now() - start;

  const child = spawn(plan.executable, plan.args, {
    argv0: plan.argv0,
    cwd: plan.cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnError = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (spawnError !== null || child.pid === undefined) {
    const code = (spawnError as NodeJS.ErrnoException | null)?.code ?? 'unknown';
    problems.push(`the command did not start: ${spawnError?.message ?? 'no pid'} (${code})`);
    const exit = { end: 'not-started' as const, code: null, signal: null, stoppedAtMs: null, killed: false };
    return {
      configuration: configuration.name,
      ...position,
      pid: null,
      startedAt,
      wallMs: 0,
      readyAtMs: null,
      exit: { ...exit, ...describeExit(exit, plan.graceMs) },
      cpu: null,
      rss: null,
      rssAnon: null,
      maxProcesses: 0,
      smapsRollup: null,
      verification: { verdict: 'unchecked', summary: 'the command did not start', processes: [] },
      load: null,
      series,
      output,
      problems,
    };
  }
  const pid = child.pid;
  const session = openSession(pid);

  // Wakes the loop early: the command exited, the abort signal, the load generator ended.
  let ring: (() => void) | null = null;
  const wake = () => ring?.();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        ring = null;
        resolve();
      }
      ring = done;
    });
  plan.signal?.addEventListener('abort', wake, { once: true });

  let load: LoadGenerator | null = null;
  let lastWaited = waitedBefore;
  let exited: Exited | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      const waited = waitedTicks();
      // Reaped together with the load generator, whose exit has not been seen yet?
      const running = load as LoadGenerator | null;
      const ambiguous = running !== null && !running.ended && running.pid !== undefined && isReaped(running.pid);
      exited = { code, signal, atMs: elapsed(), waited, ambiguous };
      resolve();
      wake();
    });
  });

  let readyAtMs: number | null = null;
  const readyEnv: Record<string, string> = {};
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    plan.onOutput?.(line, stream);
    if (readyAtMs === null && plan.readyLine !== null) {
      const match = plan.readyLine.exec(line);
      if (match !== null) {
        readyAtMs = elapsed();
        readyEnv['MALLOC_LAB_READY_LINE'] = line;
        match.slice(1).forEach((group, index) => (readyEnv[`MALLOC_LAB_READY_${index + 1}`] = group ?? ''));
        wake();
      }
    }
  };
  lines(child.stdout!, output.stdout, onLine('stdout'));
  lines(child.stderr!, output.stderr, onLine('stderr'));

  const startLoad = () => {
    load = new LoadGenerator({
      command: plan.load!,
      cwd: plan.cwd,
      env: { ...readyEnv, MALLOC_LAB_PID: String(pid), MALLOC_LAB_CONFIGURATION: configuration.name },
      atMs: elapsed(),
      elapsed,
      onLine: (line) => plan.onOutput?.(line, 'load'),
      onExit: () => {
        // Told apart from the command only while the command has not been reaped.
        if (exited !== null || isReaped(pid)) return null;
        const now = waitedTicks();
        const share = { user: now.user - lastWaited.user, system: now.system - lastWaited.system };
        lastWaited = now;
        return share;
      },
    });
    load.whenEnded(wake);
  };

  const sampler = new ProcessTreeSampler(pid, { tree: plan.tree });
  const checks = new Map<number, ProcessCheck>();
  const schedule = new Map<number, { next: number; step: number }>(); // pid → when to check next
  const uncheckedExits = new Set<number>();
  let lastRollup: RunRollup | null = null;
  let nextRollup = plan.rollupEveryMs;
  let maxProcesses = 0;
  let stopReason: RunEnd | null = null;

  const check = (target: number) => {
    const result = checkProcess(target, configuration, Math.round(elapsed()));
    if (result !== null) checks.set(target, result);
  };
  const rollupOf = (pids: number[], when: RunRollup['when']): RunRollup | null => {
    const rollups: SmapsRollup[] = [];
    for (const target of pids) {
      try {
        rollups.push(readSmapsRollupOfPid(target));
      } catch {
        // exited meanwhile
      }
    }
    return rollups.length === 0
      ? null
      : { ...sumRollups(rollups), atMs: Math.round(elapsed()), processes: rollups.length, when };
  };

  let stoppedAtMs: number | null = null;
  let smapsRollup: RunRollup | null = null;
  try {
    for (let tick = 0; ;) {
      if (exited !== null) break;
      if (plan.signal?.aborted) {
        stopReason = 'interrupted';
        break;
      }
      const now = elapsed();
      if (now >= tick * plan.intervalMs) {
        const reading = sampler.read();
        if ((load as LoadGenerator | null)?.ended === false) lastWaited = waitedTicks();
        const t = Math.round(now);
        if (reading.processes > 0) {
          series.t.push(t);
          series.rss.push(reading.rss);
          series.rssAnon.push(reading.rssAnon);
          series.processes.push(reading.processes);
          maxProcesses = Math.max(maxProcesses, reading.processes);
          plan.onSample?.(t, reading.rss, reading.processes);
        }
        for (const added of reading.added) {
          claim(session, added);
          schedule.set(added, { next: now + plan.intervalMs, step: plan.intervalMs });
        }
        if (tick === 0) schedule.set(pid, { next: now + plan.intervalMs, step: plan.intervalMs });
        const live = new Set(sampler.pids());
        for (const [target, when] of schedule) {
          if (!live.has(target)) {
            if (!checks.has(target)) uncheckedExits.add(target);
            schedule.delete(target);
          } else if (now >= when.next) {
            check(target);
            when.step = Math.min(when.step * 2, 60_000);
            when.next = now + when.step;
          }
        }
        if (now >= nextRollup) {
          lastRollup = rollupOf([pid], 'latest') ?? lastRollup;
          nextRollup = now + plan.rollupEveryMs;
        }
        tick = Math.max(tick + 1, Math.floor(elapsed() / plan.intervalMs) + 1);
      }

      // The load generator starts once the command is ready (or after the delay).
      const readyBase = plan.readyLine !== null ? readyAtMs : 0;
      if (plan.load !== null && load === null && readyBase !== null && elapsed() >= readyBase + plan.readyDelayMs) {
        startLoad();
      }
      const loadEnded = (load as LoadGenerator | null)?.record.endedAtMs ?? null;
      if (plan.durationMs !== null && elapsed() >= plan.durationMs) {
        stopReason = 'duration';
        break;
      }
      if (plan.lingerMs !== null && loadEnded !== null && elapsed() >= loadEnded + plan.lingerMs) {
        stopReason = 'linger';
        break;
      }
      const deadlines = [tick * plan.intervalMs];
      if (plan.durationMs !== null) deadlines.push(plan.durationMs);
      if (plan.lingerMs !== null && loadEnded !== null) deadlines.push(loadEnded + plan.lingerMs);
      if (plan.load !== null && load === null && readyBase !== null) deadlines.push(readyBase + plan.readyDelayMs);
      await pause(Math.min(...deadlines) - elapsed());
    }

    if (stopReason !== null) {
      // The state compare stops it in: a last check of every live process, the exact rollup.
      for (const target of sampler.pids()) check(target);
      smapsRollup = rollupOf(plan.tree ? sampler.pids() : [pid], 'stop');
      stoppedAtMs = Math.round(elapsed());
    }
  } catch (error) {
    // A fault of compare's own: nothing it started may outlive it.
    sampler.close();
    await endSession(session, 0, exitedPromise);
    await (load as LoadGenerator | null)?.stop(0);
    throw error;
  } finally {
    plan.signal?.removeEventListener('abort', wake);
  }
  smapsRollup ??= lastRollup;
  for (const target of schedule.keys()) if (!checks.has(target)) uncheckedExits.add(target);
  const ended = await endSession(session, plan.graceMs, exitedPromise);
  sampler.close();
  const finished = exited as Exited | null;
  if (stopReason === null && ended.signalled > 0) {
    problems.push(
      `${ended.signalled} process${ended.signalled === 1 ? ' was' : 'es were'} still running in the command's session after it exited; compare ended ${ended.signalled === 1 ? 'it' : 'them'}${ended.killed ? ' (SIGKILL)' : ''}`,
    );
  }

  // The load generator ends with the run.
  let loadRecord: LoadRun | null = null;
  const started = load as LoadGenerator | null;
  if (started !== null) {
    loadRecord = await started.stop(plan.graceMs);
    if (!loadRecord.stoppedByCompare && (loadRecord.code ?? 0) !== 0) {
      problems.push(`the load generator exited with ${loadRecord.signal ?? `status ${loadRecord.code}`}`);
    }
  } else if (plan.load !== null) {
    loadRecord = {
      command: plan.load,
      startedAtMs: null,
      endedAtMs: null,
      code: null,
      signal: null,
      stoppedByCompare: false,
      output: [],
    };
    problems.push(
      plan.readyLine !== null
        ? `the command never printed a line matching --ready-line ${plan.readyLine.source}; the load generator did not start`
        : 'the command ended before the load generator was due to start',
    );
  }

  const sampledRoot = sampler.rootTicks();
  const sampled: Ticks | null = plan.tree
    ? sampler.treeOwnTicks()
    : sampledRoot !== undefined
      ? {
          user: sampledRoot.own.user + sampledRoot.waited.user,
          system: sampledRoot.own.system + sampledRoot.waited.system,
        }
      : null;
  const cpu = commandCpu(plan.tree, waitedBefore, finished, started, sampled);

  const exitBase = {
    end: stopReason ?? ('exited' as RunEnd),
    code: finished?.code ?? null,
    signal: finished?.signal ?? null,
    stoppedAtMs,
    killed: stopReason !== null && ended.killed,
  };
  const verification = verdictOf([...checks.values()], configuration, uncheckedExits.size);
  return {
    configuration: configuration.name,
    ...position,
    pid,
    startedAt,
    wallMs: Math.round(finished?.atMs ?? elapsed()),
    readyAtMs: readyAtMs === null ? null : Math.round(readyAtMs),
    exit: { ...exitBase, ...describeExit(exitBase, plan.graceMs) },
    cpu,
    rss: summarizeSeries(series.t, series.rss),
    rssAnon: summarizeSeries(series.t, series.rssAnon),
    maxProcesses,
    smapsRollup,
    verification,
    load: loadRecord,
    series,
    output,
    problems,
  };
}
