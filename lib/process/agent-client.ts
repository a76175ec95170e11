/**
 * Talking to a process's malloc-lab agent: one JSON object per line each way over
 * its Unix socket ({"id", "op", …} → {"id", "ok", "result" | "error"}). The
 * figures only the process can know: mallinfo2, malloc_info per arena, V8's heap,
 * process.memoryUsage(), its settings; and malloc_trim run inside it. Plain fs and
 * net, no addon: the CLI asks from outside.
 */
import { connect, type Socket } from 'node:net';

import type { Mallinfo2 } from '../bridge/heap.js';
import type { MallocInfo } from '../glibc/malloc-info.js';
import { parseMallocInfo } from '../glibc/malloc-info.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { type AgentLocation, AGENT_PROTOCOL, findAgentSocket } from './agent-socket.js';
import type { AllocatorSettings } from './allocator-settings.js';
import type { Status } from './proc-files.js';
import { readStatusOf } from './target.js';

/** The glibc figures: malloc_info's XML (parseMallocInfo reads it). */
export interface AgentMalloc {
  pid: number;
  takenAt: string;
  /** malloc_info(0, …) as glibc wrote it. */
  mallocInfoXml: string;
}

export interface AgentV8 {
  heap: Record<string, number>;
  spaces: { name: string; sizeBytes: number; usedBytes: number; availableBytes: number; physicalBytes: number }[];
}

/** Everything the agent reports in one answer. */
export interface AgentStats extends AgentMalloc {
  /** mallinfo2(), taken right after malloc_info. */
  mallinfo: Mallinfo2;
  protocol: number;
  node: string;
  /** process.memoryUsage(): rss, heapTotal, heapUsed, external, arrayBuffers. */
  memoryUsage: Record<string, number>;
  v8: AgentV8;
  settings: AllocatorSettings;
  /** How long the agent took to gather it, in ms. */
  gatherMs: number;
}

export interface AgentTrim {
  pid: number;
  pad: number;
  /** malloc_trim returned 1. */
  released: boolean;
  before: Status;
  after: Status;
  /** before.RssAnon - after.RssAnon. */
  reclaimedBytes: number;
  /** How long malloc_trim ran, holding each arena's lock in turn. */
  durationMs: number;
}

export interface AgentHello {
  agent: 'malloc-lab';
  protocol: number;
  pid: number;
  socket: string;
}

/** The line a service adds to have an agent. */
export const AGENT_IMPORT_LINE = "import 'malloc-lab/agent';";

export function noAgentError(pid: number, command: string, looked: string[]): MallocLabError {
  return new MallocLabError(
    `${command}: pid ${pid} has no malloc-lab agent (looked at ${looked.length > 0 ? looked.join(', ') : 'nothing readable'}); ` +
      `add \`${AGENT_IMPORT_LINE}\` (or startAgent() from malloc-lab) to the service and restart it`,
    ErrorCodes.NO_AGENT,
  );
}

/** One connection to an agent; requests are answered in order. */
export class AgentClient {
  readonly location: AgentLocation;
  readonly #socket: Socket;
  #buffered = '';
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >();
  #closed: Error | null = null;

  private constructor(location: AgentLocation, socket: Socket) {
    this.location = location;
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    const end = (error?: Error) => {
      this.#closed ??= error ?? new MallocLabError('the agent closed the connection', ErrorCodes.AGENT_PROTOCOL);
      for (const [, waiter] of this.#pending) {
        clearTimeout(waiter.timer);
        waiter.reject(this.#closed);
      }
      this.#pending.clear();
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static connect(location: AgentLocation, timeoutMs = 2000): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(location.path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MallocLabError(`the agent at ${location.shown} did not accept in ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new AgentClient(location, socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const stale = error.code === 'ECONNREFUSED' || error.code === 'ENOENT';
        reject(
          new MallocLabError(
            stale
              ? `the agent socket ${location.shown} is stale: nothing listens on it (its process exited without removing it)`
              : `cannot connect to the agent at ${location.shown}: ${error.message}`,
            stale ? ErrorCodes.NO_AGENT : (error.code ?? ErrorCodes.AGENT_PROTOCOL),
          ),
        );
      });
    });
  }

  #receive(chunk: string): void {
    this.#buffered += chunk;
    for (let newline = this.#buffered.indexOf('\n'); newline >= 0; newline = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, newline);
      this.#buffered = this.#buffered.slice(newline + 1);
      let message: { id?: unknown; ok?: unknown; result?: unknown; error?: { code?: string; message?: string } };
      try {
        message = JSON.parse(line);
      } catch {
        this.#socket.destroy(
          new MallocLabError(`the agent sent a line that is not JSON: ${line.slice(0, 80)}`, ErrorCodes.AGENT_PROTOCOL),
        );
        return;
      }
      const waiter = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
      if (waiter === undefined) continue;
      this.#pending.delete(message.id as number);
      clearTimeout(waiter.timer);
      if (message.ok === true) waiter.resolve(message.result);
      else
        waiter.reject(
          new MallocLabError(
            `agent: ${message.error?.message ?? 'the request failed'}`,
            message.error?.code ?? ErrorCodes.AGENT_PROTOCOL,
          ),
        );
    }
  }

  request<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new MallocLabError(`the agent did not answer ${op} in ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#socket.write(`${JSON.stringify({ ...args, id, op })}\n`);
    });
  }

  async hello(timeoutMs?: number): Promise<AgentHello> {
    const hello = await this.request<AgentHello>('hello', {}, timeoutMs);
    if (hello?.agent !== 'malloc-lab' || hello.protocol !== AGENT_PROTOCOL) {
      throw new MallocLabError(
        `the socket ${this.location.shown} does not speak malloc-lab's agent protocol ${AGENT_PROTOCOL}`,
        ErrorCodes.AGENT_PROTOCOL,
      );
    }
    return hello;
  }

  stats(timeoutMs?: number): Promise<AgentStats> {
    return this.request<AgentStats>('stats', {}, timeoutMs);
  }

  malloc(timeoutMs?: number): Promise<AgentMalloc> {
    return this.request<AgentMalloc>('malloc', {}, timeoutMs);
  }

  trim(pad = 0, timeoutMs = 60_000): Promise<AgentTrim> {
    return this.request<AgentTrim>('trim', { pad }, timeoutMs);
  }

  close(): void {
    this.#closed ??= new MallocLabError('the connection was closed', ErrorCodes.AGENT_PROTOCOL);
    this.#socket.destroy();
  }
}

/** Connects to pid's agent and checks it is one; ENOENT when there is no such process, ERR_NO_AGENT when it has no agent. */
export async function connectToAgent(pid: number, command: string, timeoutMs = 2000): Promise<AgentClient> {
  readStatusOf(pid, command); // a gone pid is that, not a missing agent
  const looked: string[] = [];
  const location = findAgentSocket(pid, looked);
  if (location === null) throw noAgentError(pid, command, looked);
  const client = await AgentClient.connect(location, timeoutMs);
  try {
    await client.hello(timeoutMs);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** malloc_info's arenas from an agent's answer. */
export function mallocInfoOf(answer: AgentMalloc): MallocInfo {
  return parseMallocInfo(answer.mallocInfoXml);
}
