/**
 * Which allocator serves malloc in a process: glibc's own, or jemalloc / tcmalloc /
 * mimalloc preloaded in front of it, or musl's. Judged from what is mapped
 * (/proc/<pid>/maps) and what was preloaded (LD_PRELOAD in the process's start-up
 * environment, /etc/ld.so.preload). Reports what it could not read; never throws
 * for a process it may not inspect, and never loads the addon (so it answers on musl too).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { glibcRuntimeVersion } from '../infra/binaries.js';
import * as check from '../infra/validate.js';

export type ReplacementAllocator = 'jemalloc' | 'tcmalloc' | 'mimalloc';
export type DetectedAllocator = 'glibc' | ReplacementAllocator | 'musl' | 'unknown';

export interface MappedAllocator {
  allocator: ReplacementAllocator;
  /** The shared object as /proc/<pid>/maps names it. */
  path: string;
  /** Named by LD_PRELOAD or /etc/ld.so.preload, so its malloc comes before libc's. */
  preloaded: boolean;
}

export interface AllocatorDetection {
  pid: number;
  /** The allocator that serves malloc, as far as the maps and the preload list tell. */
  allocator: DetectedAllocator;
  /** The C library underneath. */
  libc: 'glibc' | 'musl' | 'unknown';
  /** glibc's version, for this process (process.report); undefined elsewhere. */
  glibcVersion?: string;
  /** The replacement allocator's shared object, when one serves malloc. */
  library?: string;
  /** Every replacement allocator mapped in the process (a library can be mapped without serving malloc). */
  mapped: MappedAllocator[];
  /** LD_PRELOAD entries (start-up environment) followed by /etc/ld.so.preload's. */
  preload: string[];
  /** One sentence: why this verdict. */
  evidence: string;
  /** What could not be read or does not add up (EACCES on another user's process, a preload that is not mapped). */
  problems: string[];
}

const REPLACEMENTS: [ReplacementAllocator, RegExp][] = [
  ['jemalloc', /^libjemalloc[^/]*\.so/],
  ['tcmalloc', /^libtcmalloc[^/]*\.so/],
  ['mimalloc', /^libmimalloc[^/]*\.so/],
];
const MUSL = /^(ld-musl-[^/]*\.so|libc\.musl[^/]*\.so)/;
const GLIBC = /^(libc\.so\.6|libc-2\.\d+\.so)$/;

/** jemalloc, tcmalloc or mimalloc for a shared object's file name, else undefined. */
export function allocatorOfLibrary(path: string): ReplacementAllocator | undefined {
  if (typeof path !== 'string') throw check.typeError('allocatorOfLibrary', 'path', 'a string', path);
  const name = basename(path);
  return REPLACEMENTS.find(([, pattern]) => pattern.test(name))?.[0];
}

function procPath(pid: number, file: string): string {
  return `/proc/${pid === 0 ? 'self' : pid}/${file}`;
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code ?? String((error as Error)?.message ?? error);
}

/** Paths of the files mapped in /proc/<pid>/maps, each once, in order of first appearance. */
export function mappedFiles(pid = 0): string[] {
  const text = readFileSync(procPath(check.pid(pid, 'mappedFiles'), 'maps'), 'latin1');
  const files = new Set<string>();
  for (const line of text.split('\n')) {
    // address perms offset dev inode pathname (the path may contain spaces)
    const match = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(line);
    if (match) files.add(match[1]!.replace(/ \(deleted\)$/, ''));
  }
  return [...files];
}

/** The environment a process started with (/proc/<pid>/environ): what ld.so and glibc read. */
export function startupEnvironment(pid = 0): Record<string, string> {
  const raw = readFileSync(procPath(check.pid(pid, 'startupEnvironment'), 'environ'), 'latin1');
  const env: Record<string, string> = {};
  for (const entry of raw.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/** LD_PRELOAD's entries: separated by spaces or colons (ld.so(8)). */
export function parsePreload(value: string | undefined): string[] {
  if (value !== undefined && typeof value !== 'string')
    throw check.typeError('parsePreload', 'value', 'a string or undefined', value);
  return (value ?? '').split(/[\s:]+/).filter((entry) => entry !== '');
}

function systemPreload(problems: string[]): string[] {
  try {
    return readFileSync('/etc/ld.so.preload', 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .flatMap((line) => parsePreload(line));
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== 'ENOENT') problems.push(`/etc/ld.so.preload: ${reason(error)}`);
    return [];
  }
}

export interface DetectOptions {
  /** The process to inspect (default 0: this one). */
  pid?: number;
}

/** Which allocator serves malloc in this process (or pid). Reports problems instead of throwing. */
export function detectAllocator(options: DetectOptions = {}): AllocatorDetection {
  const { pid: given } = check.options<DetectOptions>(options, 'detectAllocator');
  const target = check.pid(given, 'detectAllocator');
  const self = target === 0 || target === process.pid;
  const pid = self ? process.pid : target;
  let files: string[] | Error;
  try {
    files = mappedFiles(self ? 0 : pid);
  } catch (error) {
    files = error as Error;
  }
  return allocatorOfMappedFiles(pid, files);
}

/**
 * The same judgement from the files a caller has already read from the maps (or
 * the error reading them): explain reads smaps once and passes its paths here. A
 * caller that has read the start-up environment passes it too; without it,
 * /proc/<pid>/environ is read here.
 */
export function allocatorOfMappedFiles(
  pid: number,
  mappedOrError: string[] | Error,
  environment?: Record<string, string>,
): AllocatorDetection {
  const self = pid === process.pid;
  const problems: string[] = [];

  let files: string[] = [];
  if (mappedOrError instanceof Error) problems.push(`${procPath(pid, 'maps')}: ${reason(mappedOrError)}`);
  else files = mappedOrError;

  let ldPreload: string | undefined;
  try {
    ldPreload = (environment ?? startupEnvironment(self ? 0 : pid))['LD_PRELOAD'];
  } catch (error) {
    problems.push(`${procPath(pid, 'environ')}: ${reason(error)}`);
    if (self) ldPreload = process.env['LD_PRELOAD'];
  }
  const preload = [...parsePreload(ldPreload), ...systemPreload(problems)];
  const preloadedKinds = preload.map((entry) => allocatorOfLibrary(entry)).filter((kind) => kind !== undefined);

  const mapped: MappedAllocator[] = [];
  for (const file of files) {
    const allocator = allocatorOfLibrary(file);
    if (allocator !== undefined) mapped.push({ allocator, path: file, preloaded: preloadedKinds.includes(allocator) });
  }
  for (const entry of preload) {
    const kind = allocatorOfLibrary(entry);
    if (kind !== undefined && files.length > 0 && !mapped.some((library) => library.allocator === kind)) {
      problems.push(`${entry} is preloaded but not mapped: ld.so could not load it (wrong path or architecture?)`);
    }
  }

  const libc = files.some((file) => MUSL.test(basename(file)))
    ? 'musl'
    : files.some((file) => GLIBC.test(basename(file)))
      ? 'glibc'
      : self && glibcRuntimeVersion() !== undefined
        ? 'glibc'
        : 'unknown';
  const glibcVersion = self && libc === 'glibc' ? glibcRuntimeVersion() : undefined;

  // The first preloaded replacement that is mapped interposes malloc (ld.so(8): preloads come first).
  const serving = preloadedKinds
    .map((kind) => mapped.find((library) => library.allocator === kind))
    .find((library) => library !== undefined);
  let allocator: DetectedAllocator;
  let evidence: string;
  if (serving !== undefined) {
    allocator = serving.allocator;
    evidence = `${serving.path} is preloaded and mapped, so its malloc comes before ${libc === 'unknown' ? 'libc' : libc}'s`;
  } else if (libc === 'unknown') {
    allocator = 'unknown';
    evidence =
      files.length === 0
        ? `could not read the mappings of pid ${pid}`
        : `no libc is mapped in pid ${pid} (a static binary?), so its allocator cannot be told from the outside`;
  } else {
    allocator = libc;
    evidence = `no replacement allocator is preloaded; ${libc}'s malloc serves`;
    if (mapped.length > 0) {
      evidence += ` (${mapped.map((library) => basename(library.path)).join(', ')} ${mapped.length === 1 ? 'is' : 'are'} mapped without being preloaded: loaded by dlopen or as a dependency, so ${mapped.length === 1 ? 'it serves' : 'they serve'} only ${mapped.length === 1 ? 'its' : 'their'} own callers unless linked into the executable)`;
    }
  }

  const detection: AllocatorDetection = { pid, allocator, libc, mapped, preload, evidence, problems };
  if (glibcVersion !== undefined) detection.glibcVersion = glibcVersion;
  if (serving !== undefined) detection.library = serving.path;
  return detection;
}
