// Every misuse is refused with its stable code, the process carries on, and the
// registry stays right. One table drives the cases (the README's table lists the codes).
import { describe, expect, it } from 'vitest';

import * as lab from '../lib/index.js';
import { thrown } from './helpers.js';

const live = lab.malloc(64);
const freed = lab.malloc(64);
lab.free(freed);
const mapping = lab.mmap(lab.PAGE_SIZE * 4);

interface Case {
  name: string;
  call: () => unknown;
  code: string;
  /** Words the message must contain: the parameter and what arrived. */
  mentions?: string[];
  errno?: number;
}

const cases: Case[] = [
  {
    name: 'free of a pointer never returned',
    call: () => lab.free(0x1234n),
    code: 'ERR_UNKNOWN_POINTER',
    mentions: ['ptr', '0x1234'],
  },
  { name: 'double free', call: () => lab.free(freed), code: 'ERR_FREED_POINTER', mentions: ['already freed'] },
  {
    name: 'free of an interior pointer',
    call: () => lab.free(live + 8n),
    code: 'ERR_INTERIOR_POINTER',
    mentions: ['inside the block'],
  },
  { name: 'free of a mapping', call: () => lab.free(mapping), code: 'ERR_NOT_OWNED', mentions: ['mapping'] },
  { name: 'realloc of a freed pointer', call: () => lab.realloc(freed, 10), code: 'ERR_FREED_POINTER' },
  {
    name: 'malloc_usable_size of an unknown pointer',
    call: () => lab.malloc_usable_size(16n),
    code: 'ERR_UNKNOWN_POINTER',
  },
  {
    name: 'fill past the end',
    call: () => lab.fill(live, 1, { offset: 60, length: 8 }),
    code: 'ERR_OUT_OF_BOUNDS',
    mentions: ['64-byte'],
  },
  { name: 'fill of a freed block', call: () => lab.fill(freed, 1), code: 'ERR_FREED_POINTER' },
  { name: 'read past the end', call: () => lab.read(live, 0, 65), code: 'ERR_OUT_OF_BOUNDS' },
  { name: 'write past the end', call: () => lab.write(live, new Uint8Array(2), 63), code: 'ERR_OUT_OF_BOUNDS' },
  { name: 'touch of an unknown pointer', call: () => lab.touch(0xdead0000n), code: 'ERR_UNKNOWN_POINTER' },
  {
    name: 'size as a string',
    call: () => lab.malloc('10' as never),
    code: 'ERR_INVALID_ARG_TYPE',
    mentions: ['size', 'a string ("10")'],
  },
  { name: 'negative size', call: () => lab.malloc(-1), code: 'ERR_OUT_OF_RANGE', mentions: ['size', '-1'] },
  { name: 'fractional size', call: () => lab.malloc(1.5), code: 'ERR_OUT_OF_RANGE', mentions: ['1.5'] },
  { name: 'NaN size', call: () => lab.malloc(NaN), code: 'ERR_OUT_OF_RANGE', mentions: ['NaN'] },
  { name: 'Infinity size', call: () => lab.malloc(Infinity), code: 'ERR_OUT_OF_RANGE', mentions: ['Infinity'] },
  { name: '2^53 size', call: () => lab.malloc(2 ** 53), code: 'ERR_OUT_OF_RANGE' },
  { name: 'bigint size', call: () => lab.malloc(10n as never), code: 'ERR_INVALID_ARG_TYPE', mentions: ['10n'] },
  {
    name: 'number as pointer',
    call: () => lab.free(1234 as never),
    code: 'ERR_INVALID_ARG_TYPE',
    mentions: ['bigint'],
  },
  { name: 'null pointer type', call: () => lab.free(null as never), code: 'ERR_INVALID_ARG_TYPE', mentions: ['null'] },
  { name: 'negative bigint pointer', call: () => lab.free(-1n), code: 'ERR_OUT_OF_RANGE' },
  { name: 'pointer above 2^64', call: () => lab.free(1n << 64n), code: 'ERR_OUT_OF_RANGE' },
  {
    name: 'huge malloc (SIZE_MAX/2 is beyond 2^53; 2^52 fails in glibc)',
    call: () => lab.malloc(2 ** 52),
    code: 'ENOMEM',
    errno: 12,
  },
  { name: 'calloc overflow', call: () => lab.calloc(2 ** 40, 2 ** 40), code: 'ENOMEM', errno: 12 },
  { name: 'posix_memalign with alignment 3', call: () => lab.posix_memalign(3, 16), code: 'EINVAL', errno: 22 },
  {
    name: 'aligned_alloc with alignment 24',
    call: () => lab.aligned_alloc(24, 48),
    code: 'ERR_OUT_OF_RANGE',
    mentions: ['power of two'],
  },
  {
    name: 'unknown mallopt name',
    call: () => lab.mallopt('M_FOO' as never, 1),
    code: 'ERR_UNKNOWN_MALLOPT_PARAM',
    mentions: ['M_FOO', 'M_ARENA_MAX'],
  },
  {
    name: 'unknown mallopt constant',
    call: () => lab.mallopt(42, 1),
    code: 'ERR_UNKNOWN_MALLOPT_PARAM',
    mentions: ['42'],
  },
  { name: 'mallopt value glibc rejects', call: () => lab.mallopt('M_MXFAST', 1 << 20), code: 'ERR_MALLOPT_REJECTED' },
  {
    name: "sbrk shrinking into malloc's heap",
    call: () => lab.sbrk(-4096),
    code: 'ERR_SBRK_REFUSED',
    mentions: ['cut into'],
  },
  {
    name: 'unaligned mincore',
    call: () => lab.mincore(live - (live % 4096n) + 8n, 64),
    code: 'ERR_UNALIGNED',
    mentions: ['page-aligned'],
  },
  { name: 'mincore of an unmapped range', call: () => lab.mincore(0x1000n, 4096), code: 'ENOMEM', errno: 12 },
  {
    name: 'madvise outside owned memory',
    call: () => lab.madvise(0x10000n, 4096, 'MADV_DONTNEED'),
    code: 'ERR_NOT_OWNED',
  },
  {
    name: 'madvise past the end of a mapping',
    call: () => lab.madvise(mapping, lab.PAGE_SIZE * 5, 'MADV_DONTNEED'),
    code: 'ERR_OUT_OF_BOUNDS',
  },
  {
    name: 'madvise with an unknown advice',
    call: () => lab.madvise(mapping, 4096, 'MADV_EXPLODE' as never),
    code: 'ERR_OUT_OF_RANGE',
  },
  { name: 'mlock outside owned memory', call: () => lab.mlock(0x10000n, 4096), code: 'ERR_NOT_OWNED' },
  {
    name: 'munmap of part of a mapping',
    call: () => lab.munmap(mapping, lab.PAGE_SIZE),
    code: 'ERR_OUT_OF_BOUNDS',
    mentions: ['whole mapping'],
  },
  { name: 'munmap of a malloc block', call: () => lab.munmap(live, 64), code: 'ERR_NOT_OWNED' },
  { name: 'absurd batch count', call: () => lab.allocBatch({ count: 2 ** 40, size: 8 }), code: 'ERR_LIMIT_EXCEEDED' },
  {
    name: 'batch free rule out of range',
    call: () => lab.allocBatch({ count: 4, size: 8 }).free({ min: 3, max: 9 }),
    code: 'ERR_OUT_OF_RANGE',
    mentions: ['rule.max'],
  },
  {
    name: 'status of a pid that does not exist',
    call: () => lab.status(0x7ffffffe),
    code: 'ENOENT',
    mentions: ['no process'],
  },
];

describe('bad input is refused with a typed error', () => {
  const registryBefore = lab.registryStats();

  for (const c of cases) {
    it(`${c.name} → ${c.code}`, () => {
      const error = thrown(c.call);
      expect(error).toBeInstanceOf(lab.MallocLabError);
      expect(error.code).toBe(c.code);
      for (const word of c.mentions ?? []) expect(error.message).toContain(word);
      if (c.errno !== undefined) expect(error.errno).toBe(c.errno);
    });
  }

  it('the process carries on and the registry is unchanged by the refused calls', () => {
    // A fresh allocation still works, and the refused calls added or dropped nothing.
    const block = lab.malloc(128);
    lab.fill(block, 7);
    expect(lab.read(block, 0, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
    lab.free(block);
    expect(lab.registryStats()).toEqual(registryBefore);
    expect(lab.malloc_usable_size(live)).toBeGreaterThanOrEqual(64);
  });
});
