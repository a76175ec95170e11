/**
 * /proc/<pid>/status, smaps_rollup and statm of any process, read with plain fs
 * calls: no addon, so reading another process works where no native binary could
 * be loaded. (The calling process measuring itself uses bridge/procfs.ts, whose
 * reads allocate nothing on the glibc heap it observes.)
 *
 * The field lists are the one TypeScript home of these names; the addon carries
 * its own table for its allocation-free parser, and bridge/procfs.ts refuses to
 * load when the two disagree.
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';

import { MallocLabError } from '../infra/errors.js';

export const STATUS_FIELDS = [
  'VmPeak',
  'VmSize',
  'VmLck',
  'VmPin',
  'VmHWM',
  'VmRSS',
  'RssAnon',
  'RssFile',
  'RssShmem',
  'VmData',
  'VmStk',
  'VmExe',
  'VmLib',
  'VmPTE',
  'VmSwap',
  'HugetlbPages',
  'Threads',
] as const;
export type StatusField = (typeof STATUS_FIELDS)[number];
/** Status fields in bytes (Threads is a count). A field this kernel lacks is NaN. */
export type Status = Record<StatusField, number>;

export const SMAPS_ROLLUP_FIELDS = [
  'Rss',
  'Pss',
  'Pss_Dirty',
  'Pss_Anon',
  'Pss_File',
  'Pss_Shmem',
  'Shared_Clean',
  'Shared_Dirty',
  'Private_Clean',
  'Private_Dirty',
  'Referenced',
  'Anonymous',
  'KSM',
  'LazyFree',
  'AnonHugePages',
  'ShmemPmdMapped',
  'FilePmdMapped',
  'Shared_Hugetlb',
  'Private_Hugetlb',
  'Swap',
  'SwapPss',
  'Locked',
] as const;
export type SmapsRollupField = (typeof SMAPS_ROLLUP_FIELDS)[number];
/** /proc/<pid>/smaps_rollup in bytes: exact, where status's counters are approximate. */
export type SmapsRollup = Record<SmapsRollupField, number> & {
  /** Private_Clean + Private_Dirty */
  USS: number;
};

export const STATM_FIELDS = ['size', 'resident', 'shared', 'text', 'lib', 'data', 'dt'] as const;
export type StatmField = (typeof STATM_FIELDS)[number];
/** /proc/<pid>/statm, converted from pages to bytes. */
export type Statm = Record<StatmField, number>;

/** The path of a file under /proc for pid (0: this process). */
export function procPath(pid: number, file: string): string {
  return pid === 0 ? `/proc/self/${file}` : `/proc/${pid}/${file}`;
}

/**
 * An fs error on a /proc file as the typed error the addon raises for the same
 * failure: code is the errno name, the message says what it means for a process.
 */
export function procError(error: unknown, syscall: string, pid: number, file: string): MallocLabError {
  const code = (error as NodeJS.ErrnoException)?.code ?? 'EIO';
  let detail = procPath(pid, file);
  if (code === 'ENOENT' || code === 'ESRCH') {
    detail += `: no process with pid ${pid} (it exited or never existed)`;
  } else if (code === 'EACCES' || code === 'EPERM') {
    detail += ': permission denied (the process belongs to another user)';
  }
  const typed = new MallocLabError(`${syscall}: ${detail}`, code);
  const errno = (error as NodeJS.ErrnoException)?.errno;
  if (typeof errno === 'number') typed.errno = Math.abs(errno);
  typed.syscall = syscall;
  return typed;
}

// /proc files report size 0, so readFileSync stats, guesses and reallocates: one reused buffer reads them in
// fewer calls, which counts when an exporter reads two files of each of 50 processes per scrape.
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Everything fd has to read, from where it stands or (fromStart) by pread from offset 0, as latin1 text. */
function readAll(fd: number, fromStart: boolean): string {
  let length = 0;
  for (;;) {
    if (length === scratch.length) {
      const larger = Buffer.allocUnsafe(scratch.length * 2);
      scratch.copy(larger);
      scratch = larger;
    }
    const got = readSync(fd, scratch, length, scratch.length - length, fromStart ? length : null);
    if (got === 0) break;
    length += got;
  }
  return scratch.toString('latin1', 0, length);
}

/** A /proc file's text; a failure is a typed error (ENOENT when the process is gone). */
export function readProcText(pid: number, file: string): string {
  let fd: number;
  try {
    fd = openSync(procPath(pid, file), 'r');
  } catch (error) {
    throw procError(error, 'open', pid, file);
  }
  try {
    return readAll(fd, false);
  } catch (error) {
    throw procError(error, 'read', pid, file);
  } finally {
    closeSync(fd);
  }
}

/** `Name:   123 kB` lines into bytes (a bare number, like Threads, stays a count); absent names are NaN. */
export function parseKbFields<K extends string>(text: string, names: readonly K[]): Record<K, number> {
  const wanted = new Set<string>(names);
  const result = {} as Record<K, number>;
  for (const name of names) result[name] = NaN;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const name = text.slice(start, colon);
      if (wanted.has(name)) {
        let at = colon + 1;
        while (at < end && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
        const digits = at;
        let value = 0;
        for (let code = text.charCodeAt(at); at < end && code >= 48 && code <= 57; code = text.charCodeAt(++at)) {
          value = value * 10 + (code - 48);
        }
        if (at > digits) {
          while (at < end && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
          const kilobytes = text.charCodeAt(at) === 107 && text.charCodeAt(at + 1) === 66; // "kB"
          result[name as K] = value * (kilobytes ? 1024 : 1);
        }
      }
    }
    start = end + 1;
  }
  return result;
}

export function parseStatus(text: string): Status {
  return parseKbFields(text, STATUS_FIELDS);
}

export function parseSmapsRollup(text: string): SmapsRollup {
  const rollup = parseKbFields(text, SMAPS_ROLLUP_FIELDS) as SmapsRollup;
  rollup.USS = rollup.Private_Clean + rollup.Private_Dirty;
  return rollup;
}

export function readStatusOfPid(pid: number): Status {
  return parseStatus(readProcText(pid, 'status'));
}

export function readSmapsRollupOfPid(pid: number): SmapsRollup {
  return parseSmapsRollup(readProcText(pid, 'smaps_rollup'));
}

/**
 * A /proc file kept open and read again from the start at each call (pread): no open
 * and close per reading, and once the process is gone every read fails (ESRCH), even
 * if its pid has been given to another process since.
 */
export class ProcFile {
  readonly #fd: number;
  readonly #pid: number;
  readonly #file: string;

  constructor(pid: number, file: string) {
    this.#pid = pid;
    this.#file = file;
    try {
      this.#fd = openSync(procPath(pid, file), 'r');
    } catch (error) {
      throw procError(error, 'open', pid, file);
    }
  }

  text(): string {
    try {
      return readAll(this.#fd, true);
    } catch (error) {
      throw procError(error, 'read', this.#pid, this.#file);
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Writes 5 to /proc/<pid>/clear_refs: VmHWM restarts from the current RSS. */
export function resetPeakRssOfPid(pid: number): void {
  try {
    writeFileSync(procPath(pid, 'clear_refs'), '5');
  } catch (error) {
    throw procError(error, 'write', pid, 'clear_refs');
  }
}
