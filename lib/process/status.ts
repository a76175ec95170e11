/**
 * A status report of a process: /proc/<pid>/status (approximate counters) and
 * /proc/<pid>/smaps_rollup (exact Rss, Pss, USS), read with plain fs calls, so it
 * needs no addon. mallinfo2 and the arena census only the process itself can read:
 * the package's statusReport() (bridge/status-report.ts) adds them for the caller.
 */
import { existsSync } from 'node:fs';

import type { ArenaCensus } from '../bridge/arenas.js';
import type { Mallinfo2 } from '../bridge/heap.js';
import { MallocLabError } from '../infra/errors.js';
import { formatBytes } from '../infra/units.js';
import * as check from '../infra/validate.js';
import { renderTable } from '../report/table.js';
import { fitText } from '../report/terminal.js';
import { type SmapsRollup, type Status, readSmapsRollupOfPid } from './proc-files.js';
import { commandLine, hasAddressSpace, identify, isGone, readStatusOf } from './target.js';

// ---------------------------------------------------------------------------
// The report.

export type SmapsRollupProblem = 'permission-denied' | 'not-supported' | 'no-address-space';

export interface StatusReport {
  pid: number;
  /** True when pid is the calling process: then mallinfo and arenas are filled in. */
  self: boolean;
  comm: string | null;
  cmdline: string[] | null;
  /** ISO 8601 time of the reading. */
  takenAt: string;
  /** /proc/<pid>/status in bytes (Threads is a count); NaN (null in JSON) where the kernel prints no such line. */
  status: Status;
  /** /proc/<pid>/smaps_rollup in bytes, USS = Private_Clean + Private_Dirty; null when it could not be read. */
  smapsRollup: SmapsRollup | null;
  /** Why smapsRollup is null. */
  smapsRollupError: { code: string; reason: SmapsRollupProblem; message: string } | null;
  /** mallinfo2() — only for the calling process (no process can read another's). */
  mallinfo: Mallinfo2 | null;
  /** arenaCensus() — only for the calling process. */
  arenas: ArenaCensus | null;
}

const KERNEL_HAS_SMAPS_ROLLUP = existsSync('/proc/self/smaps_rollup');

/**
 * A snapshot of a process: status and smaps_rollup (mallinfo and arenas stay null:
 * see bridge/status-report.ts for the calling process).
 * A gone pid throws (ENOENT); smaps_rollup that cannot be read (another user's
 * process, a kernel before 4.14, a kernel thread or zombie) leaves smapsRollup
 * null and says why in smapsRollupError.
 */
export function processStatusReport(pid?: number, fn = 'statusReport'): StatusReport {
  const checked = check.pid(pid, fn);
  const self = checked === 0 || checked === process.pid;
  const target = self ? process.pid : checked;
  const identity = identify(target);
  const report: StatusReport = {
    pid: target,
    self,
    comm: identity?.comm ?? null,
    cmdline: identity?.cmdline ?? null,
    takenAt: new Date().toISOString(),
    status: readStatusOf(self ? 0 : target, 'status'),
    smapsRollup: null,
    smapsRollupError: null,
    mallinfo: null,
    arenas: null,
  };
  if (!hasAddressSpace(report.status)) {
    report.smapsRollupError = {
      code: 'ESRCH',
      reason: 'no-address-space',
      message: `pid ${target} has no address space (a kernel thread, or a zombie that exited and was not reaped yet): nothing to measure`,
    };
  } else if (!KERNEL_HAS_SMAPS_ROLLUP) {
    report.smapsRollupError = {
      code: 'ENOENT',
      reason: 'not-supported',
      message: 'this kernel has no /proc/<pid>/smaps_rollup (it arrived in Linux 4.14): status only',
    };
  } else {
    try {
      report.smapsRollup = readSmapsRollupOfPid(self ? 0 : target);
    } catch (error) {
      if (!(error instanceof MallocLabError)) throw error;
      if (error.code === 'EACCES' || error.code === 'EPERM') {
        report.smapsRollupError = {
          code: error.code,
          reason: 'permission-denied',
          message:
            `permission denied reading /proc/${target}/smaps_rollup: it needs ptrace access to the process ` +
            '(run as its owner, or as root / with CAP_SYS_PTRACE); status is readable by anyone',
        };
      } else if (isGone(error)) {
        // Gone between the two reads, or it lost its address space (exit in progress).
        if (hasAddressSpace(readStatusOf(target, 'status'))) throw error;
        report.smapsRollupError = {
          code: error.code,
          reason: 'no-address-space',
          message: `pid ${target} is exiting: it has no address space any more`,
        };
      } else {
        throw error;
      }
    }
  }
  return report;
}

// ---------------------------------------------------------------------------
// Text.

const STATUS_ROWS: [keyof Status, string][] = [
  ['VmRSS', 'resident set (RssAnon + RssFile + RssShmem)'],
  ['RssAnon', 'anonymous resident: heap, stacks, mmap’d blocks'],
  ['RssFile', 'file-backed resident: code, mapped files'],
  ['RssShmem', 'shared memory resident'],
  ['VmSize', 'address space reserved'],
  ['VmHWM', 'peak resident set (since start or the last clear_refs)'],
  ['VmSwap', 'swapped out'],
  ['Threads', 'threads'],
];

const ROLLUP_ROWS: [keyof SmapsRollup, string][] = [
  ['Rss', 'resident set, exact'],
  ['Pss', 'proportional share: shared pages divided among their users'],
  ['USS', 'private (Private_Clean + Private_Dirty): freed if it exited'],
  ['Anonymous', 'anonymous pages'],
  ['Swap', 'swapped out'],
];

const MALLINFO_ROWS: [keyof Mallinfo2, string][] = [
  ['arena', 'bytes from sbrk and arena heaps'],
  ['hblkhd', 'bytes in mmap’d blocks'],
  ['uordblks', 'in use by the program'],
  ['fordblks', 'free inside the arenas'],
  ['keepcost', 'releasable from the top'],
];

export function renderStatusReport(report: StatusReport, options: { width?: number | undefined } = {}): string {
  const rows = (entries: [string, string, string][]) =>
    renderTable(['field', 'value', 'meaning'], entries, {
      bare: true,
      indent: 2,
      align: ['left', 'right', 'left'],
      width: options.width,
    });
  if (
    report === null ||
    typeof report !== 'object' ||
    typeof report.pid !== 'number' ||
    typeof report.status !== 'object'
  ) {
    throw check.typeError('renderStatusReport', 'report', 'a status report (from statusReport)', report);
  }
  const lines: string[] = [];
  const command =
    report.cmdline === null ? '?' : commandLine({ pid: report.pid, comm: report.comm ?? '?', cmdline: report.cmdline });
  lines.push(`pid ${report.pid}${report.self ? ' (this process)' : ''}  ${command}`);
  lines.push('');
  lines.push(`/proc/${report.pid}/status — approximate (the kernel batches these counters)`);
  lines.push(
    rows(
      STATUS_ROWS.map(([field, note]) => {
        const value = report.status[field];
        return [
          field,
          field === 'Threads' ? (Number.isFinite(value) ? String(value) : 'n/a') : formatBytes(value),
          note,
        ];
      }),
    ),
  );
  lines.push('');
  if (report.smapsRollup !== null) {
    lines.push(`/proc/${report.pid}/smaps_rollup — exact`);
    lines.push(
      rows(
        ROLLUP_ROWS.map(([field, note]) => [
          field === 'USS' ? 'USS' : field,
          formatBytes(report.smapsRollup![field]),
          note,
        ]),
      ),
    );
  } else if (report.smapsRollupError !== null) {
    lines.push(`/proc/${report.pid}/smaps_rollup — not shown: ${report.smapsRollupError.message}`);
  }
  if (report.mallinfo !== null) {
    lines.push('');
    lines.push('mallinfo2() — this process’s glibc heap');
    lines.push(rows(MALLINFO_ROWS.map(([field, note]) => [field, formatBytes(report.mallinfo![field]), note])));
  }
  if (report.arenas !== null) {
    const census = report.arenas;
    lines.push('');
    lines.push(`arenas — ${census.count} (glibc's default cap here: ${census.defaultCap})`);
    lines.push(
      rows(
        census.arenas.map((arena) => [
          arena.main ? 'main' : `#${arena.index}`,
          formatBytes(arena.systemBytes),
          `from the system, ${formatBytes(arena.freeBytes)} free${arena.main ? '' : `, ${arena.heaps} heap${arena.heaps === 1 ? '' : 's'}`}`,
        ]),
      ),
    );
  }
  return fitText(lines.join('\n'), options.width);
}
