// glibc's mtrace log, as glibc 2.36 writes it, read into events and a leak report.
import { describe, expect, it } from 'vitest';

import { parseMtraceLog } from '../lib/glibc/mtrace-log.js';

const LOG = [
  '= Start',
  '@ /usr/bin/prog:(main+0x1c)[0x11a5] + 0x55a2360314a0 0x64',
  '@ /usr/bin/prog:[0x1190] - 0x55a2360314a0',
  '@ /usr/bin/prog:[0x119a] + 0x55a236031510 0xc8',
  '@ /usr/bin/prog:[0x11b0] + 0x55a236031600 0x10',
  '@ /usr/bin/prog:[0x11c0] < 0x55a236031600',
  '@ /usr/bin/prog:[0x11c0] > 0x55a236032000 0x1000',
  '@ /usr/bin/prog:[0x11d0] + (nil) 0xffffffffffff',
  '@ [0x7f0000001234] - 0x55a2360ff000',
  'a line that is not mtrace output',
  '= End',
  '',
].join('\n');

describe('parseMtraceLog', () => {
  it('reads every event with its address, size and caller', () => {
    const log = parseMtraceLog(LOG);
    expect(log.started).toBe(true);
    expect(log.ended).toBe(true);
    expect(log.events.map((event) => event.kind)).toEqual([
      'alloc',
      'free',
      'alloc',
      'alloc',
      'realloc-from',
      'realloc-to',
      'alloc',
      'free',
    ]);
    expect(log.events[0]).toEqual({
      kind: 'alloc',
      address: 0x55a2360314a0n,
      size: 100,
      caller: '/usr/bin/prog:(main+0x1c)[0x11a5]',
      line: 2,
    });
    expect(log.events[6]!.address).toBe(0n);
  });

  it('reports the blocks never freed (a realloc moves one), and frees of blocks it never saw allocated', () => {
    const log = parseMtraceLog(LOG);
    expect(log.leaks.map((block) => [block.address, block.size, block.line])).toEqual([
      [0x55a236031510n, 200, 4],
      [0x55a236032000n, 4096, 7],
    ]);
    expect(log.unknownFrees.map((event) => event.address)).toEqual([0x55a2360ff000n]);
  });

  it('an empty text is an empty log', () => {
    expect(parseMtraceLog('')).toEqual({ started: false, ended: false, events: [], leaks: [], unknownFrees: [] });
  });
});
