/**
 * A held run: a step program on a host child that stops at its `pause` steps, so
 * another process (explain, trim, a test) can read the state it built while the
 * child stays alive. Records are parsed as they arrive, so the parent knows which
 * step the child has reached; `resume()` lets it past one pause.
 */
import { type ChildProcess, spawn } from 'node:child_process';

import { MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { failedPreload, type HostName, type HostRun, type HostRunOptions, hostLaunch, hostRunOf } from './hosts.js';
import { MIN_BREAK_ROOM_ENV } from './node-host-exit.js';
import { parseRecords, StepProgram, type ParsedRun } from './program.js';

/** The descriptor a held run's child reads its go-ahead from: give it to StepBuilder.pause(). */
export const PAUSE_FD = 4;

export interface HeldRunOptions extends HostRunOptions {
  /** A command the host runs under, e.g. ['taskset', '-c', '0']. */
  prefix?: string[];
}

export interface HeldRun {
  pid: number;
  child: ChildProcess;
  /** Resolves with the records so far once the snapshot after step `label` has arrived. */
  reached(label: string, timeoutMs?: number): Promise<ParsedRun>;
  /** Lets the child past the pause it waits at (one byte on PAUSE_FD). */
  resume(): void;
  /** Kills the child (SIGKILL); finished resolves then. */
  kill(): void;
  /** The whole run, once the child has exited. */
  finished: Promise<HostRun>;
}

export function startHeldRun(program: StepProgram, host: HostName, options: HeldRunOptions = {}): HeldRun {
  if (!(program instanceof StepProgram)) throw check.typeError('startHeldRun', 'program', 'a StepProgram', program);
  const { prefix = [], ...given } = check.options<HeldRunOptions>(options, 'startHeldRun');
  // A held run is looked at, not judged, and cannot be started again: the node host runs it
  // whatever room its brk heap has (node-host.ts), unless the caller asks otherwise.
  const givenEnv = given.env;
  const hostOptions = {
    ...given,
    env:
      givenEnv === undefined || (typeof givenEnv === 'object' && givenEnv !== null)
        ? { [MIN_BREAK_ROOM_ENV]: '0', ...(givenEnv ?? {}) }
        : givenEnv,
  };
  const { command, args, env, runEnv, allocator, timeoutMs, collect } = hostLaunch(host, hostOptions, 'startHeldRun');
  const argv = [...prefix, command, ...args];
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const records: Buffer[] = [];
  const stderr: Buffer[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  const parsed = () => parseRecords(program, Buffer.concat(records));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
    records.push(chunk);
    for (const wake of [...waiters]) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const go = child.stdio[PAUSE_FD] as NodeJS.WritableStream;
  go.on('error', () => {}); // the child may be gone
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const finished = new Promise<HostRun>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      collect();
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      exited = true;
      for (const wake of [...waiters]) wake();
      const run = hostRunOf(parsed(), host, { allocator, runEnv }, exitCode, signal, stderr, collect(), started);
      const notPreloaded = failedPreload(run);
      if (notPreloaded !== undefined) reject(notPreloaded);
      else resolve(run);
    });
  });
  child.stdin!.on('error', () => {});
  const encoded = program.encode();
  child.stdin!.end(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));

  function reached(label: string, waitMs = 60_000): Promise<ParsedRun> {
    if (!program.labels.includes(label)) {
      throw check.rangeError('HeldRun.reached', 'label', `one of the program's labels`, label);
    }
    return new Promise((resolve, reject) => {
      const check = () => {
        const run = parsed();
        const step = run.steps.find((candidate) => candidate.label === label);
        if (step?.sample !== undefined) return finish(() => resolve(run));
        if (run.failure !== undefined || exited) {
          const why =
            run.failure !== undefined
              ? `step ${run.failure.label} failed (${run.failure.op}, status ${run.failure.status})`
              : `the child exited first; stderr: ${Buffer.concat(stderr).toString('utf8').trim()}`;
          return finish(() =>
            reject(new MallocLabError(`held run: step ${label} not reached: ${why}`, 'ERR_BAD_PROGRAM')),
          );
        }
      };
      const timeout = setTimeout(
        () =>
          finish(() => reject(new MallocLabError(`held run: step ${label} not reached in ${waitMs} ms`, 'ETIMEDOUT'))),
        waitMs,
      );
      const finish = (then: () => void) => {
        clearTimeout(timeout);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  }

  return {
    pid: child.pid!,
    child,
    reached,
    resume: () => go.write(Buffer.of(1)),
    kill: () => child.kill('SIGKILL'),
    finished,
  };
}
