/**
 * glibc's malloc as the experiments reason about it: chunk sizes, the thresholds
 * and their defaults, and the rules that move them (glibc 2.36, malloc/malloc.c and
 * arena.c, 64-bit Linux). The one home of these facts: experiments, the settings
 * reader (lib/process/allocator-settings.ts) and reports import them from here.
 * Pure: no I/O, no addon.
 */

/** The glibc these facts were read from; evidence that rests on a fact of this version names it. */
export const MODEL_GLIBC = '2.36';

/** sizeof(size_t) on 64-bit: the size field that heads each chunk. */
export const SIZE_SZ = 8;
/** MALLOC_ALIGNMENT: every chunk and every pointer malloc returns is a multiple of it. */
export const MALLOC_ALIGNMENT = 16;
/** MINSIZE: the smallest chunk (size field, prev_size and the two free-list links); what malloc(0..24) takes. */
export const MINSIZE = 32;
/** From a chunk's start to the pointer malloc returns (prev_size and size). */
export const CHUNK_HEADER = 2 * SIZE_SZ;
/** sizeof(struct malloc_chunk): a free chunk's header and links, which malloc_trim never madvises. */
export const FREE_CHUNK_LINKS = 48;
/** Bytes per entry of a pointer array (the seeds' p_arr). */
export const POINTER = 8;
/**
 * The page the break and mmap move in. x86-64's; lib cannot ask the kernel without
 * the addon, and the experiments' runs record their own break moves.
 */
export const PAGE = 4096;

/** M_TOP_PAD's default (malloc-machine.h): what every sbrk adds beyond the request, and what a trim keeps. */
export const DEFAULT_TOP_PAD = 128 * 1024;
/** M_TRIM_THRESHOLD's default, until the dynamic rule raises it. */
export const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
/** M_MMAP_THRESHOLD's default (DEFAULT_MMAP_THRESHOLD_MIN), until the dynamic rule raises it. */
export const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
/** DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: the dynamic rule never raises the mmap threshold past it. */
export const MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;
/** M_MMAP_MAX's default: mmap'd chunks at once. */
export const DEFAULT_MMAP_MAX = 65536;
/** A free whose merged chunk reaches this makes free() consolidate the fastbins and consider trimming. */
export const FASTBIN_CONSOLIDATION_THRESHOLD = 64 * 1024;
/** DEFAULT_MXFAST: the largest request whose chunk a free puts in a fastbin. */
export const DEFAULT_MXFAST = 128;
/** MIN_LARGE_SIZE: chunks from this size on are "large"; malloc of one consolidates the fastbins first. */
export const MIN_LARGE_SIZE = 1024;
/** HEAP_MAX_SIZE on 64-bit: the address space each non-main arena heap reserves. */
export const HEAP_MAX_SIZE = 64 * 1024 * 1024;
/** MMAP_AS_MORECORE_SIZE: the least the main arena maps when sbrk fails and it goes on with mmap. */
export const MMAP_AS_MORECORE_SIZE = 1024 * 1024;
/** Arenas per online CPU on 64-bit (NARENAS_FROM_NCORES): the default arena cap is this × CPUs. */
export const ARENAS_PER_CPU = 8;
/** M_ARENA_TEST's default on 64-bit. */
export const DEFAULT_ARENA_TEST = 8;

/** tcache (glibc 2.26 and later): chunks each size class holds by default (TCACHE_FILL_COUNT). */
export const TCACHE_COUNT = 7;
/** The largest request tcache serves by default (tcache_max). */
export const TCACHE_MAX_REQUEST = 1032;
/** The chunk of tcache_perthread_struct that a thread's first malloc takes (64 counts and 64 entries). */
export const TCACHE_STRUCT_CHUNK = 0x290;

/** Since which glibc each mechanism the experiments name exists (for evidence that names a version). */
export const SINCE = {
  tcache: '2.26',
  tcacheDoubleFreeCheck: '2.29',
  safeLinking: '2.32',
  mallocDebugLibrary: '2.34',
} as const;

/** request2size(): the chunk glibc carves for malloc(request). */
export function chunkSize(request: number): number {
  return Math.max(MINSIZE, Math.ceil((request + SIZE_SZ) / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT);
}

export function pageAlign(bytes: number, page = PAGE): number {
  return Math.ceil(bytes / page) * page;
}

/** The mapping an mmap'd chunk takes for malloc(request) (sysmalloc: the chunk plus its size field, in pages). */
export function mmappedSize(request: number, page = PAGE): number {
  return pageAlign(chunkSize(request) + SIZE_SZ, page);
}

/** The default arena cap for a machine with cpus online CPUs (arena_max unset). */
export function defaultArenaMax(cpus: number): number {
  return ARENAS_PER_CPU * cpus;
}

/** Whether free() of a chunk of this size puts it in a fastbin (when its tcache bin is full or off). */
export function isFastbinSize(chunk: number, mxfast = DEFAULT_MXFAST): boolean {
  return chunk <= ((mxfast + SIZE_SZ) & ~(MALLOC_ALIGNMENT - 1));
}

/** Whether tcache_count and tcache_max let tcache hold a chunk for this request. */
export function tcacheHolds(request: number, tcacheCount: number, tcacheMax = TCACHE_MAX_REQUEST): boolean {
  return tcacheCount > 0 && request <= tcacheMax;
}

/**
 * How far the main arena's sbrk moves the break to serve a chunk the top cannot
 * (sysmalloc): the chunk, the top pad and MINSIZE, less the old top when the heap is
 * contiguous, in whole pages.
 */
export function sbrkGrowth(chunk: number, topPad: number, oldTop = 0, page = PAGE): number {
  return pageAlign(chunk + topPad + MINSIZE - oldTop, page);
}

/**
 * What systrim gives back from a top chunk of topSize with pad kept: the top less
 * pad and MINSIZE, rounded down to pages (0: nothing goes).
 */
export function trimmable(topSize: number, pad: number, page = PAGE): number {
  const area = topSize - MINSIZE - 1;
  return area <= pad ? 0 : Math.floor((area - pad) / page) * page;
}

/**
 * Whether free() of a chunk that merged into a chunk of `merged` bytes trims the main
 * arena: the merged chunk reaches FASTBIN_CONSOLIDATION_THRESHOLD, the top chunk
 * reaches M_TRIM_THRESHOLD, and systrim finds whole pages above the pad.
 */
export function freeTrims(merged: number, topSize: number, thresholds: Thresholds): boolean {
  return (
    merged >= FASTBIN_CONSOLIDATION_THRESHOLD && topSize >= thresholds.trim && trimmable(topSize, thresholds.topPad) > 0
  );
}

/** The thresholds free() and sysmalloc read (mp_), and whether the dynamic rule may still move them. */
export interface Thresholds {
  mmap: number;
  trim: number;
  topPad: number;
  /** False once any of M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX was set (mallopt, env or tunable). */
  dynamic: boolean;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  mmap: DEFAULT_MMAP_THRESHOLD,
  trim: DEFAULT_TRIM_THRESHOLD,
  topPad: DEFAULT_TOP_PAD,
  dynamic: true,
};

/**
 * The dynamic rule, at free() of an mmap'd chunk of chunkBytes (its whole mapping):
 * past the mmap threshold and at most MMAP_THRESHOLD_MAX, it becomes the mmap
 * threshold and twice it the trim threshold.
 */
export function afterMmappedFree(thresholds: Thresholds, chunkBytes: number): Thresholds {
  if (!thresholds.dynamic || chunkBytes <= thresholds.mmap || chunkBytes > MMAP_THRESHOLD_MAX) return thresholds;
  return { ...thresholds, mmap: chunkBytes, trim: 2 * chunkBytes };
}

/** Whether sysmalloc maps a chunk of its own for this request (when no free chunk nor the top can serve it). */
export function mmapsRequest(request: number, thresholds: Thresholds): boolean {
  return chunkSize(request) >= thresholds.mmap;
}
