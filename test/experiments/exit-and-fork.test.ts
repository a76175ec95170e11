// Seeds 003/004 on exit and fork, on both hosts: an exited child holds nothing, a shared
// page outlives one of its users, free() before _exit only costs, forked copies recycle.
import { beforeAll, describe, expect, it } from 'vitest';

import { exitAndFork, RECYCLED_BYTES, STEPS } from '../../lib/experiments/catalogue/exit-and-fork.js';
import { runExperiment } from '../../lib/experiments/framework/runner.js';
import { MiB } from '../../lib/infra/units.js';
import { brkOf, experimentRuns, HOSTS } from './helpers.js';

const HELD = 64 * MiB;
const ROUNDS = 3;
const CHILDREN = 4;

const lab = experimentRuns();

beforeAll(async () => lab.load(await runExperiment(exitAndFork)), 120_000);

describe('exit-and-fork', () => {
  for (const host of HOSTS) {
    it(`${host}: every program ran to its end and every child exited 0`, () => {
      for (const name of ['children', 'parent']) {
        expect(lab.variant(host, name).completed, name).toBe(true);
      }
      const reaps = lab
        .steps(host)
        .flatMap((s) => s.ops)
        .filter((op) => op.op === 'fork_reap');
      expect(reaps.length).toBe(1 + 1 + 2 * ROUNDS + CHILDREN);
      for (const reap of reaps) expect(reap.value2).toBe(0);
    });

    it(`${host}: a child that held 64 MiB has no page left once it has exited, before it is reaped`, () => {
      const [hold] = lab.ops(host, STEPS.hold(HELD), 'fork_hold', 'children');
      const [exited] = lab.ops(host, STEPS.exit, 'fork_exit', 'children');
      expect(hold!.value).toBeGreaterThanOrEqual(HELD);
      expect(exited!.value).toBeGreaterThanOrEqual(HELD);
      expect(exited!.value2).toBe(0);
      expect(lab.claim(host, 'exit-returns').verdict).toBe('confirmed');
    });

    it(`${host}: while a child shares the parent's pages the parent's Pss halves, and comes back when the child exits`, () => {
      const pss = (label: string) => lab.ops(host, label, 'pss', 'parent')[0]!.value!;
      const rss = lab.step(host, STEPS.shared(HELD), 'parent').status['RssAnon']!;
      expect(pss(STEPS.shared(HELD)) - pss(STEPS.forked)).toBeGreaterThan(0.4 * rss);
      expect(pss(STEPS.shared(HELD)) - pss(STEPS.forked)).toBeLessThan(0.6 * rss);
      expect(Math.abs(pss(STEPS.sharedReap) - pss(STEPS.shared(HELD)))).toBeLessThan(0.05 * rss);
      expect(lab.step(host, STEPS.sharedExit, 'parent').status['RssAnon']).toBeGreaterThanOrEqual(0.9 * rss);
      expect(lab.claim(host, 'shared-stays').verdict).toBe('confirmed');
    });

    it(`${host}: free() before _exit costs CPU and gives nothing back first; the verdict follows the measured ratio`, () => {
      const cheapest = (index: number) =>
        Math.min(
          ...Array.from(
            { length: ROUNDS },
            (_, r) => lab.ops(host, STEPS.round(r + 1), 'fork_reap', 'children')[index]!.value!,
          ),
        );
      const [hold, freed] = [
        lab.ops(host, STEPS.round(1), 'fork_hold', 'children')[0]!.value!,
        lab.ops(host, STEPS.round(1), 'fork_exit', 'children')[0]!.value!,
      ];
      expect(freed).toBeGreaterThanOrEqual(0.9 * hold);
      expect(lab.claim(host, 'free-before-exit-wasted').verdict).toBe(
        cheapest(0) > cheapest(1) ? 'confirmed' : 'refuted',
      );
      expect(lab.claim(host, 'free-before-exit-wasted').evidence).toMatch(/\d\.\d\d×/);
    });

    it(`${host}: children do the allocating while the parent's RssAnon, heap and break stay flat`, () => {
      const start = lab.step(host, STEPS.start, 'children');
      const end = lab.step(host, STEPS.child(CHILDREN), 'children');
      expect(end.status['RssAnon']! - start.status['RssAnon']!).toBeLessThan(0.1 * RECYCLED_BYTES);
      expect(end.mallinfo['uordblks']).toBe(start.mallinfo['uordblks']);
      expect(brkOf(end)).toBe(brkOf(start));
      for (let k = 1; k <= CHILDREN; k++) {
        expect(lab.ops(host, STEPS.child(k), 'fork_hold', 'children')[0]!.value2).toBeGreaterThanOrEqual(
          0.9 * RECYCLED_BYTES,
        );
      }
      const inProcess =
        lab.step(host, STEPS.inProcess(CHILDREN), 'parent').status['RssAnon']! -
        lab.step(host, STEPS.sharedReap, 'parent').status['RssAnon']!;
      expect(inProcess).toBeGreaterThan(0.5 * RECYCLED_BYTES);
      expect(lab.claim(host, 'fork-recycles').verdict).toBe('confirmed');
      expect(lab.claim(host, 'own-heap').verdict).toBe('confirmed');
    });
  }
});
