/**
 * `malloc-lab status <pid|name> [--json]`: one snapshot of another process —
 * /proc/<pid>/status (approximate counters) and /proc/<pid>/smaps_rollup (exact
 * Rss, Pss, USS). A snapshot of the CLI itself would only describe the CLI, so
 * the command requires a target; `statusReport()` (no pid, or this process's
 * pid) is the programmatic way to get the same report for the calling process,
 * and then it adds mallinfo2 and the arena census, which only the process itself
 * can read. Needs no addon.
 */
import { processStatusReport, renderStatusReport } from '../process/status.js';
import { targetProcess, usageError as usageErrorOf } from './arguments.js';
import type { Output } from './output.js';

const usageError = (message: string) => usageErrorOf('status', message);

export function statusCommand(argv: string[], out: Output): number {
  let json = false;
  const positional: string[] = [];
  for (const token of argv) {
    if (token === '--json') json = true;
    else if (token.startsWith('-')) throw usageError(`unknown option ${token} (status takes <pid|name> [--json])`);
    else positional.push(token);
  }
  if (positional.length === 0) {
    throw usageError(
      'give the pid or name of the process to look at (a snapshot of the CLI itself would only describe the CLI; ' +
        'for your own process call statusReport() from malloc-lab, which adds mallinfo2 and the arenas)',
    );
  }
  if (positional.length > 1)
    throw usageError(`takes one process, received ${positional.length}: ${positional.join(' ')}`);
  const pid = targetProcess('status', positional[0]!);
  const report = processStatusReport(pid, 'status');
  if (json) {
    out.data(JSON.stringify(report, null, 2));
  } else {
    out.print(renderStatusReport(report, { width: out.width }));
  }
  // Text output says it in place; JSON carries it in smapsRollupError, and a person running it sees this.
  if (json && report.smapsRollupError !== null)
    out.warn(`status: smaps_rollup not read: ${report.smapsRollupError.message}`);
  return 0;
}
