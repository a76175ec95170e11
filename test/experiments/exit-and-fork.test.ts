// Seeds 003/004 on exit and fork, on both hosts: an exited child holds nothing, a shared
// page outlives one of its users, free() before _exit only costs, forked copies recycle.
import { beforeAll, describe, expect, it } from 'vitest';

import { exitAndFork, RECYCLED_BYTES, STEPS } from '../../lib/experiments/catalogue/exit-and-fork.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { MiB } from '../../lib/infra/units.js';
import { HOSTS, view } from './view.js';

const HELD = 64 * MiB;
const ROUNDS = 3;
const CHILDREN = 4;

let runs: ExperimentRun[];
const { claim, step, ops, variant, brk } = view(() => runs);

beforeAll(async () => {
  runs = await runExperiment(exitAndFork);
}, 120_000);

describe('exit-and-fork', () => {
  for (const host of HOSTS) {
    it(`${host}: every program ran to its end and every child exited 0`, () => {
      for (const name of ['children', 'parent']) {
        expect(variant(host, name).completed, name).toBe(true);
      }
      const reaps = runs
        .find((r) => r.host === host)!
        .steps.flatMap((s) => s.ops)
        .filter((op) => op.op === 'fork_reap');
      expect(reaps.length).toBe(1 + 1 + 2 * ROUNDS + CHILDREN);
      for (const reap of reaps) expect(reap.value2).toBe(0);
    });

    it(`${host}: a child that held 64 MiB has no page left once it has exited, before it is reaped`, () => {
      const [hold] = ops(host, 'children', STEPS.hold(HELD), 'fork_hold');
      const [exited] = ops(host, 'children', STEPS.exit, 'fork_exit');
      expect(hold!.value).toBeGreaterThanOrEqual(HELD);
      expect(exited!.value).toBeGreaterThanOrEqual(HELD);
      expect(exited!.value2).toBe(0);
      expect(claim(host, 'exit-returns').verdict).toBe('confirmed');
    });

    it(`${host}: while a child shares the parent's pages the parent's Pss halves, and comes back when the child exits`, () => {
      const pss = (label: string) => ops(host, 'parent', label, 'pss')[0]!.value!;
      const rss = step(host, 'parent', STEPS.shared(HELD)).status['RssAnon']!;
      expect(pss(STEPS.shared(HELD)) - pss(STEPS.forked)).toBeGreaterThan(0.4 * rss);
      expect(pss(STEPS.shared(HELD)) - pss(STEPS.forked)).toBeLessThan(0.6 * rss);
      expect(Math.abs(pss(STEPS.sharedReap) - pss(STEPS.shared(HELD)))).toBeLessThan(0.05 * rss);
      expect(step(host, 'parent', STEPS.sharedExit).status['RssAnon']).toBeGreaterThanOrEqual(0.9 * rss);
      expect(claim(host, 'shared-stays').verdict).toBe('confirmed');
    });

    it(`${host}: free() before _exit costs CPU and gives nothing back first; the verdict follows the measured ratio`, () => {
      const cheapest = (index: number) =>
        Math.min(
          ...Array.from(
            { length: ROUNDS },
            (_, r) => ops(host, 'children', STEPS.round(r + 1), 'fork_reap')[index]!.value!,
          ),
        );
      const [hold, freed] = [
        ops(host, 'children', STEPS.round(1), 'fork_hold')[0]!.value!,
        ops(host, 'children', STEPS.round(1), 'fork_exit')[0]!.value!,
      ];
      expect(freed).toBeGreaterThanOrEqual(0.9 * hold);
      expect(claim(host, 'free-before-exit-wasted').verdict).toBe(cheapest(0) > cheapest(1) ? 'confirmed' : 'refuted');
      expect(claim(host, 'free-before-exit-wasted').evidence).toMatch(/\d\.\d\d×/);
    });

    it(`${host}: children do the allocating while the parent's RssAnon, heap and break stay flat`, () => {
      const start = step(host, 'children', STEPS.start);
      const end = step(host, 'children', STEPS.child(CHILDREN));
      expect(end.status['RssAnon']! - start.status['RssAnon']!).toBeLessThan(0.1 * RECYCLED_BYTES);
      expect(end.mallinfo['uordblks']).toBe(start.mallinfo['uordblks']);
      expect(brk(end)).toBe(brk(start));
      for (let k = 1; k <= CHILDREN; k++) {
        expect(ops(host, 'children', STEPS.child(k), 'fork_hold')[0]!.value2).toBeGreaterThanOrEqual(
          0.9 * RECYCLED_BYTES,
        );
      }
      const inProcess =
        step(host, 'parent', STEPS.inProcess(CHILDREN)).status['RssAnon']! -
        step(host, 'parent', STEPS.sharedReap).status['RssAnon']!;
      expect(inProcess).toBeGreaterThan(0.5 * RECYCLED_BYTES);
      expect(claim(host, 'fork-recycles').verdict).toBe('confirmed');
      expect(claim(host, 'own-heap').verdict).toBe('confirmed');
    });
  }
});
