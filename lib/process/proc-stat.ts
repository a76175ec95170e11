/**
 * /proc/<pid>/stat (scheduling and CPU time), and the two system constants its
 * numbers need: clock ticks per second and the page size. Plain fs, no addon.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

import { readProcText } from './proc-files.js';

/**
 * Clock ticks per second of the times in /proc/<pid>/stat. The kernel exports them
 * in USER_HZ, which is 100 on every architecture Linux runs Node on (sysconf(_SC_CLK_TCK)).
 */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  pid: number;
  /** R, S, D, T, Z, … (proc(5)). */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** CPU time in clock ticks: the process's own, user and system. */
  utime: number;
  stime: number;
  /** CPU time of the children it has waited for (and theirs), in clock ticks. */
  cutime: number;
  cstime: number;
  threads: number;
  /** When the process started, in clock ticks after boot: with the pid, it names one process for good. */
  starttime: number;
}

/** Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const number = (index: number) => Number(fields[index]);
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    state: fields[0] ?? '?',
    ppid: number(1),
    pgrp: number(2),
    session: number(3),
    utime: number(11),
    stime: number(12),
    cutime: number(13),
    cstime: number(14),
    threads: number(17),
    starttime: number(19),
  };
}

/** /proc/<pid>/stat parsed (0: this process); a failure is a typed error (ENOENT when the process is gone). */
export function readProcStat(pid: number): ProcStat {
  return parseProcStat(readProcText(pid, 'stat'));
}

const AT_PAGESZ = 6;
let pageSize: number | undefined;

/**
 * The system's page size from this process's auxiliary vector (AT_PAGESZ), which
 * the kernel hands every process: /proc/<pid>/statm counts in these pages.
 */
export function systemPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  const auxv = readFileSync('/proc/self/auxv');
  const little = endianness() === 'LE';
  // 64-bit entries (a_type, a_val) on the 64-bit platforms malloc-lab supports.
  for (let at = 0; at + 16 <= auxv.length; at += 16) {
    const type = little ? auxv.readBigUInt64LE(at) : auxv.readBigUInt64BE(at);
    if (type === 0n) break;
    if (type === BigInt(AT_PAGESZ)) {
      pageSize = Number(little ? auxv.readBigUInt64LE(at + 8) : auxv.readBigUInt64BE(at + 8));
      return pageSize;
    }
  }
  pageSize = 4096;
  return pageSize;
}
