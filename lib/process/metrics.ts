/**
 * Memory metrics of any process in the Prometheus text exposition format, from
 * /proc/<pid>/status and smaps_rollup. Plain fs reads by default: the CLI's
 * `export` serves other processes with no addon. glibc's own counters (mallinfo2,
 * arenas) exist only inside a process: integrations/prometheus.ts adds them for
 * the calling one.
 */
import * as check from '../infra/validate.js';
import { type SmapsRollup, type Status, readSmapsRollupOfPid, readStatusOfPid } from './proc-files.js';

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

export type Family<K extends string> = [K, string, string][];

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
  [
    'AnonHugePages',
    'smaps_anon_huge_pages_bytes',
    'Anonymous memory backed by transparent huge pages (AnonHugePages).',
  ],
  ['Swap', 'smaps_swap_bytes', 'Swapped-out memory (Swap).'],
];

export function prefixOf(value: unknown, fn: string): string {
  if (value === undefined) return 'malloclab_';
  if (typeof value !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) {
    throw check.typeError(fn, 'options.prefix', 'a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', value);
  }
  return value;
}

/** Constant labels: an object of label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __) to strings. */
export function labelsOf(value: unknown, fn: string): Record<string, string> {
  const labels = check.options<Record<string, string>>(value, fn, 'options.labels') as Record<string, unknown>;
  for (const [name, text] of Object.entries(labels)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith('__')) {
      throw check.typeError(
        fn,
        `options.labels name ${JSON.stringify(name)}`,
        'a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)',
        name,
      );
    }
    if (typeof text !== 'string') throw check.typeError(fn, `options.labels.${name}`, 'a string', text);
  }
  return labels as Record<string, string>;
}

/** An on/off option: undefined (the default) or a boolean. */
function flag(value: unknown, fn: string, param: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw check.typeError(fn, param, 'a boolean', value);
  return value;
}

/** How the /proc files are read: plain fs by default; the calling process may pass its allocation-free readers. */
export interface ProcReaders {
  status(pid: number): Status;
  smapsRollup(pid: number): SmapsRollup;
}

const FS_READERS: ProcReaders = { status: readStatusOfPid, smapsRollup: readSmapsRollupOfPid };

/**
 * status and smaps_rollup metrics of a process (pid omitted or 0: this one). status is
 * always read (a process that does not exist throws ENOENT); smaps_rollup problems are
 * reported in `problems`. glibc's counters are not read here: asking for them for
 * another process is reported as a problem.
 */
export function collectProcfsMetrics(
  pid?: number,
  options: CollectOptions = {},
  readers: ProcReaders = FS_READERS,
  fn = 'collectProcessMetrics',
): ProcessMetrics {
  const target = check.pid(pid, fn);
  const wanted = check.options<CollectOptions>(options, fn);
  const prefix = prefixOf(wanted.prefix, fn);
  for (const name of ['smapsRollup', 'glibc', 'arenas'] as const) flag(wanted[name], fn, `options.${name}`);
  const self = target === 0 || target === process.pid;
  const metrics: MetricSample[] = [];
  const problems: string[] = [];
  const add = (name: string, help: string, value: number) =>
    metrics.push({ name: prefix + name, help, type: 'gauge', value });

  const current = readers.status(target);
  for (const [field, name, help] of STATUS_METRICS) add(name, help, current[field]);

  if (wanted.smapsRollup !== false) {
    try {
      const rollup = readers.smapsRollup(target);
      for (const [field, name, help] of SMAPS_METRICS) add(name, help, rollup[field]);
    } catch (error) {
      problems.push(`smaps_rollup of pid ${self ? process.pid : target}: ${(error as Error).message}`);
    }
  }
  if (!self && (wanted.glibc === true || wanted.arenas === true)) {
    problems.push(
      `glibc's counters (mallinfo2, arenas) can only be read inside the process; pid ${target} is another process`,
    );
  }
  return { pid: self ? process.pid : target, self, metrics, problems };
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** What follows a sample's name: `{name="value",…}` with the values escaped, or '' without labels. */
export function labelSuffix(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export interface RenderOptions {
  /** Labels added to every sample, e.g. { pid: '1234', service: 'api' }. */
  labels?: Record<string, string>;
}

/** One metric to render: a valid name, help text, the gauge type and a number. */
function checkSample(value: unknown, param: string): void {
  const metric = value as Partial<MetricSample> | null;
  const fn = 'renderPrometheusText';
  if (metric === null || typeof metric !== 'object') throw check.typeError(fn, param, 'a metric sample', value);
  if (typeof metric.name !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric.name))
    throw check.typeError(fn, `${param}.name`, 'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)', metric.name);
  if (typeof metric.help !== 'string') throw check.typeError(fn, `${param}.help`, 'a string', metric.help);
  if (metric.type !== 'gauge') throw check.typeError(fn, `${param}.type`, "'gauge'", metric.type);
  if (typeof metric.value !== 'number') throw check.typeError(fn, `${param}.value`, 'a number', metric.value);
}

/** The Prometheus text exposition format (version 0.0.4): HELP, TYPE and one sample per metric. */
export function renderPrometheusText(values: ProcessMetrics | MetricSample[], options: RenderOptions = {}): string {
  const metrics = Array.isArray(values) ? values : values?.metrics;
  if (!Array.isArray(metrics))
    throw check.typeError(
      'renderPrometheusText',
      'values',
      'collectProcessMetrics() result or an array of metrics',
      values,
    );
  const { labels } = check.options<RenderOptions>(options, 'renderPrometheusText');
  const suffix = labelSuffix(labelsOf(labels, 'renderPrometheusText'));
  let text = '';
  metrics.forEach((metric: unknown, index) => checkSample(metric, `values[${index}]`));
  for (const metric of metrics) {
    text += `# HELP ${metric.name} ${escapeHelp(metric.help)}\n`;
    text += `# TYPE ${metric.name} ${metric.type}\n`;
    text += `${metric.name}${suffix} ${formatValue(metric.value)}\n`;
  }
  return text;
}
