/** Facts of glibc's malloc on 64-bit Linux that several experiments' thresholds derive from. */

/** The smallest chunk (MINSIZE): header plus room for the free-list links; what malloc(1..24) takes. */
export const MINSIZE = 32;
/** Bytes per entry of a pointer array (the seeds' p_arr). */
export const POINTER = 8;
/** Free chunks tcache holds per size class (glibc >= 2.26). */
export const TCACHE_COUNT = 7;
/** The break moves in pages (x86-64: 4 KiB); the parent has no addon-free way to ask. */
export const PAGE = 4096;
