/**
 * Nothing compare starts outlives it. Every command and load generator is
 * spawned detached, so it leads a session (and process group) of its own that
 * its forks join; ending a run signals the group, every process still in the
 * session, and the pids the tree sampler saw outside it (a child that called
 * setsid), SIGTERM first and SIGKILL after the grace period. If this process
 * exits while sessions are open (an uncaught error, process.exit), an exit hook
 * SIGKILLs them.
 *
 * What cannot be covered from here: a descendant that left the session before
 * anyone saw it, and SIGKILL to this process itself (no exit hook runs).
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { type ProcStat, readProcStat } from '../process/proc-stat.js';

export interface Session {
  /** The session leader's pid: also the session id and process group id. */
  leader: number;
  /** Processes known to belong to the run but possibly outside the session: pid → start time (a reused pid is not theirs). */
  extra: Map<number, number>;
}

const open = new Set<Session>();
let hooked = false;

function exitHook(): void {
  for (const session of open) {
    for (const pid of alive(session)) trySignal(pid, 'SIGKILL');
    trySignal(-session.leader, 'SIGKILL');
  }
  open.clear();
}

/** Adds a process the run owns (seen in its process tree): it may leave the session later (setsid). */
export function claim(session: Session, pid: number): void {
  const stat = statOf(pid);
  if (stat !== null) session.extra.set(pid, stat.starttime);
}

/** Registers a session leader that compare just spawned. */
export function openSession(leader: number): Session {
  if (!hooked) {
    process.on('exit', exitHook);
    hooked = true;
  }
  const session: Session = { leader, extra: new Map() };
  open.add(session);
  return session;
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone
  }
}

function statOf(pid: number): ProcStat | null {
  try {
    return readProcStat(pid);
  } catch {
    return null;
  }
}

/** Processes of the session, and the extra pids, that are still running (zombies have ended). */
export function alive(session: Session): number[] {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    const code = entry.charCodeAt(0);
    if (code < 0x30 || code > 0x39) continue;
    const stat = statOf(Number(entry));
    if (stat !== null && stat.session === session.leader && stat.state !== 'Z') pids.add(Number(entry));
  }
  for (const [pid, starttime] of session.extra) {
    const stat = statOf(pid);
    if (stat !== null && stat.state !== 'Z' && stat.starttime === starttime) pids.add(pid);
  }
  return [...pids];
}

export interface EndResult {
  /** Processes that were still running when the ending began. */
  signalled: number;
  /** SIGKILL was needed: something outlived SIGTERM by the grace period. */
  killed: boolean;
}

/**
 * Ends every process of the session: SIGTERM, then SIGKILL to whatever still runs
 * after graceMs. Resolves when nothing of it runs (or 2 s after SIGKILL, which
 * cannot be refused). `until` (the leader's exit, say) must also have settled.
 */
export async function endSession(session: Session, graceMs: number, until?: Promise<unknown>): Promise<EndResult> {
  const running = alive(session);
  const result: EndResult = { signalled: running.length, killed: false };
  let settled = until === undefined;
  void until?.then(() => (settled = true));
  if (running.length > 0) {
    trySignal(-session.leader, 'SIGTERM');
    for (const pid of running) trySignal(pid, 'SIGTERM');
    const deadline = performance.now() + graceMs;
    while (performance.now() < deadline && (alive(session).length > 0 || !settled)) await sleep(25);
    const left = alive(session);
    if (left.length > 0) {
      result.killed = true;
      trySignal(-session.leader, 'SIGKILL');
      for (const pid of left) trySignal(pid, 'SIGKILL');
    }
  }
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline && (alive(session).length > 0 || !settled)) await sleep(10);
  open.delete(session);
  return result;
}
