// mallinfo2 is glibc 2.33+, and the published binaries run down to 2.28: there the
// counters come from mallinfo (int fields). MALLOC_LAB_FORCE_MALLINFO=1 takes that path
// here, for real, and the results say which call filled them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { runOnHost } from '../lib/experiments/framework/hosts.js';
import { StepProgram } from '../lib/experiments/framework/program.js';

const root = join(import.meta.dirname, '..');
const BLOCK = 100_000; // below the mmap threshold: counted in uordblks

/** In a child Node: which call was used, and uordblks before and after malloc(BLOCK). */
function inChild(env: Record<string, string>): { source: string; before: number; after: number; arena: number } {
  const script = `
    const lab = await import(${JSON.stringify(join(root, 'dist', 'index.js'))});
    const before = lab.mallinfo2().uordblks;
    const block = lab.malloc(${BLOCK});
    const info = lab.mallinfo2();
    lab.free(block);
    console.log(JSON.stringify({ source: lab.mallinfoSource(), before, after: info.uordblks, arena: info.arena }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout);
}

const program = () =>
  new StepProgram()
    .step('before')
    .step('malloc', (s) => s.malloc('block', BLOCK))
    .step('free', (s) => s.free('block'));

describe('the mallinfo fallback (forced)', () => {
  for (const [label, env, source] of [
    ['forced', { MALLOC_LAB_FORCE_MALLINFO: '1' }, 'mallinfo'],
    ['default', { MALLOC_LAB_FORCE_MALLINFO: '0' }, 'mallinfo2'],
  ] as const) {
    it(`the addon, ${label}: ${source} fills the counters, and they see the block`, () => {
      const result = inChild(env);
      expect(result.source).toBe(source);
      expect(result.after - result.before).toBeGreaterThanOrEqual(BLOCK);
      expect(result.after - result.before).toBeLessThan(BLOCK + 4096); // + the first malloc's tcache, other threads
      expect(result.arena).toBeGreaterThanOrEqual(result.after);
    });

    for (const host of ['fresh', 'node'] as const) {
      it(`the ${host} host, ${label}: every run says ${source}, and its counters see the block`, async () => {
        const run = await runOnHost(program(), host, { env });
        expect(run.completed).toBe(true);
        expect(run.mallinfoSource).toBe(source);
        const [before, malloced] = run.steps.map((step) => step.sample!.mallinfo.uordblks);
        expect(malloced! - before!).toBeGreaterThanOrEqual(BLOCK);
        expect(malloced! - before!).toBeLessThan(BLOCK + 4096); // + the first malloc's tcache, other threads
      });
    }
  }
});
