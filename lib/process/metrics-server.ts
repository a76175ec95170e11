/**
 * The Prometheus endpoint for another process, or for every process a fleet
 * collector matches (what `malloc-lab export` serves): one scrape reads /proc (no
 * addon) and renders the text exposition; the server answers GET /metrics on the
 * host and port given (the command binds to loopback unless told otherwise).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { PROMETHEUS_CONTENT_TYPE, collectProcfsMetrics, renderPrometheusText } from './metrics.js';
import { isGone } from './target.js';

/**
 * One scrape: collectProcessMetrics + renderPrometheusText with a pid label, and
 * what could not be read (smaps_rollup of another user's process) as # comments.
 */
export function scrape(pid: number): { text: string; problems: string[] } {
  const values = collectProcfsMetrics(pid);
  const comments = values.problems.map((problem) => `# malloc-lab: ${problem.replace(/\n/g, ' ')}\n`).join('');
  return { text: comments + renderPrometheusText(values, { labels: { pid: String(pid) } }), problems: values.problems };
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

/** What a server serves: one pid (scrape(pid)), or a description and a collect function (a fleet). */
export type MetricsSource = number | { describe: string; collect: Collect };

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
  source: MetricsSource,
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
        error.code ?? ErrorCodes.LISTEN_FAILED,
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
