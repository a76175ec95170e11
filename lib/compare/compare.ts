/**
 * compareAllocators(): the user's command under each configuration, N times in
 * interleaved order (forward, then backward, …: drift in the machine's load
 * falls on every configuration alike), each run in a fresh process tree;
 * summarized into medians with their spread, each against the baseline.
 * Needs /proc and nothing else: no addon.
 */
import { statSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { resolve } from 'node:path';

import * as check from '../infra/validate.js';
import { glibcRuntimeVersion } from '../probe.js';
import { type Configuration, type ConfigurationSpec, resolveConfigurations } from './configurations.js';
import { resolveExecutable } from './executable.js';
import { type RunPlan, runConfiguration } from './run.js';
import { bestOf, summarizeConfigurations } from './statistics.js';
import type { CompareResult, CompareRun } from './types.js';

export type CompareProgress =
  | { type: 'run-start'; configuration: string; repeat: number; order: number; total: number }
  | { type: 'sample'; configuration: string; t: number; rss: number; processes: number }
  | { type: 'run-end'; run: CompareRun; total: number };

export interface CompareOptions {
  /** The command and its arguments (no shell: ['sh', '-c', '…'] for one). */
  command: string[];
  /** Matrix names, `name:TOKEN,…` texts or specs; default: the whole matrix. */
  configurations?: (string | ConfigurationSpec)[];
  /** The configuration the others are compared with (default the first). */
  baseline?: string;
  /** Sum the command's whole process tree (default false: the command's process alone). */
  tree?: boolean;
  /** Sampling interval (default 100 ms). */
  intervalMs?: number;
  /** Runs per configuration, interleaved (default 1). */
  repeat?: number;
  /** Stop each run after this long (SIGTERM, then SIGKILL after graceMs); default: until the command exits. */
  durationMs?: number;
  /** Between SIGTERM and SIGKILL (default 5000 ms). */
  graceMs?: number;
  /** A shell command run beside each run once the command is ready, ended with the run. */
  load?: string;
  /** A line of the command's output (stdout or stderr) that means it is ready; its groups reach the load as MALLOC_LAB_READY_1… */
  readyLine?: string | RegExp;
  /** Delay before the load starts: after the ready line, or after the start without one (default 0 with readyLine, else 1000). */
  readyDelayMs?: number;
  /** Stop each run this long after its load generator ended on its own. */
  lingerMs?: number;
  /** Working directory of the command and the load (default process.cwd()). */
  cwd?: string;
  /** Extra environment for every run (the parent's allocator variables are never passed on). */
  env?: Record<string, string>;
  /** Aborting stops the current run (its processes ended) and skips the rest. */
  signal?: AbortSignal;
  onProgress?: (event: CompareProgress) => void;
  /** Each line the command (or, as 'load', the load generator) writes. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr' | 'load', configuration: string) => void;
}

const FN = 'compareAllocators';

function optionalInteger(value: unknown, name: string, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : check.integer(value, FN, `options.${name}`, min, max);
}

function optionalFunction<T>(value: unknown, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw check.typeError(FN, `options.${name}`, 'a function', value);
  return value as T | undefined;
}

interface Validated {
  command: string[];
  /** --ready-line as given. */
  readyLineText: string | null;
  executable: string;
  configurations: Configuration[];
  baseline: string;
  plan: Omit<RunPlan, 'onOutput' | 'onSample'>;
  repeat: number;
  onProgress: CompareOptions['onProgress'];
  onOutput: CompareOptions['onOutput'];
}

function validate(options: unknown): Validated {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw check.typeError(FN, 'options', 'an object with a command', options);
  }
  const given = options as Partial<CompareOptions>;
  const command = given.command;
  if (!Array.isArray(command) || command.length === 0 || command.some((word) => typeof word !== 'string')) {
    throw check.typeError(
      FN,
      'options.command',
      'a non-empty array of strings (the program, then its arguments)',
      command,
    );
  }
  if (command[0] === '') throw check.rangeError(FN, 'options.command[0]', 'the program to run', command[0]);

  if (given.env !== undefined && (given.env === null || typeof given.env !== 'object' || Array.isArray(given.env))) {
    throw check.typeError(FN, 'options.env', 'an object of strings', given.env);
  }
  for (const [key, value] of Object.entries(given.env ?? {})) {
    if (typeof value !== 'string') throw check.typeError(FN, `options.env.${key}`, 'a string', value);
  }
  if (given.cwd !== undefined && typeof given.cwd !== 'string')
    throw check.typeError(FN, 'options.cwd', 'a directory path', given.cwd);
  const cwd = resolve(given.cwd ?? process.cwd());
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {}
  if (!isDirectory) throw check.rangeError(FN, 'options.cwd', 'an existing directory', given.cwd);

  if (given.tree !== undefined && typeof given.tree !== 'boolean')
    throw check.typeError(FN, 'options.tree', 'a boolean', given.tree);
  const intervalMs = optionalInteger(given.intervalMs, 'intervalMs', 10, 60_000, 100);
  const repeat = optionalInteger(given.repeat, 'repeat', 1, 100, 1);
  const graceMs = optionalInteger(given.graceMs, 'graceMs', 0, 600_000, 5000);
  let durationMs: number | null = null;
  if (given.durationMs !== undefined) {
    if (typeof given.durationMs !== 'number')
      throw check.typeError(FN, 'options.durationMs', 'a number of milliseconds', given.durationMs);
    if (!(given.durationMs > 0) || given.durationMs > 2 ** 31 - 1) {
      throw check.rangeError(
        FN,
        'options.durationMs',
        'a number of milliseconds above 0 and below 2^31',
        given.durationMs,
      );
    }
    durationMs = given.durationMs;
  }
  if (given.load !== undefined && (typeof given.load !== 'string' || given.load.trim() === '')) {
    throw check.typeError(FN, 'options.load', 'a shell command', given.load);
  }
  let readyLine: RegExp | null = null;
  if (given.readyLine instanceof RegExp)
    readyLine = new RegExp(given.readyLine.source, given.readyLine.flags.replace(/[gy]/g, ''));
  else if (typeof given.readyLine === 'string') {
    try {
      readyLine = new RegExp(given.readyLine);
    } catch (error) {
      throw check.rangeError(
        FN,
        'options.readyLine',
        `a regular expression (${(error as Error).message})`,
        given.readyLine,
      );
    }
  } else if (given.readyLine !== undefined) {
    throw check.typeError(FN, 'options.readyLine', 'a regular expression or its text', given.readyLine);
  }
  const readyDelayMs = optionalInteger(
    given.readyDelayMs,
    'readyDelayMs',
    0,
    2 ** 31 - 1,
    readyLine !== null ? 0 : 1000,
  );
  let lingerMs: number | null = null;
  if (given.lingerMs !== undefined) {
    lingerMs = check.integer(given.lingerMs, FN, 'options.lingerMs', 0, 2 ** 31 - 1);
    if (given.load === undefined)
      throw check.rangeError(
        FN,
        'options.lingerMs',
        'given with options.load (it counts from the load’s end)',
        lingerMs,
      );
  }
  if (given.signal !== undefined && !(given.signal instanceof AbortSignal)) {
    throw check.typeError(FN, 'options.signal', 'an AbortSignal', given.signal);
  }
  const onProgress = optionalFunction<CompareOptions['onProgress']>(given.onProgress, 'onProgress');
  const onOutput = optionalFunction<CompareOptions['onOutput']>(given.onOutput, 'onOutput');

  const configurations = resolveConfigurations(given.configurations, FN);
  if (
    given.baseline !== undefined &&
    (typeof given.baseline !== 'string' || !configurations.some((c) => c.name === given.baseline))
  ) {
    throw check.rangeError(
      FN,
      'options.baseline',
      `one of the configurations (${configurations.map((c) => c.name).join(', ')})`,
      given.baseline,
    );
  }
  const env = { ...(given.env ?? {}) };
  const executable = resolveExecutable(command[0]!, cwd, env['PATH'] ?? process.env['PATH'], FN);

  return {
    command: [...command],
    readyLineText: readyLine === null ? null : typeof given.readyLine === 'string' ? given.readyLine : readyLine.source,
    executable,
    configurations,
    baseline: given.baseline ?? configurations[0]!.name,
    repeat,
    onProgress,
    onOutput,
    plan: {
      executable,
      args: command.slice(1),
      argv0: command[0]!,
      cwd,
      env,
      tree: given.tree === true,
      intervalMs,
      durationMs,
      graceMs,
      load: given.load ?? null,
      readyLine,
      readyDelayMs,
      lingerMs,
      rollupEveryMs: 2000,
      ...(given.signal !== undefined ? { signal: given.signal } : {}),
    },
  };
}

/** The order of the runs: forward, backward, forward, … over the configurations that can run. */
export function interleave<T>(items: T[], repeat: number): { item: T; repeat: number }[] {
  const order: { item: T; repeat: number }[] = [];
  for (let round = 0; round < repeat; round++) {
    const pass = round % 2 === 0 ? items : [...items].reverse();
    for (const item of pass) order.push({ item, repeat: round });
  }
  return order;
}

/** Runs the command under each configuration and measures them side by side. */
export async function compareAllocators(options: CompareOptions): Promise<CompareResult> {
  const valid = validate(options);
  const { plan } = valid;
  const startedAt = new Date().toISOString();
  const runnable = valid.configurations.filter((configuration) => configuration.missing === null);
  const schedule = interleave(runnable, valid.repeat);
  const runs: CompareRun[] = [];
  let interrupted = false;
  for (const [order, { item: configuration, repeat }] of schedule.entries()) {
    if (plan.signal?.aborted) {
      interrupted = true;
      break;
    }
    valid.onProgress?.({ type: 'run-start', configuration: configuration.name, repeat, order, total: schedule.length });
    const run = await runConfiguration(
      configuration,
      {
        ...plan,
        ...(valid.onOutput !== undefined
          ? { onOutput: (line, stream) => valid.onOutput!(line, stream, configuration.name) }
          : {}),
        ...(valid.onProgress !== undefined
          ? {
              onSample: (t, rss, processes) =>
                valid.onProgress!({ type: 'sample', configuration: configuration.name, t, rss, processes }),
            }
          : {}),
      },
      { order, repeat },
    );
    runs.push(run);
    valid.onProgress?.({ type: 'run-end', run, total: schedule.length });
    if (run.exit.end === 'interrupted') {
      interrupted = true;
      break;
    }
  }
  const summary = summarizeConfigurations(valid.configurations, runs, valid.repeat, valid.baseline);
  return {
    command: valid.command,
    executable: valid.executable,
    startedAt,
    finishedAt: new Date().toISOString(),
    options: {
      intervalMs: plan.intervalMs,
      tree: plan.tree,
      repeat: valid.repeat,
      durationMs: plan.durationMs,
      graceMs: plan.graceMs,
      load: plan.load,
      readyLine: valid.readyLineText,
      readyDelayMs: plan.readyDelayMs,
      lingerMs: plan.lingerMs,
      cwd: plan.cwd,
    },
    machine: { kernel: release(), glibc: glibcRuntimeVersion() ?? null, cpus: cpus().length, node: process.version },
    configurations: valid.configurations,
    baseline: valid.baseline,
    runs,
    summary,
    best: bestOf(summary),
    interrupted,
  };
}
