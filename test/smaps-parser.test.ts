// The smaps parser: real smaps text parses to one mapping per maps line with the
// kernel's numbers; the same text cut into chunks anywhere parses the same; and
// fuzzed text (bytes changed, lines cut, doubled or dropped) yields mappings or
// an ERR_BAD_SMAPS error, never anything else.
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { MallocLabError } from '../lib/infra/errors.js';
import { parseSmaps, SmapsParser } from '../lib/process/explain/smaps.js';
import { readSmapsRollupOfPid } from '../lib/process/proc-files.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const sample = readFileSync('/proc/self/smaps');

describe('parseSmaps on real text', () => {
  it("gives one mapping per maps line, and its Rss adds up to smaps_rollup's", async () => {
    // A quiet process (sleep, once it has loaded), so the three files describe the same moment.
    const quiet = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = quiet.pid!;
      for (let seen = ''; ;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const now = readFileSync(`/proc/${pid}/maps`, 'latin1');
        if (now === seen && now.includes('libc.so')) break;
        seen = now;
      }
      const text = readFileSync(`/proc/${pid}/smaps`);
      const rollup = readSmapsRollupOfPid(pid).Rss;
      const maps = readFileSync(`/proc/${pid}/maps`, 'latin1').trim().split('\n');
      const mappings = parseSmaps(text);
      expect(mappings.length).toBeGreaterThan(10);
      expect(mappings.reduce((total, mapping) => total + mapping.rss, 0)).toBe(rollup);
      expect(mappings.map((mapping) => `${mapping.start.toString(16)}-${mapping.end.toString(16)}`)).toEqual(
        maps.map((line) => line.split(' ')[0]),
      );
      expect(mappings.find((mapping) => mapping.path === '[stack]')?.perms).toBe('rw-p');
      expect(mappings.find((mapping) => mapping.path === '[vsyscall]')?.start).toBe(0xffffffffff600000);
    } finally {
      quiet.kill('SIGKILL');
    }
  });

  it('parses the same when the text arrives cut at any points', () => {
    const whole = parseSmaps(sample);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: sample.length - 1 }), { maxLength: 40 }), (cuts) => {
        const parser = new SmapsParser();
        let at = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          parser.push(sample.subarray(at, cut));
          at = cut;
        }
        parser.push(sample.subarray(at));
        expect(parser.end()).toEqual(whole);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parseSmaps on fuzzed text', () => {
  const lines = sample.toString('latin1').split('\n');
  const mutation = fc.oneof(
    // a byte changed
    fc.record({ kind: fc.constant('byte'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    // cut off anywhere
    fc.record({ kind: fc.constant('cut'), at: fc.nat() }),
    // a line dropped, doubled, or swapped with another
    fc.record({ kind: fc.constantFrom('drop', 'double', 'swap'), at: fc.nat(), other: fc.nat() }),
    // a line replaced by random text
    fc.record({ kind: fc.constant('replace'), at: fc.nat(), text: fc.string({ maxLength: 60 }) }),
  );
  it('yields mappings or ERR_BAD_SMAPS, nothing else', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
        let current = [...lines];
        for (const change of mutations) {
          const index = change.at % current.length;
          if (change.kind === 'byte') {
            const text = Buffer.from(current.join('\n'), 'latin1');
            text[change.at % text.length] = (change as { byte: number }).byte;
            current = text.toString('latin1').split('\n');
          } else if (change.kind === 'cut') {
            const text = current.join('\n');
            current = text.slice(0, change.at % (text.length + 1)).split('\n');
          } else if (change.kind === 'drop') current.splice(index, 1);
          else if (change.kind === 'double') current.splice(index, 0, current[index]!);
          else if (change.kind === 'swap') {
            const other = (change as { other: number }).other % current.length;
            [current[index], current[other]] = [current[other]!, current[index]!];
          } else current[index] = (change as { text: string }).text;
          if (current.length === 0) current = [''];
        }
        try {
          const mappings = parseSmaps(Buffer.from(current.join('\n'), 'latin1'));
          for (const mapping of mappings) {
            expect(mapping.end).toBeGreaterThanOrEqual(mapping.start);
            expect(Number.isFinite(mapping.rss)).toBe(true);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(MallocLabError);
          expect((error as MallocLabError).code).toBe('ERR_BAD_SMAPS');
          expect((error as MallocLabError).message).toMatch(/^smaps: line \d+: expected /);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
