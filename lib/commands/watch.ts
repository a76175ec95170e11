/**
 * `malloc-lab watch <pid|name> [--interval ms] [--duration s] [--peaks] [--json] [--svg FILE]`:
 * samples /proc/<pid>/status every interval, like `top -p`, until the process
 * exits, --duration passes, or Ctrl-C. On a terminal one line is redrawn in place
 * (numbers and a sparkline of VmRSS); otherwise one plain line per sample.
 * --json prints the whole series at the end; --svg writes a line chart.
 *
 * --peaks writes 5 to /proc/<pid>/clear_refs before the first sample and after
 * each one, so each sample's VmHWM is the peak resident set since the previous
 * sample — spikes shorter than the interval still show. Without it VmHWM is the
 * peak since the process started (or since someone else last reset it).
 */
import { writeFileSync } from 'node:fs';

import { commandLine, identify } from '../process/target.js';
import { watchProcess, type WatchResult } from '../process/watch.js';
import { liveLine } from '../report/sparkline.js';
import { renderWatchSvg } from '../report/watch-svg.js';
import { plainLine, summarizeWatch } from '../report/watch-text.js';
import { eachArgument, targetProcess, usageError as usageErrorOf } from './arguments.js';
import type { Output } from './output.js';

const usageError = (message: string) => usageErrorOf('watch', message);

export interface WatchCommand {
  target: string;
  intervalMs: number;
  durationMs?: number;
  peaks: boolean;
  json: boolean;
  svg?: string;
}

export function parseWatchArguments(argv: string[]): WatchCommand {
  const positional: string[] = [];
  const command: Partial<WatchCommand> & { intervalMs: number; peaks: boolean; json: boolean } = {
    intervalMs: 1000,
    peaks: false,
    json: false,
  };
  eachArgument('watch', argv, (token, next) => {
    switch (token) {
      case '--interval': {
        const text = next();
        const value = Number(text);
        if (!/^\d+$/.test(text) || value < 10 || value > 3_600_000) {
          throw usageError(
            `--interval is in milliseconds, an integer from 10 to 3600000, received ${JSON.stringify(text)}`,
          );
        }
        command.intervalMs = value;
        break;
      }
      case '--duration': {
        const text = next();
        const value = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) {
          throw usageError(`--duration is in seconds, a positive number, received ${JSON.stringify(text)}`);
        }
        command.durationMs = value * 1000;
        break;
      }
      case '--svg':
        command.svg = next();
        break;
      case '--json':
        command.json = true;
        break;
      case '--peaks':
        command.peaks = true;
        break;
      default:
        if (token.startsWith('-')) throw usageError(`unknown option ${token}`);
        positional.push(token);
    }
  });
  if (positional.length !== 1) {
    throw usageError(
      positional.length === 0
        ? 'give the pid or name of the process to watch'
        : `takes one process, received ${positional.join(' ')}`,
    );
  }
  return { ...command, target: positional[0]! };
}

export async function watchCommand(argv: string[], out: Output): Promise<number> {
  const { print, warn } = out;
  const command = parseWatchArguments(argv);
  const pid = targetProcess('watch', command.target);

  // Live display: stdout when it carries nothing else and is a terminal; stderr's terminal under --json.
  const live = command.json
    ? process.stderr.isTTY
      ? process.stderr
      : null
    : process.stdout.isTTY
      ? process.stdout
      : null;
  const history: number[] = [];
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let result: WatchResult;
  try {
    if (!command.json) {
      const identity = identify(pid);
      print(
        `watching pid ${pid} (${commandLine(identity, 80)}) every ${command.intervalMs} ms${command.durationMs !== undefined ? ` for ${command.durationMs / 1000} s` : ''}${command.peaks ? ', VmHWM reset at each sample' : ''}; Ctrl-C stops`,
      );
    }
    result = await watchProcess(pid, {
      intervalMs: command.intervalMs,
      ...(command.durationMs !== undefined ? { durationMs: command.durationMs } : {}),
      peaks: command.peaks,
      signal: controller.signal,
      onWarning: (message) => {
        if (live) live.write('\r\x1b[K');
        warn(message);
      },
      onSample: (sample, so) => {
        history.push(sample.VmRSS);
        if (live) {
          const line = liveLine(
            {
              pid,
              seconds: sample.t / 1000,
              rss: sample.VmRSS,
              rssAnon: sample.RssAnon,
              history,
              ...(so.peaks ? { peak: sample.VmHWM } : {}),
            },
            out.width ?? (live.columns || 80),
          );
          live.write(`\r\x1b[K${line}`);
        } else if (!command.json) {
          print(plainLine(sample, so.peaks));
        }
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (live) live.write('\n');
  }

  if (command.svg !== undefined) writeFileSync(command.svg, renderWatchSvg(result));
  const summary = summarizeWatch(result);
  if (command.json) {
    out.data(JSON.stringify(result, null, 2));
    for (const line of summary) warn(`watch: ${line}`);
  } else {
    for (const line of summary) print(line);
  }
  if (command.svg !== undefined) (command.json ? warn : print)(`${command.json ? 'watch: ' : ''}wrote ${command.svg}`);
  return 0;
}
