/**
 * The allocator's controls and statistics: the program break, mallopt,
 * malloc_trim, mallinfo2, malloc_info and malloc_stats.
 */
import { type MallocInfo, parseMallocInfo } from '../glibc/malloc-info.js';
import { MALLOPT_PARAMS, malloptName, type MalloptName } from '../glibc/mallopt-params.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';

/** The current program break, sbrk(0): cheap, no system call beyond brk's cached value. */
export function programBreak(): bigint {
  return native.programBreak();
}

/**
 * sbrk(2): moves the break by increment bytes and returns the previous break.
 * A negative increment may only give back what an earlier sbrk of malloc-lab took,
 * while the break has not moved since (anything else would cut into malloc's heap).
 */
export function sbrk(increment: number): bigint {
  return native.sbrk(check.integer(increment, 'sbrk', 'increment', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
}

/**
 * mallopt(3), by name ('M_TRIM_THRESHOLD') or constant (-1). An unknown parameter
 * is an error (glibc itself would silently ignore it); glibc's 0 return is an error.
 */
export function mallopt(param: MalloptName | number, value: number): void {
  let constant: number;
  if (typeof param === 'string') {
    const known = MALLOPT_PARAMS[param as MalloptName];
    if (known === undefined) {
      throw new MallocLabError(
        `mallopt: param must be one of ${Object.keys(MALLOPT_PARAMS).join(', ')}, received ${check.describe(param)}`,
        ErrorCodes.UNKNOWN_MALLOPT_PARAM,
      );
    }
    constant = known;
  } else if (typeof param === 'number') {
    constant = check.integer(param, 'mallopt', 'param', -0x80000000, 0x7fffffff);
  } else {
    throw check.typeError('mallopt', 'param', 'an M_* name or its integer constant', param);
  }
  const name = malloptName(constant);
  const least = name === undefined ? undefined : MALLOPT_LEAST[name];
  const checked =
    least === undefined
      ? check.integer(value, 'mallopt', 'value', -0x80000000, 0x7fffffff)
      : check.integer(value, 'mallopt', `value for ${name}`, least, 0x7fffffff);
  native.mallopt(constant, checked);
}

/**
 * The least value that means something for a parameter. glibc takes mallopt's int
 * as a size_t, so a negative threshold or pad wraps to nearly 2^64 (M_TRIM_THRESHOLD
 * -1 is the documented "never trim"), and it silently ignores M_ARENA_* values below 1.
 */
const MALLOPT_LEAST: Partial<Record<MalloptName, number>> = {
  M_TRIM_THRESHOLD: -1,
  M_TOP_PAD: 0,
  M_MMAP_THRESHOLD: 0,
  M_MMAP_MAX: 0,
  M_ARENA_TEST: 1,
  M_ARENA_MAX: 1,
};

/** malloc_trim(3): returns 1 if memory was released to the system, 0 if not. */
export function malloc_trim(pad = 0): number {
  return native.malloc_trim(check.size(pad, 'malloc_trim', 'pad'));
}

export interface Mallinfo2 {
  /** Bytes obtained with sbrk (main arena) plus the non-main arenas' heaps. */
  arena: number;
  ordblks: number;
  smblks: number;
  hblks: number;
  hblkhd: number;
  usmblks: number;
  fsmblks: number;
  /** Bytes in use by the program. */
  uordblks: number;
  /** Bytes free in the arenas. */
  fordblks: number;
  keepcost: number;
}

export const MALLINFO_FIELDS = native.mallinfoFields as (keyof Mallinfo2)[];

// Allocated once, not per call: a Float64Array of 10 doubles is past V8's on-heap limit
// (64 bytes), so its backing store would be calloc'd on the glibc heap being observed.
const mallinfoBuffer = new Float64Array(MALLINFO_FIELDS.length);

export function mallinfoFrom(values: Float64Array, start = 0): Mallinfo2 {
  const info = {} as Mallinfo2;
  for (let i = 0; i < MALLINFO_FIELDS.length; i++) info[MALLINFO_FIELDS[i]!] = values[start + i]!;
  return info;
}

/**
 * Which call `mallinfo2()` and every snapshot use: 'mallinfo2', or 'mallinfo' on glibc
 * before 2.34 (or with MALLOC_LAB_FORCE_MALLINFO=1), whose int fields wrap past 4 GiB.
 */
export function mallinfoSource(): 'mallinfo2' | 'mallinfo' {
  return native.mallinfoSource();
}

/** mallinfo2(3): the allocator's counters, in bytes. Reading them allocates nothing. See mallinfoSource(). */
export function mallinfo2(): Mallinfo2 {
  native.mallinfo2(mallinfoBuffer);
  return mallinfoFrom(mallinfoBuffer);
}

/** malloc_info(3), captured in memory (not through stdout) and parsed per arena; the raw XML is in `.xml`. */
export function malloc_info(): MallocInfo {
  return parseMallocInfo(native.malloc_info());
}

/** malloc_stats(3)'s report (glibc prints it to stderr; this captures it instead). */
export function malloc_stats(): string {
  return native.malloc_stats();
}

/** gnu_get_libc_version(3): the glibc this process runs on. */
export function gnu_get_libc_version(): string {
  return native.gnu_get_libc_version();
}
