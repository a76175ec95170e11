/**
 * Does a configuration really apply in a running process? Checked from the
 * outside, with the allocator detection that reads /proc/<pid>/maps and the
 * start-up environment: the intended allocator serves malloc (its library is
 * preloaded and mapped; for glibc, nothing else is preloaded), and every variable
 * the configuration sets is in the process's start-up environment with its
 * value. A launcher that drops LD_PRELOAD, a process manager that starts the
 * program with a clean environment, a static binary: each shows up here as a
 * sentence naming the process and what it lacks.
 */
import { realpathSync } from 'node:fs';

import {
  allocatorOfMappedFiles,
  type DetectedAllocator,
  detectAllocator,
  mappedFiles,
  parsePreload,
  startupEnvironment,
} from '../process/allocator-detection.js';
import { allocatorSettings, parseGlibcTunables } from '../process/allocator-settings.js';
import { commandLine, identify } from '../process/target.js';
import type { Configuration } from './configurations.js';

export interface ProcessCheck {
  pid: number;
  /** Its command line when checked. */
  command: string;
  /** Milliseconds after the run started. */
  atMs: number;
  /** What serves malloc there, by the detection. */
  allocator: DetectedAllocator;
  /** The configuration applies in this process. */
  ok: boolean;
  /** What does not match, one sentence each (empty when ok). */
  problems: string[];
}

export type Verdict = 'applied' | 'partly' | 'not-applied' | 'unchecked';

export interface RunVerification {
  /**
   * applied: every process checked runs the configuration; partly: some do;
   * not-applied: none does; unchecked: the command exited before its first check.
   */
  verdict: Verdict;
  /** One sentence for the table. */
  summary: string;
  /** The latest check of each process checked. */
  processes: ProcessCheck[];
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Checks one live process against the configuration; null when it exited meanwhile. */
export function checkProcess(pid: number, configuration: Configuration, atMs: number): ProcessCheck | null {
  const identity = identify(pid);
  if (identity === null) return null;
  const command = commandLine(identity, 100);
  let environment: Record<string, string>;
  let files: string[];
  try {
    environment = startupEnvironment(pid);
    files = mappedFiles(pid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    return {
      pid,
      command,
      atMs,
      // The detection reports the failing read instead of throwing: its verdict is what can still be told.
      allocator: detectAllocator({ pid }).allocator,
      ok: false,
      problems: [`pid ${pid} (${command}) cannot be inspected: ${code ?? String(error)}`],
    };
  }
  if (files.length === 0) return null; // a zombie: nothing mapped any more
  const detection = allocatorOfMappedFiles(pid, files, environment);
  const who = `pid ${pid} (${command})`;
  const problems: string[] = [];

  if (configuration.library === null) {
    if (detection.allocator !== 'glibc') {
      problems.push(`${detection.allocator} serves malloc in ${who}, not glibc: ${detection.evidence}`);
    }
  } else {
    const wanted = realpath(configuration.library);
    const preloaded = parsePreload(environment['LD_PRELOAD']).some((entry) => realpath(entry) === wanted);
    const mapped = files.some((file) => file === wanted);
    if (!preloaded) {
      problems.push(
        `${who} started without ${configuration.library} in LD_PRELOAD (${environment['LD_PRELOAD'] === undefined ? 'it has no LD_PRELOAD at all' : `LD_PRELOAD=${environment['LD_PRELOAD']}`}): something between compare and it dropped the preload`,
      );
    } else if (!mapped) {
      problems.push(`${configuration.library} is in ${who}'s LD_PRELOAD but not mapped: ld.so did not load it`);
    }
    if (configuration.allocator !== 'other' && detection.allocator !== configuration.allocator) {
      problems.push(
        `${detection.allocator} serves malloc in ${who}, not ${configuration.allocator}: ${detection.evidence}`,
      );
    }
  }

  for (const [name, value] of Object.entries(configuration.env)) {
    if (environment[name] === undefined) problems.push(`${name} is not in ${who}'s start-up environment`);
    else if (name === 'LD_PRELOAD') {
      // Preloads of its own come after the allocator's library: each must still be there.
      const present = parsePreload(environment[name]).map(realpath);
      for (const entry of parsePreload(value)) {
        if (!present.includes(realpath(entry))) problems.push(`${entry} is not in ${who}'s LD_PRELOAD`);
      }
    } else if (environment[name] !== value) problems.push(`${name} is ${environment[name]} in ${who}, not ${value}`);
  }
  // A setting that is present but ignored (a tunable glibc does not know, a value that is no number).
  const set = Object.entries(configuration.env).flatMap(([name, value]) => [
    name,
    ...(name === 'GLIBC_TUNABLES' ? parseGlibcTunables(value).map((entry) => entry.name) : []),
  ]);
  for (const warning of allocatorSettings({ pid, env: environment }).warnings) {
    if (set.some((name) => name !== '' && warning.includes(name))) problems.push(`${who}: ${warning}`);
  }
  // What the detection could not read (the preload checks above already cover an unmapped preload).
  for (const problem of detection.problems) {
    if (!problem.includes('is preloaded but not mapped')) problems.push(`${who}: ${problem}`);
  }
  return {
    pid,
    command,
    atMs,
    allocator: detection.allocator,
    ok: problems.length === 0,
    problems,
  };
}

/** The run's verdict from the latest check of each process. */
export function verdictOf(
  checks: ProcessCheck[],
  configuration: Configuration,
  uncheckedExits: number,
): RunVerification {
  const intended =
    configuration.library === null
      ? 'glibc'
      : configuration.allocator === 'other'
        ? 'its library'
        : configuration.allocator;
  const unchecked =
    uncheckedExits > 0
      ? ` (${uncheckedExits} short-lived process${uncheckedExits === 1 ? '' : 'es'} exited before a check)`
      : '';
  if (checks.length === 0) {
    return {
      verdict: 'unchecked',
      summary: 'the command exited before it could be checked',
      processes: [],
    };
  }
  const failed = checks.filter((entry) => !entry.ok);
  if (failed.length === 0) {
    const settings = Object.keys(configuration.env);
    return {
      verdict: 'applied',
      summary: `${intended} serves malloc${settings.length > 0 ? ` with ${settings.join(', ')} set` : ''} in ${checks.length === 1 ? `pid ${checks[0]!.pid}` : `all ${checks.length} processes`}${unchecked}`,
      processes: checks,
    };
  }
  return {
    verdict: failed.length === checks.length ? 'not-applied' : 'partly',
    summary:
      (failed.length === checks.length ? '' : `${failed.length} of ${checks.length} processes: `) +
      failed[0]!.problems[0]! +
      (failed.length > 1 || failed[0]!.problems.length > 1 ? ' (and more in the JSON)' : ''),
    processes: checks,
  };
}
