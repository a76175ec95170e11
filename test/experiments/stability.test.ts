// Verdicts with their counts over repeated runs, what differed when they disagree, and the
// node host's steady start: a Node process whose brk heap is walled in runs nothing.
import { beforeAll, describe, expect, it } from 'vitest';

import { breakRoom, programBreak } from '../../lib/bridge/heap.js';
import { sbrk16k } from '../../lib/experiments/catalogue/sbrk-16k.js';
import { runOnHost } from '../../lib/experiments/framework/hosts.js';
import { MAX_NODE_STARTS, MIN_BREAK_ROOM_ENV, WALLED_EXIT } from '../../lib/experiments/framework/node-host-exit.js';
import { StepProgram } from '../../lib/experiments/framework/program.js';
import { runExperiment, type ExperimentRun } from '../../lib/experiments/framework/runner.js';
import { combineRepetitions, differences } from '../../lib/experiments/framework/stability.js';

let repeated: ExperimentRun[];

beforeAll(async () => {
  repeated = await runExperiment(sbrk16k, { worlds: [{ host: 'fresh', heap: 'clean' }], repeat: 3 });
}, 120_000);

describe('--repeat', () => {
  it('runs each world that many times and gives every verdict its count', () => {
    expect(repeated).toHaveLength(1);
    const [run] = repeated;
    expect(run!.repeat).toBe(3);
    for (const claim of run!.claims) {
      expect(claim.of).toBe(3);
      expect(Object.values(claim.counts).reduce((sum, count) => sum + count, 0)).toBe(3);
      expect(claim.counts[claim.verdict]).toBeGreaterThanOrEqual(2);
    }
    // The fresh host's heap starts the same every time: no verdict differs.
    expect(run!.claims.filter((claim) => claim.unstable !== undefined)).toEqual([]);
  });

  it('a claim whose runs disagree says so, with each count and where the evidence differed', () => {
    const [run] = repeated;
    const other = structuredClone({ ...run!, repeat: 1 });
    const claim = other.claims.find((candidate) => candidate.id === 'sixth-fits')!;
    claim.verdict = 'refuted';
    claim.evidence = claim.evidence.replace('the break moved by 0 B', 'the break moved by +132 KiB');
    const combined = combineRepetitions([{ ...run!, repeat: 1 }, other]);
    const result = combined.claims.find((candidate) => candidate.id === 'sixth-fits')!;
    expect(result.counts).toEqual({ confirmed: 1, refuted: 1 });
    expect(result.of).toBe(2);
    expect(result.unstable).toMatch(/depends on the heap's state \(confirmed 1\/2, refuted 1\/2\)/);
    expect(result.unstable).toMatch(/«.*0 B.*», refuted: «.*\+132 KiB.*»/);
  });

  it('differences() finds the words that differ, with their neighbours', () => {
    expect(differences('the break moved 0 B and the top 12 KiB', 'the break moved 4 KiB and the top 12 KiB')).toEqual([
      { a: 'moved 0 B and', b: 'moved 4 KiB and' },
    ]);
    expect(differences('same words', 'same words')).toEqual([]);
  });
});

describe('the node host', () => {
  it('breakRoom() reads the break and the first mapping above it, in this process', () => {
    const room = breakRoom();
    expect(room.programBreak).toBe(programBreak());
    expect(room.nextMapping).toBeGreaterThan(room.programBreak);
    expect(room.room).toBe(Number(room.nextMapping! - room.programBreak));
  });

  it('a Node process with less room above the break than it needs runs nothing, and another is started', async () => {
    const program = new StepProgram().step('x', (s) => s.malloc('a', 64));
    // Asking for more room than any address space has: every Node process counts as walled in.
    const walled = await runOnHost(program, 'node', { env: { [MIN_BREAK_ROOM_ENV]: String(2 ** 62) } });
    expect(walled.restarts).toHaveLength(MAX_NODE_STARTS - 1);
    for (const reason of walled.restarts)
      expect(reason).toMatch(/above the program break .* so the brk heap cannot grow/);
    expect(walled.exitCode).toBe(WALLED_EXIT);
    expect(walled.completed).toBe(false);
    // With the default room (1 GiB) a Node process has it: the program runs in the first one.
    const steady = await runOnHost(program, 'node');
    expect(steady.restarts).toEqual([]);
    expect(steady.completed).toBe(true);
    // And the check can be turned off.
    const unchecked = await runOnHost(program, 'node', { env: { [MIN_BREAK_ROOM_ENV]: '0' } });
    expect(unchecked.restarts).toEqual([]);
    expect(unchecked.completed).toBe(true);
  });
});
