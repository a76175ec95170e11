// malloc-lab/prometheus: gauges in a real prom-client Registry served over loopback
// HTTP and scraped with fetch, checked against /proc and mallinfo2 as the numbers
// move; and the prom-client-free path (collectProcessMetrics + renderPrometheusText)
// for another process.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import client from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';

import { allocBatch, arenaCensus, free, malloc, mallinfo2, status, touch } from '../lib/index.js';
import {
  collectProcessMetrics,
  PROMETHEUS_CONTENT_TYPE,
  registerMallocLabMetrics,
  renderPrometheusText,
  type MetricSample,
} from '../lib/integrations/prometheus.js';
import { KiB, MiB, thrown } from './helpers.js';
import type { AddressInfo } from 'node:net';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Scrape {
  contentType: string | null;
  text: string;
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Map<string, { labels: string; value: number }>;
}

/** A strict reader of the text format: every line a HELP, a TYPE or `name{labels} value`. */
function parse(text: string, contentType: string | null = null): Scrape {
  const scrape: Scrape = { contentType, text, help: new Map(), type: new Map(), samples: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let match: RegExpExecArray | null;
    if ((match = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) scrape.help.set(match[1]!, match[2]!);
    else if ((match = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line)))
      scrape.type.set(match[1]!, match[2]!);
    else if (
      (match =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (NaN|[+-]Inf|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(
          line,
        ))
    ) {
      scrape.samples.set(match[1]!, { labels: match[2] ?? '', value: Number(match[3]) });
    } else throw new Error(`not a line of the text exposition format: ${JSON.stringify(line)}`);
  }
  return scrape;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Serves body() at http://127.0.0.1:<port>/metrics and returns a scrape function. */
async function serve(body: () => Promise<string> | string, contentType: string): Promise<() => Promise<Scrape>> {
  const server = createServer((request, response) => {
    Promise.resolve()
      .then(body)
      .then(
        (text) => {
          response.writeHead(200, { 'Content-Type': contentType });
          response.end(text);
        },
        (error: Error) => {
          response.writeHead(500);
          response.end(error.message);
        },
      );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  return async () => {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    return parse(await response.text(), response.headers.get('content-type'));
  };
}

const PROCESS_NAMES = [
  'malloclab_process_resident_bytes',
  'malloclab_process_resident_anon_bytes',
  'malloclab_process_resident_file_bytes',
  'malloclab_process_resident_shmem_bytes',
  'malloclab_process_resident_peak_bytes',
  'malloclab_process_virtual_bytes',
  'malloclab_process_virtual_peak_bytes',
  'malloclab_process_data_bytes',
  'malloclab_process_swap_bytes',
  'malloclab_process_page_tables_bytes',
  'malloclab_process_threads',
];
const SMAPS_NAMES = [
  'malloclab_smaps_rss_bytes',
  'malloclab_smaps_pss_bytes',
  'malloclab_smaps_pss_anon_bytes',
  'malloclab_smaps_uss_bytes',
  'malloclab_smaps_anonymous_bytes',
  'malloclab_smaps_anon_huge_pages_bytes',
  'malloclab_smaps_swap_bytes',
];
const GLIBC_NAMES = [
  'malloclab_glibc_heap_in_use_bytes',
  'malloclab_glibc_heap_free_bytes',
  'malloclab_glibc_heap_system_bytes',
  'malloclab_glibc_releasable_bytes',
  'malloclab_glibc_mmap_bytes',
  'malloclab_glibc_mmap_chunks',
  'malloclab_glibc_free_chunks',
  'malloclab_glibc_fastbin_free_bytes',
  'malloclab_glibc_arenas',
];

describe('registerMallocLabMetrics with prom-client', () => {
  it('serves every metric with HELP and TYPE, with values that agree with /proc and mallinfo2', async () => {
    const registry = new client.Registry();
    const registered = registerMallocLabMetrics(client, { registry });
    expect(registered.names).toEqual([...PROCESS_NAMES, ...SMAPS_NAMES, ...GLIBC_NAMES]);
    const scrape = await serve(() => registry.metrics(), registry.contentType);

    const truthBefore = status();
    const infoBefore = mallinfo2();
    const first = await scrape();
    const truthAfter = status();
    expect(first.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    for (const name of registered.names) {
      expect(first.help.get(name), `HELP ${name}`).toMatch(/\S/);
      expect(first.type.get(name), `TYPE ${name}`).toBe('gauge');
      expect(first.samples.get(name)?.labels, `sample ${name}`).toBe('');
    }
    const value = (scrape: Scrape, name: string) => scrape.samples.get(name)!.value;
    const near = (actual: number, low: number, high: number, slack: number) => {
      expect(actual).toBeGreaterThanOrEqual(Math.min(low, high) - slack);
      expect(actual).toBeLessThanOrEqual(Math.max(low, high) + slack);
    };
    near(value(first, 'malloclab_process_resident_bytes'), truthBefore.VmRSS, truthAfter.VmRSS, 4 * MiB);
    near(value(first, 'malloclab_process_resident_anon_bytes'), truthBefore.RssAnon, truthAfter.RssAnon, 4 * MiB);
    near(value(first, 'malloclab_process_virtual_bytes'), truthBefore.VmSize, truthAfter.VmSize, 16 * MiB);
    near(value(first, 'malloclab_smaps_rss_bytes'), truthBefore.VmRSS, truthAfter.VmRSS, 4 * MiB);
    expect(value(first, 'malloclab_smaps_pss_bytes')).toBeLessThanOrEqual(value(first, 'malloclab_smaps_rss_bytes'));
    expect(value(first, 'malloclab_process_threads')).toBe(truthAfter.Threads);
    near(value(first, 'malloclab_glibc_heap_in_use_bytes'), infoBefore.uordblks, mallinfo2().uordblks, 4 * MiB);
    expect(value(first, 'malloclab_glibc_arenas')).toBe(arenaCensus().count);

    // Move the numbers: 32 MiB of heap blocks and one mapped 64 MiB block.
    const heap = allocBatch({ count: 512, size: 64 * KiB, fill: 1 });
    const mapped = malloc(64 * MiB);
    touch(mapped);
    try {
      const second = await scrape();
      const rise = (name: string) => value(second, name) - value(first, name);
      expect(rise('malloclab_process_resident_anon_bytes')).toBeGreaterThanOrEqual(0.9 * 96 * MiB);
      expect(rise('malloclab_smaps_uss_bytes')).toBeGreaterThanOrEqual(0.9 * 96 * MiB);
      expect(rise('malloclab_glibc_heap_in_use_bytes')).toBeGreaterThanOrEqual(0.95 * 32 * MiB);
      expect(rise('malloclab_glibc_mmap_bytes')).toBeGreaterThanOrEqual(64 * MiB);
      expect(rise('malloclab_glibc_mmap_chunks')).toBeGreaterThanOrEqual(1);
    } finally {
      free(mapped);
      heap.release();
    }

    registered.unregister();
    expect(await registry.metrics()).not.toMatch(/malloclab_/);
  });

  it('takes constant labels, a prefix, and leaves out what is not asked for', async () => {
    const registry = new client.Registry();
    registerMallocLabMetrics(client, {
      registry,
      labels: { service: 'api "v2"' },
      prefix: 'svc_',
      smapsRollup: false,
      arenas: false,
    });
    const scrape = parse(await registry.metrics());
    expect(scrape.samples.get('svc_process_resident_anon_bytes')!.labels).toBe('{service="api \\"v2\\""}');
    expect(
      [...scrape.samples.keys()].some((name) => name.startsWith('svc_smaps_') || name === 'svc_glibc_arenas'),
    ).toBe(false);
    expect(scrape.samples.has('svc_glibc_heap_free_bytes')).toBe(true);
  });

  it('refuses what is not prom-client, and a bad prefix', () => {
    expect(thrown(() => registerMallocLabMetrics({} as never)).message).toMatch(
      /^registerMallocLabMetrics: client must be the prom-client module/,
    );
    expect(
      thrown(() => registerMallocLabMetrics(client, { registry: new client.Registry(), prefix: '9x' })).message,
    ).toMatch(/options\.prefix must be a metric name prefix/);
  });

  it('works where prom-client cannot be found (an optional peer dependency)', () => {
    // A resolve hook makes prom-client unresolvable in a child, then the module is used there.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier === 'prom-client' || specifier.startsWith('prom-client/')) {
        throw Object.assign(new Error('Cannot find package prom-client'), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      let promClient = 'found';
      try { await import('prom-client'); } catch (error) { promClient = error.code; }
      const { collectProcessMetrics, renderPrometheusText } = await import(${JSON.stringify(join(root, 'dist', 'integrations', 'prometheus.js'))});
      const text = renderPrometheusText(collectProcessMetrics());
      console.log(JSON.stringify({ promClient, lines: text.split('\\n').filter((line) => line.startsWith('malloclab_')).length }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stderr).not.toMatch(/Error/);
    expect(JSON.parse(child.stdout)).toEqual({
      promClient: 'ERR_MODULE_NOT_FOUND',
      lines: PROCESS_NAMES.length + SMAPS_NAMES.length + GLIBC_NAMES.length,
    });
  });
});

describe('collectProcessMetrics + renderPrometheusText, without prom-client', () => {
  it('another process (sleep): status and smaps_rollup, no glibc counters, served as text', async () => {
    const child = spawn('sleep', ['10'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const pid = child.pid!;
      const values = collectProcessMetrics(pid);
      expect(values).toMatchObject({ pid, self: false, problems: [] });
      expect(values.metrics.map((metric) => metric.name)).toEqual([...PROCESS_NAMES, ...SMAPS_NAMES]);

      const scrape = await serve(
        () => renderPrometheusText(collectProcessMetrics(pid), { labels: { pid: String(pid) } }),
        PROMETHEUS_CONTENT_TYPE,
      );
      const scraped = await scrape();
      const truth = status(pid);
      expect(scraped.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(scraped.samples.get('malloclab_process_resident_bytes')).toEqual({
        labels: `{pid="${pid}"}`,
        value: truth.VmRSS,
      });
      expect(scraped.samples.get('malloclab_process_threads')!.value).toBe(1);
      expect(scraped.help.get('malloclab_smaps_pss_bytes')).toMatch(/Proportional set size/);

      expect(collectProcessMetrics(pid, { glibc: true }).problems).toEqual([
        `glibc's counters (mallinfo2, arenas) can only be read inside the process; pid ${pid} is another process`,
      ]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('this process: glibc counters included; the values are those of status and mallinfo2', () => {
    const values = collectProcessMetrics();
    expect(values.self).toBe(true);
    expect(values.pid).toBe(process.pid);
    expect(values.metrics.map((metric) => metric.name)).toEqual([...PROCESS_NAMES, ...SMAPS_NAMES, ...GLIBC_NAMES]);
    const free = values.metrics.find((metric) => metric.name === 'malloclab_glibc_heap_free_bytes')!.value;
    expect(Math.abs(free - mallinfo2().fordblks)).toBeLessThan(4 * MiB);
  });

  it('renders the exposition format exactly: escapes, NaN, infinities; refuses bad label names', () => {
    const metrics: MetricSample[] = [
      { name: 'x_bytes', help: 'back\\slash\nnewline', type: 'gauge', value: 1536 },
      { name: 'y', help: 'missing', type: 'gauge', value: Number.NaN },
      { name: 'z', help: 'big', type: 'gauge', value: Infinity },
    ];
    expect(renderPrometheusText(metrics, { labels: { a: 'q"b\\c\nd' } })).toBe(
      '# HELP x_bytes back\\\\slash\\nnewline\n# TYPE x_bytes gauge\nx_bytes{a="q\\"b\\\\c\\nd"} 1536\n' +
        '# HELP y missing\n# TYPE y gauge\ny{a="q\\"b\\\\c\\nd"} NaN\n' +
        '# HELP z big\n# TYPE z gauge\nz{a="q\\"b\\\\c\\nd"} +Inf\n',
    );
    parse(renderPrometheusText(metrics, { labels: { a: 'q"b\\c\nd' } }));
    expect(thrown(() => renderPrometheusText(metrics, { labels: { 'bad-name': 'x' } })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => renderPrometheusText(metrics, { labels: { __name__: 'x' } })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => renderPrometheusText('metrics' as never)).message).toMatch(
      /^renderPrometheusText: values must be collectProcessMetrics\(\) result or an array of metrics/,
    );
  });

  it('a process that does not exist throws ENOENT (the exporter decides what to serve)', () => {
    expect(thrown(() => collectProcessMetrics(0x7ffffffe))).toMatchObject({ code: 'ENOENT' });
  });
});
