// Seed 003's "modified free() through the malloc hook" on both hosts: glibc 2.36 no longer
// calls __free_hook; only libc_malloc_debug.so, preloaded, does.
import { beforeAll, describe, expect, it } from 'vitest';

import { mallocHooks, STEPS } from '../../lib/experiments/catalogue/malloc-hooks.js';
import { HOOK_LOOKUP } from '../../lib/experiments/framework/program.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { HOSTS, view } from './view.js';

const FREES = 2 * 256;

let runs: ExperimentRun[];
const { claim, ops, variant } = view(() => runs);

beforeAll(async () => {
  runs = await runExperiment(mallocHooks);
}, 120_000);

describe('malloc-hooks', () => {
  for (const host of HOSTS) {
    it(`${host}: dlsym finds no hook; the compatibility __free_hook is never called by glibc's free()`, () => {
      expect(variant(host, 'plain').completed).toBe(true);
      const lookup = ops(host, 'plain', STEPS.install, 'free_hook_install')[0]!.value2!;
      expect(lookup & HOOK_LOOKUP.freeHookDefault).toBe(0);
      expect(lookup & HOOK_LOOKUP.mallocHookDefault).toBe(0);
      expect(lookup & HOOK_LOOKUP.freeHookCompat).toBe(HOOK_LOOKUP.freeHookCompat);
      expect(ops(host, 'plain', STEPS.remove, 'free_hook_remove')[0]!.value).toBe(0);
      expect(claim(host, 'free-hook-trim').verdict).toBe('refuted');
    });

    it(`${host}: with libc_malloc_debug.so preloaded, free() calls the hook for every block`, () => {
      expect(variant(host, 'debug').completed).toBe(true);
      expect(ops(host, 'debug', STEPS.remove, 'free_hook_remove')[0]!.value).toBeGreaterThanOrEqual(FREES);
      expect(claim(host, 'free-hook-trim').evidence).toContain(`ran `);
    });
  }

  it('fresh: the hook that trims gives the written blocks back, which plain free() keeps', () => {
    const step = (name: string, label: string) =>
      runs.find((r) => r.host === 'fresh')!.steps.find((s) => s.variant === name && s.label === label)!;
    const drop = (name: string) =>
      step(name, STEPS.allocate(256)).status['RssAnon']! - step(name, STEPS.free).status['RssAnon']!;
    const written =
      step('debug', STEPS.allocate(256)).status['RssAnon']! - step('debug', STEPS.start).status['RssAnon']!;
    expect(drop('debug')).toBeGreaterThan(0.8 * written);
    expect(drop('plain')).toBeLessThan(0.1 * written);
  });
});
