/**
 * Hosts: where a step program runs. Always a child process, so the parent's heap
 * never pollutes the numbers and each run gets its own environment:
 * - `node`: a fresh Node process that loads the addon (V8 and libuv have already
 *   used the heap and made arenas, as in a real service);
 * - `fresh`: the standalone interpreter, with no Node inside, like the seeds' C programs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isProblem, locatedBinary, packageRoot } from '../../infra/binaries.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import {
  ALLOCATORS,
  allocatorLibrary,
  checkLibraries,
  mallocDebugLibrary,
  MALLOC_DEBUG_LIBRARY,
  preloadFailure,
  type AllocatorLibraries,
  type AllocatorName,
} from './allocator-libraries.js';
import { MAX_NODE_STARTS, WALLED_EXIT } from './node-host-exit.js';
import { parseRecords, StepProgram, type ParsedRun } from './program.js';

export {
  ALLOCATORS,
  allocatorLibrary,
  mallocDebugLibrary,
  MALLOC_DEBUG_LIBRARY,
  type AllocatorLibraries,
  type AllocatorName,
};

export type HostName = 'node' | 'fresh';
export const HOSTS: HostName[] = ['node', 'fresh'];

/**
 * Environment variables that change the allocator; a run starts without the parent's.
 * malloc-lab's own (MALLOC_LAB_*: which binaries, forcing mallinfo) are passed on.
 */
export const ALLOCATOR_ENV =
  /^(MALLOC_(?!LAB_)|GLIBC_TUNABLES$|LD_PRELOAD$|MALLOC_CONF$|TCMALLOC_|MIMALLOC_|JE_MALLOC_CONF$)/;

/** The command that starts host: the loader's fresh host, or Node with the node host script. */
export function hostExecutable(host: HostName): string[] {
  if (host === 'fresh') {
    const fresh = locatedBinary('fresh');
    if (isProblem(fresh)) throw new MallocLabError(fresh.reason, fresh.code);
    return [fresh.path];
  }
  return [process.execPath, join(packageRoot, 'dist', 'experiments', 'framework', 'node-host.js')];
}

export interface HostRunOptions {
  /** Extra environment for this run (GLIBC_TUNABLES, MALLOC_ARENA_MAX, …). */
  env?: Record<string, string>;
  allocator?: AllocatorName;
  /** Library files for the other allocators, where not Debian's (`{ jemalloc: '/opt/…/libjemalloc.so.2' }`). */
  libraries?: AllocatorLibraries;
  /** Default 120 s; the child is killed after it. */
  timeoutMs?: number;
  /**
   * Environment variables to point at files of a temporary directory, whose contents
   * come back in HostRun.captured (MALLOC_TRACE: where mtrace() writes its log). The
   * directory is removed after the run.
   */
  capture?: string[];
  /** Called once, when the child's first record arrives: it has started and its program is running. */
  onStarted?: () => void;
}

export interface HostRun extends ParsedRun {
  host: HostName;
  allocator: AllocatorName;
  /** The allocator-related environment the run had (LD_PRELOAD included). */
  env: Record<string, string>;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** What the child wrote to stderr (glibc's abort messages land here). */
  stderr: string;
  /** Each captured variable's file as the child left it; null when the child never created it. */
  captured: Record<string, string | null>;
  durationMs: number;
  /**
   * Node processes that were started for this run and ran nothing, each with why
   * (its brk heap walled in by a mapping: node-host.ts). Empty on the fresh host.
   */
  restarts: string[];
}

/** How a run is started: the validated command, its environment, and the allocator-related part of it. */
export interface HostLaunch {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  /** The allocator-related environment the run has (LD_PRELOAD included). */
  runEnv: Record<string, string>;
  allocator: AllocatorName;
  /** The child is killed after this long. */
  timeoutMs: number;
  /** The captured variables' files (options.capture), read once and their directory removed. */
  collect(): Record<string, string | null>;
}

/** Checks a run's options and says how to start the host (shared by runOnHost and held runs). */
export function hostLaunch(host: HostName, options: HostRunOptions, fn: string): HostLaunch {
  options = check.options<HostRunOptions>(options, fn);
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (typeof value !== 'string') throw check.typeError(fn, `options.env.${key}`, 'a string', value);
  }
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object')) {
    throw check.typeError(fn, 'options.env', 'an object of strings', options.env);
  }
  if (options.timeoutMs !== undefined) check.integer(options.timeoutMs, fn, 'options.timeoutMs', 1, 2 ** 31 - 1);
  const capture = options.capture ?? [];
  if (
    !Array.isArray(capture) ||
    !capture.every((name) => typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
  ) {
    throw check.typeError(fn, 'options.capture', 'an array of environment variable names', options.capture);
  }
  if (!HOSTS.includes(host)) {
    throw new MallocLabError(
      `host must be one of ${HOSTS.join(', ')}, received ${JSON.stringify(host)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const allocator = options.allocator ?? 'glibc';
  const library = allocatorLibrary(allocator, checkLibraries(options.libraries, 'runOnHost', 'options.libraries'));
  if (library.missing) throw new MallocLabError(library.missing, ErrorCodes.ALLOCATOR_MISSING);
  const runEnv: Record<string, string> = { ...(options.env ?? {}) };
  if (library.path) runEnv['LD_PRELOAD'] = library.path;
  const captureDir = capture.length > 0 ? mkdtempSync(join(tmpdir(), 'malloc-lab-capture-')) : undefined;
  for (const name of capture) runEnv[name] = join(captureDir!, name.toLowerCase());
  const collect = (): Record<string, string | null> => {
    if (captureDir === undefined) return {};
    const files = Object.fromEntries(capture.map((name) => [name, readIfThere(runEnv[name]!)]));
    rmSync(captureDir, { recursive: true, force: true });
    return files;
  };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ALLOCATOR_ENV.test(key)));
  // glibc writes its abort messages to the terminal unless told to use stderr.
  const env = { ...inherited, ...runEnv, LIBC_FATAL_STDERR_: '1' };
  const [command, ...args] = hostExecutable(host);
  if (host === 'node') {
    // The child loads the addon with the same loader; it must find what this process would.
    const addon = locatedBinary('addon');
    if (isProblem(addon)) throw new MallocLabError(addon.reason, addon.code);
  }
  return { command: command!, args, env, runEnv, allocator, timeoutMs: options.timeoutMs ?? 120_000, collect };
}

/** What a finished child ran: its records parsed, how it ended, and its stderr. */
export function hostRunOf(
  parsed: ParsedRun,
  host: HostName,
  launch: Pick<HostLaunch, 'allocator' | 'runEnv'>,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: Buffer[],
  captured: Record<string, string | null>,
  started: number,
): HostRun {
  return {
    ...parsed,
    host,
    allocator: launch.allocator,
    env: launch.runEnv,
    exitCode,
    signal,
    stderr: Buffer.concat(stderr).toString('utf8'),
    captured,
    durationMs: performance.now() - started,
    restarts: [],
  };
}

/** The error for a run whose allocator library ld.so would not preload (it said so on stderr), else undefined. */
export function failedPreload(run: HostRun): MallocLabError | undefined {
  return run.env['LD_PRELOAD'] === undefined ? undefined : preloadFailure(run.stderr);
}

interface ChildEnd {
  records: Buffer[];
  stderr: Buffer[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** One child process: the program on stdin, its records from fd 3, its stderr. */
function runChild(launch: HostLaunch, encoded: Float64Array, notify: { onStarted?: () => void }): Promise<ChildEnd> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    const records: Buffer[] = [];
    const stderr: Buffer[] = [];
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      records.push(chunk);
      // Once per runOnHost, however many node hosts it started: the first record says a program runs.
      const onStarted = notify.onStarted;
      notify.onStarted = undefined;
      onStarted?.();
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), launch.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ records, stderr, exitCode, signal });
    });
    child.stdin!.on('error', () => {}); // a child that dies early (or was walled in) closes its stdin
    child.stdin!.end(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
  });
}

export async function runOnHost(program: StepProgram, host: HostName, options: HostRunOptions = {}): Promise<HostRun> {
  if (!(program instanceof StepProgram)) throw check.typeError('runOnHost', 'program', 'a StepProgram', program);
  if (options?.onStarted !== undefined && typeof options.onStarted !== 'function')
    throw check.typeError('runOnHost', 'options.onStarted', 'a function', options.onStarted);
  const launch = hostLaunch(host, options, 'runOnHost');
  const encoded = program.encode();
  const notify = { ...(options.onStarted === undefined ? {} : { onStarted: options.onStarted }) };
  const started = performance.now();
  // A node host whose brk heap is walled in runs nothing (node-host.ts): start another.
  const restarts: string[] = [];
  let end: ChildEnd;
  try {
    end = await runChild(launch, encoded, notify);
    while (host === 'node' && end.exitCode === WALLED_EXIT && restarts.length + 1 < MAX_NODE_STARTS) {
      restarts.push(
        Buffer.concat(end.stderr)
          .toString('utf8')
          .trim()
          .replace(/^malloc-lab node host: /, ''),
      );
      end = await runChild(launch, encoded, notify);
    }
  } catch (error) {
    launch.collect();
    throw error;
  }
  const run = hostRunOf(
    parseRecords(program, Buffer.concat(end.records)),
    host,
    launch,
    end.exitCode,
    end.signal,
    end.stderr,
    launch.collect(),
    started,
  );
  const notPreloaded = failedPreload(run);
  if (notPreloaded !== undefined) throw notPreloaded;
  return { ...run, restarts };
}

function readIfThere(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
