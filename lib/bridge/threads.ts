/**
 * Allocator threads: real native threads that stay alive and run allocator calls
 * on request, so glibc serves each call from that thread's arena. Each call is
 * synchronous (the caller waits). Blocks join the same registry as malloc()'s:
 * free them on any thread or with the plain free().
 *
 * Closing a thread that still holds blocks is defined: the blocks stay allocated
 * and valid (glibc keeps an exited thread's arena for reuse), and are freed like
 * any other block. Threads still open when their environment (the process, or a
 * Worker) ends are closed then, and that environment's blocks are freed.
 */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';

/** The calls a thread runs, numbered as native/core/threads.h's ThreadCall (the parity test checks). */
export const THREAD_CALLS = {
  malloc: 0,
  calloc: 1,
  realloc: 2,
  free: 3,
  malloc_trim: 4,
  fill: 5,
  touch: 6,
  malloc_usable_size: 7,
} as const;

export class AllocatorThread {
  readonly id: number;
  #closed = false;

  /** startThread makes these; a thread id comes from the addon. */
  constructor(id: number) {
    this.id = check.integer(id, 'AllocatorThread', 'id', 1, 0xffffffff);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #call(name: keyof typeof THREAD_CALLS, a?: bigint | number, b?: bigint | number): bigint | number {
    if (this.#closed) {
      throw new MallocLabError(
        `AllocatorThread.${name}: thread ${this.id} is closed (expected an open thread)`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
    return native.threadCall(this.id, THREAD_CALLS[name], a, b);
  }

  malloc(size: number): bigint {
    return this.#call('malloc', check.size(size, 'AllocatorThread.malloc')) as bigint;
  }

  calloc(nmemb: number, size: number): bigint {
    return this.#call(
      'calloc',
      check.size(nmemb, 'AllocatorThread.calloc', 'nmemb'),
      check.size(size, 'AllocatorThread.calloc'),
    ) as bigint;
  }

  realloc(ptr: bigint, size: number): bigint {
    return this.#call(
      'realloc',
      check.address(ptr, 'AllocatorThread.realloc'),
      check.size(size, 'AllocatorThread.realloc'),
    ) as bigint;
  }

  /** Frees any live block (made on any thread) on this thread. */
  free(ptr: bigint): void {
    this.#call('free', check.address(ptr, 'AllocatorThread.free'));
  }

  malloc_trim(pad = 0): number {
    return this.#call('malloc_trim', check.size(pad, 'AllocatorThread.malloc_trim', 'pad')) as number;
  }

  /** memset over the whole block, on this thread. */
  fill(ptr: bigint, value = 0): void {
    this.#call(
      'fill',
      check.address(ptr, 'AllocatorThread.fill'),
      check.integer(value, 'AllocatorThread.fill', 'value', 0, 255),
    );
  }

  touch(ptr: bigint): void {
    this.#call('touch', check.address(ptr, 'AllocatorThread.touch'));
  }

  malloc_usable_size(ptr: bigint): number {
    return this.#call('malloc_usable_size', check.address(ptr, 'AllocatorThread.malloc_usable_size')) as number;
  }

  /** Stops and joins the thread; its blocks stay allocated. Closing twice is a no-op. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.closeThread(this.id);
  }
}

/** Starts a native thread that runs allocator calls on request. */
export function startThread(): AllocatorThread {
  return new AllocatorThread(native.startThread());
}

/** Allocator threads running in this process (all environments). */
export function liveThreads(): number {
  return native.liveThreads();
}
