// Allocator threads from JS: calls run on the thread (its own arena), blocks join
// the registry, cross-thread free works, and the books stay right under load.
import { describe, expect, it } from 'vitest';

import * as lab from '../lib/index.js';

describe('allocator threads', () => {
  it("a block malloc'd on a thread comes from a non-main arena; the main thread's from the main arena", () => {
    const thread = lab.startThread();
    const onThread = thread.malloc(1024);
    const onMain = lab.malloc(1024);
    expect(lab.blockArena(onThread)).toBe('thread');
    expect(lab.blockArena(onMain)).toBe('main');
    lab.free(onThread); // cross-thread free: made on the thread, freed here
    thread.free(onMain); // and the other way round
    thread.close();
  });

  it('errors raised on the thread arrive as typed errors here, and the thread keeps working', () => {
    const thread = lab.startThread();
    expect(() => thread.free(0x1234n)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_POINTER' }));
    expect(() => thread.malloc(2 ** 52)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    const block = thread.malloc(64);
    thread.fill(block, 3);
    expect(lab.read(block, 0, 2)).toEqual(new Uint8Array([3, 3]));
    expect(thread.malloc_usable_size(block)).toBeGreaterThanOrEqual(64);
    thread.free(block);
    thread.close();
  });

  it('closing a thread keeps its blocks valid; a closed thread refuses calls; close twice is a no-op', () => {
    const thread = lab.startThread();
    const block = thread.malloc(4096);
    const live = lab.liveThreads();
    thread.close();
    thread.close();
    expect(lab.liveThreads()).toBe(live - 1);
    lab.fill(block, 1);
    lab.free(block);
    expect(() => thread.malloc(1)).toThrow(/is closed/);
  });

  it('the registry is consistent after 10 000 mixed cross-thread operations', () => {
    const threads = [lab.startThread(), lab.startThread(), lab.startThread()];
    const before = lab.registryStats();
    const live: bigint[] = [];
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 10_000; i++) {
      const who = Math.floor(random() * 4); // 3: the main thread
      const thread = threads[who];
      if (live.length === 0 || random() < 0.55) {
        const size = 1 + Math.floor(random() * 4096);
        live.push(thread ? thread.malloc(size) : lab.malloc(size));
      } else {
        const block = live.splice(Math.floor(random() * live.length), 1)[0]!;
        if (thread) thread.free(block);
        else lab.free(block);
      }
    }
    expect(lab.registryStats().liveBlocks).toBe(before.liveBlocks + live.length);
    for (const block of live) lab.free(block);
    expect(lab.registryStats()).toEqual(before);
    for (const thread of threads) thread.close();
  });

  it('arenaCensus counts arenas and the default cap; stackLimits reports the thread stack', () => {
    const census = lab.arenaCensus();
    expect(census.count).toBeGreaterThanOrEqual(1);
    expect(census.arenas[0]!.main).toBe(true);
    expect(census.defaultCap).toBe(8 * lab.onlineCpus());
    const limits = lab.stackLimits();
    expect(limits.defaultThreadStack).toBeGreaterThan(0);
  });
});
