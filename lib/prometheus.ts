/**
 * Process memory for Prometheus, under conventional names with units:
 * /proc/<pid>/status and smaps_rollup for any process, glibc's mallinfo2 and arena
 * count for this one. Two ways in:
 * - registerMallocLabMetrics(promClient, { registry }) adds gauges to a prom-client
 *   registry (prom-client is an optional peer dependency: you pass the module, this
 *   file never imports it);
 * - collectProcessMetrics(pid) + renderPrometheusText(values) for a plain
 *   text-exposition server without prom-client (the CLI's `export` uses them).
 */
import { mallinfo2, type Mallinfo2 } from './heap.js';
import { arenaCensus } from './arenas.js';
import { smapsRollup, status, type SmapsRollup, type Status } from './procfs.js';
import * as check from './validate.js';

/** The Content-Type of the text exposition format renderPrometheusText writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricSample {
  /** Full metric name, prefix included: `malloclab_process_resident_anon_bytes`. */
  name: string;
  help: string;
  type: 'gauge';
  /** NaN when this kernel does not report the field. */
  value: number;
}

export interface ProcessMetrics {
  pid: number;
  /** The metrics describe the calling process (glibc's counters are only readable there). */
  self: boolean;
  metrics: MetricSample[];
  /** What could not be read (smaps_rollup of another user's process: EACCES), instead of failing the scrape. */
  problems: string[];
}

export interface CollectOptions {
  /** Metric name prefix (default `malloclab_`). */
  prefix?: string;
  /** Add /proc/<pid>/smaps_rollup (exact Rss, Pss, USS; default true). */
  smapsRollup?: boolean;
  /** Add glibc's mallinfo2 counters (this process only; default true for it). */
  glibc?: boolean;
  /** Add the arena count (this process only; reads malloc_info, default true for it). */
  arenas?: boolean;
}

type Family<K extends string> = [K, string, string][];

const STATUS_METRICS: Family<keyof Status> = [
  ['VmRSS', 'process_resident_bytes', 'Resident set size (VmRSS in /proc/<pid>/status).'],
  ['RssAnon', 'process_resident_anon_bytes', 'Resident anonymous memory: the heap, malloc and mmap (RssAnon).'],
  ['RssFile', 'process_resident_file_bytes', 'Resident file-backed memory: code and mapped files (RssFile).'],
  ['RssShmem', 'process_resident_shmem_bytes', 'Resident shared memory (RssShmem).'],
  ['VmHWM', 'process_resident_peak_bytes', 'Peak resident set size (VmHWM).'],
  ['VmSize', 'process_virtual_bytes', 'Virtual memory size: address space reserved (VmSize).'],
  ['VmPeak', 'process_virtual_peak_bytes', 'Peak virtual memory size (VmPeak).'],
  ['VmData', 'process_data_bytes', 'Private data, heap and anonymous mappings, reserved (VmData).'],
  ['VmSwap', 'process_swap_bytes', 'Anonymous memory swapped out (VmSwap).'],
  ['VmPTE', 'process_page_tables_bytes', 'Page table entries (VmPTE).'],
  ['Threads', 'process_threads', 'Threads in the process (Threads).'],
];

const SMAPS_METRICS: Family<keyof SmapsRollup> = [
  ['Rss', 'smaps_rss_bytes', 'Resident set size, exact (Rss in /proc/<pid>/smaps_rollup).'],
  ['Pss', 'smaps_pss_bytes', 'Proportional set size: shared pages divided among their sharers (Pss).'],
  ['Pss_Anon', 'smaps_pss_anon_bytes', 'Proportional set size of anonymous memory (Pss_Anon).'],
  ['USS', 'smaps_uss_bytes', 'Unique set size: memory freed if the process exited (Private_Clean + Private_Dirty).'],
  ['Anonymous', 'smaps_anonymous_bytes', 'Anonymous resident memory, exact (Anonymous).'],
  ['AnonHugePages', 'smaps_anon_huge_pages_bytes', 'Anonymous memory backed by transparent huge pages (AnonHugePages).'],
  ['Swap', 'smaps_swap_bytes', 'Swapped-out memory (Swap).'],
];

const GLIBC_METRICS: Family<keyof Mallinfo2> = [
  ['uordblks', 'glibc_heap_in_use_bytes', "Bytes allocated and in use in glibc's arenas (mallinfo2 uordblks)."],
  ['fordblks', 'glibc_heap_free_bytes', "Free bytes held in glibc's arenas, not given back (mallinfo2 fordblks)."],
  ['arena', 'glibc_heap_system_bytes', 'Bytes glibc obtained for its arenas: the sbrk heap and the thread arenas (mallinfo2 arena).'],
  ['keepcost', 'glibc_releasable_bytes', "Free bytes at the top of the main heap that trimming releases (mallinfo2 keepcost)."],
  ['hblkhd', 'glibc_mmap_bytes', 'Bytes in chunks glibc mapped with mmap (mallinfo2 hblkhd).'],
  ['hblks', 'glibc_mmap_chunks', 'Chunks glibc mapped with mmap (mallinfo2 hblks).'],
  ['ordblks', 'glibc_free_chunks', "Free chunks in glibc's arenas (mallinfo2 ordblks)."],
  ['fsmblks', 'glibc_fastbin_free_bytes', 'Free bytes in fastbins (mallinfo2 fsmblks).'],
];

const ARENAS_METRIC: [string, string] = ['glibc_arenas', "glibc's malloc arenas: the main one plus one per contended thread, up to the arena cap (malloc_info)."];

function prefixOf(value: unknown, fn: string): string {
  if (value === undefined) return 'malloclab_';
  if (typeof value !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) {
    throw check.typeError(fn, 'options.prefix', 'a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', value);
  }
  return value;
}

/**
 * Memory metrics of a process (pid omitted or 0: this one). status is always read
 * (a process that does not exist throws ENOENT); smaps_rollup problems are reported
 * in `problems`; glibc's counters and the arena count only exist for this process.
 */
export function collectProcessMetrics(pid?: number, options: CollectOptions = {}): ProcessMetrics {
  const target = check.pid(pid, 'collectProcessMetrics');
  const wanted = check.options<CollectOptions>(options, 'collectProcessMetrics');
  const prefix = prefixOf(wanted.prefix, 'collectProcessMetrics');
  const self = target === 0 || target === process.pid;
  const metrics: MetricSample[] = [];
  const problems: string[] = [];
  const add = (name: string, help: string, value: number) => metrics.push({ name: prefix + name, help, type: 'gauge', value });

  const current = status(target);
  for (const [field, name, help] of STATUS_METRICS) add(name, help, current[field]);

  if (wanted.smapsRollup !== false) {
    try {
      const rollup = smapsRollup(target);
      for (const [field, name, help] of SMAPS_METRICS) add(name, help, rollup[field]);
    } catch (error) {
      problems.push(`smaps_rollup of pid ${self ? process.pid : target}: ${(error as Error).message}`);
    }
  }
  if (self) {
    if (wanted.glibc !== false) {
      const info = mallinfo2();
      for (const [field, name, help] of GLIBC_METRICS) add(name, help, info[field]);
    }
    if (wanted.arenas !== false) add(ARENAS_METRIC[0], ARENAS_METRIC[1], arenaCensus().count);
  } else if (wanted.glibc === true || wanted.arenas === true) {
    problems.push(`glibc's counters (mallinfo2, arenas) can only be read inside the process; pid ${target} is another process`);
  }
  return { pid: self ? process.pid : target, self, metrics, problems };
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export interface RenderOptions {
  /** Labels added to every sample, e.g. { pid: '1234', service: 'api' }. */
  labels?: Record<string, string>;
}

/** The Prometheus text exposition format (version 0.0.4): HELP, TYPE and one sample per metric. */
export function renderPrometheusText(values: ProcessMetrics | MetricSample[], options: RenderOptions = {}): string {
  const metrics = Array.isArray(values) ? values : values?.metrics;
  if (!Array.isArray(metrics)) throw check.typeError('renderPrometheusText', 'values', 'collectProcessMetrics() result or an array of metrics', values);
  const { labels = {} } = check.options<RenderOptions>(options, 'renderPrometheusText');
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith('__')) {
      throw check.typeError('renderPrometheusText', `options.labels name ${JSON.stringify(name)}`, 'a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)', name);
    }
    return `${name}="${escapeLabel(String(value))}"`;
  });
  const suffix = pairs.length > 0 ? `{${pairs.join(',')}}` : '';
  let text = '';
  for (const metric of metrics) {
    text += `# HELP ${metric.name} ${escapeHelp(metric.help)}\n`;
    text += `# TYPE ${metric.name} ${metric.type}\n`;
    text += `${metric.name}${suffix} ${formatValue(metric.value)}\n`;
  }
  return text;
}

// The parts of prom-client used here, so this file needs neither its types nor its code.
export interface PromGaugeLike {
  set(value: number): void;
  set(labels: Record<string, string>, value: number): void;
}
export interface PromRegistryLike {
  removeSingleMetric(name: string): void;
}
export interface PromGaugeConfigLike<R extends PromRegistryLike = PromRegistryLike> {
  name: string;
  help: string;
  labelNames?: string[];
  registers?: R[];
  collect?: () => void;
}
/** The prom-client module (typed by what is used of it): `import client from 'prom-client'`. */
export interface PromClientLike<R extends PromRegistryLike = PromRegistryLike> {
  Gauge: new (configuration: PromGaugeConfigLike<R>) => PromGaugeLike;
  register: R;
}

export interface MallocLabMetricsOptions<R extends PromRegistryLike = PromRegistryLike> extends CollectOptions {
  /** The registry to add the gauges to (default the client's global `register`). */
  registry?: R;
  /** The process to describe (default this one). */
  pid?: number;
  /** Constant labels on every sample, e.g. { service: 'api' }. */
  labels?: Record<string, string>;
}

export interface MallocLabMetrics {
  /** The metric names registered. */
  names: string[];
  /** Removes them from the registry. */
  unregister(): void;
}

/**
 * Registers gauges for collectProcessMetrics' values with prom-client; each scrape
 * reads /proc (and mallinfo2) once for all of them.
 *
 *   import client from 'prom-client';
 *   registerMallocLabMetrics(client, { registry: client.register });
 */
export function registerMallocLabMetrics<R extends PromRegistryLike>(
  client: PromClientLike<R>,
  options: MallocLabMetricsOptions<R> = {},
): MallocLabMetrics {
  if (client === null || typeof client !== 'object' || typeof client.Gauge !== 'function') {
    throw check.typeError('registerMallocLabMetrics', 'client', "the prom-client module (import client from 'prom-client')", client);
  }
  const { registry = client.register, pid, labels = {}, ...collect } = check.options<MallocLabMetricsOptions<R>>(options, 'registerMallocLabMetrics');
  const labelNames = Object.keys(labels);
  let cached: Map<string, number> | undefined;
  const read = (): Map<string, number> => {
    if (cached === undefined) {
      cached = new Map(collectProcessMetrics(pid, collect).metrics.map((metric) => [metric.name, metric.value]));
      // One reading per scrape: prom-client calls every gauge's collect in the same turn.
      setImmediate(() => {
        cached = undefined;
      }).unref();
    }
    return cached;
  };
  const names: string[] = [];
  for (const metric of collectProcessMetrics(pid, collect).metrics) {
    const gauge: PromGaugeLike = new client.Gauge({
      name: metric.name,
      help: metric.help,
      labelNames,
      registers: [registry],
      collect: () => {
        const value = read().get(metric.name) ?? Number.NaN;
        if (labelNames.length > 0) gauge.set(labels, value);
        else gauge.set(value);
      },
    });
    names.push(metric.name);
  }
  return {
    names,
    unregister() {
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
