/**
 * Which process a command looks at: a pid, or a name matched against
 * /proc/<pid>/comm and the command lines (never the CLI itself or its
 * ancestors). Shared by `status`, `watch` and `export`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';

import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { type Status, readStatusOfPid } from './proc-files.js';

export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/comm: the kernel's name for it (at most 15 characters). */
  comm: string;
  /** /proc/<pid>/cmdline split at NULs; empty for kernel threads and zombies. */
  cmdline: string[];
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

/** comm and cmdline of a process, or null when it is gone (or hidden from us). */
export function identify(pid: number): ProcessIdentity | null {
  const comm = readText(`/proc/${pid}/comm`);
  if (comm === null) return null;
  const cmdline = readText(`/proc/${pid}/cmdline`) ?? '';
  return {
    pid,
    comm: comm.replace(/\n$/, ''),
    cmdline: cmdline.split('\0').filter((word, index, all) => word !== '' || index < all.length - 1),
  };
}

/** The command line as one string, for people (comm in brackets when there is none, as ps does). */
export function commandLine(identity: ProcessIdentity | null, max = 120): string {
  if (identity === null) return '?';
  const text = identity.cmdline.length > 0 ? identity.cmdline.join(' ') : `[${identity.comm}]`;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function parentOf(pid: number): number {
  const match = /^PPid:\s*(\d+)/m.exec(readText(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) : 0;
}

/** This process and its ancestors (the shell, sudo, npx …): never candidates for a name. */
export function selfAndAncestors(): Set<number> {
  const chain = new Set<number>();
  for (let pid = process.pid; pid > 0 && !chain.has(pid); pid = parentOf(pid)) chain.add(pid);
  return chain;
}

/**
 * Processes a name designates, in two tiers: first those whose comm or first
 * command-line word (its basename) equals the name; only if there are none,
 * those with any command-line word whose basename equals it (`server.js` finds
 * `node server.js`). The caller and its ancestors never match.
 */
export function findProcesses(name: string): ProcessIdentity[] {
  const excluded = selfAndAncestors();
  const all: ProcessIdentity[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (excluded.has(pid)) continue;
    const identity = identify(pid);
    if (identity !== null) all.push(identity);
  }
  const first = all.filter(
    (identity) =>
      commMatches(identity, name) || (identity.cmdline[0] !== undefined && basename(identity.cmdline[0]) === name),
  );
  if (first.length > 0) return first;
  // None has that comm here, so nameMatches comes down to its command-line words.
  return all.filter((identity) => nameMatches(identity, name));
}

/** comm is cut to 15 characters by the kernel. */
function commMatches(identity: ProcessIdentity, name: string): boolean {
  return identity.comm === name || (name.length > 15 && identity.comm === name.slice(0, 15));
}

/** Whether a process goes by name: its comm, or the basename of any command-line word. */
export function nameMatches(identity: ProcessIdentity, name: string): boolean {
  return commMatches(identity, name) || identity.cmdline.some((word) => word !== '' && basename(word) === name);
}

/**
 * A command's target: a decimal pid (which must exist) or a process name that
 * must designate exactly one process. `command` prefixes the messages.
 */
export function resolveProcess(spec: string, command: string): number {
  if (/^\d+$/.test(spec)) {
    const pid = Number(spec);
    if (pid < 1 || pid > 0x7fffffff) {
      throw new MallocLabError(`${command}: pid must be from 1 to 2147483647, received ${spec}`, ErrorCodes.USAGE);
    }
    return pid;
  }
  if (spec === '' || spec.startsWith('-')) {
    throw new MallocLabError(
      `${command}: expected a pid or a process name, received ${JSON.stringify(spec)}`,
      ErrorCodes.USAGE,
    );
  }
  const matches = findProcesses(spec);
  if (matches.length === 1) return matches[0]!.pid;
  if (matches.length === 0) {
    throw new MallocLabError(
      `${command}: no process named ${JSON.stringify(spec)} (compared with /proc/<pid>/comm and the words of each command line); give a pid`,
      ErrorCodes.NO_SUCH_PROCESS,
    );
  }
  const shown = matches
    .slice(0, 20)
    .map((identity) => `  ${String(identity.pid).padStart(7)}  ${commandLine(identity, 100)}`);
  if (matches.length > shown.length) shown.push(`  … and ${matches.length - shown.length} more`);
  throw new MallocLabError(
    `${command}: ${matches.length} processes match ${JSON.stringify(spec)}:\n${shown.join('\n')}\ngive one of these pids instead of the name`,
    ErrorCodes.AMBIGUOUS_PROCESS,
  );
}

/** Errors of /proc reads that mean "this pid is gone". */
export function isGone(error: unknown): boolean {
  return error instanceof MallocLabError && (error.code === 'ENOENT' || error.code === 'ESRCH');
}

export function goneError(command: string, pid: number): MallocLabError {
  return new MallocLabError(`${command}: no process with pid ${pid} (it exited or never existed)`, 'ENOENT');
}

/** status(pid) with the gone case turned into a one-line message naming the command. */
export function readStatusOf(pid: number, command: string): Status {
  try {
    return readStatusOfPid(pid);
  } catch (error) {
    if (isGone(error)) throw goneError(command, pid);
    throw error;
  }
}

/** A process without an address space (kernel thread, zombie) has no Vm or Rss lines in status. */
export function hasAddressSpace(snapshot: Status): boolean {
  return Number.isFinite(snapshot.VmSize) || Number.isFinite(snapshot.VmRSS);
}
