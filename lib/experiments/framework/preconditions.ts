/**
 * What claims need of a run, declared with the claim (ClaimDefinition.requires).
 * The runner checks them before the judge: a run whose environment, allocator or
 * parameters break one gives `inconclusive` with the reason, never a verdict about
 * something the run did not exercise.
 */
import { cpus } from 'node:os';

import { defaultArenaMax } from '../../glibc/model.js';
import { formatBytes } from '../../infra/units.js';
import * as check from '../../infra/validate.js';
import { GLIBC_MALLOC_TUNABLES, type GlibcMallocTunable } from '../../process/allocator-settings.js';
import { type GlibcSettings, settingSource, settingsIn } from './settings.js';
import type { ClaimContext, Parameters, Precondition } from './types.js';

/** What a setting's value makes glibc do, for "X is set for this run, so …". */
const CONSEQUENCE: Partial<Record<GlibcMallocTunable, (value: number, intended: number) => string>> = {
  arena_max: (value) =>
    value === 1
      ? 'no arena can be created'
      : `at most ${value} arenas can exist (the default cap here is ${defaultArenaMax(cpus().length)})`,
  arena_test: (value) => `glibc creates arenas without looking at the cap only until ${value} exist`,
  trim_threshold: (value, intended) =>
    `free() trims the top of the heap from ${formatBytes(value)} on, not ${formatBytes(intended)}, and the dynamic thresholds are off`,
  top_pad: (value, intended) =>
    `every sbrk adds, and every trim keeps, ${formatBytes(value)} instead of ${formatBytes(intended)}, and the dynamic thresholds are off`,
  mmap_threshold: (value, intended) =>
    `requests from ${formatBytes(value)} on are mmap'd instead of from ${formatBytes(intended)}, and the dynamic thresholds are off`,
  mmap_max: (value) =>
    value === 0
      ? "nothing is mmap'd"
      : `at most ${value} chunks are mmap'd at once, and the dynamic thresholds are off`,
  tcache_count: (value, intended) =>
    value === 0 ? 'tcache is off' : `tcache holds ${value} chunks of each size instead of ${intended}`,
  tcache_max: (value, intended) => `tcache serves requests up to ${value} B instead of ${intended} B`,
  mxfast: (value, intended) =>
    value === 0 ? 'fastbins are off' : `fastbins take requests up to ${value} B instead of ${intended} B`,
  perturb: (value) =>
    `malloc fills each block it returns with byte ${(value ^ 0xff) & 0xff}, and free each block it takes back with byte ${value & 0xff}`,
};

function consequence(name: GlibcMallocTunable, value: number, intended: number): string {
  const text = CONSEQUENCE[name];
  return text !== undefined ? text(value, intended) : `glibc.malloc.${name} is ${value} instead of ${intended}`;
}

function checkVariants(variants: unknown, fn: string): void {
  if (variants !== undefined && !(Array.isArray(variants) && variants.every((variant) => typeof variant === 'string')))
    throw check.typeError(fn, 'variants', 'an array of variant names, or undefined for all', variants);
}

const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** The variants a precondition looks at: those named, of those that ran; all that ran when none are named. */
function variantsOf(c: ClaimContext, variants?: string[]): string[] {
  return (variants ?? Object.keys(c.runs)).filter((variant) => c.runs[variant] !== undefined);
}

/**
 * The named glibc settings are as the experiment designed them in each variant
 * read: glibc's defaults, or what the variant itself sets. A setting the run adds
 * (`--env`) that changes one of them breaks the precondition.
 */
export function designedSettings(names: GlibcMallocTunable[], variants?: string[]): Precondition {
  if (!Array.isArray(names) || names.length === 0 || !names.every((name) => Object.hasOwn(GLIBC_MALLOC_TUNABLES, name)))
    throw check.typeError(
      'designedSettings',
      'names',
      `a non-empty array of glibc.malloc tunables (${Object.keys(GLIBC_MALLOC_TUNABLES).join(', ')})`,
      names,
    );
  checkVariants(variants, 'designedSettings');
  return {
    needs: `${names.map((name) => `glibc.malloc.${name}`).join(', ')} as the experiment sets ${names.length === 1 ? 'it' : 'them'}`,
    unmet: (c) => {
      for (const variant of variantsOf(c, variants)) {
        const intended: GlibcSettings = settingsIn(c.variantEnv[variant] ?? {});
        const inForce = settingsIn(c.runs[variant]!.env);
        for (const name of names) {
          if (!same(inForce[name].value, intended[name].value)) {
            const where = variants === undefined || variants.length > 1 ? ` (variant ${variant})` : '';
            return `${settingSource(inForce[name])} is set for this run${where}, so ${consequence(name, inForce[name].value, intended[name].value)}`;
          }
        }
      }
      return undefined;
    },
  };
}

/** glibc is the allocator the variants read run under: no other allocator preloaded by the run. */
export function glibcAllocator(variants?: string[]): Precondition {
  checkVariants(variants, 'glibcAllocator');
  return {
    needs: "glibc's malloc as the allocator",
    unmet: (c) => {
      if (c.allocator !== 'glibc')
        return `${c.allocator} is preloaded for this run, so glibc's malloc is not the one measured`;
      for (const variant of variantsOf(c, variants)) {
        const preload = c.runs[variant]!.env['LD_PRELOAD'];
        if (preload !== undefined && preload !== (c.variantEnv[variant] ?? {})['LD_PRELOAD'])
          return `LD_PRELOAD=${preload} is set for this run, so glibc's malloc may not be the one measured`;
      }
      return undefined;
    },
  };
}

/** A condition on the run's parameters, with the reason it matters. */
export function runParameters(needs: string, unmet: (parameters: Parameters) => string | undefined): Precondition {
  return { needs, unmet: (c) => unmet(c.parameters) };
}

/** Runs every precondition; the reasons of those not met. */
export function unmetPreconditions(preconditions: Precondition[] | undefined, c: ClaimContext): string[] {
  return (preconditions ?? []).map((precondition) => precondition.unmet(c)).filter((reason) => reason !== undefined);
}
