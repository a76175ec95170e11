/**
 * Pieces (classify.ts) into the report's classes: totals, parts, the largest
 * regions, and the evidence in sentences built from what was read.
 */
import { formatBytes } from '../../infra/units.js';
import { type MemoryClass, MEMORY_CLASSES, type Piece } from './classify.js';
import type { Mapping } from './smaps.js';
import type { ClassPart, ClassReport, RegionReport } from './types.js';

export interface EvidenceContext {
  mappings: Mapping[];
  /** glibc's malloc serves (else the allocator's name). */
  allocator: string;
  node: boolean;
  /** How arena heaps were recognised, and the count of arenas by heap_info (null: by layout). */
  heapsConfirmed: boolean;
  memoryProblem: string | null;
  arenaCount: number | null;
  /** Threads whose stack pointer could not be read, and why (running or permission). */
  stackPointerProblem: string | null;
  v8Confirmation: string | null;
  /** glibc's own count of its mmapped chunks (mp_.n_mmaps, mp_.mmapped_mem), when mp_ was read. */
  mmappedByGlibc: { chunks: number; bytes: number } | null;
}

export function hex(address: number): string {
  return `0x${address.toString(16)}`;
}

function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

export function regionOf(piece: Piece, mappings: Mapping[]): RegionReport {
  const mapping = mappings[piece.mapping]!;
  const region: RegionReport = {
    start: hex(piece.start),
    end: hex(piece.end),
    perms: mapping.perms,
    path: mapping.path,
    kind: piece.kind,
    residentBytes: piece.residentBytes,
    reservedBytes: piece.end - piece.start,
    residentFrom: piece.residentFrom,
  };
  if (piece.tid !== undefined) region.tid = piece.tid;
  return region;
}

function evidenceFor(
  name: MemoryClass,
  own: Piece[],
  parts: Map<string, ClassPart>,
  context: EvidenceContext,
): string[] {
  const count = (kind: string) => parts.get(kind)?.count ?? 0;
  const resident = (kind: string) => formatBytes(parts.get(kind)?.residentBytes ?? 0);
  const sentences: string[] = [];
  switch (name) {
    case 'glibc-main-heap':
      if (own.length === 0) sentences.push('no [heap] mapping: nothing in this process has grown the program break');
      else sentences.push("the [heap] mapping: the program break's heap, which glibc's main arena grows with sbrk");
      if (count('mmap-fallback') > 0) {
        sentences.push(
          `${plural(count('mmap-fallback'), 'region')} (${resident('mmap-fallback')} resident) the main arena mapped itself because sbrk could not grow [heap] (something is mapped above it): its malloc_state is marked non-contiguous, and each region starts with one of its chunks`,
        );
      }
      if (context.allocator !== 'glibc' && own.length > 0) {
        sentences.push(
          `${context.allocator} serves malloc, so only callers that reach glibc's own malloc (or sbrk) use it`,
        );
      }
      break;
    case 'glibc-arenas': {
      const heaps = count('heap');
      if (heaps === 0) {
        sentences.push('no 64 MiB-aligned heap: no thread has made an arena of its own');
        break;
      }
      sentences.push(
        `${plural(heaps, 'heap')} at 64 MiB (HEAP_MAX_SIZE) alignment, each a read-write part followed by a PROT_NONE reserve up to the next boundary`,
      );
      if (context.heapsConfirmed) {
        sentences.push(
          `each confirmed by its heap_info header in /proc/<pid>/mem; their arena pointers name ${plural(context.arenaCount ?? 0, 'thread arena')}`,
        );
      } else {
        sentences.push(
          `inferred from the layout alone (${context.memoryProblem ?? 'heap_info not read'}): ${plural(heaps, 'heap')}, so ${plural(heaps, 'arena')} if each holds one heap (an arena past 64 MiB has more)`,
        );
      }
      break;
    }
    case 'thread-stacks': {
      if (count('main-stack') > 0) sentences.push("the main thread's [stack]");
      if (count('stack') > 0) {
        sentences.push(
          `${plural(count('stack'), 'thread stack')} found by the thread's stack pointer (task/<tid>/syscall) inside it: a read-write mapping above its PROT_NONE guard`,
        );
      }
      if (count('stack-by-layout') > 0) {
        sentences.push(
          `${plural(count('stack-by-layout'), 'stack')} placed by layout (guard page, then read-write) for threads whose stack pointer could not be read${context.stackPointerProblem === null ? '' : ` (${context.stackPointerProblem})`}`,
        );
      }
      if (count('cached-stack') > 0) {
        sentences.push(
          `${plural(count('cached-stack'), 'stack')} of a live thread's size with no thread in it: glibc's cache of exited threads' stacks (${resident('cached-stack')} resident)`,
        );
      }
      break;
    }
    case 'anonymous-mmap':
      if (count('malloc-chunk') > 0) {
        sentences.push(
          `${plural(count('malloc-chunk'), 'malloc chunk')} glibc mapped on its own (${resident('malloc-chunk')} resident), each confirmed by its chunk header: prev_size 0 and a size with IS_MMAPPED set that equals its mapping`,
        );
      }
      if (context.mmappedByGlibc !== null) {
        const { chunks, bytes } = context.mmappedByGlibc;
        const found = count('malloc-chunk');
        sentences.push(
          found === chunks
            ? `glibc's own count agrees: mp_ holds ${plural(chunks, 'mmapped chunk')} of ${formatBytes(bytes)}`
            : `glibc's own count (mp_) is ${plural(chunks, 'mmapped chunk')} of ${formatBytes(bytes)}; ${found} found by header: the others share a mapping with other memory (the kernel merged them) and are counted with it`,
        );
      }
      if (count('hinted') > 0) {
        sentences.push(
          `${plural(count('hinted'), 'mapping')} (${resident('hinted')} resident) at addresses below 64 TiB, far from the kernel's own mmap area: placed where the program asked; V8 puts its heap pages there${context.v8Confirmation === null ? ' (the agent can confirm it)' : ''}`,
        );
      }
      if (count('large') > 0) {
        const who =
          context.allocator === 'glibc'
            ? "mmapped malloc chunks not read, or other mmap calls (a runtime's own pools)"
            : `${context.allocator}'s spans (it serves malloc), or other mmap calls`;
        sentences.push(
          `${plural(count('large'), 'other anonymous mapping')} of 128 KiB or more (${resident('large')} resident): ${who}`,
        );
      }
      if (own.length === 0) sentences.push('no large anonymous mapping');
      break;
    case 'v8-heap':
      if (context.v8Confirmation !== null) sentences.push(context.v8Confirmation);
      else
        sentences.push(
          context.node ? 'told apart only with the agent (V8 reports its heap size)' : 'not a Node process',
        );
      break;
    case 'jit-code':
      if (own.length > 0) {
        sentences.push(
          `${plural(own.length, 'anonymous executable mapping')}: code written at run time (a JIT${context.node ? ": V8's" : ''})`,
        );
      }
      break;
    case 'code-and-files': {
      const files = count('code') + count('file');
      if (files > 0)
        sentences.push(
          `${plural(files, 'file-backed private mapping')}: the executable, shared libraries and mapped files`,
        );
      if (count('bss') > 0)
        sentences.push(`${plural(count('bss'), 'anonymous mapping')} right after a file's data segment: its .bss`);
      if (count('kernel') > 0) sentences.push("the kernel's vdso and vvar pages");
      break;
    }
    case 'shared':
      if (own.length > 0) {
        const pss = own.reduce((sum, piece) => sum + context.mappings[piece.mapping]!.pss, 0);
        sentences.push(
          `${plural(own.length, 'shared mapping')} (MAP_SHARED files, shared memory, memfd): their pages may count in other processes' RSS too (Pss ${formatBytes(pss)})`,
        );
      }
      break;
    case 'other-anonymous':
      if (count('small') > 0) sentences.push(`${plural(count('small'), 'small anonymous mapping')} (under 128 KiB)`);
      if (count('reserve') > 0)
        sentences.push(`${plural(count('reserve'), 'PROT_NONE reserve')}: address space only, never resident`);
      if (count('named') > 0) sentences.push(`${plural(count('named'), 'named anonymous mapping')}`);
      break;
  }
  return sentences;
}

/** The `count` largest pieces (resident bytes, then size, then address), without sorting them all. */
function largest(pieces: Piece[], count: number): Piece[] {
  const before = (a: Piece, b: Piece) =>
    b.residentBytes - a.residentBytes || b.end - b.start - (a.end - a.start) || a.start - b.start;
  const kept: Piece[] = [];
  for (const piece of pieces) {
    if (kept.length === count && (count === 0 || before(piece, kept[count - 1]!) >= 0)) continue;
    let at = kept.length;
    while (at > 0 && before(piece, kept[at - 1]!) < 0) at--;
    kept.splice(at, 0, piece);
    if (kept.length > count) kept.pop();
  }
  return kept;
}

/** The report's classes, all of them in MEMORY_CLASSES order (empty ones too), shares of total. */
export function classReports(pieces: Piece[], context: EvidenceContext, regionsPerClass: number): ClassReport[] {
  const byClass = new Map<MemoryClass, Piece[]>(MEMORY_CLASSES.map((name) => [name, []]));
  let total = 0;
  for (const piece of pieces) {
    byClass.get(piece.class)!.push(piece);
    total += piece.residentBytes;
  }
  return MEMORY_CLASSES.map((name) => {
    const own = byClass.get(name)!;
    const parts = new Map<string, ClassPart>();
    let residentBytes = 0;
    let reservedBytes = 0;
    for (const piece of own) {
      let part = parts.get(piece.kind);
      if (part === undefined)
        parts.set(piece.kind, (part = { kind: piece.kind, count: 0, residentBytes: 0, reservedBytes: 0 }));
      part.count++;
      part.residentBytes += piece.residentBytes;
      part.reservedBytes += piece.end - piece.start;
      residentBytes += piece.residentBytes;
      reservedBytes += piece.end - piece.start;
    }
    const shown = largest(own, regionsPerClass);
    return {
      name,
      residentBytes,
      reservedBytes,
      share: total === 0 ? 0 : residentBytes / total,
      regionCount: own.length,
      evidence: evidenceFor(name, own, parts, context),
      parts: [...parts.values()],
      regions: shown.map((piece) => regionOf(piece, context.mappings)),
      regionsOmitted: own.length - shown.length,
    };
  });
}
