// Seed 003's "modified free() through the malloc hook" on both hosts: glibc 2.36 no longer
// calls __free_hook; only libc_malloc_debug.so, preloaded, does.
import { beforeAll, describe, expect, it } from 'vitest';

import { mallocHooks, STEPS } from '../../lib/experiments/catalogue/malloc-hooks.js';
import { HOOK_LOOKUP } from '../../lib/experiments/framework/program.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { experimentRuns, HOSTS, pinnedGlibc } from './helpers.js';

const FREES = 2 * 256;

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(mallocHooks)), 120_000);

// The hooks went away in glibc 2.34; what this pins is glibc 2.36's behaviour.
const glibc = pinnedGlibc();

describe.skipIf(!glibc.matches)(`malloc-hooks (${glibc.reason})`, () => {
  for (const host of HOSTS) {
    it(`${host}: dlsym finds no hook; the compatibility __free_hook is never called by glibc's free()`, () => {
      expect(lab.variant(host, 'plain').completed).toBe(true);
      const lookup = lab.ops(host, STEPS.install, 'free_hook_install', 'plain')[0]!.value2!;
      expect(lookup & HOOK_LOOKUP.freeHookDefault).toBe(0);
      expect(lookup & HOOK_LOOKUP.mallocHookDefault).toBe(0);
      expect(lookup & HOOK_LOOKUP.freeHookCompat).toBe(HOOK_LOOKUP.freeHookCompat);
      expect(lab.ops(host, STEPS.remove, 'free_hook_remove', 'plain')[0]!.value).toBe(0);
      expect(lab.claim(host, 'free-hook-trim').verdict).toBe('refuted');
    });

    it(`${host}: with libc_malloc_debug.so preloaded, free() calls the hook for every block`, () => {
      expect(lab.variant(host, 'debug').completed).toBe(true);
      expect(lab.ops(host, STEPS.remove, 'free_hook_remove', 'debug')[0]!.value).toBeGreaterThanOrEqual(FREES);
      expect(lab.claim(host, 'free-hook-trim').evidence).toContain(`ran `);
    });
  }

  it('fresh: the hook that trims gives the written blocks back, which plain free() keeps', () => {
    const step = (name: string, label: string) =>
      lab.runs.find((r) => r.host === 'fresh')!.steps.find((s) => s.variant === name && s.label === label)!;
    const drop = (name: string) =>
      step(name, STEPS.allocate(256)).status['RssAnon']! - step(name, STEPS.free).status['RssAnon']!;
    const written =
      step('debug', STEPS.allocate(256)).status['RssAnon']! - step('debug', STEPS.start).status['RssAnon']!;
    expect(drop('debug')).toBeGreaterThan(0.8 * written);
    expect(drop('plain')).toBeLessThan(0.1 * written);
  });
});
