/**
 * The malloc family and byte access. Names mirror the C functions (see their man
 * pages); addresses are bigint. Every address is checked against the registry
 * of blocks malloc-lab returned, so a wrong one is an error, never a crash.
 */
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';

// The hot pair, loaded once: the addon's exports object has dozens of properties
// (V8 keeps it in dictionary mode), so every `native.malloc` would be a slow lookup.
const nativeMalloc = native.malloc;
const nativeFree = native.free;

/** malloc(3). malloc(0) returns a unique minimum-size block, as glibc does. */
export function malloc(size: number): bigint {
  return nativeMalloc(check.size(size, 'malloc'));
}

/** calloc(3): zeroed memory for nmemb elements of size bytes. */
export function calloc(nmemb: number, size: number): bigint {
  return native.calloc(check.size(nmemb, 'calloc', 'nmemb'), check.size(size, 'calloc'));
}

/** realloc(3). As in C: realloc(0n, n) allocates; realloc(ptr, 0) frees ptr and returns 0n. */
export function realloc(ptr: bigint, size: number): bigint {
  return native.realloc(check.address(ptr, 'realloc'), check.size(size, 'realloc'));
}

/** free(3). As in C, free(0n) does nothing. */
export function free(ptr: bigint): void {
  // The addon refuses exactly what check.address refuses (anything but a bigint
  // from 0n to 2n ** 64n - 1n) before it does anything, in one N-API call, so the
  // JS check (two BigInt comparisons, a third of a malloc + free) runs only to
  // word the error when the addon threw; registry errors pass it and are rethrown.
  try {
    nativeFree(ptr);
  } catch (error) {
    check.address(ptr, 'free');
    throw error;
  }
}

/** posix_memalign(3): alignment must be a power of two multiple of 8 (else EINVAL). */
export function posix_memalign(alignment: number, size: number): bigint {
  return native.posix_memalign(
    check.size(alignment, 'posix_memalign', 'alignment'),
    check.size(size, 'posix_memalign'),
  );
}

/** aligned_alloc(3): alignment must be a power of two. */
export function aligned_alloc(alignment: number, size: number): bigint {
  return native.aligned_alloc(check.size(alignment, 'aligned_alloc', 'alignment'), check.size(size, 'aligned_alloc'));
}

/** memalign(3) (obsolete in C, still in glibc): alignment must be a power of two. */
export function memalign(alignment: number, size: number): bigint {
  return native.memalign(check.size(alignment, 'memalign', 'alignment'), check.size(size, 'memalign'));
}

/** valloc(3): page-aligned. */
export function valloc(size: number): bigint {
  return native.valloc(check.size(size, 'valloc'));
}

/** malloc_usable_size(3): the bytes really available in the block (≥ the size asked for). */
export function malloc_usable_size(ptr: bigint): number {
  return native.malloc_usable_size(check.address(ptr, 'malloc_usable_size'));
}

export interface ByteRange {
  /** First byte, relative to the block's start. Default 0. */
  offset?: number;
  /** Bytes from offset. Default: to the end of the block. */
  length?: number;
}

function range(fn: string, options: unknown): { offset: number; length: number | undefined } {
  const { offset, length } = check.options<ByteRange>(options, fn);
  return {
    offset: offset === undefined ? 0 : check.size(offset, fn, 'offset'),
    length: length === undefined ? undefined : check.size(length, fn, 'length'),
  };
}

/** memset over a block (or a range of it): makes its pages resident and dirty. */
export function fill(ptr: bigint, value = 0, options?: ByteRange): void {
  const { offset, length } = range('fill', options);
  native.fill(check.address(ptr, 'fill'), offset, length, check.integer(value, 'fill', 'value', 0, 255));
}

/** Writes one byte per page (keeping its value): faults every page in, cheaper than fill. */
export function touch(ptr: bigint, options?: ByteRange): void {
  const { offset, length } = range('touch', options);
  native.touch(check.address(ptr, 'touch'), offset, length);
}

/** Copies length bytes from the block, starting at offset. */
export function read(ptr: bigint, offset: number, length: number): Uint8Array {
  const bytes = check.size(length, 'read', 'length');
  const address = check.address(ptr, 'read');
  const start = check.size(offset, 'read', 'offset');
  const out = check.byteArray(
    bytes,
    'read',
    'length',
    `at most ${check.MAX_BYTE_ARRAY} bytes (the longest Uint8Array)`,
    length,
  );
  native.read(address, start, out);
  return out;
}

/** Copies data into the block at offset. */
export function write(ptr: bigint, data: Uint8Array, offset = 0): void {
  native.write(check.address(ptr, 'write'), check.size(offset, 'write', 'offset'), check.bytes(data, 'write', 'data'));
}

/** How many blocks and mappings malloc-lab holds for the whole process, and their requested bytes. */
export function registryStats(): { liveBlocks: number; liveBytes: number } {
  return native.registryStats();
}
