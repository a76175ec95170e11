/**
 * The explain report: the data model `malloc-lab explain --json` prints, that
 * report/explain-text.ts renders, and that schema/explain-report.schema.json
 * describes. Sizes are bytes; addresses are hexadecimal strings ("0x7f…").
 */
import type { GlibcMallocTunable } from '../allocator-settings.js';
import type { Status } from '../proc-files.js';
import type { MemoryClass } from './classify.js';

export const EXPLAIN_SCHEMA = 'malloc-lab/explain/1';

export interface Access {
  readable: boolean;
  /** Why not (or what it takes). */
  reason?: string;
}

export interface RegionReport {
  start: string;
  end: string;
  perms: string;
  path: string;
  /** What this piece is within its class: brk, heap, stack, main-stack, stack-by-layout, cached-stack, malloc-chunk, hinted, large, reserve, bss, code, file, kernel, jit, small, anonymous. */
  kind: string;
  tid?: number;
  residentBytes: number;
  reservedBytes: number;
  /** smaps (the mapping's own Rss), pagemap (a split part), or remainder (the mapping's Rss less its other parts). */
  residentFrom: 'smaps' | 'pagemap' | 'remainder';
}

export interface ClassPart {
  kind: string;
  count: number;
  residentBytes: number;
  reservedBytes: number;
}

export interface ClassReport {
  name: MemoryClass;
  residentBytes: number;
  reservedBytes: number;
  /** residentBytes / totals.residentBytes (0 when the total is 0). */
  share: number;
  /** Pieces of mappings in the class. */
  regionCount: number;
  /** Why these mappings are here, sentence by sentence, from what was read. */
  evidence: string[];
  parts: ClassPart[];
  /** The largest regions (by resident bytes, then size); the rest are counted in regionsOmitted. */
  regions: RegionReport[];
  regionsOmitted: number;
}

export interface HeapReport {
  start: string;
  /** The read-write part (heap_info.mprotect_size). */
  writableBytes: number;
  /** HEAP_MAX_SIZE: the address space the heap reserves. */
  reservedBytes: number;
  residentBytes: number;
  /** heap_info.size; null when not read. */
  sizeBytes: number | null;
  confirmed: boolean;
}

export interface ArenaReport {
  /** malloc_info's number (0: main); null when the ring of arenas could not be walked. */
  index: number | null;
  main: boolean;
  /** The malloc_state's address; null when heap_info could not be read. */
  address: string | null;
  heaps: HeapReport[];
  reservedBytes: number;
  residentBytes: number;
  /** malloc_state.system_mem, read from outside. */
  systemBytes: number | null;
  /** The top chunk's size, read from outside. */
  topBytes: number | null;
  attachedThreads: number | null;
  /** From the agent's malloc_info: free bytes in the arena (bins, fastbins, top). */
  freeBytes: number | null;
  /**
   * From the agent and the residency read outside: free whole pages malloc_trim would give back that are
   * still resident (at most the bins' whole pages, and at most resident less in use).
   */
  trimmableBytes: number | null;
}

export interface ArenaCap {
  /** The most arenas glibc will make, main included; null when it cannot be told. */
  value: number | null;
  /** Where it comes from: a setting, or 8 × the CPUs glibc counts. */
  source: 'GLIBC_TUNABLES' | 'env' | 'cpus';
  /** The CPUs glibc counts for it; null when this glibc's rule cannot be told (see arenaCapCpuRule). */
  cpusCounted: number | null;
  /** online CPUs, or either those or the affinity mask's (a 2.34–2.38 build whose patch level the counts do not reveal). */
  cpuRule: 'online' | 'online-or-affinity';
  /** glibc.malloc.arena_test: arenas made freely before the cap is computed at all. */
  arenaTest: number;
  note: string;
}

export interface MallocParametersReport {
  address: string;
  layout: string;
  mmapThresholdBytes: number;
  trimThresholdBytes: number;
  topPadBytes: number;
  arenaTest: number;
  arenaMax: number;
  dynamicThreshold: boolean;
  mmappedChunks: number;
  mmappedBytes: number;
}

export interface GlibcReport {
  version: string | null;
  libc: string;
  heapMaxBytes: number;
  arenas: {
    /** Arenas, the main one included; null when it cannot be told (glibc does not serve malloc). */
    count: number | null;
    countedBy: 'heap_info' | 'layout' | 'agent';
    list: ArenaReport[];
  };
  cap: ArenaCap;
  /** glibc's mp_, read from outside; null when it was not located. */
  parameters: MallocParametersReport | null;
}

export interface StackReport {
  tid: number | null;
  comm: string | null;
  start: string;
  end: string;
  residentBytes: number;
  reservedBytes: number;
  foundBy: 'stack-pointer' | 'layout' | 'cache';
}

export interface ThreadsReport {
  count: number;
  stacks: StackReport[];
  /** Threads whose stack was not found (their stack pointer unknown, no stack layout left over). */
  unplaced: number[];
}

export interface CpuReport {
  online: number | null;
  /** CPUs in the main thread's affinity mask. */
  affinity: number | null;
  /** The cgroup's CPU limit in CPUs' worth of time; null when none. */
  quota: { cpus: number; source: string } | null;
  containerId: string | null;
}

export interface AgentArena {
  index: number;
  main: boolean;
  systemBytes: number;
  freeBytes: number;
  fastBytes: number;
  topBytes: number;
  /**
   * Whole free pages in free chunks that malloc_trim would madvise, plus the main arena's releasable top:
   * an upper bound (malloc_info cannot tell pages already given back).
   */
  trimmableBytes: number;
  /** Free bytes malloc_trim leaves (about): chunks under a page, a page per larger chunk, a thread arena's top. */
  keptBytes: number;
  heaps: number;
}

export interface AgentReport {
  socket: string;
  foundBy: 'descriptors' | 'directory' | 'self';
  answered: boolean;
  error: { code: string; message: string } | null;
  mallinfo: Record<string, number> | null;
  arenas: AgentArena[];
  /** V8's heap: total_heap_size, total_physical_size, used_heap_size, malloced_memory, … */
  v8Heap: Record<string, number> | null;
  memoryUsage: Record<string, number> | null;
  gatherMs: number | null;
}

export interface VerdictPart {
  part: 'js-heap' | 'glibc-in-use' | 'glibc-free-resident' | 'thread-stacks' | 'code-and-files' | 'other';
  bytes: number;
  share: number;
  basis: string;
}

export type MechanismId =
  'arena-proliferation' | 'main-heap-fragmentation' | 'mmap-threshold-rose' | 'real-growth' | 'other-allocator';

export interface Mechanism {
  id: MechanismId;
  /** Judged from the numbers: it holds, it does not, or the view cannot tell. */
  holds: boolean | null;
  because: string;
  figures: Record<string, number>;
}

export interface Recommendation {
  action: string;
  /** What it would give back or avoid, from the measurements (an upper bound where said). */
  expectedBytes: number | null;
  text: string;
}

export interface Verdict {
  view: 'outside' | 'outside+agent';
  summary: string;
  split: VerdictPart[] | null;
  mechanisms: Mechanism[];
  recommendations: Recommendation[];
  /** What this view could not know, and how to learn it. */
  cannotKnow: string[];
}

export interface SettingReport {
  value: number;
  source: 'GLIBC_TUNABLES' | 'env' | 'default';
  raw?: string;
}

export interface ExplainReport {
  schema: typeof EXPLAIN_SCHEMA;
  pid: number;
  comm: string | null;
  cmdline: string[] | null;
  takenAt: string;
  durationMs: number;
  view: 'outside' | 'outside+agent';
  /** complete; partial (the process exited or changed during the read: see partialReason); denied (see access). */
  outcome: 'complete' | 'partial' | 'denied';
  partialReason: string | null;
  access: { smaps: Access; mem: Access; pagemap: Access; threads: Access; environ: Access };
  totals: {
    /** The classes' resident bytes: the sum of smaps' Rss. */
    residentBytes: number;
    /** smaps_rollup's Rss, read right after; null when not read. */
    rollupRssBytes: number | null;
    reservedBytes: number;
    mappings: number;
    status: Status;
  };
  classes: ClassReport[];
  allocator: { name: string; libc: string; library: string | null; evidence: string; problems: string[] };
  settings: {
    source: string;
    glibc: Partial<Record<GlibcMallocTunable, SettingReport>>;
    env: Record<string, string>;
    warnings: string[];
  } | null;
  glibc: GlibcReport | null;
  threads: ThreadsReport;
  cpus: CpuReport;
  agent: AgentReport | null;
  verdict: Verdict;
  problems: string[];
}
