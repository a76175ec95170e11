/**
 * `malloc-lab export --pid <pid|name> | --match <name|/regex/> --port N [--host 127.0.0.1]`:
 * serves the Prometheus text exposition of another process's memory (or of every
 * matching process, with the explain classes and agent figures: process/fleet.ts)
 * at http://HOST:PORT/metrics (node:http), bound to loopback unless --host says
 * otherwise. The first line on stdout is that URL (with the real port, so
 * `--port 0` lets the system choose one); notes go to stderr. It stops on
 * SIGINT/SIGTERM, or (--pid) by itself when the watched process exits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

import { MallocLabError } from '../infra/errors.js';
import { FleetCollector } from '../process/fleet.js';
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

/** What a scrape serves: the text, and what could not be read. */
export type Collect = () => { text: string; problems: string[] } | Promise<{ text: string; problems: string[] }>;

function handler(what: string, collect: Collect, onProblem: (problem: string) => void) {
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
      send(200, `malloc-lab export: the memory of ${what}\nmetrics: /metrics\n`);
      return;
    }
    if (path !== '/metrics') {
      send(404, 'not found: metrics are at /metrics\n');
      return;
    }
    void (async () => {
      let body: string;
      try {
        const result = await collect();
        body = result.text;
        for (const problem of result.problems) onProblem(problem);
      } catch (error) {
        if (isGone(error)) {
          send(503, `no process: ${(error as Error).message}\n`);
        } else {
          send(500, `${(error as Error).message}\n`);
        }
        return;
      }
      send(200, body, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
    })();
  };
}

/** Starts the server; resolves once it listens (port 0: the port the system chose is in .port). */
export function serveMetrics(
  source: number | { describe: string; collect: Collect },
  options: { port: number; host?: string; onProblem?: (problem: string) => void },
): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const { describe, collect } =
    typeof source === 'number' ? { describe: `pid ${source}`, collect: () => scrape(source) } : source;
  const server = createServer(handler(describe, collect, options.onProblem ?? (() => {})));
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
  const pid = resolveProcess(command.target!, 'export');
  if (pid === process.pid) throw usageError('that is this CLI process; give another pid');
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
  source: Parameters<typeof serveMetrics>[0],
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
