/**
 * The load generator beside a run: a shell command started once the measured
 * command is ready, in a session of its own, with the ready line's groups and
 * the command's pid in its environment, ended with the run. It is a child of
 * this process like the command, so the kernel's waited-for CPU account would
 * mix the two: when it ends first, its share is read at its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { lines } from './output-lines.js';
import { endSession, openSession, type Session } from './sessions.js';
import type { Ticks } from './tree-sampler.js';
import type { LoadRun } from './types.js';

export interface LoadStart {
  command: string;
  cwd: string;
  /** Added to this process's environment: MALLOC_LAB_PID, MALLOC_LAB_READY_*, … */
  env: Record<string, string>;
  /** Milliseconds after the run's start, for the record. */
  atMs: number;
  elapsed: () => number;
  onLine?: (line: string) => void;
  /**
   * Called at its exit: returns its CPU share in ticks when it can be told apart
   * from the command's (the command is still running), else null.
   */
  onExit: () => Ticks | null;
}

export class LoadGenerator {
  readonly record: LoadRun;
  /** Its CPU ticks when it ended before the command; null otherwise. */
  share: Ticks | null = null;
  private readonly child: ChildProcess;
  private readonly session: Session | null;
  private readonly exited: Promise<void>;

  constructor(start: LoadStart) {
    const output: string[] = [];
    this.record = {
      command: start.command,
      startedAtMs: Math.round(start.atMs),
      endedAtMs: null,
      code: null,
      signal: null,
      stoppedByCompare: false,
      output,
    };
    this.child = spawn('/bin/sh', ['-c', start.command], {
      cwd: start.cwd,
      env: { ...process.env, ...start.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.session = this.child.pid !== undefined ? openSession(this.child.pid) : null;
    const onLine = (line: string) => start.onLine?.(line);
    lines(this.child.stdout!, output, onLine);
    lines(this.child.stderr!, output, onLine);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        output.push(`could not start /bin/sh: ${error.message}`);
        this.record.endedAtMs = Math.round(start.elapsed());
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.record.endedAtMs = Math.round(start.elapsed());
        this.record.code = code;
        this.record.signal = signal;
        this.share = start.onExit();
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** It has ended (on its own, or failed to start). */
  get ended(): boolean {
    return this.record.endedAtMs !== null;
  }

  /** Resolves when it has ended. */
  whenEnded(listener: () => void): void {
    void this.exited.then(listener);
  }

  /** Ends it and whatever it started (SIGTERM, SIGKILL after graceMs); the record, complete. */
  async stop(graceMs: number): Promise<LoadRun> {
    const running = !this.ended;
    if (this.session !== null) await endSession(this.session, graceMs, this.exited);
    await Promise.race([this.exited, sleep(2000)]);
    this.record.stoppedByCompare = running;
    return { ...this.record, output: [...this.record.output] };
  }
}
