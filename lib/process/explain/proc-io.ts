/**
 * Reading a process's /proc files at the kernel's pace: smaps streamed through the
 * parser a chunk at a time, and /proc/<pid>/mem and pagemap read at chosen
 * addresses. Errors are the typed errors of proc-files.ts.
 */
import { closeSync, openSync, readSync } from 'node:fs';

import { procError, procPath } from '../proc-files.js';
import { type Mapping, SmapsParser } from './smaps.js';

const CHUNK = 1 << 20;

export interface SmapsReading {
  mappings: Mapping[];
  /** The base page size (KernelPageSize), 0 when no mapping said. */
  pageSize: number;
}

// One buffer for every read: smaps of a large process is read in a few big reads.
let chunk: Buffer | undefined;

/**
 * /proc/<pid>/smaps, parsed chunk by chunk as it is read (synchronous reads: on a
 * thread-pool thread the same reads cost about twice the CPU, measured). Throws
 * the typed error of the failed open or read.
 */
export function readSmaps(pid: number): SmapsReading {
  let fd: number;
  try {
    fd = openSync(procPath(pid, 'smaps'), 'r');
  } catch (error) {
    throw procError(error, 'open', pid, 'smaps');
  }
  chunk ??= Buffer.allocUnsafe(CHUNK);
  const parser = new SmapsParser();
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, chunk, 0, CHUNK, null);
      } catch (error) {
        throw procError(error, 'read', pid, 'smaps');
      }
      if (got === 0) break;
      parser.push(chunk, got);
    }
    return { mappings: parser.end(), pageSize: parser.pageSize };
  } finally {
    closeSync(fd);
  }
}

/** Reads at addresses in another process's memory (/proc/<pid>/mem): needs ptrace access. */
export class ProcessMemory {
  readonly #fd: number;
  readonly #scratch = Buffer.allocUnsafe(4096);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens /proc/<pid>/mem, or returns the typed error (EACCES for another user's process). */
  static open(pid: number): ProcessMemory | Error {
    try {
      return new ProcessMemory(openSync(procPath(pid, 'mem'), 'r'));
    } catch (error) {
      return procError(error, 'open', pid, 'mem');
    }
  }

  /** length bytes at address, or null where nothing is mapped (EIO) or the read comes up short. */
  bytes(address: number, length: number): Buffer | null {
    const target = length <= this.#scratch.length ? this.#scratch : Buffer.allocUnsafe(length);
    try {
      const got = readSync(this.#fd, target, 0, length, BigInt(address));
      return got === length ? target.subarray(0, length) : null;
    } catch {
      return null;
    }
  }

  /** count 64-bit words at address (little-endian), or null. */
  words(address: number, count: number): number[] | null {
    const bytes = this.bytes(address, count * 8);
    if (bytes === null) return null;
    const words: number[] = [];
    for (let i = 0; i < count; i++) words.push(Number(bytes.readBigUInt64LE(i * 8)));
    return words;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Present pages in [start, end) from /proc/<pid>/pagemap (bit 63 of each page's entry), or the typed error. */
export function residentBytesOf(pid: number, start: number, end: number, pageSize: number): number | Error {
  let fd: number;
  try {
    fd = openSync(procPath(pid, 'pagemap'), 'r');
  } catch (error) {
    return procError(error, 'open', pid, 'pagemap');
  }
  try {
    const pages = Math.floor((end - start) / pageSize);
    const batch = Buffer.allocUnsafe(Math.min(pages, 8192) * 8);
    let present = 0;
    for (let done = 0; done < pages;) {
      const count = Math.min(pages - done, batch.length / 8);
      const position = BigInt((start / pageSize + done) * 8);
      const got = readSync(fd, batch, 0, count * 8, position);
      if (got !== count * 8) return procError({ code: 'EIO' }, 'read', pid, 'pagemap');
      for (let i = 0; i < count; i++) if ((batch[i * 8 + 7]! & 0x80) !== 0) present++;
      done += count;
    }
    return present * pageSize;
  } catch (error) {
    return procError(error, 'read', pid, 'pagemap');
  } finally {
    closeSync(fd);
  }
}
