/**
 * The allocator settings a process runs with: GLIBC_TUNABLES parsed, the MALLOC_*
 * environment aliases, and the other allocators' own variables (MALLOC_CONF for
 * jemalloc, TCMALLOC_*, MIMALLOC_*). glibc reads them once, at start-up, so by
 * default they come from /proc/<pid>/environ (the start-up environment), not from
 * process.env. mallopt() calls made later are not visible from outside.
 */
import { readlinkSync } from 'node:fs';
import { cpus } from 'node:os';

import { MallocLabError } from '../infra/errors.js';
import * as check from '../infra/validate.js';
import { startupEnvironment } from './allocator-detection.js';

export type GlibcMallocTunable =
  | 'arena_max'
  | 'arena_test'
  | 'trim_threshold'
  | 'mmap_threshold'
  | 'top_pad'
  | 'mmap_max'
  | 'mxfast'
  | 'perturb'
  | 'check'
  | 'tcache_count'
  | 'tcache_max'
  | 'tcache_unsorted_limit'
  | 'hugetlb';

interface TunableSpec {
  /** The environment alias glibc also accepts. */
  env?: string;
  /** glibc's default on 64-bit Linux (mallopt(3), tunables(7)). */
  default: number | (() => number);
  note?: string;
}

const DYNAMIC =
  'glibc raises it at run time as mmapped chunks are freed (up to 32 MiB), unless one of trim_threshold, top_pad, mmap_threshold or mmap_max is set';

/** glibc.malloc.* tunables (glibc 2.26+, 64-bit), their environment aliases and defaults. */
export const GLIBC_MALLOC_TUNABLES: Record<GlibcMallocTunable, TunableSpec> = {
  arena_max: { env: 'MALLOC_ARENA_MAX', default: () => 8 * cpus().length, note: 'default 8 × online CPUs' },
  arena_test: { env: 'MALLOC_ARENA_TEST', default: 8 },
  trim_threshold: { env: 'MALLOC_TRIM_THRESHOLD_', default: 128 * 1024, note: DYNAMIC },
  mmap_threshold: { env: 'MALLOC_MMAP_THRESHOLD_', default: 128 * 1024, note: DYNAMIC },
  top_pad: { env: 'MALLOC_TOP_PAD_', default: 128 * 1024 },
  mmap_max: { env: 'MALLOC_MMAP_MAX_', default: 65536 },
  mxfast: { default: 128 },
  perturb: { env: 'MALLOC_PERTURB_', default: 0 },
  check: { env: 'MALLOC_CHECK_', default: 0, note: 'acts only with libc_malloc_debug.so preloaded (glibc 2.34+)' },
  tcache_count: { default: 7 },
  tcache_max: { default: 1032 },
  tcache_unsorted_limit: { default: 0 },
  hugetlb: { default: 0, note: 'glibc 2.35+' },
};

export interface GlibcSetting {
  tunable: `glibc.malloc.${GlibcMallocTunable}`;
  env?: string;
  /** The value glibc started with (NaN when the text set is not a number glibc can parse). */
  value: number;
  source: 'GLIBC_TUNABLES' | 'env' | 'default';
  /** The text as set, when set. */
  raw?: string;
  note?: string;
}

export interface TunableEntry {
  name: string;
  value: string;
}

export interface AllocatorSettings {
  pid: number;
  /** Where the variables were read: the start-up environment, the env given, or process.env as a fallback. */
  source: 'environ' | 'given' | 'process.env';
  /** Every allocator-related variable set: MALLOC_*, GLIBC_TUNABLES, LD_PRELOAD, TCMALLOC_*, MIMALLOC_*, … */
  env: Record<string, string>;
  /** GLIBC_TUNABLES split into name=value entries, in order (all namespaces). */
  tunables: TunableEntry[];
  /** glibc's malloc settings in force at start-up, and where each came from. */
  glibc: Record<GlibcMallocTunable, GlibcSetting>;
  /** jemalloc's MALLOC_CONF options (key:value,…), plus /etc/malloc.conf's name if that symlink exists. */
  jemalloc: Record<string, string>;
  tcmalloc: Record<string, string>;
  mimalloc: Record<string, string>;
  /** Allocator variables whose process.env value differs from the start-up one (glibc only saw the start-up value). */
  changedSinceStart: string[];
  /** Settings glibc ignores or overrides (an unknown glibc.malloc.* name, a value that is not a number, an alias GLIBC_TUNABLES overrides). */
  warnings: string[];
}

/** Environment variables that change an allocator's behaviour. */
export const ALLOCATOR_VARIABLE =
  /^(MALLOC_|GLIBC_TUNABLES$|LD_PRELOAD$|JE_MALLOC_CONF$|_RJEM_MALLOC_CONF$|TCMALLOC_|MIMALLOC_)/;

/** "a=1:b=2" → [{name: 'a', value: '1'}, …]; entries without '=' are dropped, as glibc drops them. */
export function parseGlibcTunables(text: string | undefined): TunableEntry[] {
  if (text !== undefined && typeof text !== 'string')
    throw check.typeError('parseGlibcTunables', 'text', 'a string or undefined', text);
  if (text === undefined || text === '') return [];
  return text
    .split(':')
    .map((entry) => entry.trim())
    .filter((entry) => entry.includes('='))
    .map((entry) => ({ name: entry.slice(0, entry.indexOf('=')), value: entry.slice(entry.indexOf('=') + 1) }));
}

/** A tunable's number as glibc reads it (strtoul base 0: decimal, 0x hex, 0 octal); NaN if it is not one. */
export function parseTunableNumber(text: string): number {
  if (typeof text !== 'string') throw check.typeError('parseTunableNumber', 'text', 'a string', text);
  const value = text.trim();
  if (/^0x[0-9a-f]+$/i.test(value)) return Number.parseInt(value.slice(2), 16);
  if (/^0[0-7]+$/.test(value)) return Number.parseInt(value.slice(1), 8);
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10);
  return Number.NaN;
}

/** jemalloc's "key:value,key:value" (MALLOC_CONF). */
export function parseMallocConf(text: string | undefined): Record<string, string> {
  if (text !== undefined && typeof text !== 'string')
    throw check.typeError('parseMallocConf', 'text', 'a string or undefined', text);
  const options: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const colon = pair.indexOf(':');
    if (colon > 0) options[pair.slice(0, colon).trim()] = pair.slice(colon + 1).trim();
  }
  return options;
}

export interface SettingsOptions {
  /** The process whose start-up environment to read (default 0: this one). */
  pid?: number;
  /** Judge this environment instead (e.g. the one you are about to give a child). */
  env?: Record<string, string | undefined>;
}

export function allocatorSettings(options: SettingsOptions = {}): AllocatorSettings {
  const given = check.options<SettingsOptions>(options, 'allocatorSettings');
  const target = check.pid(given.pid, 'allocatorSettings');
  const self = target === 0 || target === process.pid;
  const warnings: string[] = [];
  let source: AllocatorSettings['source'];
  let all: Record<string, string | undefined>;
  if (given.env !== undefined) {
    if (given.env === null || typeof given.env !== 'object')
      throw check.typeError('allocatorSettings', 'options.env', 'an object of strings', given.env);
    source = 'given';
    all = given.env;
  } else {
    try {
      all = startupEnvironment(self ? 0 : target);
      source = 'environ';
    } catch (error) {
      if (!self) {
        const cause = error as NodeJS.ErrnoException;
        const code = cause.code ?? 'EIO';
        const typed = new MallocLabError(
          `allocatorSettings: /proc/${target}/environ could not be read (${code === 'ENOENT' ? `no process with pid ${target}` : code})`,
          code,
        );
        if (typeof cause.errno === 'number') typed.errno = Math.abs(cause.errno);
        typed.syscall = cause.syscall ?? 'open';
        throw typed;
      }
      warnings.push(
        `/proc/self/environ could not be read (${(error as NodeJS.ErrnoException).code}); process.env is used instead`,
      );
      all = process.env;
      source = 'process.env';
    }
  }

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined && ALLOCATOR_VARIABLE.test(name)) env[name] = value;
  }

  const changedSinceStart: string[] = [];
  if (self && source === 'environ') {
    const names = new Set([
      ...Object.keys(env),
      ...Object.keys(process.env).filter((name) => ALLOCATOR_VARIABLE.test(name)),
    ]);
    for (const name of names) if (process.env[name] !== env[name]) changedSinceStart.push(name);
  }

  const tunables = parseGlibcTunables(env['GLIBC_TUNABLES']);
  const glibc = {} as Record<GlibcMallocTunable, GlibcSetting>;
  for (const [short, spec] of Object.entries(GLIBC_MALLOC_TUNABLES) as [GlibcMallocTunable, TunableSpec][]) {
    const tunable = `glibc.malloc.${short}` as const;
    const fromTunables = tunables.filter((entry) => entry.name === tunable).at(-1);
    const fromEnv = spec.env !== undefined ? env[spec.env] : undefined;
    const fallback = typeof spec.default === 'function' ? spec.default() : spec.default;
    const setting: GlibcSetting = { tunable, value: fallback, source: 'default' };
    if (spec.env !== undefined) setting.env = spec.env;
    if (spec.note !== undefined) setting.note = spec.note;
    // glibc's __tunables_init: GLIBC_TUNABLES wins over the alias whatever their order.
    const chosen =
      fromTunables !== undefined
        ? { raw: fromTunables.value, source: 'GLIBC_TUNABLES' as const, name: tunable }
        : fromEnv !== undefined
          ? { raw: fromEnv, source: 'env' as const, name: spec.env! }
          : undefined;
    if (chosen !== undefined) {
      setting.raw = chosen.raw;
      setting.source = chosen.source;
      setting.value = parseTunableNumber(chosen.raw);
      if (Number.isNaN(setting.value)) warnings.push(`${chosen.name}=${chosen.raw} is not a number; glibc ignores it`);
      if (short === 'arena_max' && setting.value === 0) setting.value = fallback;
    }
    if (fromTunables !== undefined && fromEnv !== undefined) {
      warnings.push(`${spec.env}=${fromEnv} is overridden by GLIBC_TUNABLES ${tunable}=${fromTunables.value}`);
    }
    glibc[short] = setting;
  }
  for (const entry of tunables) {
    if (
      entry.name.startsWith('glibc.malloc.') &&
      !(entry.name.slice('glibc.malloc.'.length) in GLIBC_MALLOC_TUNABLES)
    ) {
      warnings.push(`GLIBC_TUNABLES names ${entry.name}, which glibc's malloc does not know; it is ignored`);
    }
  }

  const jemalloc = parseMallocConf(env['MALLOC_CONF'] ?? env['JE_MALLOC_CONF'] ?? env['_RJEM_MALLOC_CONF']);
  try {
    // jemalloc also reads its options from the name of this symlink.
    jemalloc['/etc/malloc.conf'] = readlinkSync('/etc/malloc.conf');
  } catch {
    // absent: the usual case
  }
  const prefixed = (prefix: string) =>
    Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith(prefix)));

  return {
    pid: self ? process.pid : target,
    source,
    env,
    tunables,
    glibc,
    jemalloc,
    tcmalloc: prefixed('TCMALLOC_'),
    mimalloc: prefixed('MIMALLOC_'),
    changedSinceStart,
    warnings,
  };
}
