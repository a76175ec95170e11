/**
 * `malloc-lab export --pid <pid|name> | --match <name|/regex/> --port N [--host 127.0.0.1]`:
 * serves the Prometheus text exposition of another process's memory (or of every
 * matching process, with the explain classes and agent figures: process/fleet.ts)
 * at http://HOST:PORT/metrics (process/metrics-server.ts), bound to loopback unless
 * --host says otherwise. The first line on stdout is that URL (with the real port,
 * so `--port 0` lets the system choose one); notes go to stderr. It stops on
 * SIGINT/SIGTERM, or (--pid) by itself when the watched process exits.
 */
import { MallocLabError } from '../infra/errors.js';
import { FleetCollector } from '../process/fleet.js';
import { type MetricsSource, serveMetrics } from '../process/metrics-server.js';
import { readStatusOfPid } from '../process/proc-files.js';
import { commandLine, hasAddressSpace, identify, isGone, readStatusOf } from '../process/target.js';
import { eachArgument, targetProcess, usageError as usageErrorOf } from './arguments.js';

const usageError = (message: string) => usageErrorOf('export', message);

export interface ExportCommand {
  /** --pid: one process. */
  target?: string;
  /** --match: every process that matches, at each scrape. */
  match?: string;
  port: number;
  host: string;
  /** --classes-every: seconds between refreshes of the explain classes (--match). */
  classesEverySeconds: number;
}

export function parseExportArguments(argv: string[]): ExportCommand {
  let target: string | undefined;
  let match: string | undefined;
  let port: number | undefined;
  let host = '127.0.0.1';
  let classesEverySeconds = 60;
  eachArgument('export', argv, (token, next) => {
    switch (token) {
      case '--pid':
        target = next();
        break;
      case '--match':
        match = next();
        break;
      case '--classes-every': {
        const text = next();
        if (!/^\d+(\.\d+)?$/.test(text) || Number(text) > 86400) {
          throw usageError(`--classes-every must be seconds from 0 to 86400, received ${JSON.stringify(text)}`);
        }
        classesEverySeconds = Number(text);
        break;
      }
      case '--host':
        host = next();
        break;
      case '--port': {
        const text = next();
        const value = Number(text);
        if (!/^\d+$/.test(text) || value > 65535)
          throw usageError(
            `--port must be an integer from 0 to 65535 (0: any free port), received ${JSON.stringify(text)}`,
          );
        port = value;
        break;
      }
      default:
        throw usageError(
          `unknown argument ${JSON.stringify(token)} (export takes --pid <pid|name> or --match <name|/regex/>, --port N [--host ADDRESS] [--classes-every S])`,
        );
    }
  });
  if (target !== undefined && match !== undefined) throw usageError('give --pid or --match, not both');
  if (target === undefined && match === undefined) {
    throw usageError(
      '--pid <pid|name> is required: the process whose memory to serve (or --match <name|/regex/>: every process that matches)',
    );
  }
  if (port === undefined) throw usageError('--port N is required (0 picks a free port and prints it)');
  if (host === '') throw usageError('--host must not be empty');
  return {
    ...(target === undefined ? {} : { target }),
    ...(match === undefined ? {} : { match }),
    port,
    host,
    classesEverySeconds,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function exportCommand(
  argv: string[],
  print: (line: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  const command = parseExportArguments(argv);
  if (command.match !== undefined) {
    const fleet = new FleetCollector(command.match, { classesEveryMs: command.classesEverySeconds * 1000 });
    return serveUntilStopped(
      command,
      { describe: `the processes matching ${command.match}`, collect: () => fleet.scrape() },
      (url) => `serving every process matching ${command.match} (${fleet.matches().length} now) at ${url}`,
      print,
      warn,
    );
  }
  const pid = targetProcess('export', command.target!);
  if (!hasAddressSpace(readStatusOf(pid, 'export'))) {
    throw new MallocLabError(
      `export: pid ${pid} has no address space (a kernel thread, or a zombie): nothing to export`,
      'ESRCH',
    );
  }
  // Stop with the process: its pid may be reused, and metrics of a stranger would mislead.
  const exited = () => {
    try {
      if (hasAddressSpace(readStatusOfPid(pid))) return null;
    } catch (error) {
      if (!isGone(error)) return null;
    }
    return `export: pid ${pid} exited, stopping`;
  };
  return serveUntilStopped(
    command,
    pid,
    (url) => `serving the memory of pid ${pid} (${commandLine(identify(pid), 80)}) at ${url}`,
    print,
    warn,
    exited,
  );
}

/**
 * Serves until SIGINT or SIGTERM (or until `stopWhen`, checked every second, gives
 * a reason): the URL on stdout, notes on stderr, each unreadable figure said once.
 */
async function serveUntilStopped(
  command: ExportCommand,
  source: MetricsSource,
  banner: (url: string) => string,
  print: (line: string) => void,
  warn: (line: string) => void,
  stopWhen?: () => string | null,
): Promise<number> {
  const reported = new Set<string>();
  const served = await serveMetrics(source, {
    port: command.port,
    host: command.host,
    // Once each: every scrape would repeat it.
    onProblem: (problem) => {
      if (reported.has(problem)) return;
      reported.add(problem);
      warn(`export: ${problem} (left out of /metrics)`);
    },
  });
  print(served.url);
  warn(`export: ${banner(served.url)}; Ctrl-C stops`);
  if (!isLoopback(command.host))
    warn(`export: listening on ${command.host}: anyone who can reach it can read these metrics`);

  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (line: string) => {
      if (done) return;
      done = true;
      if (watchdog !== undefined) clearInterval(watchdog);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      warn(line);
      void served.close().then(() => resolve(0));
    };
    const onSignal = (signal: NodeJS.Signals) => finish(`export: ${signal}, stopping`);
    const watchdog =
      stopWhen === undefined
        ? undefined
        : setInterval(() => {
            const reason = stopWhen();
            if (reason !== null) finish(reason);
          }, 1000);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
