// The addon in Node Workers: per-environment state, blocks a Worker leaves are
// freed when it exits, and terminating a Worker mid-call does not take the
// process down.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

import * as lab from '../lib/index.js';

const dist = join(import.meta.dirname, '..', 'dist', 'index.js');

function worker(source: string): Worker {
  return new Worker(`import(${JSON.stringify(dist)}).then(async (lab) => { ${source} });`, { eval: true });
}

function message(w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function exit(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once('exit', resolve));
}

describe('worker_threads', () => {
  it('a Worker allocates through its own addon instance, and the blocks it still holds at exit are freed', async () => {
    const before = lab.registryStats();
    const w = worker(`
      const { parentPort } = await import('node:worker_threads');
      const kept = [];
      for (let i = 0; i < 100; i++) kept.push(lab.malloc(1000));
      lab.fill(kept[0], 9);
      parentPort.postMessage({ live: lab.registryStats().liveBlocks, byte: lab.read(kept[0], 0, 1)[0] });
    `);
    const reply = (await message(w)) as { live: number; byte: number };
    expect(reply.byte).toBe(9);
    expect(reply.live).toBeGreaterThanOrEqual(before.liveBlocks + 100);
    await exit(w);
    expect(lab.registryStats()).toEqual(before);
  });

  it('terminating a Worker in the middle of a long native call leaves this process working', async () => {
    const before = lab.registryStats();
    const w = worker(`
      const { parentPort } = await import('node:worker_threads');
      parentPort.postMessage('started');
      // About a second of native work: allocate and free 3 × 2M blocks.
      for (let i = 0; i < 3; i++) { const set = lab.allocBatch({ count: 2_000_000, size: 16 }); set.release(); }
      parentPort.postMessage('finished');
    `);
    expect(await message(w)).toBe('started');
    const code = await w.terminate();
    expect(typeof code).toBe('number');
    const block = lab.malloc(64);
    lab.fill(block, 1);
    expect(lab.read(block, 0, 1)[0]).toBe(1);
    lab.free(block);
    // The registry is exactly as before: the block came and went, the Worker left nothing in it.
    expect(lab.registryStats()).toEqual(before);
  });
});
