// Model-based fuzzing with fast-check. Random sequences of operations, valid and
// invalid, run against the real addon and against a small model of what malloc-lab
// owns (blocks, mappings, sbrk segments, block sets and the bytes inside them).
// After every step the registry equals the model; every failure is the typed error
// the model predicts; after cleanup the glibc heap is back where it started.
//
// A second property fuzzes step programs: whatever the validator accepts runs in a
// fresh child without a signal; whatever it refuses is ERR_BAD_PROGRAM.
//
// FUZZ_RUNS (default 150 here; `npm run fuzz` sets 20000), FUZZ_SEED and FUZZ_PATH
// (to replay a failure fast-check printed) tune both properties.
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runOnHost } from '../lib/experiments/framework/hosts.js';
import { OPS, StepProgram, type StepBuilder } from '../lib/experiments/framework/program.js';
import * as lab from '../lib/index.js';
import { native } from '../lib/infra/native.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
const SEED = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const PATH = process.env['FUZZ_PATH'];
/** A long fuzz (npm run fuzz) takes its time: about 30 ms a run. */
const TIMEOUT = Math.max(60_000, RUNS * 200);
const PAGE = lab.PAGE_SIZE;
/** Under a sanitizer's allocator (scripts/asan.sh) mallinfo2 reads glibc's idle heap, not the one in use. */
const SANITIZED = process.env['MALLOC_LAB_SANITIZER'] !== undefined;
const settings = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(SEED === undefined ? {} : { seed: SEED }),
  ...(PATH === undefined ? {} : { path: PATH }),
});
/**
 * Bytes the glibc heap (uordblks + hblkhd) may differ by after a run's cleanup: freed
 * chunks parked in the tcaches of the two threads (up to about 240 KiB each) count as in
 * use, and Node itself mallocs a little between two readings. A run allocates up to
 * tens of MiB; a leak of any block set or mapped chunk shows far above this.
 */
const HEAP_BOUND = 1024 * 1024;

// ---------------------------------------------------------------------------
// The model.

type Kind = 'heap' | 'mapping' | 'break';

interface Block {
  kind: Kind;
  size: number;
  /** Known contents, -1 where unknown (fresh malloc, realloc's new tail). */
  bytes: Int16Array;
  /** Pages written since mmap or the last MADV_DONTNEED (mappings): they must be resident. */
  dirty?: Set<number>;
}

interface ModelSet {
  id: lab.BlockSet;
  sizes: number[];
  live: boolean[];
}

/**
 * Addresses freed (in any run) and not handed out again since: the registry names them
 * freed, or has forgotten them (it drops freed entries once they outnumber live ones).
 */
const everFreed = new Set<bigint>();

class Model {
  readonly blocks = new Map<bigint, Block>();
  readonly stale = everFreed;
  readonly sets: ModelSet[] = [];
  readonly released: lab.BlockSet[] = [];
  /** sbrk segments malloc-lab took, most recent last. */
  readonly segments: { start: bigint; size: number }[] = [];

  add(address: bigint, block: Block): void {
    expect(this.blocks.has(address), `address ${address} handed out twice`).toBe(false);
    this.blocks.set(address, block);
    this.stale.delete(address);
  }

  remove(address: bigint): void {
    this.blocks.delete(address);
    this.stale.add(address);
  }

  pick(index: number, kinds: Kind[] = ['heap']): [bigint, Block] | undefined {
    const candidates = [...this.blocks].filter(([, block]) => kinds.includes(block.kind));
    return candidates.length === 0 ? undefined : candidates[index % candidates.length];
  }

  /** The live block containing address (not at its start), if any. */
  container(address: bigint): bigint | undefined {
    for (const [start, block] of this.blocks) {
      if (address > start && address < start + BigInt(Math.max(block.size, 1))) return start;
    }
    return undefined;
  }
}

interface Real {
  thread: lab.AllocatorThread;
  baseline: { liveBlocks: number; liveBytes: number };
}

const unknown = (size: number) => new Int16Array(size).fill(-1);
const known = (size: number, value: number) => new Int16Array(size).fill(value);

/** Runs fn, expecting a MallocLabError whose code is one of codes. */
function refused(fn: () => unknown, ...codes: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected one of ${codes.join(', ')}`).toBeInstanceOf(lab.MallocLabError);
  expect(codes).toContain((error as lab.MallocLabError).code);
}

/** The registry holds exactly the model's blocks, and their bytes are the model's. */
function checkAgainstModel(model: Model, real: Real, touched?: bigint): void {
  let bytes = 0;
  for (const block of model.blocks.values()) bytes += block.size;
  expect(lab.registryStats()).toEqual({
    liveBlocks: real.baseline.liveBlocks + model.blocks.size,
    liveBytes: real.baseline.liveBytes + bytes,
  });
  if (touched === undefined) return;
  const block = model.blocks.get(touched);
  if (block === undefined) return;
  checkBytes(touched, block);
  if (block.kind === 'heap') expect(lab.malloc_usable_size(touched)).toBeGreaterThanOrEqual(block.size);
  if (block.kind === 'mapping' && block.dirty !== undefined) {
    const residency = lab.mincore(touched, block.size);
    for (const page of block.dirty) expect(residency.vector[page]! & 1, `page ${page} was written`).toBe(1);
  }
}

function checkBytes(address: bigint, block: Block): void {
  if (block.size === 0) return;
  // Whole blocks up to 16 KiB; beyond, the first and last 4 KiB.
  const ranges: [number, number][] =
    block.size <= 16384
      ? [[0, block.size]]
      : [
          [0, 4096],
          [block.size - 4096, 4096],
        ];
  for (const [offset, length] of ranges) {
    const actual = lab.read(address, offset, length);
    for (let i = 0; i < length; i++) {
      const want = block.bytes[offset + i]!;
      if (want >= 0 && actual[i] !== want) {
        expect.fail(
          `byte ${offset + i} of the ${block.kind} at 0x${address.toString(16)} is ${actual[i]}, the model says ${want}`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Commands. Each either succeeds as the model says, or fails with the code it predicts.

type Cmd = fc.Command<Model, Real>;

const sizes = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 512 }) },
  { weight: 3, arbitrary: fc.integer({ min: 513, max: 16384 }) },
  { weight: 1, arbitrary: fc.integer({ min: 128 * 1024, max: 300 * 1024 }) }, // mapped chunks
);
const bytes = fc.integer({ min: 0, max: 255 });
const pick = fc.nat();

/** What check.size says about an arbitrary value: undefined when it is a valid size. */
function sizeVerdict(value: unknown): string | undefined {
  if (typeof value !== 'number') return 'ERR_INVALID_ARG_TYPE';
  return Number.isSafeInteger(value) && value >= 0 ? undefined : 'ERR_OUT_OF_RANGE';
}
const anything = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.double(),
  fc.integer({ min: -10, max: -1 }),
  fc.constantFrom(null, undefined, true, {}, [], NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, 1.5),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
);

class Malloc implements Cmd {
  constructor(
    readonly how: 'malloc' | 'calloc' | 'valloc' | 'memalign' | 'posix_memalign' | 'aligned_alloc' | 'thread',
    readonly size: number,
    readonly align: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const alignment = 2 ** this.align;
    const address =
      this.how === 'malloc'
        ? lab.malloc(this.size)
        : this.how === 'calloc'
          ? lab.calloc(1, this.size)
          : this.how === 'valloc'
            ? lab.valloc(this.size)
            : this.how === 'memalign'
              ? lab.memalign(alignment, this.size)
              : this.how === 'posix_memalign'
                ? lab.posix_memalign(Math.max(alignment, 8), this.size)
                : // C11 asks for a size that is a multiple of the alignment (glibc does not care; ASan does).
                  this.how === 'aligned_alloc'
                  ? lab.aligned_alloc(alignment, SANITIZED ? Math.ceil(this.size / alignment) * alignment : this.size)
                  : real.thread.malloc(this.size);
    const wanted =
      this.how === 'valloc'
        ? PAGE
        : this.how === 'memalign' || this.how === 'aligned_alloc'
          ? alignment
          : this.how === 'posix_memalign'
            ? Math.max(alignment, 8)
            : 16;
    expect(address % BigInt(wanted)).toBe(0n);
    const size = this.how === 'aligned_alloc' && SANITIZED ? Math.ceil(this.size / alignment) * alignment : this.size;
    model.add(address, { kind: 'heap', size, bytes: this.how === 'calloc' ? known(size, 0) : unknown(size) });
    checkAgainstModel(model, real, address);
  }
  toString = () => `${this.how}(${this.size}${this.how.includes('align') ? `, align 2^${this.align}` : ''})`;
}

class Free implements Cmd {
  constructor(
    readonly index: number,
    readonly onThread: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const target = model.pick(this.index);
    if (target === undefined) return;
    if (this.onThread) real.thread.free(target[0]);
    else lab.free(target[0]);
    model.remove(target[0]);
    checkAgainstModel(model, real);
  }
  toString = () => `free(#${this.index}${this.onThread ? ', on a thread' : ''})`;
}

class Realloc implements Cmd {
  constructor(
    readonly index: number,
    readonly size: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const target = model.pick(this.index);
    if (target === undefined) return;
    const [address, block] = target;
    const moved = lab.realloc(address, this.size);
    if (this.size === 0) {
      expect(moved).toBe(0n);
      model.remove(address);
      checkAgainstModel(model, real);
      return;
    }
    const bytes = unknown(this.size);
    bytes.set(block.bytes.subarray(0, Math.min(block.size, this.size)));
    model.blocks.delete(address);
    if (moved !== address) model.stale.add(address);
    model.add(moved, { kind: 'heap', size: this.size, bytes });
    checkAgainstModel(model, real, moved);
  }
  toString = () => `realloc(#${this.index}, ${this.size})`;
}

/** fill / write / read / touch over an arbitrary range: inside it works, outside it is ERR_OUT_OF_BOUNDS. */
class Access implements Cmd {
  constructor(
    readonly how: 'fill' | 'write' | 'read' | 'touch',
    readonly index: number,
    readonly offset: number,
    readonly length: number,
    readonly value: number,
    readonly kinds: Kind[],
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const target = model.pick(this.index, this.kinds);
    if (target === undefined) return;
    const [address, block] = target;
    // Offsets and lengths scale with the block, straddling its end about half the time.
    const offset = Math.floor(this.offset * (block.size + 2));
    const length = Math.floor(this.length * (block.size + 2 - Math.min(offset, block.size)));
    const inside = offset + length <= block.size;
    const call = () => {
      if (this.how === 'fill') lab.fill(address, this.value, { offset, length });
      else if (this.how === 'touch') lab.touch(address, { offset, length });
      else if (this.how === 'write')
        lab.write(
          address,
          new Uint8Array(length).map((_, i) => (this.value + i) & 255),
          offset,
        );
      else return lab.read(address, offset, length);
      return undefined;
    };
    if (!inside) {
      refused(call, 'ERR_OUT_OF_BOUNDS');
      checkAgainstModel(model, real, address);
      return;
    }
    const result = call();
    if (this.how === 'fill') block.bytes.fill(this.value, offset, offset + length);
    if (this.how === 'write') for (let i = 0; i < length; i++) block.bytes[offset + i] = (this.value + i) & 255;
    if (this.how === 'read') {
      const got = result as Uint8Array;
      expect(got.length).toBe(length);
      for (let i = 0; i < length; i++) if (block.bytes[offset + i]! >= 0) expect(got[i]).toBe(block.bytes[offset + i]);
    }
    if (block.dirty !== undefined && length > 0 && this.how !== 'read') {
      for (let page = Math.floor(offset / PAGE); page <= Math.floor((offset + length - 1) / PAGE); page++)
        block.dirty.add(page);
    }
    checkAgainstModel(model, real, address);
  }
  toString = () =>
    `${this.how}(#${this.index} of ${this.kinds.join('/')}, ${this.offset.toFixed(2)}, ${this.length.toFixed(2)}, ${this.value})`;
}

class Mmap implements Cmd {
  constructor(
    readonly pages: number,
    readonly populate: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const size = this.pages * PAGE;
    const address = lab.mmap(size, { populate: this.populate });
    expect(address % BigInt(PAGE)).toBe(0n);
    model.add(address, { kind: 'mapping', size, bytes: known(size, 0), dirty: new Set() });
    checkAgainstModel(model, real, address);
  }
  toString = () => `mmap(${this.pages} pages${this.populate ? ', populate' : ''})`;
}

class Munmap implements Cmd {
  constructor(
    readonly index: number,
    readonly wrongLength: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const target = model.pick(this.index, ['mapping']);
    if (target === undefined) return;
    const [address, block] = target;
    if (this.wrongLength) {
      refused(() => lab.munmap(address, block.size - PAGE), 'ERR_OUT_OF_BOUNDS', 'ERR_OUT_OF_RANGE');
    } else {
      lab.munmap(address, block.size);
      model.remove(address);
    }
    checkAgainstModel(model, real);
  }
  toString = () => `munmap(#${this.index}${this.wrongLength ? ', one page short' : ''})`;
}

/** MADV_DONTNEED over whole pages of a mapping: they read as zero afterwards. */
class Dontneed implements Cmd {
  constructor(
    readonly index: number,
    readonly first: number,
    readonly pages: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const target = model.pick(this.index, ['mapping']);
    if (target === undefined) return;
    const [address, block] = target;
    const total = block.size / PAGE;
    const first = this.first % total;
    const pages = this.pages;
    const call = () => lab.madvise(address + BigInt(first * PAGE), pages * PAGE, 'MADV_DONTNEED');
    if (first + pages > total) {
      refused(call, 'ERR_OUT_OF_BOUNDS');
    } else {
      call();
      block.bytes.fill(0, first * PAGE, (first + pages) * PAGE);
      for (let page = first; page < first + pages; page++) block.dirty!.delete(page);
    }
    checkAgainstModel(model, real, address);
  }
  toString = () => `madvise(#${this.index}, page ${this.first}, ${this.pages} pages, MADV_DONTNEED)`;
}

/** sbrk(+n), bytes into the segment, then sbrk(-n): refused only when the break moved meanwhile. */
class Sbrk implements Cmd {
  constructor(
    readonly size: number,
    readonly giveBack: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    let start: bigint;
    try {
      start = lab.sbrk(this.size);
    } catch (error) {
      // The kernel refuses to move the break when a mapping sits right after it.
      expect((error as lab.MallocLabError).code).toBe('ENOMEM');
      checkAgainstModel(model, real);
      return;
    }
    model.add(start, { kind: 'break', size: this.size, bytes: unknown(this.size) });
    model.segments.push({ start, size: this.size });
    lab.fill(start, 0x5a);
    model.blocks.get(start)!.bytes.fill(0x5a);
    checkAgainstModel(model, real, start);
    if (this.giveBack) giveBackSegments(model);
    checkAgainstModel(model, real);
  }
  toString = () => `sbrk(${this.size})${this.giveBack ? ' and back' : ''}`;
}

/** Gives back the model's sbrk segments, most recent first, while the break allows it. */
function giveBackSegments(model: Model): void {
  while (model.segments.length > 0) {
    const top = model.segments[model.segments.length - 1]!;
    if (lab.programBreak() !== top.start + BigInt(top.size)) {
      refused(() => lab.sbrk(-top.size), 'ERR_SBRK_REFUSED');
      return;
    }
    lab.sbrk(-top.size);
    model.segments.pop();
    model.blocks.delete(top.start);
  }
}

/** Misuse the model predicts the exact refusal of. */
class Misuse implements Cmd {
  constructor(
    readonly what: number,
    readonly index: number,
    readonly delta: number,
    readonly value: unknown,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const heap = model.pick(this.index, ['heap']);
    const mapping = model.pick(this.index, ['mapping']);
    switch (this.what) {
      case 0: {
        // a stale pointer: freed (or, once the registry forgot it, unknown; or inside a new block)
        const stale = [...model.stale].filter((address) => !model.blocks.has(address));
        if (stale.length === 0) return;
        const address = stale[this.index % stale.length]!;
        const codes = [
          'ERR_FREED_POINTER',
          model.container(address) === undefined ? 'ERR_UNKNOWN_POINTER' : 'ERR_INTERIOR_POINTER',
        ];
        refused(() => lab.free(address), ...codes);
        refused(() => lab.realloc(address, 8), ...codes);
        refused(() => lab.fill(address, 1), ...codes);
        break;
      }
      case 1: {
        // an interior pointer
        if (heap === undefined || heap[1].size < 2) return;
        const address = heap[0] + BigInt(1 + (this.delta % (heap[1].size - 1)));
        const codes = model.stale.has(address)
          ? ['ERR_INTERIOR_POINTER', 'ERR_FREED_POINTER']
          : ['ERR_INTERIOR_POINTER'];
        refused(() => lab.free(address), ...codes);
        refused(() => lab.malloc_usable_size(address), ...codes);
        break;
      }
      case 2: // an address no allocator returns
        refused(() => lab.free(BigInt(16 + (this.delta % 0xffff))), 'ERR_UNKNOWN_POINTER');
        break;
      case 3: // the wrong kind of region
        if (mapping !== undefined) refused(() => lab.free(mapping[0]), 'ERR_NOT_OWNED');
        if (mapping !== undefined) refused(() => lab.realloc(mapping[0], 8), 'ERR_NOT_OWNED');
        if (heap !== undefined) refused(() => lab.munmap(heap[0], Math.max(heap[1].size, 1)), 'ERR_NOT_OWNED');
        break;
      case 4: {
        // an arbitrary value as a size
        const verdict = sizeVerdict(this.value);
        if (verdict === undefined) return;
        refused(() => lab.malloc(this.value as number), verdict);
        refused(() => lab.calloc(1, this.value as number), verdict);
        if (heap !== undefined) refused(() => lab.realloc(heap[0], this.value as number), verdict);
        break;
      }
      case 5: // an arbitrary value as a pointer
        if (typeof this.value === 'bigint') {
          const value = this.value;
          if (value < 0n || value >= 1n << 64n) refused(() => lab.free(value), 'ERR_OUT_OF_RANGE');
        } else {
          refused(() => lab.free(this.value as bigint), 'ERR_INVALID_ARG_TYPE');
        }
        break;
      case 6: // a mallopt parameter glibc does not act on
        if (!Object.values(lab.MALLOPT_PARAMS).includes(((this.delta % 64) - 32) as never)) {
          refused(() => lab.mallopt((this.delta % 64) - 32, 1), 'ERR_UNKNOWN_MALLOPT_PARAM');
        }
        break;
      case 7: // an sbrk that would cut into malloc's heap
        if (model.segments.length === 0) refused(() => lab.sbrk(-PAGE * (1 + (this.delta % 4))), 'ERR_SBRK_REFUSED');
        break;
      case 8: // a huge allocation
        refused(() => lab.malloc(2 ** 50 + this.delta), 'ENOMEM');
        break;
      default: // mincore at an unaligned address
        if (heap !== undefined && heap[0] % BigInt(PAGE) !== 0n)
          refused(() => lab.mincore(heap[0], 1), 'ERR_UNALIGNED');
    }
    checkAgainstModel(model, real);
  }
  toString = () =>
    `misuse ${this.what} (#${this.index}, ${this.delta}, ${typeof this.value === 'bigint' ? `${this.value}n` : String(this.value)})`;
}

/** Block sets: their blocks are the set's (not the registry's); the model predicts each free count. */
class Batch implements Cmd {
  constructor(
    readonly what: 'alloc' | 'free' | 'release' | 'stale',
    readonly count: number,
    readonly size: number,
    readonly rule: { step: number; min: number; max: number },
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    if (this.what === 'alloc') {
      const id = lab.allocBatch({ count: this.count, pattern: [{ size: this.size, fill: 7 }, { size: 1 }] });
      model.sets.push({
        id,
        sizes: Array.from({ length: this.count * 2 }, (_, i) => (i % 2 === 0 ? this.size : 1)),
        live: new Array(this.count * 2).fill(true),
      });
    } else if (this.what === 'stale') {
      const set = model.released[this.count % Math.max(model.released.length, 1)];
      if (set !== undefined) refused(() => set.free(), 'ERR_UNKNOWN_SET');
    } else {
      const set = model.sets[this.count % Math.max(model.sets.length, 1)];
      if (set === undefined) return;
      if (this.what === 'release') {
        set.id.release();
        model.sets.splice(model.sets.indexOf(set), 1);
        model.released.push(set.id);
      } else {
        const total = set.sizes.length;
        const min = 1 + (this.rule.min % total);
        const max = min + (this.rule.max % (total - min + 1));
        const step = 1 + (this.rule.step % total);
        let expected = 0;
        for (let j = min - 1; j < max; j += step)
          if (set.live[j]) {
            set.live[j] = false;
            expected++;
          }
        expect(set.id.free({ step, min, max })).toBe(expected);
        refused(() => set.id.free({ step, min, max: total + 1 }), 'ERR_OUT_OF_RANGE');
      }
    }
    for (const set of model.sets) {
      const liveBytes = set.sizes.reduce((sum, size, i) => sum + (set.live[i] ? size : 0), 0);
      expect(set.id.info()).toEqual({ blocks: set.sizes.length, live: set.live.filter(Boolean).length, liveBytes });
    }
    checkAgainstModel(model, real);
  }
  toString = () => `batch ${this.what} (${this.count}, ${this.size}, ${JSON.stringify(this.rule)})`;
}

const commands = [
  fc
    .tuple(
      fc.constantFrom('malloc', 'calloc', 'valloc', 'memalign', 'posix_memalign', 'aligned_alloc', 'thread' as const),
      sizes,
      fc.integer({ min: 0, max: 13 }),
    )
    .map(([how, size, align]) => new Malloc(how as Malloc['how'], size, align)),
  fc.tuple(pick, fc.boolean()).map(([index, onThread]) => new Free(index, onThread)),
  fc.tuple(pick, fc.oneof(sizes, fc.constant(0))).map(([index, size]) => new Realloc(index, size)),
  fc
    .tuple(
      fc.constantFrom('fill', 'write', 'read', 'touch' as const),
      pick,
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1.2, noNaN: true }),
      bytes,
      fc.constantFrom<Kind[]>(['heap'], ['mapping'], ['break']),
    )
    .map(([how, index, offset, length, value, kinds]) => new Access(how, index, offset, length, value, kinds)),
  fc.tuple(fc.integer({ min: 1, max: 8 }), fc.boolean()).map(([pages, populate]) => new Mmap(pages, populate)),
  fc.tuple(pick, fc.boolean()).map(([index, wrong]) => new Munmap(index, wrong)),
  fc
    .tuple(pick, fc.nat(), fc.integer({ min: 1, max: 9 }))
    .map(([index, first, pages]) => new Dontneed(index, first, pages)),
  fc.tuple(fc.integer({ min: 1, max: 3 * PAGE }), fc.boolean()).map(([size, back]) => new Sbrk(size, back)),
  fc
    .tuple(fc.integer({ min: 0, max: 9 }), pick, fc.nat(), anything)
    .map(([what, index, delta, value]) => new Misuse(what, index, delta, value)),
  fc
    .tuple(
      fc.constantFrom('alloc', 'free', 'release', 'stale' as const),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 0, max: 4096 }),
      fc.record({ step: fc.nat(), min: fc.nat(), max: fc.nat() }),
    )
    .map(([what, count, size, rule]) => new Batch(what, count, size, rule)),
];

// ArrayBuffers (the model's byte arrays, read() results) live on the glibc heap until
// V8 collects them: collect before each reading so only malloc-lab's blocks remain.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function heapInUse(): number {
  collect();
  const info = lab.mallinfo2();
  return info.uordblks + info.hblkhd;
}

/**
 * |heap in use − before|, read again a few times while it is above the bound: Node's
 * background threads (compilers, the ArrayBuffer sweeper) free what they malloc'd a few
 * milliseconds later. A leak stays; their transient use does not.
 */
function settledDelta(before: number, bound = HEAP_BOUND): number {
  let delta = Math.abs(heapInUse() - before);
  for (let i = 0; i < 5 && delta > bound; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    delta = Math.min(delta, Math.abs(heapInUse() - before));
  }
  return delta;
}

/** Frees everything the model holds, as a careful program would at exit. */
function cleanup(model: Model): void {
  giveBackSegments(model);
  for (const [address, block] of model.blocks) {
    if (block.kind === 'heap') lab.free(address);
    if (block.kind === 'mapping') lab.munmap(address, block.size);
  }
  for (const set of model.sets) set.id.release();
  // Drop the model's byte arrays too: they live on the glibc heap until collected.
  for (const [address, block] of model.blocks) if (block.kind !== 'break') model.blocks.delete(address);
  model.sets.length = 0;
}

describe('model-based fuzzing of the allocator surface', () => {
  let thread: lab.AllocatorThread;
  const stranded = { blocks: 0, bytes: 0 };
  beforeAll(() => {
    thread = lab.startThread();
  });
  afterAll(() => thread.close());

  it(
    `random operation sequences keep the registry equal to the model (${RUNS} runs)`,
    () => {
      const registryStart = lab.registryStats();
      let runs = 0;
      const deltas: number[] = [];
      const excursions: string[] = [];
      const heapStart = heapInUse();
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
          const base = lab.registryStats();
          const before = heapInUse();
          const model = new Model();
          fc.modelRun(() => ({ model, real: { thread, baseline: base } }), cmds);
          cleanup(model);
          // A segment glibc's break has since moved past stays registered (as documented).
          for (const segment of model.segments) {
            stranded.blocks++;
            stranded.bytes += segment.size;
          }
          const left = model.segments.reduce((sum, segment) => sum + segment.size, 0);
          expect(lab.registryStats()).toEqual({
            liveBlocks: base.liveBlocks + model.segments.length,
            liveBytes: base.liveBytes + left,
          });
          // glibc counts a foreign sbrk it has grown past as in use (system_mem), so only
          // runs that stranded no segment can compare the heap with its start.
          if (model.segments.length === 0 && !SANITIZED) {
            const delta = settledDelta(before);
            deltas.push(delta);
            if (delta > HEAP_BOUND) excursions.push(`${delta} bytes after ${cmds}`);
          }
          runs++;
        }),
        settings(RUNS),
      );
      if (!SANITIZED) {
        // Most runs compared their heap with its start, and nearly all came back within the
        // bound: Node's own heap (V8's malloc'd metadata grows in steps) may jump now and then,
        // a leak on every run may not. The typical run leaves at most a few tcache chunks,
        // and across all runs the heap drifts by less than 1 KiB a run.
        expect(deltas.length, 'runs whose heap was compared with its start').toBeGreaterThan(runs / 2);
        expect(excursions.length, excursions.slice(0, 3).join('\n')).toBeLessThanOrEqual(
          Math.max(1, Math.floor(deltas.length / 100)),
        );
        expect(
          deltas.sort((a, b) => a - b)[Math.floor(deltas.length / 2)],
          'median |heap delta| of a run',
        ).toBeLessThanOrEqual(16 * 1024);
        expect(settledDelta(heapStart, HEAP_BOUND + 1024 * runs), 'heap drift over all runs').toBeLessThanOrEqual(
          HEAP_BOUND + 1024 * runs,
        );
      }
      expect(lab.registryStats()).toEqual({
        liveBlocks: registryStart.liveBlocks + stranded.blocks,
        liveBytes: registryStart.liveBytes + stranded.bytes,
      });
    },
    TIMEOUT,
  );

  it('the checks can fail: a block the model does not know, or one cleanup forgets, is caught', () => {
    let intruded = 0n;
    const intruder = new (class implements Cmd {
      check = () => true;
      run(model: Model, real: Real) {
        intruded = lab.malloc(64); // behind the model's back
        checkAgainstModel(model, real);
      }
      toString = () => "malloc behind the model's back";
    })();
    const model = new Model();
    const base = lab.registryStats();
    expect(() => fc.modelRun(() => ({ model, real: { thread, baseline: base } }), [intruder])).toThrow(/liveBlocks/);
    lab.free(intruded);
    // A wrong byte in a block is caught.
    const block = lab.malloc(32);
    const liar = new Model();
    liar.add(block, { kind: 'heap', size: 32, bytes: known(32, 1) });
    lab.fill(block, 2);
    expect(() => checkAgainstModel(liar, { thread, baseline: base }, block)).toThrow(/the model says 1/);
    lab.free(block);
    everFreed.delete(block);
    // The leak bound: one forgotten 2 MiB block shows in mallinfo2.
    const before = heapInUse();
    const leaked = lab.malloc(2 * 1024 * 1024);
    if (!SANITIZED) expect(Math.abs(heapInUse() - before)).toBeGreaterThan(HEAP_BOUND);
    lab.free(leaked);
    expect(lab.registryStats()).toEqual(base);
  });
});

// ---------------------------------------------------------------------------
// Step programs: the validator is the only gate before glibc; whatever passes it
// must run without a signal, and whatever it refuses must be ERR_BAD_PROGRAM.

const SLOTS = ['a', 'b', 'c'];
const slot = fc.constantFrom(...SLOTS);
const stepSize = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 0, max: 300 * 1024 }),
  fc.constant(2 ** 50),
);
type StepOp = (s: StepBuilder) => void;
const stepOps: fc.Arbitrary<StepOp>[] = [
  fc.tuple(slot, stepSize).map(
    ([x, n]) =>
      (s: StepBuilder) =>
        void s.malloc(x, n),
  ),
  fc.tuple(slot, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 })).map(
    ([x, m, n]) =>
      (s: StepBuilder) =>
        void s.calloc(x, m, n),
  ),
  fc.tuple(slot, stepSize).map(
    ([x, n]) =>
      (s: StepBuilder) =>
        void s.realloc(x, n),
  ),
  slot.map((x) => (s: StepBuilder) => void s.free(x)),
  fc.tuple(slot, fc.integer({ min: 0, max: 8192 }), stepSize).map(
    ([x, a, n]) =>
      (s: StepBuilder) =>
        void s.memalign(x, a, n),
  ),
  fc.tuple(slot, fc.integer({ min: 0, max: 8192 }), stepSize).map(
    ([x, a, n]) =>
      (s: StepBuilder) =>
        void s.posix_memalign(x, a, n),
  ),
  fc.tuple(slot, fc.integer({ min: 0, max: 8192 }), stepSize).map(
    ([x, a, n]) =>
      (s: StepBuilder) =>
        void s.aligned_alloc(x, a, n),
  ),
  fc.tuple(slot, stepSize).map(
    ([x, n]) =>
      (s: StepBuilder) =>
        void s.valloc(x, n),
  ),
  fc
    .tuple(
      slot,
      fc.integer({ min: -1, max: 256 }),
      fc.integer({ min: -1, max: 9000 }),
      fc.integer({ min: -2, max: 9000 }),
    )
    .map(
      ([x, b, o, l]) =>
        (s: StepBuilder) =>
          void s.fill(x, b, o, l),
    ),
  slot.map((x) => (s: StepBuilder) => void s.touch(x)),
  slot.map((x) => (s: StepBuilder) => void s.mincore(x)),
  slot.map((x) => (s: StepBuilder) => void s.mlock(x)),
  slot.map((x) => (s: StepBuilder) => void s.munlock(x)),
  fc.tuple(slot, fc.integer({ min: 0, max: 8 * PAGE })).map(
    ([x, n]) =>
      (s: StepBuilder) =>
        void s.mmap(x, n),
  ),
  slot.map((x) => (s: StepBuilder) => void s.munmap(x)),
  fc.tuple(slot, fc.integer({ min: -1, max: 110 })).map(
    ([x, advice]) =>
      (s: StepBuilder) =>
        void s.madvise(x, advice),
  ),
  slot.map((x) => (s: StepBuilder) => void s.malloc_usable_size(x)),
  fc
    .tuple(
      fc.constantFrom('s', 't'),
      fc.integer({ min: 0, max: 64 }),
      fc.array(fc.record({ size: fc.integer({ min: 0, max: 2048 }), fill: fc.integer({ min: -1, max: 255 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(
      ([set, count, pattern]) =>
        (s: StepBuilder) =>
          void s.batchAlloc(set, count, pattern),
    ),
  fc
    .tuple(
      fc.constantFrom('s', 't'),
      fc.record({
        step: fc.integer({ min: 0, max: 4 }),
        min: fc.integer({ min: 0, max: 4 }),
        max: fc.integer({ min: 0, max: 100 }),
      }),
    )
    .map(
      ([set, rule]) =>
        (s: StepBuilder) =>
          void s.batchFree(set, rule),
    ),
  fc.integer({ min: -3 * PAGE, max: 3 * PAGE }).map((n) => (s: StepBuilder) => void s.sbrk(n)),
  fc.tuple(fc.integer({ min: -10, max: 3 }), fc.integer({ min: -1, max: 1 << 20 })).map(
    ([param, value]) =>
      (s: StepBuilder) =>
        void s.mallopt(param, value),
  ),
  fc.integer({ min: 0, max: 1 << 20 }).map((pad) => (s: StepBuilder) => void s.malloc_trim(pad)),
  fc.constant((s: StepBuilder) => void s.arenas()),
  fc.integer({ min: 0, max: 2 }).map((t) => (s: StepBuilder) => void s.threadStart(t)),
  fc.integer({ min: 0, max: 2 }).map((t) => (s: StepBuilder) => void s.threadStop(t)),
  fc.tuple(fc.integer({ min: 0, max: 2 }), slot, stepSize).map(
    ([t, x, n]) =>
      (s: StepBuilder) =>
        void s.onThread(t, (on) => on.malloc(x, n)),
  ),
  fc.tuple(fc.integer({ min: 0, max: 2 }), slot).map(
    ([t, x]) =>
      (s: StepBuilder) =>
        void s.onThread(t, (on) => on.free(x)),
  ),
];
/** Self-contained uses of fresh slots (valid unless a size fails at run time), so most programs pass the gate. */
type Template = (s: StepBuilder, id: number) => void;
const templates: fc.Arbitrary<Template>[] = [
  fc
    .tuple(
      fc.constantFrom('malloc', 'calloc', 'valloc', 'memalign', 'posix_memalign', 'aligned_alloc'),
      stepSize,
      fc.constantFrom(16, 64, 4096),
      fc.subarray(['fill', 'touch', 'mincore', 'usable', 'realloc', 'mlock', 'madvise'] as const),
      fc.boolean(),
    )
    .map(([how, n, align, uses, keep]) => (s: StepBuilder, id: number) => {
      const x = `t${id}`;
      if (how === 'malloc') s.malloc(x, n);
      else if (how === 'calloc') s.calloc(x, 1, n);
      else if (how === 'valloc') s.valloc(x, n);
      else if (how === 'memalign') s.memalign(x, align, n);
      else if (how === 'posix_memalign') s.posix_memalign(x, align, n);
      else s.aligned_alloc(x, align, n);
      for (const use of uses) {
        if (use === 'fill') s.fill(x, id & 255);
        else if (use === 'touch') s.touch(x);
        else if (use === 'mincore') s.mincore(x);
        else if (use === 'usable') s.malloc_usable_size(x);
        else if (use === 'realloc') s.realloc(x, Math.max(1, n >> 1));
        else if (use === 'mlock') s.mlock(x).munlock(x);
        else s.madvise(x, 4);
      }
      if (!keep) s.free(x);
    }),
  fc
    .tuple(fc.integer({ min: 1, max: 8 * PAGE }), fc.integer({ min: 0, max: 23 }))
    .map(([n, advice]) => (s: StepBuilder, id: number) => {
      s.mmap(`t${id}`, n).touch(`t${id}`).madvise(`t${id}`, advice).mlock(`t${id}`).munlock(`t${id}`).munmap(`t${id}`);
    }),
  fc
    .tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 2048 }), fc.integer({ min: 1, max: 3 }))
    .map(([count, size, step]) => (s: StepBuilder, id: number) => {
      s.batchAlloc(`set${id}`, count, [{ size, fill: 1 }, { size: 1 }])
        .batchFree(`set${id}`, { step })
        .batchFree(`set${id}`);
    }),
  fc.integer({ min: 1, max: 3 * PAGE }).map((n) => (s: StepBuilder) => void s.sbrk(n).sbrk(-n)),
  fc
    .tuple(
      fc.constantFrom(...Object.values(lab.MALLOPT_PARAMS).filter((p) => p !== lab.MALLOPT_PARAMS.M_PERTURB)),
      fc.integer({ min: 1, max: 1 << 16 }),
    )
    .map(
      ([param, value]) =>
        (s: StepBuilder) =>
          void s.mallopt(param, value),
    ),
  fc.tuple(stepSize, fc.integer({ min: 0, max: 1023 })).map(([n, t]) => (s: StepBuilder, id: number) => {
    s.threadStart(t)
      .onThread(t, (on) => on.malloc(`t${id}`, n))
      .onThread(t, (on) => on.free(`t${id}`))
      .threadStop(t);
  }),
];
const programs = fc
  .array(
    fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.oneof(...templates) },
        {
          weight: 1,
          arbitrary: fc.oneof(...stepOps).map(
            (op): Template =>
              (s) =>
                op(s),
          ),
        },
      ),
      { minLength: 1, maxLength: 5 },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((steps) => {
    const program = new StepProgram();
    let id = 0;
    steps.forEach((items, i) =>
      program.step(`step ${i}`, (s) => {
        for (const item of items) item(s, id++);
      }),
    );
    return program;
  });

describe('fuzzing step programs', () => {
  it(
    `accepted programs run in child hosts without a signal; refused ones are ERR_BAD_PROGRAM (${Math.max(20, Math.round(RUNS / 4))} runs)`,
    async () => {
      let accepted = 0;
      let refusedCount = 0;
      await fc.assert(
        fc.asyncProperty(programs, async (program) => {
          const encoded = program.encode();
          try {
            native.validateProgram(encoded);
          } catch (error) {
            expect((error as lab.MallocLabError).code).toBe('ERR_BAD_PROGRAM');
            refusedCount++;
            return;
          }
          accepted++;
          // Every program in the fresh host; every tenth also in a Node host, whose used heap
          // shows corruption the fresh heap may hide.
          for (const host of accepted % 10 === 1 ? (['fresh', 'node'] as const) : (['fresh'] as const)) {
            const run = await runOnHost(program, host, { timeoutMs: 20_000 });
            expect({ host, signal: run.signal, stderr: run.stderr }).toEqual({ host, signal: null, stderr: '' });
            expect([0, 1]).toContain(run.exitCode);
            expect(run.completed).toBe(true);
          }
        }),
        settings(Math.max(20, Math.round(RUNS / 4))),
      );
      // Both sides of the gate were exercised.
      expect(accepted).toBeGreaterThan(0);
      expect(refusedCount).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'mutated encodings are refused or accepted, never crash the validator',
    () => {
      const base = new StepProgram()
        .step('x', (s) =>
          s
            .malloc('a', 64)
            .fill('a', 1)
            .batchAlloc('s', 2, [{ size: 8 }])
            .batchFree('s')
            .free('a'),
        )
        .encode();
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.nat({ max: base.length + 2 }),
              fc.oneof(
                fc.double(),
                fc.integer({ min: -3, max: 70 }),
                fc.constantFrom(NaN, Infinity, OPS.free, OPS.on_thread),
              ),
            ),
            { minLength: 1, maxLength: 4 },
          ),
          (mutations) => {
            const copy = Float64Array.from(base);
            let mutated: Float64Array = copy;
            for (const [index, value] of mutations) {
              if (index < mutated.length) mutated[index] = value;
              else mutated = Float64Array.from([...mutated, value]);
            }
            try {
              native.validateProgram(mutated);
            } catch (error) {
              expect((error as lab.MallocLabError).code).toBe('ERR_BAD_PROGRAM');
            }
          },
        ),
        settings(RUNS * 4),
      );
    },
    TIMEOUT,
  );
});
