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
import { arenaCensus } from '../bridge/arenas.js';
import { mallinfo2, type Mallinfo2 } from '../bridge/heap.js';
import { smapsRollup, status } from '../bridge/procfs.js';
import * as check from '../infra/validate.js';
import {
  collectProcfsMetrics,
  labelsOf,
  prefixOf,
  type CollectOptions,
  type Family,
  type ProcessMetrics,
  type ProcReaders,
} from '../process/metrics.js';

export {
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheusText,
  type CollectOptions,
  type MetricSample,
  type ProcessMetrics,
  type RenderOptions,
} from '../process/metrics.js';

// The calling process reads itself through the addon, which allocates nothing on the heap it reports.
const SELF_READERS: ProcReaders = { status, smapsRollup };

const GLIBC_METRICS: Family<keyof Mallinfo2> = [
  ['uordblks', 'glibc_heap_in_use_bytes', "Bytes allocated and in use in glibc's arenas (mallinfo2 uordblks)."],
  ['fordblks', 'glibc_heap_free_bytes', "Free bytes held in glibc's arenas, not given back (mallinfo2 fordblks)."],
  [
    'arena',
    'glibc_heap_system_bytes',
    'Bytes glibc obtained for its arenas: the sbrk heap and the thread arenas (mallinfo2 arena).',
  ],
  [
    'keepcost',
    'glibc_releasable_bytes',
    'Free bytes at the top of the main heap that trimming releases (mallinfo2 keepcost).',
  ],
  ['hblkhd', 'glibc_mmap_bytes', 'Bytes in chunks glibc mapped with mmap (mallinfo2 hblkhd).'],
  ['hblks', 'glibc_mmap_chunks', 'Chunks glibc mapped with mmap (mallinfo2 hblks).'],
  ['ordblks', 'glibc_free_chunks', "Free chunks in glibc's arenas (mallinfo2 ordblks)."],
  ['fsmblks', 'glibc_fastbin_free_bytes', 'Free bytes in fastbins (mallinfo2 fsmblks).'],
];

const ARENAS_METRIC: [string, string] = [
  'glibc_arenas',
  "glibc's malloc arenas: the main one plus one per contended thread, up to the arena cap (malloc_info).",
];

/**
 * Memory metrics of a process (pid omitted or 0: this one). status is always read
 * (a process that does not exist throws ENOENT); smaps_rollup problems are reported
 * in `problems`; glibc's counters and the arena count only exist for this process.
 */
export function collectProcessMetrics(pid?: number, options: CollectOptions = {}): ProcessMetrics {
  const self = check.pid(pid, 'collectProcessMetrics') === 0 || pid === process.pid;
  const result = collectProcfsMetrics(pid, options, self ? SELF_READERS : undefined);
  if (!self) return result;
  const wanted = options ?? {};
  const prefix = prefixOf(wanted.prefix, 'collectProcessMetrics');
  const add = (name: string, help: string, value: number) =>
    result.metrics.push({ name: prefix + name, help, type: 'gauge', value });
  if (wanted.glibc !== false) {
    const info = mallinfo2();
    for (const [field, name, help] of GLIBC_METRICS) add(name, help, info[field]);
  }
  if (wanted.arenas !== false) add(ARENAS_METRIC[0], ARENAS_METRIC[1], arenaCensus().count);
  return result;
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
  check.withMethod(
    client,
    'Gauge',
    'registerMallocLabMetrics',
    'client',
    "the prom-client module (import client from 'prom-client')",
  );
  const {
    registry = client.register,
    pid,
    labels = {},
    ...collect
  } = check.options<MallocLabMetricsOptions<R>>(options, 'registerMallocLabMetrics');
  check.withMethod(
    registry,
    'removeSingleMetric',
    'registerMallocLabMetrics',
    'options.registry',
    'a prom-client Registry (client.register, or new client.Registry())',
  );
  const labelNames = Object.keys(labelsOf(labels, 'registerMallocLabMetrics'));
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
