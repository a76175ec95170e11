/**
 * The in-process agent: what only the process itself can know, for `malloc-lab
 * explain`, `trim` and `export` to ask from outside. One opt-in line in a service:
 *
 *   import 'malloc-lab/agent';          // or: startAgent({ directory }) from 'malloc-lab'
 *
 * It listens on a Unix socket `<pid>.sock` in a directory only the process's user
 * can enter (0700, owned by that user; the socket 0600; never TCP) and answers
 * `hello`, `stats` (mallinfo2, malloc_info per arena, V8's heap, memoryUsage, the
 * allocator settings), `malloc` (mallinfo2 and malloc_info only) and `trim`
 * (malloc_trim(pad) with RSS before and after). Idle it costs nothing: no timers,
 * no polling, nothing allocated, and the server is unref'd so it never keeps the
 * process alive. The socket is removed at exit; a stale one (a dead process with
 * the same pid, or gone processes' sockets in the directory) is replaced. One per
 * process: a second start, a second copy of the package, or a Worker gets the
 * running agent (or, in a Worker, none).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';

import { mallinfo2 } from '../bridge/heap.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';
import type { AgentHello, AgentMalloc, AgentStats, AgentTrim } from '../process/agent-client.js';
import { AGENT_PROTOCOL, agentDirectory, agentSocketName, checkAgentDirectory } from '../process/agent-socket.js';
import { allocatorSettings } from '../process/allocator-settings.js';
import { trim } from '../service/trim.js';

export interface AgentOptions {
  /** The directory for the socket (default MALLOC_LAB_AGENT_DIR, else $TMPDIR/malloc-lab-<uid>). */
  directory?: string;
}

export interface Agent {
  /** The socket's path; null in a Worker (the agent belongs to the main thread). */
  socketPath: string | null;
  /** Resolves once it listens (rejects with the reason it could not). */
  ready: Promise<void>;
  /** Stops listening and removes the socket. */
  close(): Promise<void>;
}

const GLOBAL = Symbol.for('malloc-lab.agent');
/** Longest request line accepted: requests are a few dozen bytes. */
const MAX_REQUEST = 4096;

type Holder = { [GLOBAL]?: Agent };

function removeStaleSockets(directory: string): void {
  for (const name of readdirSync(directory)) {
    const match = /^(\d+)\.sock$/.exec(name);
    if (match === null || existsSync(`/proc/${match[1]}`)) continue;
    try {
      unlinkSync(join(directory, name));
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Makes (or checks) the directory: 0700 and owned by this process's user, else ERR_AGENT_UNSAFE. */
function prepareDirectory(directory: string, uid: number): void {
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new MallocLabError(
        `startAgent: cannot make the agent directory ${directory}: ${(error as Error).message}`,
        (error as NodeJS.ErrnoException).code ?? ErrorCodes.AGENT_UNSAFE,
      );
    }
  }
  checkAgentDirectory(directory, uid);
}

/** malloc_info's XML only: the cheapest answer with every arena's figures (stats adds mallinfo2's totals). */
function gather(): AgentMalloc {
  return { pid: process.pid, takenAt: new Date().toISOString(), mallocInfoXml: native.malloc_info() };
}

function stats(): AgentStats {
  const started = performance.now();
  const malloc = { ...gather(), mallinfo: mallinfo2() };
  const heap = v8.getHeapStatistics() as unknown as Record<string, number>;
  const spaces = v8.getHeapSpaceStatistics().map((space) => ({
    name: space.space_name,
    sizeBytes: space.space_size,
    usedBytes: space.space_used_size,
    availableBytes: space.space_available_size,
    physicalBytes: space.physical_space_size,
  }));
  return {
    ...malloc,
    protocol: AGENT_PROTOCOL,
    node: process.version,
    memoryUsage: { ...process.memoryUsage() },
    v8: { heap: { ...heap }, spaces },
    settings: allocatorSettings({}),
    gatherMs: performance.now() - started,
  };
}

function answer(request: Record<string, unknown>, socketPath: string): unknown {
  switch (request['op']) {
    case 'hello':
      return {
        agent: 'malloc-lab',
        protocol: AGENT_PROTOCOL,
        pid: process.pid,
        socket: socketPath,
      } satisfies AgentHello;
    case 'stats':
      return stats();
    case 'malloc':
      return gather();
    case 'trim': {
      const pad = check.size(request['pad'] ?? 0, 'agent trim', 'pad');
      const result = trim({ pad });
      return { pid: process.pid, pad, ...result } satisfies AgentTrim;
    }
    default:
      throw new MallocLabError(
        `unknown op ${JSON.stringify(request['op'])} (expected hello, stats, malloc or trim)`,
        ErrorCodes.AGENT_PROTOCOL,
      );
  }
}

function serve(socket: Socket, socketPath: string): void {
  socket.unref();
  socket.setEncoding('utf8');
  let buffered = '';
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST && !buffered.includes('\n')) {
      socket.end(
        `${JSON.stringify({ id: null, ok: false, error: { code: ErrorCodes.AGENT_PROTOCOL, message: 'request too long' } })}\n`,
      );
      socket.destroy();
      return;
    }
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let id: unknown = null;
      let reply: string;
      try {
        const request = JSON.parse(line) as Record<string, unknown>;
        if (request === null || typeof request !== 'object') throw new Error('a request is a JSON object');
        id = request['id'] ?? null;
        reply = JSON.stringify({ id, ok: true, result: answer(request, socketPath) });
      } catch (error) {
        const code = error instanceof MallocLabError ? error.code : ErrorCodes.AGENT_PROTOCOL;
        reply = JSON.stringify({ id, ok: false, error: { code, message: (error as Error).message } });
      }
      socket.write(`${reply}\n`);
    }
  });
}

/**
 * Starts the agent (once per process: later calls return the running one, whatever
 * their options). Throws ERR_AGENT_UNSAFE when the directory belongs to someone
 * else or others can enter it.
 */
export function startAgent(options: AgentOptions = {}): Agent {
  const { directory: chosen } = check.options<AgentOptions>(options, 'startAgent');
  if (chosen !== undefined && (typeof chosen !== 'string' || chosen === '')) {
    throw check.typeError('startAgent', 'options.directory', 'a non-empty path', chosen);
  }
  const holder = globalThis as Holder;
  if (holder[GLOBAL] !== undefined) return holder[GLOBAL];
  if (!isMainThread) {
    return { socketPath: null, ready: Promise.resolve(), close: () => Promise.resolve() };
  }
  const uid = process.geteuid?.() ?? 0;
  const directory = chosen ?? agentDirectory(uid);
  prepareDirectory(directory, uid);
  const socketPath = join(directory, agentSocketName(process.pid));
  removeStaleSockets(directory);
  if (existsSync(socketPath)) {
    // Our pid's name: a dead process's socket (pid reuse), in our own directory. Ours to replace if ours.
    const stale = lstatSync(socketPath);
    if (!stale.isSocket() || stale.uid !== uid) {
      throw new MallocLabError(
        `startAgent: ${socketPath} exists and is not a socket of uid ${uid}: refusing to replace it`,
        ErrorCodes.AGENT_UNSAFE,
      );
    }
    unlinkSync(socketPath);
  }
  const server: Server = createServer((socket) => serve(socket, socketPath));
  server.unref();
  const onExit = () => {
    try {
      if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
    } catch {
      // Already gone.
    }
  };
  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      delete holder[GLOBAL];
      process.off('exit', onExit);
      reject(
        new MallocLabError(
          `startAgent: cannot listen on ${socketPath}: ${error.message}`,
          error.code ?? ErrorCodes.AGENT_UNSAFE,
        ),
      );
    });
    server.listen(socketPath, () => {
      try {
        chmodSync(socketPath, 0o600);
        resolve();
      } catch (error) {
        server.close();
        reject(error);
      }
    });
  });
  ready.catch(() => {}); // the failure is the caller's to see through `ready`
  process.on('exit', onExit);
  const agent: Agent = {
    socketPath,
    ready,
    close: () =>
      new Promise<void>((resolve) => {
        if (holder[GLOBAL] === agent) delete holder[GLOBAL];
        process.off('exit', onExit);
        server.close(() => resolve());
        onExit();
      }),
  };
  holder[GLOBAL] = agent;
  return agent;
}
