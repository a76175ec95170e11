// The scheduler's rules (lib/experiments/framework/scheduler.ts): busy runs at most one per
// CPU, watches never beside a busy run and started one at a time, everything in order with
// one CPU; and which of the catalogue's programs are watches. The jobs here are timers that
// record what ran beside them; the runs themselves are real in test/terminal-output.test.ts
// and in `npm run bench` (case 10), which compares every verdict with a run one at a time.
import { describe, expect, it } from 'vitest';

import { CATALOGUE } from '../lib/experiments/catalogue/index.js';
import { resolveParameters } from '../lib/experiments/framework/runner.js';
import { createScheduler, type RunKind, runKind } from '../lib/experiments/framework/scheduler.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs jobs of the given kinds through a scheduler; each records what was running when it started. */
async function trace(cpus: number, kinds: RunKind[], { startUpMs = 5, runMs = 30 } = {}) {
  const scheduler = createScheduler({ cpus });
  const running = new Map<number, { kind: RunKind; started: boolean }>();
  const seen: { index: number; kind: RunKind; beside: { kind: RunKind; started: boolean }[] }[] = [];
  const order: number[] = [];
  let peakBusy = 0;
  await Promise.all(
    kinds.map((kind, index) =>
      scheduler.run(kind, async (run) => {
        seen.push({ index, kind, beside: [...running.values()].map((one) => ({ ...one })) });
        order.push(index);
        running.set(index, { kind, started: false });
        peakBusy = Math.max(peakBusy, [...running.values()].filter((one) => one.kind === 'busy').length);
        await sleep(startUpMs);
        running.get(index)!.started = true;
        run.started();
        await sleep(runMs);
        running.delete(index);
        return index;
      }),
    ),
  );
  return { seen, order, peakBusy };
}

describe('the scheduler', () => {
  it('busy runs side by side, never more than the CPUs', async () => {
    const { peakBusy, seen } = await trace(2, ['busy', 'busy', 'busy', 'busy', 'busy']);
    expect(peakBusy).toBe(2);
    expect(seen.some((entry) => entry.beside.length === 1)).toBe(true);
  });

  it('a watch never runs beside a busy run, and starts only when no other watch is starting', async () => {
    const kinds: RunKind[] = ['busy', 'watch', 'busy', 'watch', 'watch', 'busy', 'watch', 'busy'];
    const { seen } = await trace(2, kinds);
    for (const entry of seen) {
      if (entry.kind === 'watch') {
        expect(entry.beside.filter((one) => one.kind === 'busy')).toEqual([]);
        expect(entry.beside.filter((one) => !one.started)).toEqual([]);
      } else {
        expect(entry.beside.filter((one) => one.kind === 'watch')).toEqual([]);
      }
    }
    // Started watches idle together: at least one started beside another.
    expect(seen.some((entry) => entry.kind === 'watch' && entry.beside.some((one) => one.kind === 'watch'))).toBe(true);
  });

  it('with one CPU, one run after another in the order given', async () => {
    const kinds: RunKind[] = ['busy', 'watch', 'busy', 'watch', 'busy'];
    const { seen, order } = await trace(1, kinds);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    for (const entry of seen) expect(entry.beside).toEqual([]);
  });

  it('a failing job frees its place and rejects with its error', async () => {
    const scheduler = createScheduler({ cpus: 1 });
    const failing = scheduler.run('busy', async () => {
      throw new Error('boom');
    });
    const next = scheduler.run('busy', async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });
});

describe('which programs are watches', () => {
  it('the allocators experiment idles for seconds in every variant; every other program is busy', () => {
    for (const definition of CATALOGUE) {
      const variants = definition.variants(resolveParameters(definition, {}), {});
      for (const variant of variants) {
        expect(runKind(variant.program), `${definition.id}/${variant.name}`).toBe(
          definition.id === 'allocators' ? 'watch' : 'busy',
        );
      }
    }
  });
});
