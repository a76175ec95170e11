/** Facts of glibc's malloc on 64-bit Linux that several experiments' thresholds derive from. */

/** The smallest chunk (MINSIZE): header plus room for the free-list links; what malloc(1..24) takes. */
export const MINSIZE = 32;
/** Bytes per entry of a pointer array (the seeds' p_arr). */
export const POINTER = 8;
/** Free chunks tcache holds per size class (glibc >= 2.26). */
export const TCACHE_COUNT = 7;
/** The break moves in pages (x86-64: 4 KiB); the parent has no addon-free way to ask. */
export const PAGE = 4096;
/** The size word before every chunk (INTERNAL_SIZE_T on 64-bit). */
export const SIZE_SZ = 8;
/** What malloc's blocks are aligned to (MALLOC_ALIGNMENT: 2 × SIZE_SZ, alignof(max_align_t)). */
export const MALLOC_ALIGNMENT = 16;

/** glibc's chunk size for a request (request2size): the size word, rounded up to the alignment, MINSIZE at least. */
export function chunkSize(request: number): number {
  return Math.max(MINSIZE, Math.ceil((request + SIZE_SZ) / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT);
}
