/**
 * statusReport(): the process status report, plus what only the calling process
 * can read about itself (mallinfo2 and the arena census, through the addon).
 */
import { processStatusReport, type StatusReport } from '../process/status.js';
import { arenaCensus } from './arenas.js';
import { mallinfo2 } from './heap.js';

/**
 * A snapshot of a process: status and smaps_rollup; for the calling process
 * (pid omitted, 0 or process.pid) also mallinfo2 and the arena census.
 * A gone pid throws (ENOENT); smaps_rollup that cannot be read (another user's
 * process, a kernel before 4.14, a kernel thread or zombie) leaves smapsRollup
 * null and says why in smapsRollupError.
 */
export function statusReport(pid?: number): StatusReport {
  const report = processStatusReport(pid, 'statusReport');
  if (report.self) {
    report.mallinfo = mallinfo2();
    report.arenas = arenaCensus();
  }
  return report;
}
