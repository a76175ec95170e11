/**
 * Pages: residency (mincore), advice (madvise), locking and anonymous mappings.
 * Calls that change memory act only on blocks and mappings malloc-lab owns;
 * mincore only reads residency and may look at any mapped range.
 */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';

/** The system page size in bytes. */
export const PAGE_SIZE: number = native.pageSize();

export function pageSize(): number {
  return PAGE_SIZE;
}

export interface Residency {
  /** The page-aligned start that was examined. */
  address: bigint;
  pages: number;
  resident: number;
  /** resident / pages, 0 to 1 (1 for an empty range). */
  fraction: number;
  /** One entry per page; bit 0 set when resident (mincore's vector). */
  vector: Uint8Array;
}

/** mincore(2) over [addr, addr + length): addr must be page-aligned, as for the system call. */
export function mincore(addr: bigint, length: number): Residency {
  const start = check.address(addr, 'mincore', 'addr');
  const pages = Math.ceil(check.size(length, 'mincore', 'length') / PAGE_SIZE);
  const vector = check.byteArray(
    pages,
    'mincore',
    'length',
    `at most ${check.MAX_BYTE_ARRAY * PAGE_SIZE} bytes (one vector entry per page)`,
    length,
  );
  const resident = native.mincore(start, length, vector);
  return { address: start, pages, resident, fraction: pages === 0 ? 1 : resident / pages, vector };
}

/** mincore over the pages that [addr, addr + length) touches, for any address (a block, say). */
export function residency(addr: bigint, length: number): Residency {
  const start = check.address(addr, 'residency', 'addr');
  const bytes = check.size(length, 'residency', 'length');
  const page = BigInt(PAGE_SIZE);
  const aligned = start - (start % page);
  return mincore(aligned, Number(start - aligned) + bytes);
}

export const MADVISE_ADVICE = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_DONTDUMP: 16,
  MADV_DODUMP: 17,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
} as const;

export type MadviseAdvice = keyof typeof MADVISE_ADVICE;

/** madvise(2) on memory malloc-lab owns: addr page-aligned, the page-rounded range inside one block or mapping. */
export function madvise(addr: bigint, length: number, advice: MadviseAdvice | number): void {
  if (typeof advice !== 'string' && typeof advice !== 'number') {
    throw check.typeError('madvise', 'advice', 'an MADV_* name or its number', advice);
  }
  const value = typeof advice === 'string' ? MADVISE_ADVICE[advice as MadviseAdvice] : advice;
  if (typeof value !== 'number' || !Object.values(MADVISE_ADVICE).includes(value as never)) {
    throw new MallocLabError(
      `madvise: advice must be one of ${Object.keys(MADVISE_ADVICE).join(', ')} (or its number), received ${check.describe(advice)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  native.madvise(check.address(addr, 'madvise', 'addr'), check.size(length, 'madvise', 'length'), value);
}

/** mlock(2) on memory malloc-lab owns; RLIMIT_MEMLOCK applies (errors carry errno). */
export function mlock(addr: bigint, length: number): void {
  native.mlock(check.address(addr, 'mlock', 'addr'), check.size(length, 'mlock', 'length'));
}

export function munlock(addr: bigint, length: number): void {
  native.munlock(check.address(addr, 'munlock', 'addr'), check.size(length, 'munlock', 'length'));
}

/** An anonymous private read-write mmap(2); populate prefaults it (MAP_POPULATE). */
export function mmap(length: number, options?: { populate?: boolean }): bigint {
  const { populate } = check.options<{ populate: boolean }>(options, 'mmap');
  return native.mmap(check.size(length, 'mmap', 'length'), populate === true);
}

/** munmap(2) of a whole mapping made by mmap. */
export function munmap(addr: bigint, length: number): void {
  native.munmap(check.address(addr, 'munmap', 'addr'), check.size(length, 'munmap', 'length'));
}
