/**
 * `malloc-lab export --pid <pid|name> --port N [--host 127.0.0.1]`: serves the
 * Prometheus text exposition of another process's memory at
 * http://HOST:PORT/metrics (node:http), bound to loopback unless --host says
 * otherwise. The first line on stdout is that URL (with the real port, so
 * `--port 0` lets the system choose one); notes go to stderr. It stops on
 * SIGINT/SIGTERM, or by itself when the watched process exits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

import { MallocLabError } from '../infra/errors.js';
import { PROMETHEUS_CONTENT_TYPE, collectProcfsMetrics, renderPrometheusText } from '../process/metrics.js';
import { readStatusOfPid } from '../process/proc-files.js';
import { commandLine, hasAddressSpace, identify, isGone, readStatusOf, resolveProcess } from '../process/target.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';

/**
 * One scrape: collectProcessMetrics + renderPrometheusText with a pid label, and
 * what could not be read (smaps_rollup of another user's process) as # comments.
 */
export function scrape(pid: number): { text: string; problems: string[] } {
  const values = collectProcfsMetrics(pid);
  const comments = values.problems.map((problem) => `# malloc-lab: ${problem.replace(/\n/g, ' ')}\n`).join('');
  return { text: comments + renderPrometheusText(values, { labels: { pid: String(pid) } }), problems: values.problems };
}

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

/** The URL a client uses for host:port (IPv6 literals in brackets). */
export function metricsUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/metrics`;
}

export interface MetricsServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

function handler(pid: number, onProblem: (problem: string) => void) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (code: number, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(code, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
        ...headers,
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/') {
      send(200, `malloc-lab export: the memory of pid ${pid}\nmetrics: /metrics\n`);
      return;
    }
    if (path !== '/metrics') {
      send(404, 'not found: metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      const result = scrape(pid);
      body = result.text;
      for (const problem of result.problems) onProblem(problem);
    } catch (error) {
      if (isGone(error)) {
        send(503, `no process with pid ${pid} (it exited)\n`);
      } else {
        send(500, `${(error as Error).message}\n`);
      }
      return;
    }
    send(200, body, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
  };
}

/** Starts the server; resolves once it listens (port 0: the port the system chose is in .port). */
export function serveMetrics(
  pid: number,
  options: { port: number; host?: string; onProblem?: (problem: string) => void },
): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(handler(pid, options.onProblem ?? (() => {})));
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the port is in use'
          : error.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
              ? 'no such address on this machine'
              : error.message;
      const failure = new MallocLabError(
        `export: cannot listen on ${host}:${options.port}: ${why}`,
        error.code ?? 'ERR_LISTEN',
      );
      reject(failure);
    });
    server.listen(options.port, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolve({
        server,
        port,
        url: metricsUrl(host, port),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export async function exportCommand(
  argv: string[],
  print: (line: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  const command = parseExportArguments(argv);
  const pid = resolveProcess(command.target, 'export');
  if (pid === process.pid) throw usageError('that is this CLI process; give another pid');
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
