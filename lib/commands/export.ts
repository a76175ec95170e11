/**
 * `malloc-lab export --pid <pid|name> --port N [--host 127.0.0.1]`: serves the
 * Prometheus text exposition of another process's memory at
 * http://HOST:PORT/metrics (node:http), bound to loopback unless --host says
 * otherwise. The first line on stdout is that URL (with the real port, so
 * `--port 0` lets the system choose one); notes go to stderr. It stops on
 * SIGINT/SIGTERM, or by itself when the watched process exits.
 */
import { MallocLabError } from '../infra/errors.js';
import { serveMetrics } from '../process/metrics-server.js';
import { readStatusOfPid } from '../process/proc-files.js';
import { commandLine, hasAddressSpace, identify, isGone, readStatusOf } from '../process/target.js';
import { eachArgument, targetProcess, usageError as usageErrorOf } from './arguments.js';

const usageError = (message: string) => usageErrorOf('export', message);

export interface ExportCommand {
  target: string;
  port: number;
  host: string;
}

export function parseExportArguments(argv: string[]): ExportCommand {
  let target: string | undefined;
  let port: number | undefined;
  let host = '127.0.0.1';
  eachArgument('export', argv, (token, next) => {
    switch (token) {
      case '--pid':
        target = next();
        break;
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
          `unknown argument ${JSON.stringify(token)} (export takes --pid <pid|name> --port N [--host ADDRESS])`,
        );
    }
  });
  if (target === undefined) throw usageError('--pid <pid|name> is required: the process whose memory to serve');
  if (port === undefined) throw usageError('--port N is required (0 picks a free port and prints it)');
  if (host === '') throw usageError('--host must not be empty');
  return { target, port, host };
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
  const pid = targetProcess('export', command.target);
  if (!hasAddressSpace(readStatusOf(pid, 'export'))) {
    throw new MallocLabError(
      `export: pid ${pid} has no address space (a kernel thread, or a zombie): nothing to export`,
      'ESRCH',
    );
  }
  const reported = new Set<string>();
  const served = await serveMetrics(pid, {
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
  warn(`export: serving the memory of pid ${pid} (${commandLine(identify(pid), 80)}) at ${served.url}; Ctrl-C stops`);
  if (!isLoopback(command.host))
    warn(`export: listening on ${command.host}: anyone who can reach it can read these metrics`);

  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (line: string) => {
      if (done) return;
      done = true;
      clearInterval(watchdog);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      warn(line);
      void served.close().then(() => resolve(0));
    };
    const onSignal = (signal: NodeJS.Signals) => finish(`export: ${signal}, stopping`);
    // Stop with the process: its pid may be reused, and metrics of a stranger would mislead.
    const watchdog = setInterval(() => {
      try {
        if (hasAddressSpace(readStatusOfPid(pid))) return;
      } catch (error) {
        if (!isGone(error)) return;
      }
      finish(`export: pid ${pid} exited, stopping`);
    }, 1000);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
