/**
 * Hosts: where a step program runs. Always a child process, so the parent's heap
 * never pollutes the numbers and each run gets its own environment:
 * - `node`: a fresh Node process that loads the addon (V8 and libuv have already
 *   used the heap and made arenas, as in a real service);
 * - `fresh`: the standalone interpreter, with no Node inside, like the seeds' C programs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { packageRoot } from '../../probe.js';
import { parseRecords, StepProgram, type ParsedRun } from './program.js';

export type HostName = 'node' | 'fresh';
export const HOSTS: HostName[] = ['node', 'fresh'];

export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc';
export const ALLOCATORS: AllocatorName[] = ['glibc', 'jemalloc', 'tcmalloc', 'mimalloc'];

/** Debian's shared objects for the other allocators, and the package that ships each. */
const ALLOCATOR_LIBRARIES: Record<Exclude<AllocatorName, 'glibc'>, { file: string; debian: string }> = {
  jemalloc: { file: 'libjemalloc.so.2', debian: 'libjemalloc2' },
  tcmalloc: { file: 'libtcmalloc_minimal.so.4', debian: 'libtcmalloc-minimal4' },
  mimalloc: { file: 'libmimalloc.so.2', debian: 'libmimalloc2.0' },
};

const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
];

/** The library to preload for allocator, or a sentence saying why it cannot be (missing package). */
export function allocatorLibrary(allocator: AllocatorName): { path?: string; missing?: string } {
  if (allocator === 'glibc') return {};
  // Own keys only: "toString" or "__proto__" is no allocator either.
  const known =
    typeof allocator === 'string' && Object.hasOwn(ALLOCATOR_LIBRARIES, allocator)
      ? ALLOCATOR_LIBRARIES[allocator as Exclude<AllocatorName, 'glibc'>]
      : undefined;
  if (known === undefined) {
    throw new MallocLabError(
      `allocator must be one of ${ALLOCATORS.join(', ')}, received ${typeof allocator === 'string' ? JSON.stringify(allocator) : check.describe(allocator)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const path = findLibrary(known.file);
  return path !== undefined
    ? { path }
    : { missing: `${allocator} is not installed (${known.file} not found; apt-get install ${known.debian})` };
}

function findLibrary(file: string): string | undefined {
  return LIBRARY_DIRS.map((dir) => join(dir, file)).find((candidate) => existsSync(candidate));
}

/** glibc's debugging malloc: since glibc 2.34, mtrace(), mcheck() and MALLOC_CHECK_ act only when it is preloaded. */
export const MALLOC_DEBUG_LIBRARY = 'libc_malloc_debug.so.0';

/** The debugging malloc to preload, or a sentence saying why it cannot be. */
export function mallocDebugLibrary(): { path?: string; missing?: string } {
  const path = findLibrary(MALLOC_DEBUG_LIBRARY);
  return path !== undefined
    ? { path }
    : {
        missing: `glibc's debugging malloc is not installed (${MALLOC_DEBUG_LIBRARY} not found; glibc 2.34 and later ship it)`,
      };
}

/** Environment variables that change the allocator; a run starts without the parent's. */
export const ALLOCATOR_ENV = /^(MALLOC_|GLIBC_TUNABLES$|LD_PRELOAD$|MALLOC_CONF$|TCMALLOC_|MIMALLOC_|JE_MALLOC_CONF$)/;

export function hostExecutable(host: HostName): string[] {
  if (host === 'fresh') return [join(packageRoot, 'build', 'Release', 'malloc-lab-fresh')];
  return [process.execPath, join(packageRoot, 'dist', 'experiments', 'framework', 'node-host.js')];
}

export interface HostRunOptions {
  /** Extra environment for this run (GLIBC_TUNABLES, MALLOC_ARENA_MAX, …). */
  env?: Record<string, string>;
  allocator?: AllocatorName;
  /** Default 120 s; the child is killed after it. */
  timeoutMs?: number;
  /**
   * Environment variables to point at files of a temporary directory, whose contents
   * come back in HostRun.captured (MALLOC_TRACE: where mtrace() writes its log). The
   * directory is removed after the run.
   */
  capture?: string[];
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
}

export function runOnHost(program: StepProgram, host: HostName, options: HostRunOptions = {}): Promise<HostRun> {
  if (!(program instanceof StepProgram)) throw check.typeError('runOnHost', 'program', 'a StepProgram', program);
  options = check.options<HostRunOptions>(options, 'runOnHost');
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (typeof value !== 'string') throw check.typeError('runOnHost', `options.env.${key}`, 'a string', value);
  }
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object')) {
    throw check.typeError('runOnHost', 'options.env', 'an object of strings', options.env);
  }
  if (options.timeoutMs !== undefined)
    check.integer(options.timeoutMs, 'runOnHost', 'options.timeoutMs', 1, 2 ** 31 - 1);
  const capture = options.capture ?? [];
  if (
    !Array.isArray(capture) ||
    !capture.every((name) => typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
  ) {
    throw check.typeError('runOnHost', 'options.capture', 'an array of environment variable names', options.capture);
  }
  if (!HOSTS.includes(host)) {
    throw new MallocLabError(
      `host must be one of ${HOSTS.join(', ')}, received ${JSON.stringify(host)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const allocator = options.allocator ?? 'glibc';
  const library = allocatorLibrary(allocator);
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
  if (!existsSync(command!) || (host === 'node' && !existsSync(args[0]!))) {
    throw new MallocLabError(
      `the ${host} host is not built (${host === 'node' ? args[0] : command} is missing); run \`npm install\` or \`npm run build\``,
      ErrorCodes.ADDON_NOT_BUILT,
    );
  }
  const encoded = program.encode();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { env, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    const records: Buffer[] = [];
    const stderr: Buffer[] = [];
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => records.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      collect();
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const parsed = parseRecords(program, Buffer.concat(records));
      resolve({
        ...parsed,
        host,
        allocator,
        env: runEnv,
        exitCode,
        signal,
        stderr: Buffer.concat(stderr).toString('utf8'),
        captured: collect(),
        durationMs: performance.now() - started,
      });
    });
    child.stdin!.on('error', () => {}); // a child that dies early closes its stdin
    child.stdin!.end(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
  });
}

function readIfThere(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
