/**
 * glibc's heaps, seen from outside. A non-main arena lives in heaps that glibc maps
 * at HEAP_MAX_SIZE (64 MiB) alignment: a read-write part followed by a PROT_NONE
 * reserve up to the next 64 MiB boundary, with a heap_info header at the start
 * whose ar_ptr names the arena. Where /proc/<pid>/mem is readable each heap is
 * confirmed from that header, heaps are grouped by arena, and each arena's
 * malloc_state gives its top chunk and the bytes it took from the system; the main
 * arena (in libc's data) is found through the arenas' ring, and mp_ (mmap
 * threshold, mmapped chunk counts) next to it. Where mem is not readable, heaps are
 * inferred from the layout alone, and this says so.
 */
import { HEAP_MAX_SIZE, MMAP_AS_MORECORE_SIZE, MMAP_THRESHOLD_MAX, SIZE_SZ } from '../../glibc/model.js';
import {
  IS_MMAPPED,
  MALLOC_STATE,
  NONCONTIGUOUS_BIT,
  NON_MAIN_ARENA,
  PREV_INUSE,
  SIZE_BITS,
  type GlibcVersion,
  heapInfoSize,
  mallocParLayout,
} from '../../glibc/structures.js';
import type { ProcessMemory } from './proc-io.js';
import type { Mapping } from './smaps.js';

export interface ArenaHeap {
  start: number;
  /** start + HEAP_MAX_SIZE: what the heap reserves. */
  end: number;
  /** The end of its read-write part (heap_info.mprotect_size from start). */
  writableEnd: number;
  /** heap_info.size: bytes of the heap in use by its arena (null: not read). */
  size: number | null;
  /** heap_info.ar_ptr (null: not read). */
  arena: number | null;
  /** Confirmed from heap_info, or inferred from the layout. */
  confirmed: boolean;
}

export interface ArenaState {
  /** Address of the arena's malloc_state. */
  address: number;
  /** malloc_info's numbering (0 = main; then the ring's order, newest arena first); null when the ring was not walked. */
  index: number | null;
  main: boolean;
  heaps: ArenaHeap[];
  /** malloc_state.system_mem: bytes the arena got from the system (null: not read or not consistent). */
  systemBytes: number | null;
  /** The top chunk's size: free memory at the end of the arena's last heap. */
  topBytes: number | null;
  /** Threads attached to the arena (0: it is on the free list, its threads exited). */
  attachedThreads: number | null;
  /** The main arena went on in mmapped regions when sbrk failed (NONCONTIGUOUS_BIT in its flags). */
  noncontiguous: boolean;
}

export interface GlibcHeaps {
  heaps: ArenaHeap[];
  /** Non-main arenas, grouped by heap_info (empty when mem could not be read). */
  arenas: ArenaState[];
  main: ArenaState | null;
  /** Regions the main arena mapped when sbrk failed, each starting with one of its chunks. */
  mainRegions: { start: number; end: number }[];
  /** How the arena count was reached. */
  counted: 'heap_info' | 'layout';
  problems: string[];
}

export interface MallocParameters {
  /** Where mp_ sits in libc's data. */
  address: number;
  layout: string;
  mmapThreshold: number;
  trimThreshold: number;
  topPad: number;
  arenaTest: number;
  /** 0: not set (the CPU rule applies). */
  arenaMax: number;
  /** The threshold still moves with freed mmapped chunks (no setting pinned it). */
  dynamicThreshold: boolean;
  mmappedChunks: number;
  mmappedBytes: number;
  maxMmappedBytes: number;
  sbrkBase: number;
}

function anonymousWritable(mapping: Mapping): boolean {
  return mapping.perms === 'rw-p' && mapping.inode === 0 && mapping.path === '';
}

function reserve(mapping: Mapping): boolean {
  return mapping.perms === '---p' && mapping.inode === 0 && mapping.path === '';
}

/**
 * 64 MiB-aligned addresses in anonymous read-write mappings. strict: only where the
 * layout alone says heap: the mapping starts at the boundary and a PROT_NONE reserve
 * runs from its end to the next boundary (or it ends exactly there). Loose: every
 * aligned address, for heap_info to confirm or refute.
 */
function heapCandidates(mappings: Mapping[], heapMax: number, strict: boolean): ArenaHeap[] {
  const found: ArenaHeap[] = [];
  for (let i = 0; i < mappings.length; i++) {
    const mapping = mappings[i]!;
    if (!anonymousWritable(mapping)) continue;
    for (let start = Math.ceil(mapping.start / heapMax) * heapMax; start < mapping.end; start += heapMax) {
      const end = start + heapMax;
      const writableEnd = Math.min(mapping.end, end);
      if (strict) {
        if (mapping.start !== start || mapping.end > end) continue;
        let at = writableEnd;
        for (
          let j = i + 1;
          at < end && j < mappings.length && mappings[j]!.start === at && reserve(mappings[j]!);
          j++
        ) {
          at = mappings[j]!.end;
        }
        if (at < end) continue;
      }
      found.push({ start, end, writableEnd, size: null, arena: null, confirmed: false });
    }
  }
  return found;
}

function readArenaState(memory: ProcessMemory, address: number): number[] | null {
  return memory.words(address, MALLOC_STATE.size / SIZE_SZ);
}

function within(heaps: ArenaHeap[], address: number): boolean {
  return heaps.some((heap) => address >= heap.start && address < heap.writableEnd);
}

/** The chunk size at a chunk's address (its size field, flags cleared), or null. */
function chunkSize(memory: ProcessMemory, chunk: number): number | null {
  const words = memory.words(chunk, 2);
  return words === null ? null : words[1]! - (words[1]! % (SIZE_BITS + 1));
}

function stateOf(
  memory: ProcessMemory,
  address: number,
  heaps: ArenaHeap[],
  main: Mapping | null | false,
  problems: string[],
): { state: ArenaState; next: number | null } {
  const state: ArenaState = {
    address,
    index: null,
    main: main !== false,
    heaps,
    systemBytes: null,
    topBytes: null,
    attachedThreads: null,
    noncontiguous: false,
  };
  const words = readArenaState(memory, address);
  if (words === null) {
    problems.push(`the malloc_state at 0x${address.toString(16)} could not be read`);
    return { state, next: null };
  }
  const at = (offset: number) => words[offset / SIZE_SZ]!;
  const top = at(MALLOC_STATE.top);
  const systemBytes = at(MALLOC_STATE.systemMem);
  const attached = at(MALLOC_STATE.attachedThreads);
  const heapBytes = heaps.reduce((sum, heap) => sum + (heap.size ?? 0), 0);
  // flags is the int after the mutex: the high half of the first word.
  const noncontiguous = (Math.floor(words[0]! / 2 ** 32) & NONCONTIGUOUS_BIT) !== 0;
  // The main arena's top is in [heap] (or, before its first malloc, its own unsorted bin: initial_top; or,
  // once sbrk failed, in a region it mapped).
  const initialTop = address + MALLOC_STATE.top;
  const topInside =
    main === false
      ? within(heaps, top)
      : top === initialTop || noncontiguous || (main !== null && top >= main.start && top < main.end);
  // A non-main arena's system_mem is the sum of its heaps' sizes: the check that the layout is right.
  const consistent =
    topInside &&
    (main === false
      ? systemBytes === heapBytes
      : noncontiguous || main === null || systemBytes <= main.end - main.start) &&
    attached < 1 << 24;
  if (!consistent) {
    problems.push(
      `the malloc_state at 0x${address.toString(16)} does not match its heaps (top 0x${top.toString(16)}, system_mem ${systemBytes}, heaps ${heapBytes}): its fields are not reported`,
    );
    return { state, next: null };
  }
  state.systemBytes = systemBytes;
  state.attachedThreads = attached;
  state.noncontiguous = main !== false && noncontiguous;
  // Before its first malloc the main arena's top is its own unsorted bin (initial_top): no top chunk yet.
  state.topBytes = top === initialTop ? 0 : chunkSize(memory, top);
  return { state, next: at(MALLOC_STATE.next) };
}

/** libc's writable data: its rw-p file mapping and the anonymous bss right after it. */
export function libcData(mappings: Mapping[], libcPath: string | null): Mapping[] {
  if (libcPath === null) return [];
  const data: Mapping[] = [];
  for (let i = 0; i < mappings.length; i++) {
    const mapping = mappings[i]!;
    if (mapping.path !== libcPath || mapping.perms !== 'rw-p') continue;
    data.push(mapping);
    const next = mappings[i + 1];
    if (next !== undefined && next.start === mapping.end && anonymousWritable(next)) data.push(next);
  }
  return data;
}

/** The main arena: where the ring of arenas leaves the heaps, or (one arena only) the malloc_state whose next is itself. */
function findMainArena(memory: ProcessMemory, data: Mapping[], ringNext: number[]): number | null {
  const inData = (address: number) => data.some((mapping) => address >= mapping.start && address < mapping.end);
  const fromRing = ringNext.find(inData);
  if (fromRing !== undefined) return fromRing;
  for (const mapping of data) {
    const bytes = memory.bytes(mapping.start, mapping.end - mapping.start);
    if (bytes === null) continue;
    for (let offset = MALLOC_STATE.next; offset + SIZE_SZ <= bytes.length; offset += SIZE_SZ) {
      const base = mapping.start + offset - MALLOC_STATE.next;
      if (Number(bytes.readBigUInt64LE(offset)) === base) return base;
    }
  }
  return null;
}

/**
 * The heaps of non-main arenas, and with memory access their arenas and the main
 * arena. libcPath: libc's path as mapped (for the main arena); version: glibc's.
 */
export function readGlibcHeaps(
  mappings: Mapping[],
  memory: ProcessMemory | null,
  version: GlibcVersion | null,
  libcPath: string | null,
  heapMax = HEAP_MAX_SIZE,
): GlibcHeaps {
  const problems: string[] = [];
  if (memory === null) {
    return {
      heaps: heapCandidates(mappings, heapMax, true),
      arenas: [],
      main: null,
      mainRegions: [],
      counted: 'layout',
      problems,
    };
  }
  const candidates = heapCandidates(mappings, heapMax, false);

  const headerSizes = heapInfoSize(version);
  const heaps: ArenaHeap[] = [];
  for (const candidate of candidates) {
    const words = memory.words(candidate.start, 4);
    if (words === null) continue;
    const [arena, previous, size, writable] = words as [number, number, number, number];
    const first = previous === 0 && headerSizes.includes(arena - candidate.start);
    const later = previous !== 0 && previous % heapMax === 0 && arena % 16 === 0 && arena !== 0;
    const sizes = size <= writable && writable <= heapMax && writable % 4096 === 0 && size % 4096 === 0;
    if ((first || later) && sizes && candidate.start + writable === candidate.writableEnd) {
      heaps.push({ ...candidate, size, arena, confirmed: true });
    }
  }
  const rejected = heapCandidates(mappings, heapMax, true).filter(
    (candidate) => !heaps.some((heap) => heap.start === candidate.start),
  ).length;
  if (rejected > 0) {
    problems.push(
      `${rejected} 64 MiB-aligned mapping${rejected === 1 ? '' : 's'} with a heap's layout had no valid heap_info: not glibc heaps`,
    );
  }

  const byArena = new Map<number, ArenaHeap[]>();
  for (const heap of heaps) byArena.set(heap.arena!, [...(byArena.get(heap.arena!) ?? []), heap]);
  const arenas: ArenaState[] = [];
  const ringNext: number[] = [];
  const nextOf = new Map<number, number>();
  for (const [address, own] of byArena) {
    const { state, next } = stateOf(memory, address, own, false, problems);
    arenas.push(state);
    if (next !== null) {
      ringNext.push(next);
      nextOf.set(address, next);
    }
  }

  let main: ArenaState | null = null;
  const mainAddress = findMainArena(memory, libcData(mappings, libcPath), ringNext);
  if (mainAddress !== null) {
    const brkHeap = mappings.find((mapping) => mapping.path === '[heap]') ?? null;
    const { state, next } = stateOf(memory, mainAddress, [], brkHeap, problems);
    main = state;
    if (next !== null) nextOf.set(mainAddress, next);
    // malloc_info numbers the arenas in ring order from the main arena.
    main.index = 0;
    let index = 1;
    for (let at = nextOf.get(mainAddress); at !== undefined && at !== mainAddress && index <= arenas.length; index++) {
      const arena = arenas.find((candidate) => candidate.address === at);
      if (arena === undefined) break;
      arena.index = index;
      at = nextOf.get(at);
    }
  } else if (libcPath !== null) {
    problems.push("the main arena's malloc_state was not found in libc's data");
  }
  arenas.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity) || a.address - b.address);
  const mainRegions = main?.noncontiguous ? mainArenaRegions(memory, mappings, heaps, main, problems) : [];
  return { heaps, arenas, main, mainRegions, counted: 'heap_info', problems };
}

/**
 * When sbrk failed (something was mapped above [heap]), glibc's main arena went on in
 * regions it mapped itself, each at least MMAP_AS_MORECORE_SIZE and starting with a
 * chunk of its own: prev_size 0, PREV_INUSE set, neither IS_MMAPPED nor NON_MAIN_ARENA.
 * Found by that header, and checked against the arena's system_mem, which counts
 * [heap] and these regions alike.
 */
function mainArenaRegions(
  memory: ProcessMemory,
  mappings: Mapping[],
  heaps: ArenaHeap[],
  main: ArenaState,
  problems: string[],
): { start: number; end: number }[] {
  const regions: { start: number; end: number }[] = [];
  const inHeap = (mapping: Mapping) => heaps.some((heap) => mapping.start < heap.end && mapping.end > heap.start);
  for (const mapping of mappings) {
    if (!anonymousWritable(mapping) || mapping.end - mapping.start < MMAP_AS_MORECORE_SIZE || inHeap(mapping)) continue;
    const words = memory.words(mapping.start, 2);
    if (words === null) continue;
    const [previous, field] = words as [number, number];
    const size = field - (field % (SIZE_BITS + 1));
    if (previous === 0 && field % (SIZE_BITS + 1) === PREV_INUSE && size >= 32 && size <= mapping.end - mapping.start) {
      regions.push({ start: mapping.start, end: mapping.end });
    }
  }
  const brk = mappings.find((mapping) => mapping.path === '[heap]');
  const found = regions.reduce(
    (sum, region) => sum + region.end - region.start,
    brk === undefined ? 0 : brk.end - brk.start,
  );
  if (main.systemBytes !== null && Math.abs(found - main.systemBytes) > 64 * 1024) {
    problems.push(
      `the main arena has ${main.systemBytes} bytes from the system, [heap] and the ${regions.length} regions found by their first chunk ${found}: some of its memory shares a mapping with other memory`,
    );
  }
  return regions;
}

/** mp_, found in libc's data by its sbrk_base (the start of [heap]) and checked field by field. */
export function readMallocParameters(
  memory: ProcessMemory,
  data: Mapping[],
  version: GlibcVersion | null,
  heapStart: number | null,
): MallocParameters | null {
  const layout = mallocParLayout(version);
  if (layout === null || heapStart === null) return null;
  for (const mapping of data) {
    const bytes = memory.bytes(mapping.start, mapping.end - mapping.start);
    if (bytes === null) continue;
    for (let offset = layout.sbrkBase; offset + SIZE_SZ <= bytes.length; offset += SIZE_SZ) {
      if (Number(bytes.readBigUInt64LE(offset)) !== heapStart) continue;
      const base = offset - layout.sbrkBase;
      if (base + layout.size > bytes.length) continue;
      const word = (field: number) => Number(bytes.readBigUInt64LE(base + field));
      const int = (field: number) => bytes.readInt32LE(base + field);
      const parameters: MallocParameters = {
        address: mapping.start + base,
        layout: layout.range,
        trimThreshold: word(layout.trimThreshold),
        topPad: word(layout.topPad),
        mmapThreshold: word(layout.mmapThreshold),
        arenaTest: word(layout.arenaTest),
        arenaMax: word(layout.arenaMax),
        dynamicThreshold: int(layout.noDynThreshold) === 0,
        mmappedChunks: int(layout.nMmaps),
        mmappedBytes: word(layout.mmappedMem),
        maxMmappedBytes: word(layout.maxMmappedMem),
        sbrkBase: heapStart,
      };
      const noDyn = int(layout.noDynThreshold);
      const plausible =
        (noDyn === 0 || noDyn === 1) &&
        parameters.mmappedChunks >= 0 &&
        parameters.mmappedChunks <= int(layout.maxNMmaps) &&
        parameters.mmappedBytes <= parameters.maxMmappedBytes &&
        parameters.mmapThreshold <= MMAP_THRESHOLD_MAX &&
        parameters.arenaTest >= 1 &&
        parameters.arenaTest < 1 << 20 &&
        word(layout.tcacheBins) <= 64;
      if (plausible) return parameters;
    }
  }
  return null;
}

export interface MmappedChunk {
  start: number;
  size: number;
}

/**
 * The malloc chunks glibc mapped at the start of [start, end): each begins with
 * prev_size 0 and a size with IS_MMAPPED set, and the next follows right after it
 * (adjacent mappings merge into one). The run stops at the first thing that is not
 * such a chunk; what follows is left to other evidence.
 */
export function mmappedChunksIn(memory: ProcessMemory, start: number, end: number): MmappedChunk[] {
  const chunks: MmappedChunk[] = [];
  for (let at = start; at < end;) {
    const words = memory.words(at, 2);
    if (words === null) break;
    const [previous, field] = words as [number, number];
    const size = field - (field % (SIZE_BITS + 1));
    const flags = field % (SIZE_BITS + 1);
    if (previous !== 0 || (flags & IS_MMAPPED) === 0 || (flags & (NON_MAIN_ARENA | PREV_INUSE)) !== 0) break;
    if (size < 4096 || size % 4096 !== 0 || at + size > end) break;
    chunks.push({ start: at, size });
    at += size;
  }
  return chunks;
}
