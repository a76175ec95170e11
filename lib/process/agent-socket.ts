/**
 * Where a process's malloc-lab agent listens, and whether that place is safe. The
 * agent (integrations/agent.ts) binds a Unix socket `<pid>.sock` in a directory
 * only its user can enter (0700, owned by that user; the socket itself 0600):
 * MALLOC_LAB_AGENT_DIR, else `$TMPDIR/malloc-lab-<uid>` (tmux's pattern). A client
 * (explain, trim, export) finds it through the target's own sockets
 * (/proc/<pid>/net/unix and its descriptors) or, failing that, the directories its
 * environment names, and refuses a directory or socket owned by another user or
 * reachable by others: someone else's socket there could feed false figures or
 * swallow a trim. Never TCP. Plain fs, no addon.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { startupEnvironment } from './allocator-detection.js';
import { procPath, readProcText } from './proc-files.js';

export const AGENT_PROTOCOL = 1;
/** The environment variable naming the agent's directory (for the service and for clients). */
export const AGENT_DIR_VARIABLE = 'MALLOC_LAB_AGENT_DIR';

/** The agent directory of a user, as the agent picks it from its environment. */
export function agentDirectory(uid: number, env: Record<string, string | undefined> = process.env): string {
  const chosen = env[AGENT_DIR_VARIABLE];
  if (chosen !== undefined && chosen !== '') return chosen;
  return join(env['TMPDIR'] !== undefined && env['TMPDIR'] !== '' ? env['TMPDIR'] : tmpdir(), `malloc-lab-${uid}`);
}

export function agentSocketName(pid: number): string {
  return `${pid}.sock`;
}

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/**
 * Refuses (ERR_AGENT_UNSAFE) a directory that is not a real directory owned by uid
 * with no access for group or others. `path` is what is checked (maybe through
 * /proc/<pid>/root), `shown` what the message names.
 */
export function checkAgentDirectory(path: string, uid: number, shown = path): void {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) {
    throw new MallocLabError(
      `agent directory ${shown} must be a directory (not a symbolic link or a file): refusing it`,
      ErrorCodes.AGENT_UNSAFE,
    );
  }
  if (stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new MallocLabError(
      `agent directory ${shown} must be owned by uid ${uid} with mode 0700, found uid ${stat.uid} mode ${modeText(stat.mode)}: ` +
        'another user could reach or replace the agent there; remove it or set MALLOC_LAB_AGENT_DIR',
      ErrorCodes.AGENT_UNSAFE,
    );
  }
}

/** Refuses (ERR_AGENT_UNSAFE) a socket that is not owned by uid or that group or others may use. */
export function checkAgentSocket(path: string, uid: number, shown = path): void {
  const stat = lstatSync(path);
  if (!stat.isSocket()) {
    throw new MallocLabError(`agent socket ${shown} is not a socket: refusing it`, ErrorCodes.AGENT_UNSAFE);
  }
  if (stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new MallocLabError(
      `agent socket ${shown} must be owned by uid ${uid} with mode 0600, found uid ${stat.uid} mode ${modeText(stat.mode)}: refusing to talk to it`,
      ErrorCodes.AGENT_UNSAFE,
    );
  }
}

/** The effective uid in a process's status text (the Uid line's second field). */
function effectiveUidIn(status: string): number | null {
  const match = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return match === null ? null : Number(match[1]);
}

/** The pid the process knows itself by (the last NSpid entry of its status text: its own pid namespace's view). */
function ownPidIn(status: string, pid: number): number {
  const match = /^NSpid:\s+([\d\s]+)$/m.exec(status);
  const ids = match?.[1]?.trim().split(/\s+/).map(Number);
  return ids?.at(-1) ?? pid;
}

/** The prefix that makes a path of the target's mount namespace reachable from here. */
function rootPrefix(pid: number): string {
  try {
    if (readlinkSync('/proc/self/ns/mnt') === readlinkSync(procPath(pid, 'ns/mnt'))) return '';
  } catch {
    // Unreadable: assume the same namespace, as for most processes.
    return '';
  }
  return procPath(pid, 'root');
}

/** Paths of listening Unix sockets that pid holds open, from its descriptors and its network namespace's table. */
function listeningSocketsOf(pid: number): string[] | null {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(procPath(pid, 'fd'))
        .map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(readlinkSync(procPath(pid, `fd/${fd}`)))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((inode): inode is string => inode !== undefined),
    );
  } catch {
    return null;
  }
  const paths: string[] = [];
  try {
    for (const line of readFileSync(procPath(pid, 'net/unix'), 'latin1').split('\n').slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path; flags 00010000: listening.
      const fields = line.trim().split(/\s+/);
      if (fields.length < 8 || !inodes.has(fields[6]!)) continue;
      if ((Number.parseInt(fields[3]!, 16) & 0x10000) === 0) continue;
      paths.push(fields.slice(7).join(' '));
    }
  } catch {
    return null;
  }
  return paths;
}

export interface AgentLocation {
  /** The path to connect to (through /proc/<pid>/root when the target is in another mount namespace). */
  path: string;
  /** The path as the target sees it. */
  shown: string;
  /** The target's effective uid, which the directory and socket must belong to. */
  uid: number;
  /** How it was found. */
  foundBy: 'descriptors' | 'directory';
}

/**
 * The agent socket of pid, or null when it has none (with the places looked at in
 * `looked`). Throws ERR_AGENT_UNSAFE when the socket or its directory fails the checks.
 */
export function findAgentSocket(pid: number, looked: string[] = []): AgentLocation | null {
  let status: string;
  try {
    status = readProcText(pid, 'status');
  } catch {
    return null;
  }
  const uid = effectiveUidIn(status);
  if (uid === null) return null;
  const own = ownPidIn(status, pid);
  const name = agentSocketName(own);
  const prefix = rootPrefix(pid);
  const candidates: { shown: string; foundBy: AgentLocation['foundBy'] }[] = [];
  const listening = listeningSocketsOf(pid);
  if (listening !== null) {
    looked.push(`the listening sockets of pid ${pid}`);
    for (const path of listening)
      if (path.endsWith(`/${name}`)) candidates.push({ shown: path, foundBy: 'descriptors' });
    // Its descriptors are the truth: no listening socket named <pid>.sock means no agent.
    if (candidates.length === 0) return null;
  } else {
    let env: Record<string, string> = {};
    try {
      env = startupEnvironment(pid);
    } catch {
      // Not readable: the default directory only.
    }
    const directory = agentDirectory(uid, { ...env, TMPDIR: env['TMPDIR'] ?? '/tmp' });
    candidates.push({ shown: join(directory, name), foundBy: 'directory' });
  }
  for (const candidate of candidates) {
    const path = prefix + candidate.shown;
    looked.push(candidate.shown);
    try {
      lstatSync(path);
    } catch {
      continue;
    }
    const directory = candidate.shown.slice(0, candidate.shown.lastIndexOf('/')) || '/';
    checkAgentDirectory(prefix + directory, uid, directory);
    checkAgentSocket(path, uid, candidate.shown);
    return { path, shown: candidate.shown, uid, foundBy: candidate.foundBy };
  }
  return null;
}
