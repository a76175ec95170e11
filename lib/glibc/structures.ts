/**
 * glibc's malloc data structures as they sit in memory on 64-bit Linux, for reading
 * them from outside (/proc/<pid>/mem). From glibc's malloc/arena.c and malloc.c:
 * - heap_info (arena.c): ar_ptr, prev, size, mprotect_size, and since 2.35
 *   pagesize; padded so that the arena's malloc_state follows at +32 (before 2.35)
 *   or +48 (2.35 and later) in an arena's first heap;
 * - struct malloc_state: unchanged from 2.27 to 2.42 (mutex, flags,
 *   have_fastchunks, fastbinsY[10], top, last_remainder, bins[254], binmap[4],
 *   next, next_free, attached_threads, system_mem, max_system_mem);
 * - struct malloc_par (mp_): 2.35 added thp_pagesize, hp_pagesize and hp_flags
 *   after arena_max; 2.42 adds thp_mode. Layouts are listed per version range, and
 *   a version outside them is not read.
 * Every value read is checked against the mappings before it is believed.
 */

// The sizes and thresholds themselves live in the glibc model (model.ts).

/** The chunk size field's flag bits. */
export const PREV_INUSE = 1;
export const IS_MMAPPED = 2;
export const NON_MAIN_ARENA = 4;
export const SIZE_BITS = 7;

/** malloc_state.flags: set once sbrk failed and the main arena went on in mmapped regions (sysmalloc_mmap_fallback). */
export const NONCONTIGUOUS_BIT = 2;

/** Byte offsets in struct malloc_state (glibc 2.27–2.42, 64-bit). */
export const MALLOC_STATE = {
  flags: 4,
  top: 96,
  next: 2160,
  nextFree: 2168,
  attachedThreads: 2176,
  systemMem: 2184,
  maxSystemMem: 2192,
  size: 2200,
} as const;

/** sizeof(heap_info) for a glibc version (major, minor). */
export function heapInfoSize(version: GlibcVersion | null): number[] {
  if (version === null) return [48, 32];
  return atLeast(version, 2, 35) ? [48] : [32];
}

export interface GlibcVersion {
  major: number;
  minor: number;
  text: string;
}

export function atLeast(version: GlibcVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** Byte offsets in struct malloc_par (mp_). */
export interface MallocParLayout {
  range: string;
  trimThreshold: number;
  topPad: number;
  mmapThreshold: number;
  arenaTest: number;
  arenaMax: number;
  /** int fields */
  nMmaps: number;
  nMmapsMax: number;
  maxNMmaps: number;
  noDynThreshold: number;
  mmappedMem: number;
  maxMmappedMem: number;
  sbrkBase: number;
  tcacheBins: number;
  size: number;
}

const PAR_2_26: MallocParLayout = {
  range: '2.26–2.34',
  trimThreshold: 0,
  topPad: 8,
  mmapThreshold: 16,
  arenaTest: 24,
  arenaMax: 32,
  nMmaps: 40,
  nMmapsMax: 44,
  maxNMmaps: 48,
  noDynThreshold: 52,
  mmappedMem: 56,
  maxMmappedMem: 64,
  sbrkBase: 72,
  tcacheBins: 80,
  size: 112,
};

const PAR_2_35: MallocParLayout = {
  range: '2.35–2.41',
  trimThreshold: 0,
  topPad: 8,
  mmapThreshold: 16,
  arenaTest: 24,
  arenaMax: 32,
  nMmaps: 60,
  nMmapsMax: 64,
  maxNMmaps: 68,
  noDynThreshold: 72,
  mmappedMem: 80,
  maxMmappedMem: 88,
  sbrkBase: 96,
  tcacheBins: 104,
  size: 136,
};

/** mp_'s layout for this glibc, or null when it is not one this file knows. */
export function mallocParLayout(version: GlibcVersion | null): MallocParLayout | null {
  if (version === null || version.major !== 2) return null;
  if (version.minor >= 26 && version.minor <= 34) return PAR_2_26;
  if (version.minor >= 35 && version.minor <= 41) return PAR_2_35;
  return null;
}

/** "2.36" → { major: 2, minor: 36 }. */
export function parseGlibcVersion(text: string): GlibcVersion | null {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match === null ? null : { major: Number(match[1]), minor: Number(match[2]), text: `${match[1]}.${match[2]}` };
}

/**
 * The CPU count glibc's arena cap uses (arena_get2: narenas_limit = 8 × n, computed
 * once more than arena_test arenas exist). Up to 2.33, __get_nprocs(): the online
 * CPUs. The 2.34 and later releases counted the CPUs in the calling thread's
 * affinity mask (2.34's __get_nprocs, then __get_nprocs_sched), until BZ 30945
 * (October 2023) went back to the online CPUs in 2.39 and on the 2.34–2.38 release
 * branches; distributions that follow those branches (Debian 12's 2.36 does,
 * measured) count online CPUs. So for 2.34–2.38 the version alone cannot say.
 */
export function arenaCapCpuRule(version: GlibcVersion | null): 'online' | 'online-or-affinity' {
  if (version === null) return 'online-or-affinity';
  return atLeast(version, 2, 34) && !atLeast(version, 2, 39) ? 'online-or-affinity' : 'online';
}
