/**
 * Every mapping of a process, and every resident byte in it, put in one class with
 * the reason. Detectors claim address ranges first, each on its own evidence:
 * [heap] (the brk heap), arena heaps (glibc-heaps.ts), thread stacks (a thread's
 * stack pointer inside, or the guard-page layout), mmapped malloc chunks (their
 * chunk header). What no detector claims is classed by what the mapping is: shared,
 * file-backed, executable anonymous memory, a library's bss, a large or a small
 * anonymous mapping. A mapping that two classes share is split, and the smaller
 * parts' residency read from pagemap, so the classes still add up to the total.
 */
import type { ArenaHeap, MmappedChunk } from './glibc-heaps.js';
import type { Mapping } from './smaps.js';
import type { ThreadInfo } from './threads.js';

export const MEMORY_CLASSES = [
  'glibc-main-heap',
  'glibc-arenas',
  'thread-stacks',
  'anonymous-mmap',
  'v8-heap',
  'jit-code',
  'code-and-files',
  'shared',
  'other-anonymous',
] as const;
export type MemoryClass = (typeof MEMORY_CLASSES)[number];

/** A piece of one mapping in one class. */
export interface Piece {
  start: number;
  end: number;
  /** The mapping it is part of (its index in the sorted list). */
  mapping: number;
  class: MemoryClass;
  /** Which kind within the class: 'brk', 'heap', 'main-stack', 'stack', 'cached-stack', 'malloc-chunk', 'hinted', 'large', 'reserve', 'bss', 'file', … */
  kind: string;
  /** The thread a stack belongs to. */
  tid?: number;
  residentBytes: number;
  /** How residentBytes was measured: the mapping's smaps Rss, pagemap for a split part, or what the split left. */
  residentFrom: 'smaps' | 'pagemap' | 'remainder';
}

export interface ClassifyInput {
  /** The process (its main thread's tid): its stack is [stack]. */
  pid: number;
  mappings: Mapping[];
  heaps: ArenaHeap[];
  /** Regions glibc's main arena mapped when sbrk failed. */
  mainRegions: { start: number; end: number }[];
  threads: ThreadInfo[];
  /** mmapped chunks found in a mapping (reads chunk headers); null when memory cannot be read. */
  chunksIn: ((start: number, end: number) => MmappedChunk[]) | null;
  /** The smallest size an mmapped chunk can have here (the mmap threshold's floor). */
  chunkFloor: number;
  /** The target runs Node (V8 places its heap pages at addresses of its choosing). */
  node: boolean;
  /** Present bytes in [start, end), from pagemap; an Error when it cannot be read. */
  residentOf(start: number, end: number): number | Error;
}

export interface Classification {
  pieces: Piece[];
  /** Stacks found by a stack pointer, by tid. */
  stackOf: Map<number, Piece>;
  /** Threads whose stack could not be placed (stack pointer unknown and no unclaimed stack layout). */
  unplacedThreads: number[];
  /** Mappings that were split between classes. */
  splitMappings: number;
  /** Split parts whose residency pagemap could not give (then the whole mapping's Rss went to its largest part). */
  residencyProblems: string[];
}

/** The largest address V8 picks for its pages on x64 (46 bits): the kernel does not place mappings this low unasked. */
const V8_HINT_CEILING = 2 ** 46;
/** Stack guards are a few pages; a PROT_NONE mapping larger than this below a stack is a reserve of something else. */
const GUARD_MAX = 1024 * 1024;
/** Anonymous mappings from this size up are "large" (glibc's default mmap threshold). */
export const LARGE_ANONYMOUS = 128 * 1024;

interface Claim {
  start: number;
  end: number;
  class: MemoryClass;
  kind: string;
  tid?: number;
}

function isFileBacked(mapping: Mapping): boolean {
  return mapping.inode !== 0 || mapping.path.startsWith('/');
}

function anonymous(mapping: Mapping): boolean {
  return !isFileBacked(mapping) && (mapping.path === '' || mapping.path.startsWith('[anon'));
}

function indexAt(mappings: Mapping[], address: number): number {
  let low = 0;
  let high = mappings.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const mapping = mappings[middle]!;
    if (address < mapping.start) high = middle - 1;
    else if (address >= mapping.end) low = middle + 1;
    else return middle;
  }
  return -1;
}

/** The class of a mapping (or part) that no detector claimed, from what the mapping is. */
function defaultClass(mappings: Mapping[], index: number, node: boolean): { class: MemoryClass; kind: string } {
  const mapping = mappings[index]!;
  if (mapping.perms[3] === 's') return { class: 'shared', kind: isFileBacked(mapping) ? 'file' : 'anonymous' };
  // The common case first: a private anonymous mapping with no name.
  if (mapping.inode === 0 && mapping.path === '') return anonymousClass(mappings, index, node);
  if (
    mapping.path === '[vdso]' ||
    mapping.path === '[vvar]' ||
    mapping.path === '[vsyscall]' ||
    mapping.path.startsWith('[vvar')
  ) {
    return { class: 'code-and-files', kind: 'kernel' };
  }
  if (isFileBacked(mapping)) return { class: 'code-and-files', kind: mapping.perms[2] === 'x' ? 'code' : 'file' };
  if (!anonymous(mapping)) return { class: 'other-anonymous', kind: 'named' };
  return anonymousClass(mappings, index, node);
}

function anonymousClass(mappings: Mapping[], index: number, node: boolean): { class: MemoryClass; kind: string } {
  const mapping = mappings[index]!;
  if (mapping.perms[2] === 'x') return { class: 'jit-code', kind: 'jit' };
  const previous = mappings[index - 1];
  if (previous !== undefined && previous.end === mapping.start && isFileBacked(previous) && previous.perms === 'rw-p') {
    return { class: 'code-and-files', kind: 'bss' };
  }
  if (mapping.perms === '---p') return { class: 'other-anonymous', kind: 'reserve' };
  if (mapping.end - mapping.start >= LARGE_ANONYMOUS) {
    return { class: 'anonymous-mmap', kind: node && mapping.start < V8_HINT_CEILING ? 'hinted' : 'large' };
  }
  return { class: 'other-anonymous', kind: 'small' };
}

export function classify(input: ClassifyInput): Classification {
  const { mappings } = input;
  const claims: Claim[] = [];
  const claimed = new Uint8Array(mappings.length); // 1: some claim touches the mapping
  const claim = (entry: Claim) => {
    claims.push(entry);
    for (
      let i = Math.max(0, indexAt(mappings, entry.start));
      i < mappings.length && mappings[i]!.start < entry.end;
      i++
    ) {
      claimed[i] = 1;
    }
  };

  for (const mapping of mappings) {
    if (mapping.path === '[heap]')
      claim({ start: mapping.start, end: mapping.end, class: 'glibc-main-heap', kind: 'brk' });
  }
  for (const heap of input.heaps) claim({ start: heap.start, end: heap.end, class: 'glibc-arenas', kind: 'heap' });
  for (const region of input.mainRegions) {
    claim({ start: region.start, end: region.end, class: 'glibc-main-heap', kind: 'mmap-fallback' });
  }

  // Stacks: the mapping a thread's stack pointer is in, and the guard below it.
  const stackOfTid = new Map<number, number>();
  const stackMappings = new Set<number>();
  for (const thread of input.threads) {
    if (thread.stackPointer === null) continue;
    const index = indexAt(mappings, thread.stackPointer);
    if (index < 0 || stackMappings.has(index)) continue;
    stackMappings.add(index);
    stackOfTid.set(thread.tid, index);
  }
  const mainStack = mappings.findIndex((mapping) => mapping.path === '[stack]');
  const guardBelow = (index: number): number => {
    const below = mappings[index - 1];
    const mapping = mappings[index]!;
    return below !== undefined &&
      below.end === mapping.start &&
      below.perms === '---p' &&
      anonymous(below) &&
      below.end - below.start <= GUARD_MAX &&
      claimed[index - 1] === 0
      ? index - 1
      : -1;
  };
  for (const [tid, index] of stackOfTid) {
    const mapping = mappings[index]!;
    if (claimed[index] === 1 && index !== mainStack) continue; // inside a heap: not a stack after all
    const main = index === mainStack;
    const guard = main ? -1 : guardBelow(index);
    claim({
      start: guard >= 0 ? mappings[guard]!.start : mapping.start,
      end: mapping.end,
      class: 'thread-stacks',
      kind: main ? 'main-stack' : 'stack',
      tid,
    });
  }
  if (mainStack >= 0 && claimed[mainStack] === 0) {
    claim({
      start: mappings[mainStack]!.start,
      end: mappings[mainStack]!.end,
      class: 'thread-stacks',
      kind: 'main-stack',
    });
  }
  // mmapped malloc chunks, confirmed by their headers (stronger evidence than a stack's layout).
  if (input.chunksIn !== null) {
    for (let i = 0; i < mappings.length; i++) {
      const mapping = mappings[i]!;
      if (claimed[i] === 1 || mapping.perms !== 'rw-p' || !anonymous(mapping)) continue;
      if (mapping.end - mapping.start < input.chunkFloor) continue;
      for (const chunk of input.chunksIn(mapping.start, mapping.end)) {
        if (chunk.size < input.chunkFloor) break;
        claim({ start: chunk.start, end: chunk.start + chunk.size, class: 'anonymous-mmap', kind: 'malloc-chunk' });
      }
    }
  }

  // Threads without a known stack pointer: stacks by layout (guard page, then read-write), at most one each.
  const unknown = input.threads.filter(
    (thread) => !stackOfTid.has(thread.tid) && !(thread.tid === input.pid && mainStack >= 0),
  );
  const placedByLayout: number[] = [];
  const layoutStacks: number[] = [];
  for (let i = 1; i < mappings.length; i++) {
    const mapping = mappings[i]!;
    if (claimed[i] === 1 || mapping.perms !== 'rw-p' || !anonymous(mapping) || guardBelow(i) < 0) continue;
    layoutStacks.push(i);
  }
  // Known stack sizes tell the layout candidates that are stacks from guarded buffers of other sizes.
  const knownSizes = new Set([...stackOfTid.values()].map((index) => mappings[index]!.end - mappings[index]!.start));
  for (const index of layoutStacks) {
    const mapping = mappings[index]!;
    const guard = guardBelow(index);
    const thread = unknown.shift();
    if (thread !== undefined) {
      placedByLayout.push(thread.tid);
      claim({
        start: mappings[guard]!.start,
        end: mapping.end,
        class: 'thread-stacks',
        kind: 'stack-by-layout',
        tid: thread.tid,
      });
    } else if (knownSizes.has(mapping.end - mapping.start)) {
      // The size of a live thread's stack, with no live thread in it: glibc's cache of exited threads' stacks.
      claim({ start: mappings[guard]!.start, end: mapping.end, class: 'thread-stacks', kind: 'cached-stack' });
    }
  }
  const unplacedThreads = unknown.map((thread) => thread.tid);

  // Pieces: claimed ranges cut out of their mappings, the rest classed by default.
  claims.sort((a, b) => a.start - b.start);
  const pieces: Piece[] = [];
  const stackOf = new Map<number, Piece>();
  const residencyProblems: string[] = [];
  let splitMappings = 0;
  let next = 0;
  for (let i = 0; i < mappings.length; i++) {
    const mapping = mappings[i]!;
    if (claimed[i] === 0) {
      const { class: name, kind } = defaultClass(mappings, i, input.node);
      pieces.push({
        start: mapping.start,
        end: mapping.end,
        mapping: i,
        class: name,
        kind,
        residentBytes: mapping.rss,
        residentFrom: 'smaps',
      });
      continue;
    }
    while (next < claims.length && claims[next]!.end <= mapping.start) next++;
    const own: Piece[] = [];
    let at = mapping.start;
    for (let c = next; c < claims.length && claims[c]!.start < mapping.end; c++) {
      const entry = claims[c]!;
      const start = Math.max(entry.start, mapping.start);
      const end = Math.min(entry.end, mapping.end);
      if (end <= at) continue;
      if (start > at) {
        const rest = defaultClass(mappings, i, input.node);
        own.push({
          start: at,
          end: start,
          mapping: i,
          class: rest.class,
          kind: rest.kind,
          residentBytes: 0,
          residentFrom: 'pagemap',
        });
      }
      // The PROT_NONE parts of a claim: a stack's guard, a heap's reserve.
      const kind =
        mapping.perms !== '---p' ? entry.kind : entry.class === 'thread-stacks' ? 'guard' : `${entry.kind}-reserve`;
      const piece: Piece = {
        start: Math.max(start, at),
        end,
        mapping: i,
        class: entry.class,
        kind,
        residentBytes: 0,
        residentFrom: 'pagemap',
      };
      if (entry.tid !== undefined) {
        piece.tid = entry.tid;
        if (mapping.perms === 'rw-p' || mapping.path === '[stack]') stackOf.set(entry.tid, piece);
      }
      own.push(piece);
      at = end;
    }
    if (at < mapping.end) {
      const rest = defaultClass(mappings, i, input.node);
      own.push({
        start: at,
        end: mapping.end,
        mapping: i,
        class: rest.class,
        kind: rest.kind,
        residentBytes: 0,
        residentFrom: 'pagemap',
      });
    }
    if (own.length === 1) {
      own[0]!.residentBytes = mapping.rss;
      own[0]!.residentFrom = 'smaps';
    } else {
      splitMappings++;
      // pagemap for all but the largest part; the largest gets the rest of the mapping's Rss.
      let largest = 0;
      for (let p = 1; p < own.length; p++) {
        if (own[p]!.end - own[p]!.start > own[largest]!.end - own[largest]!.start) largest = p;
      }
      let measured = 0;
      let failed = false;
      for (let p = 0; p < own.length && mapping.rss > 0; p++) {
        if (p === largest) continue;
        const resident = input.residentOf(own[p]!.start, own[p]!.end);
        if (resident instanceof Error) {
          failed = true;
          residencyProblems.push(`pagemap of ${hex(own[p]!.start)}–${hex(own[p]!.end)}: ${resident.message}`);
          break;
        }
        own[p]!.residentBytes = Math.min(resident, mapping.rss - measured);
        measured += own[p]!.residentBytes;
      }
      if (failed) {
        for (const piece of own) piece.residentBytes = 0;
        measured = 0;
      }
      own[largest]!.residentBytes = mapping.rss - measured;
      own[largest]!.residentFrom = failed ? 'smaps' : 'remainder';
    }
    for (const piece of own) pieces.push(piece);
  }
  return { pieces, stackOf, unplacedThreads, splitMappings, residencyProblems };
}

function hex(address: number): string {
  return `0x${address.toString(16)}`;
}
