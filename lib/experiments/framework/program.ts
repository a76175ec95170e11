/**
 * Step programs: the TypeScript side builds them, the native interpreter runs
 * them in one call (in a child Node process or the fresh executable), and this
 * module parses the records that come back.
 *
 * A program is a list of named steps; each step is some allocator ops followed
 * by a snapshot (status, break, mallinfo2) taken natively, so nothing but the
 * ops runs between two snapshots.
 */
import { constants } from 'node:os';

import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { MALLINFO_FIELD_NAMES, type Mallinfo2Values, STATUS_FIELD_NAMES, type StatusValues } from './fields.js';

/*
 * The format, as native/core/program.h defines it. This is lib's own copy (a parent
 * process builds and parses programs without loading the addon); the addon exports
 * its tables as programFormat, and test/native-parity.test.ts fails when they differ.
 */
export const PROGRAM_MAGIC = 1296846897;
export const PROGRAM_VERSION = 1;
/** Where each header value sits: a program starts with these, then its steps (op, argc, args…). */
export const HEADER = { magic: 0, version: 1, slots: 2, sets: 3, flags: 4, steps: 5, length: 6 } as const;
export const PROGRAM_FLAGS = { unsafe: 1, keep: 2 } as const;
/** Where a snapshot's values sit in a sample: status fields, then the break, then mallinfo2. */
export const SAMPLE = {
  status: 0,
  brk: STATUS_FIELD_NAMES.length,
  mallinfo: STATUS_FIELD_NAMES.length + 1,
  width: STATUS_FIELD_NAMES.length + 1 + MALLINFO_FIELD_NAMES.length,
} as const;
/** Where each value of a record sits; a snapshot step's sample follows from `sample` on. */
export const RECORD = {
  step: 0,
  op: 1,
  status: 2,
  value: 3,
  value2: 4,
  nanoseconds: 5,
  sample: 6,
  width: 6 + SAMPLE.width,
} as const;
export const RECORD_WIDTH = RECORD.width;
/** The largest integer a program carries exactly ("free to the end" uses it). */
export const TO_THE_END = Number.MAX_SAFE_INTEGER;

export const OPS = {
  end: 0,
  malloc: 1,
  calloc: 2,
  realloc: 3,
  free: 4,
  memalign: 5,
  posix_memalign: 6,
  aligned_alloc: 7,
  valloc: 8,
  fill: 9,
  touch: 10,
  batch_alloc: 11,
  batch_free: 12,
  sbrk: 13,
  mallopt: 14,
  malloc_trim: 15,
  mincore: 16,
  mlock: 17,
  munlock: 18,
  mmap: 19,
  munmap: 20,
  madvise: 21,
  snapshot: 22,
  sleep: 23,
  malloc_usable_size: 24,
  arenas: 25,
  pause: 26,
  thread_start: 30,
  thread_stop: 31,
  on_thread: 32,
  unsafe_free: 40,
  unsafe_write: 41,
  free_foreign: 42,
  unsafe_read: 43,
  alloca_free: 44,
  longjmp_leak: 45,
  free_hook_install: 46,
  free_hook_remove: 47,
  clock: 50,
  heap_range: 51,
  pss: 52,
  mlockall: 53,
  munlockall: 54,
  alloca: 55,
  mtrace: 56,
  muntrace: 57,
  mcheck: 58,
  mprobe: 59,
  prlimit: 60,
  alloc_until_refused: 61,
  mmap_above_break: 62,
  fork_hold: 63,
  fork_exit: 64,
  fork_reap: 65,
  age: 70,
  batch_span: 71,
  batch_adjacent: 72,
} as const;

export type OpName = keyof typeof OPS;
const OP_NAMES = Object.fromEntries(Object.entries(OPS).map(([name, code]) => [code, name])) as Record<number, OpName>;

/** Statuses that are malloc-lab refusals rather than errnos. */
export const REFUSALS: Record<number, string> = {
  [-1]: ErrorCodes.SBRK_REFUSED,
  [-2]: ErrorCodes.MALLOPT_REJECTED,
};

/** What the free_hook_install op found (bits of its value2). */
export const HOOK_LOOKUP = {
  /** dlsym(RTLD_DEFAULT, "__malloc_hook") found a default-version symbol. */
  mallocHookDefault: 1,
  /** dlsym(RTLD_DEFAULT, "__free_hook") found a default-version symbol. */
  freeHookDefault: 2,
  /** dlvsym found __free_hook at glibc's base version (the compatibility symbol). */
  freeHookCompat: 4,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(constants.errno).map(([name, number]) => [number, name]),
);

/** An op status by name: the errno's (ENOMEM) or the refusal's code; undefined for 0. */
export function statusName(status: number): string | undefined {
  if (status === 0) return undefined;
  if (status < 0) return REFUSALS[status] ?? `refusal ${status}`;
  return ERRNO_NAMES[status] ?? `errno ${status}`;
}

interface EncodedOp {
  op: OpName;
  args: number[];
  /** Index of the named step this op belongs to. */
  step: number;
  /** Runs on this thread (on_thread prefix). */
  thread?: number;
}

/** The ops of one named step, in order; a snapshot follows them. */
export class StepBuilder {
  private readonly program: StepProgram;
  private readonly step: number;

  /** StepProgram.step makes these: the ops of its step `step`. */
  constructor(program: StepProgram, step: number) {
    if (!(program instanceof StepProgram)) throw check.typeError('StepBuilder', 'program', 'a StepProgram', program);
    this.program = program;
    this.step = check.integer(step, 'StepBuilder', 'step', 0, Number.MAX_SAFE_INTEGER);
  }

  #add(op: OpName, args: number[], thread?: number): this {
    this.program.addOp({ op, args, step: this.step, ...(thread === undefined ? {} : { thread }) });
    return this;
  }

  malloc(slot: string, size: number): this {
    return this.#add('malloc', [this.program.slot(slot), size]);
  }
  calloc(slot: string, nmemb: number, size: number): this {
    return this.#add('calloc', [this.program.slot(slot), nmemb, size]);
  }
  realloc(slot: string, size: number): this {
    return this.#add('realloc', [this.program.slot(slot), size]);
  }
  free(slot: string): this {
    return this.#add('free', [this.program.slot(slot)]);
  }
  memalign(slot: string, alignment: number, size: number): this {
    return this.#add('memalign', [this.program.slot(slot), alignment, size]);
  }
  posix_memalign(slot: string, alignment: number, size: number): this {
    return this.#add('posix_memalign', [this.program.slot(slot), alignment, size]);
  }
  aligned_alloc(slot: string, alignment: number, size: number): this {
    return this.#add('aligned_alloc', [this.program.slot(slot), alignment, size]);
  }
  valloc(slot: string, size: number): this {
    return this.#add('valloc', [this.program.slot(slot), size]);
  }
  /** memset(block + offset, byte, length); length omitted: to the block's end. */
  fill(slot: string, byte: number, offset = 0, length = -1): this {
    return this.#add('fill', [this.program.slot(slot), byte, offset, length]);
  }
  touch(slot: string): this {
    return this.#add('touch', [this.program.slot(slot)]);
  }
  /** count rounds of the pattern (entries malloc'd in order, memset with fill when given). */
  batchAlloc(
    set: string,
    count: number,
    pattern: { size: number; fill?: number }[],
    kind: 'malloc' | 'calloc' = 'malloc',
  ): this {
    const args = [this.program.set(set), count, kind === 'calloc' ? 1 : 0];
    for (const entry of pattern) args.push(entry.size, entry.fill ?? -1);
    return this.#add('batch_alloc', args);
  }
  /** TLPI's rule: free blocks min..max (1-based, inclusive) in steps of step; default all. */
  batchFree(set: string, rule: { step?: number; min?: number; max?: number } = {}): this {
    return this.#add('batch_free', [this.program.set(set), rule.step ?? 1, rule.min ?? 1, rule.max ?? TO_THE_END]);
  }
  /** The lowest and highest address of the set's blocks min, min + step, … (1-based; freed ones skipped). */
  batchSpan(set: string, rule: { step?: number; min?: number } = {}): this {
    return this.#add('batch_span', [this.program.set(set), rule.step ?? 1, rule.min ?? 1]);
  }
  /**
   * Of the set's blocks min, min + step, … (1-based), how many lie exactly stride
   * bytes below the next one (value), of the pairs there are (value2): with the chunk
   * size as stride, how many blocks sit back to back.
   */
  batchAdjacent(set: string, stride: number, rule: { step?: number; min?: number } = {}): this {
    return this.#add('batch_adjacent', [this.program.set(set), rule.step ?? 1, rule.min ?? 1, stride]);
  }
  /**
   * The ageing workload (native/core/plain_age.h): count blocks, sizes drawn from the
   * classes by their weights, each memset, then freedBasisPoints of them freed in a
   * random order fixed by seed; the survivors stay in set.
   */
  age(
    set: string,
    count: number,
    seed: number,
    freedBasisPoints: number,
    classes: { weight: number; min: number; max: number }[],
  ): this {
    const args = [this.program.set(set), count, seed, freedBasisPoints];
    for (const entry of classes) args.push(entry.weight, entry.min, entry.max);
    return this.#add('age', args);
  }
  sbrk(increment: number): this {
    return this.#add('sbrk', [increment]);
  }
  mallopt(param: number, value: number): this {
    return this.#add('mallopt', [param, value]);
  }
  malloc_trim(pad = 0): this {
    return this.#add('malloc_trim', [pad]);
  }
  mincore(slot: string): this {
    return this.#add('mincore', [this.program.slot(slot)]);
  }
  mlock(slot: string): this {
    return this.#add('mlock', [this.program.slot(slot)]);
  }
  munlock(slot: string): this {
    return this.#add('munlock', [this.program.slot(slot)]);
  }
  mmap(slot: string, length: number): this {
    return this.#add('mmap', [this.program.slot(slot), length]);
  }
  munmap(slot: string): this {
    return this.#add('munmap', [this.program.slot(slot)]);
  }
  madvise(slot: string, advice: number): this {
    return this.#add('madvise', [this.program.slot(slot), advice]);
  }
  malloc_usable_size(slot: string): this {
    return this.#add('malloc_usable_size', [this.program.slot(slot)]);
  }
  sleep(milliseconds: number): this {
    return this.#add('sleep', [milliseconds]);
  }
  arenas(): this {
    return this.#add('arenas', []);
  }
  /**
   * Blocks until a byte arrives on fd (or it reaches end of file), holding the state
   * still while another process reads it. The child must be given that fd (a pipe).
   */
  pause(fd: number): this {
    return this.#add('pause', [fd]);
  }
  threadStart(thread: number): this {
    return this.#add('thread_start', [thread]);
  }
  threadStop(thread: number): this {
    return this.#add('thread_stop', [thread]);
  }
  /** Runs the ops that build adds on native thread `thread` (started with threadStart). */
  onThread(thread: number, build: (step: StepBuilder) => void): this {
    const inner = new StepBuilder(this.program, this.step);
    this.program.withThread(thread, () => build(inner));
    return this;
  }
  /** Heap corruption (programs built with unsafe: true, run only in child processes). */
  unsafeFree(slot: string): this {
    return this.#add('unsafe_free', [this.program.slot(slot)]);
  }
  unsafeWrite(slot: string, offset: number, length: number, byte: number): this {
    return this.#add('unsafe_write', [this.program.slot(slot), offset, length, byte]);
  }
  freeForeign(slot: string, offset: number): this {
    return this.#add('free_foreign', [this.program.slot(slot), offset]);
  }
  /** Reads the byte at block + offset (offset may pass the block's end) → value. */
  unsafeRead(slot: string, offset: number): this {
    return this.#add('unsafe_read', [this.program.slot(slot), offset]);
  }
  /** alloca(size), then free() (or realloc() to twice the size) of what it returned. */
  allocaFree(size: number, call: 'free' | 'realloc'): this {
    return this.#add('alloca_free', [size, call === 'realloc' ? 1 : 0]);
  }
  /**
   * Descends depth frames, each malloc(size) and alloca(size), and longjmp()s from the
   * deepest back to a setjmp() before the first: the malloc'd blocks are never freed.
   * → value: bytes malloc'd, value2: the deepest alloca address.
   */
  longjmpLeak(depth: number, size: number): this {
    return this.#add('longjmp_leak', [depth, size]);
  }
  /**
   * Sets glibc's old __free_hook (the compatibility symbol, found with dlvsym) to a
   * hook that counts, frees and, with trim, calls malloc_trim(0).
   * → value: 1 when installed, value2: lookup bits (HOOK_LOOKUP).
   */
  freeHookInstall(options: { trim: boolean }): this {
    return this.#add('free_hook_install', [options.trim ? 1 : 0]);
  }
  /** Removes the hook → value: how many times free() called it. */
  freeHookRemove(): this {
    return this.#add('free_hook_remove', []);
  }
  /** → value: CLOCK_MONOTONIC, value2: this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), both in ns. */
  clock(): this {
    return this.#add('clock', []);
  }
  /** → value: the heap's start (start_brk, /proc/self/stat), value2: the break (sbrk(0)). */
  heapRange(): this {
    return this.#add('heap_range', []);
  }
  /** → value: this process's Pss_Anon, value2: its Pss (smaps_rollup), in bytes. */
  pss(): this {
    return this.#add('pss', []);
  }
  mlockall(flags: number): this {
    return this.#add('mlockall', [flags]);
  }
  munlockall(): this {
    return this.#add('munlockall', []);
  }
  /**
   * alloca(size) in a function that writes each page of the block and returns
   * → value: the block's address, value2: the address of a local of the calling frame.
   */
  alloca(size: number): this {
    return this.#add('alloca', [size]);
  }
  mtrace(): this {
    return this.#add('mtrace', []);
  }
  muntrace(): this {
    return this.#add('muntrace', []);
  }
  /** mcheck(NULL) → value: its return (0, or -1 when malloc has already run or mcheck is a stub). */
  mcheck(): this {
    return this.#add('mcheck', []);
  }
  /** mprobe(block) → value: the mcheck_status (MCHECK_STATUS). */
  mprobe(slot: string): this {
    return this.#add('mprobe', [this.program.slot(slot)]);
  }
  /** prlimit: the soft limit of resource set to the current usage (VmData, VmSize) plus headroom → value: the limit, value2: the usage. */
  prlimit(resource: number, headroom: number): this {
    return this.#add('prlimit', [resource, headroom]);
  }
  /** malloc(size) into the set until malloc refuses or max blocks → value: blocks, value2: the refusal's errno (0 if none). */
  allocUntilRefused(set: string, size: number, max: number): this {
    return this.#add('alloc_until_refused', [this.program.set(set), size, max]);
  }
  /** One page mapped at the page-aligned break + gap (MAP_FIXED_NOREPLACE) → value: its address. */
  mmapAboveBreak(slot: string, gap: number): this {
    return this.#add('mmap_above_break', [this.program.slot(slot), gap]);
  }
  /**
   * fork(): the child mallocs count blocks of size (each followed by malloc(1) with
   * spacer; written with fill) and waits → value: the child's RssAnon, value2: its
   * mallinfo2().uordblks growth.
   */
  forkHold(child: number, work: { count: number; size: number; spacer?: boolean; fill?: boolean }): this {
    return this.#add('fork_hold', [child, work.count, work.size, work.spacer ? 1 : 0, work.fill === false ? 0 : 1]);
  }
  /**
   * Lets the child end with _exit(0), first freeing its blocks with free, and waits
   * for it without reaping it → value: its RssAnon just before _exit, value2: what
   * /proc/<pid>/statm says is resident once it has exited.
   */
  forkExit(child: number, options: { free: boolean }): this {
    return this.#add('fork_exit', [child, options.free ? 1 : 0]);
  }
  /** Reaps an exited child → value: its CPU time from holding to its end (ns, wait4's rusage), value2: its exit status. */
  forkReap(child: number): this {
    return this.#add('fork_reap', [child]);
  }
}

export interface ProgramOptions {
  /** Allow the heap-corrupting ops. */
  unsafe?: boolean;
  /** Leave blocks allocated at the end, as a C program that exits without freeing. */
  keep?: boolean;
}

export class StepProgram {
  readonly labels: string[] = [];
  readonly ops: EncodedOp[] = [];
  private readonly slots = new Map<string, number>();
  private readonly sets = new Map<string, number>();
  private currentThread: number | undefined;

  readonly options: ProgramOptions;

  constructor(options: ProgramOptions = {}) {
    const given = check.options<ProgramOptions>(options, 'StepProgram');
    for (const flag of ['unsafe', 'keep'] as const) {
      if (given[flag] !== undefined && typeof given[flag] !== 'boolean')
        throw check.typeError('StepProgram', `options.${flag}`, 'a boolean', given[flag]);
    }
    this.options = given;
  }

  /** The slot a block name stands for (numbered in order of first use). */
  slot(name: string): number {
    if (typeof name !== 'string') throw check.typeError('StepProgram.slot', 'name', 'a block name (a string)', name);
    if (!this.slots.has(name)) this.slots.set(name, this.slots.size);
    return this.slots.get(name)!;
  }

  /** The set a batch name stands for (numbered in order of first use). */
  set(name: string): number {
    if (typeof name !== 'string') throw check.typeError('StepProgram.set', 'name', 'a batch name (a string)', name);
    if (!this.sets.has(name)) this.sets.set(name, this.sets.size);
    return this.sets.get(name)!;
  }

  /** Appends an op (StepBuilder's methods call this; the interpreter checks the arguments). */
  addOp(op: EncodedOp): void {
    if (op === null || typeof op !== 'object' || !Object.hasOwn(OPS, op.op) || !Array.isArray(op.args))
      throw check.typeError('StepProgram.addOp', 'op', 'an op ({ op: a name in OPS, args: [numbers], step })', op);
    this.ops.push(
      this.currentThread === undefined || op.thread !== undefined ? op : { ...op, thread: this.currentThread },
    );
  }

  /** Runs build with every op it adds marked to run on native thread `thread`. */
  withThread(thread: number, build: () => void): void {
    if (typeof build !== 'function') throw check.typeError('StepProgram.withThread', 'build', 'a function', build);
    const previous = this.currentThread;
    this.currentThread = thread;
    try {
      build();
    } finally {
      this.currentThread = previous;
    }
  }

  /** A named step: its ops, then a snapshot. Labels must be unique. */
  step(label: string, build?: (step: StepBuilder) => void): this {
    if (typeof label !== 'string') throw check.typeError('StepProgram.step', 'label', 'a string', label);
    if (build !== undefined && typeof build !== 'function')
      throw check.typeError('StepProgram.step', 'build', 'a function that adds the ops', build);
    if (this.labels.includes(label)) {
      throw new MallocLabError(
        `StepProgram.step: label ${JSON.stringify(label)} is used twice (expected unique labels)`,
        ErrorCodes.BAD_PROGRAM,
      );
    }
    const index = this.labels.length;
    this.labels.push(label);
    build?.(new StepBuilder(this, index));
    this.ops.push({ op: 'snapshot', args: [], step: index });
    return this;
  }

  /**
   * This program with a step of its own first (the aged world's ageing): the same
   * blocks, batches and steps after it, so claims read them by the same labels.
   */
  withPrelude(label: string, build: (step: StepBuilder) => void): StepProgram {
    if (typeof build !== 'function')
      throw check.typeError('StepProgram.withPrelude', 'build', 'a function that adds the ops', build);
    if (this.labels.includes(label)) {
      throw new MallocLabError(
        `StepProgram.withPrelude: label ${JSON.stringify(label)} is used by the program (expected a new one)`,
        ErrorCodes.BAD_PROGRAM,
      );
    }
    const prefixed = new StepProgram(this.options);
    for (const [name] of this.slots) prefixed.slot(name);
    for (const [name] of this.sets) prefixed.set(name);
    prefixed.step(label, build);
    prefixed.labels.push(...this.labels);
    prefixed.ops.push(...this.ops.map((op) => ({ ...op, step: op.step + 1 })));
    return prefixed;
  }

  /** The program as the interpreter reads it. */
  encode(): Float64Array {
    const values: number[] = [];
    let steps = 0;
    for (const op of this.ops) {
      if (op.thread !== undefined) {
        values.push(OPS.on_thread, 1, op.thread);
        steps++;
      }
      values.push(OPS[op.op], op.args.length, ...op.args);
      steps++;
    }
    const header: number[] = [];
    header[HEADER.magic] = PROGRAM_MAGIC;
    header[HEADER.version] = PROGRAM_VERSION;
    header[HEADER.slots] = Math.max(this.slots.size, 1);
    header[HEADER.sets] = Math.max(this.sets.size, 1);
    header[HEADER.flags] =
      (this.options.unsafe ? PROGRAM_FLAGS.unsafe : 0) | (this.options.keep ? PROGRAM_FLAGS.keep : 0);
    header[HEADER.steps] = steps;
    return Float64Array.from([...header, ...values]);
  }
}

/** What one op did. */
export interface OpRecord {
  op: OpName;
  /** 0, an errno, or a negative refusal (see REFUSALS). */
  status: number;
  value: number;
  value2: number;
  /** Nanoseconds since the run started. */
  atNs: number;
}

export interface Sample {
  status: StatusValues;
  brk: bigint;
  mallinfo: Mallinfo2Values;
}

export interface StepResult {
  label: string;
  ops: OpRecord[];
  /** The snapshot after the step; absent when the run stopped before it. */
  sample?: Sample;
}

export interface ParsedRun {
  steps: StepResult[];
  /**
   * Which call filled the mallinfo fields: mallinfo2, or mallinfo (glibc before 2.34, or
   * MALLOC_LAB_FORCE_MALLINFO=1), whose fields are 32-bit. Absent when no snapshot was taken.
   */
  mallinfoSource?: 'mallinfo2' | 'mallinfo';
  /** Every op ran (the end record arrived). */
  completed: boolean;
  /** The first op that failed, if any. */
  failure?: { label: string; op: OpName; status: number };
}

/** Parses the records a run wrote, against the program that made them. */
export function parseRecords(program: StepProgram, bytes: Uint8Array): ParsedRun {
  if (!(program instanceof StepProgram)) throw check.typeError('parseRecords', 'program', 'a StepProgram', program);
  if (!(bytes instanceof Uint8Array)) throw check.typeError('parseRecords', 'bytes', 'a Uint8Array of records', bytes);
  const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % (RECORD_WIDTH * 8)));
  copy.set(bytes.subarray(0, copy.byteLength));
  const values = new Float64Array(copy.buffer);
  // Map encoded step indices (on_thread prefixes count) back to ops.
  const encodedToOp: number[] = [];
  program.ops.forEach((op, index) => {
    if (op.thread !== undefined) encodedToOp.push(-1);
    encodedToOp.push(index);
  });
  const steps: StepResult[] = program.labels.map((label) => ({ label, ops: [] }));
  let completed = false;
  let failure: ParsedRun['failure'];
  let mallinfoSource: ParsedRun['mallinfoSource'];
  for (let offset = 0; offset + RECORD_WIDTH <= values.length; offset += RECORD_WIDTH) {
    const record = values.subarray(offset, offset + RECORD_WIDTH);
    const opCode = record[RECORD.op]!;
    if (opCode === OPS.end) {
      completed = true;
      break;
    }
    const op = program.ops[encodedToOp[record[RECORD.step]!] ?? -1];
    if (op === undefined) continue;
    const step = steps[op.step]!;
    const status = record[RECORD.status]!;
    if (op.op === 'snapshot') {
      // A snapshot's value: 2 when mallinfo2 filled the fields, 1 when mallinfo did.
      mallinfoSource ??= record[RECORD.value] === 1 ? 'mallinfo' : 'mallinfo2';
      const sample = record.subarray(RECORD.sample);
      step.sample = {
        status: Object.fromEntries(
          STATUS_FIELD_NAMES.map((name, i) => [name, sample[SAMPLE.status + i]!]),
        ) as StatusValues,
        brk: BigInt(sample[SAMPLE.brk]!),
        mallinfo: Object.fromEntries(
          MALLINFO_FIELD_NAMES.map((name, i) => [name, sample[SAMPLE.mallinfo + i]!]),
        ) as Mallinfo2Values,
      };
    } else {
      step.ops.push({
        op: OP_NAMES[opCode] ?? op.op,
        status,
        value: record[RECORD.value]!,
        value2: record[RECORD.value2]!,
        atNs: record[RECORD.nanoseconds]!,
      });
    }
    if (status !== 0 && failure === undefined) failure = { label: step.label, op: op.op, status };
  }
  return {
    steps,
    completed,
    ...(mallinfoSource === undefined ? {} : { mallinfoSource }),
    ...(failure === undefined ? {} : { failure }),
  };
}
