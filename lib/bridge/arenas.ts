/**
 * Arena census: how many arenas glibc has, what each holds (from malloc_info),
 * which arena a block belongs to, and the stack size threads get (which is what
 * a new thread adds to VmSize before any arena).
 */
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';
import { malloc_info } from './heap.js';

export interface ArenaSummary {
  index: number;
  main: boolean;
  /** Heaps (sub-heaps) of a non-main arena; each reserves 64 MiB of address space on 64-bit. */
  heaps: number;
  /** Bytes the arena obtained from the system. */
  systemBytes: number;
  /** Free bytes held in it (fastbins + bins + top). */
  freeBytes: number;
}

export interface ArenaCensus {
  count: number;
  arenas: ArenaSummary[];
  /** glibc's default cap: 8 × online CPUs on 64-bit (M_ARENA_MAX / MALLOC_ARENA_MAX override it). */
  defaultCap: number;
  totals: { systemBytes: number; mmapBytes: number; mmapCount: number };
}

/** CPUs online, as glibc counts them for its arena cap (get_nprocs). */
export function onlineCpus(): number {
  return native.onlineCpus();
}

export function arenaCensus(): ArenaCensus {
  const info = malloc_info();
  return {
    count: info.arenas.length,
    arenas: info.arenas.map((arena) => ({
      index: arena.index,
      main: arena.main,
      heaps: arena.subheaps,
      systemBytes: arena.systemCurrent,
      freeBytes: arena.freeBytes,
    })),
    defaultCap: 8 * onlineCpus(),
    totals: {
      systemBytes: info.totals.systemCurrent,
      mmapBytes: info.totals.mmap.bytes,
      mmapCount: info.totals.mmap.count,
    },
  };
}

/** 'main' (main arena, the break), 'thread' (a non-main arena's heap) or 'mmap' (its own mapping). */
export function blockArena(ptr: bigint): 'main' | 'thread' | 'mmap' {
  return native.blockArena(check.address(ptr, 'blockArena'));
}

export interface StackLimits {
  /** RLIMIT_STACK (ulimit -s) in bytes; Infinity when unlimited. */
  soft: number;
  hard: number;
  /** The stack size glibc gives a new thread (from RLIMIT_STACK at start-up). */
  defaultThreadStack: number;
}

export function stackLimits(): StackLimits {
  const limits = native.stackLimits();
  const bytes = (value: number) => (value < 0 ? Infinity : value);
  return { soft: bytes(limits.soft), hard: bytes(limits.hard), defaultThreadStack: limits.defaultThreadStack };
}
