/**
 * The glibc settings a run was under, read the one way the package reads them
 * (lib/process/allocator-settings.ts: GLIBC_TUNABLES wins over a MALLOC_* alias, as
 * glibc's __tunables_init does), and what they make of glibc's thresholds
 * (lib/glibc/model.ts). No experiment parses GLIBC_TUNABLES or the aliases itself.
 */
import { DEFAULT_THRESHOLDS, tcacheHolds, type Thresholds } from '../../glibc/model.js';
import {
  allocatorSettings,
  type GlibcMallocTunable,
  type GlibcSetting,
  parseGlibcTunables,
} from '../../process/allocator-settings.js';
import { run } from './observe.js';
import type { ClaimContext } from './types.js';

export type GlibcSettings = Record<GlibcMallocTunable, GlibcSetting>;

/** glibc's malloc settings for a process started with env. */
export function settingsIn(env: Record<string, string>): GlibcSettings {
  return allocatorSettings({ env }).glibc;
}

/** The settings variant's run was under (its own env, the run's, and what they merged to). */
export function settingsOf(c: ClaimContext, variant: string): GlibcSettings {
  return settingsIn(run(c, variant).env);
}

/** Settings that turn glibc's dynamic thresholds off when set in any way (mallopt, alias or tunable). */
const FREEZING: GlibcMallocTunable[] = ['trim_threshold', 'top_pad', 'mmap_threshold', 'mmap_max'];

/** The thresholds a run started with: its settings, or glibc's defaults with the dynamic rule on. */
export function thresholdsIn(settings: GlibcSettings): Thresholds {
  const value = (name: GlibcMallocTunable, fallback: number) =>
    settings[name].source === 'default' || Number.isNaN(settings[name].value) ? fallback : settings[name].value;
  return {
    mmap: value('mmap_threshold', DEFAULT_THRESHOLDS.mmap),
    trim: value('trim_threshold', DEFAULT_THRESHOLDS.trim),
    topPad: value('top_pad', DEFAULT_THRESHOLDS.topPad),
    dynamic: FREEZING.every((name) => settings[name].source === 'default'),
  };
}

export function thresholdsOf(c: ClaimContext, variant: string): Thresholds {
  return thresholdsIn(settingsOf(c, variant));
}

/** How many freed chunks of malloc(request) tcache holds under these settings (per size class; 0 when it holds none). */
export function tcacheHeldIn(settings: GlibcSettings, request: number): number {
  const count = settings.tcache_count.value;
  return tcacheHolds(request, count, settings.tcache_max.value) ? count : 0;
}

export function tcacheHeldOf(c: ClaimContext, variant: string, request: number): number {
  return tcacheHeldIn(settingsOf(c, variant), request);
}

/** How a setting came to be: "MALLOC_ARENA_MAX=1", "GLIBC_TUNABLES glibc.malloc.tcache_count=0", or "the default". */
export function settingSource(setting: GlibcSetting): string {
  if (setting.source === 'GLIBC_TUNABLES') return `GLIBC_TUNABLES ${setting.tunable}=${setting.raw}`;
  if (setting.source === 'env') return `${setting.env}=${setting.raw}`;
  return 'the default';
}

/**
 * A variant's environment with the run's on top. GLIBC_TUNABLES entries add up
 * (the run's come last, so they win where both name a tunable, as glibc reads them in
 * order) rather than one variable replacing the other.
 */
export function mergeEnv(variant: Record<string, string>, runEnv: Record<string, string>): Record<string, string> {
  const merged = { ...variant, ...runEnv };
  const tunables = [...parseGlibcTunables(variant['GLIBC_TUNABLES']), ...parseGlibcTunables(runEnv['GLIBC_TUNABLES'])];
  if (tunables.length > 0) merged['GLIBC_TUNABLES'] = tunables.map((entry) => `${entry.name}=${entry.value}`).join(':');
  return merged;
}
