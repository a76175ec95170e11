/**
 * The threads of a process and where each one's stack pointer is: /proc/<pid>/task/
 * lists them, and task/<tid>/syscall ends with the stack and instruction pointers
 * of a thread blocked in the kernel (it needs the same access as /proc/<pid>/mem;
 * a thread running on a CPU just then says "running"). A stack pointer inside a
 * mapping is the evidence that the mapping is that thread's stack.
 */
import { readFileSync, readdirSync } from 'node:fs';

import { procError, procPath } from '../proc-files.js';

export interface ThreadInfo {
  tid: number;
  /** task/<tid>/comm (threads often carry their role: "V8 Worker", "libuv-worker", …). */
  comm: string;
  /** The stack pointer while blocked in the kernel; null when running, or not readable. */
  stackPointer: number | null;
  /** Why stackPointer is null. */
  unknownBecause?: 'running' | 'permission-denied' | 'gone' | 'unreadable';
}

export interface ThreadList {
  threads: ThreadInfo[];
  /** Set when task/<tid>/syscall could not be read for permission reasons. */
  syscallDenied: boolean;
}

/** The last-but-one field of task/<tid>/syscall ("nr a1 … a6 sp pc", or "-1 sp pc"). */
export function stackPointerOf(syscallText: string): number | null | 'running' {
  const text = syscallText.trim();
  if (text === 'running') return 'running';
  const fields = text.split(' ');
  if (fields.length !== 9 && fields.length !== 3) return null;
  const sp = fields[fields.length - 2]!;
  if (!/^0x[0-9a-f]+$/.test(sp)) return null;
  const value = Number.parseInt(sp.slice(2), 16);
  return Number.isSafeInteger(value) ? value : null;
}

/** The threads of pid; throws the typed error when the process is gone. */
export function listThreads(pid: number): ThreadList {
  let tids: number[];
  try {
    tids = readdirSync(procPath(pid, 'task'))
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  } catch (error) {
    throw procError(error, 'readdir', pid, 'task');
  }
  let syscallDenied = false;
  const threads = tids.map((tid): ThreadInfo => {
    let comm = '';
    try {
      comm = readFileSync(procPath(pid, `task/${tid}/comm`), 'latin1').replace(/\n$/, '');
    } catch {
      return { tid, comm, stackPointer: null, unknownBecause: 'gone' };
    }
    try {
      const sp = stackPointerOf(readFileSync(procPath(pid, `task/${tid}/syscall`), 'latin1'));
      if (sp === 'running') return { tid, comm, stackPointer: null, unknownBecause: 'running' };
      return sp === null
        ? { tid, comm, stackPointer: null, unknownBecause: 'unreadable' }
        : { tid, comm, stackPointer: sp };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        syscallDenied = true;
        return { tid, comm, stackPointer: null, unknownBecause: 'permission-denied' };
      }
      return { tid, comm, stackPointer: null, unknownBecause: code === 'ENOENT' ? 'gone' : 'unreadable' };
    }
  });
  return { threads, syscallDenied };
}
