/**
 * When the child processes of experiment runs may run side by side. Each run is a
 * fresh process measuring itself, so two runs share no heap; what they share is the
 * machine's cores. Two kinds of run:
 *
 * - busy: it runs its steps as fast as it can (most runs: a start-up, then mallocs,
 *   frees and snapshots). Its numbers are its own process's counters and addresses,
 *   so a neighbour cannot change them; more busy runs than cores would only share the
 *   cores out and stretch each run, so at most `cpus` run at once.
 * - watch: its program idles for a second or more while it is looked at over time
 *   (the allocators experiment: does each allocator give memory back 100 ms, 1 s, 5 s
 *   after the frees, with its decay timers and background threads). What it measures
 *   is what the allocator does on its own clock, so it needs a core at the moment a
 *   timer fires: a watch never runs beside a busy run, and watches start one at a
 *   time while others are already idling (a start-up is busy work), leaving the
 *   other core to the idling ones. Once started, any number idle side by side.
 *
 * So the waits overlap each other, the busy runs fill the cores, and the two never
 * meet.
 */
import { availableParallelism } from 'node:os';

import * as check from '../../infra/validate.js';
import type { StepProgram } from './program.js';

export type RunKind = 'busy' | 'watch';

/** A program that sleeps this long in all is a watch. */
export const WATCH_SLEEP_MS = 1000;

/** The kind of run a program makes: watch when it sleeps WATCH_SLEEP_MS or more in all, busy otherwise. */
export function runKind(program: StepProgram): RunKind {
  if (program === null || typeof program !== 'object' || !Array.isArray((program as Partial<StepProgram>).ops))
    throw check.typeError('runKind', 'program', 'a StepProgram', program);
  const slept = program.ops.filter((op) => op.op === 'sleep').reduce((sum, op) => sum + (op.args[0] ?? 0), 0);
  return slept >= WATCH_SLEEP_MS ? 'watch' : 'busy';
}

export interface ScheduledRun {
  /** Call once the child has started and its program is running (its first record arrived): a watch then lets the next one start. */
  started(): void;
}

export interface RunScheduler {
  /** Runs job when the rules above allow, and resolves with its result. */
  run<T>(kind: RunKind, job: (run: ScheduledRun) => Promise<T>): Promise<T>;
  readonly cpus: number;
}

interface Waiting {
  kind: RunKind;
  start(): void;
}

/** A scheduler for `cpus` cores (default: the CPUs this process may use); 1 runs everything one after another. */
export function createScheduler(options: { cpus?: number } = {}): RunScheduler {
  const given = check.options<{ cpus?: number }>(options, 'createScheduler');
  const cpus =
    given.cpus === undefined
      ? availableParallelism()
      : check.integer(given.cpus, 'createScheduler', 'options.cpus', 1, 1024);
  const sequential = cpus === 1;
  let busy = 0;
  let watching = 0;
  let starting = 0;
  const queue: Waiting[] = [];

  const mayStart = (kind: RunKind) => {
    if (sequential) return busy + watching === 0;
    if (kind === 'busy') return watching === 0 && busy < cpus;
    // One start-up at a time, and cores left for the watches already idling.
    return busy === 0 && starting === 0;
  };

  const pump = () => {
    // In order, but a run that may start does not wait behind one that may not.
    for (let index = 0; index < queue.length;) {
      const next = queue[index]!;
      if (mayStart(next.kind)) {
        queue.splice(index, 1);
        next.start();
      } else {
        index++;
      }
    }
  };

  return {
    cpus,
    run<T>(kind: RunKind, job: (run: ScheduledRun) => Promise<T>): Promise<T> {
      if (kind !== 'busy' && kind !== 'watch')
        throw check.typeError('RunScheduler.run', 'kind', "'busy' or 'watch'", kind);
      if (typeof job !== 'function') throw check.typeError('RunScheduler.run', 'job', 'a function', job);
      return new Promise<T>((resolve, reject) => {
        queue.push({
          kind,
          start: () => {
            if (kind === 'busy') busy++;
            else {
              watching++;
              starting++;
            }
            let startedCalled = kind === 'busy';
            const started = () => {
              if (startedCalled) return;
              startedCalled = true;
              starting--;
              pump();
            };
            const finish = () => {
              started();
              if (kind === 'busy') busy--;
              else watching--;
              pump();
            };
            let promise: Promise<T>;
            try {
              promise = job({ started });
            } catch (error) {
              promise = Promise.reject(error);
            }
            promise.then(
              (value) => {
                finish();
                resolve(value);
              },
              (error: unknown) => {
                finish();
                reject(error);
              },
            );
          },
        });
        pump();
      });
    },
  };
}
