/**
 * The one place that loads the addon and types its raw surface. Importing this
 * module on an unsupported system fails with one clear sentence, never a dlopen stack.
 */
import { loadAddonFile } from './addon-file.js';
import { isProblem, loadFailure, locatedBinary } from './binaries.js';
import { MallocLabError } from './errors.js';

/** The addon's raw functions: addresses are bigint, sizes numbers. lib/ wraps every one. */
export interface NativeAddon {
  configure(errorClass: new (message: string, code: string) => Error): void;
  owner(): number;
  noop(): void;
  /** Every code the addon raises besides errno names. */
  errorCodes: string[];

  malloc(size: number): bigint;
  calloc(nmemb: number, size: number): bigint;
  realloc(ptr: bigint, size: number): bigint;
  free(ptr: bigint): void;
  posix_memalign(alignment: number, size: number): bigint;
  aligned_alloc(alignment: number, size: number): bigint;
  memalign(alignment: number, size: number): bigint;
  valloc(size: number): bigint;
  malloc_usable_size(ptr: bigint): number;
  fill(ptr: bigint, offset: number, length: number | undefined, value: number): void;
  touch(ptr: bigint, offset: number, length: number | undefined): void;
  read(ptr: bigint, offset: number, out: Uint8Array): void;
  write(ptr: bigint, offset: number, data: Uint8Array): void;
  registryStats(): { liveBlocks: number; liveBytes: number };

  programBreak(): bigint;
  breakRoom(): { programBreak: bigint; nextMapping: bigint };
  sbrk(increment: number): bigint;
  mallopt(param: number, value: number): void;
  malloc_trim(pad: number): number;
  mallinfo2(out: Float64Array): void;
  malloc_info(): string;
  malloc_stats(): string;
  gnu_get_libc_version(): string;
  /** Which call fills the mallinfo fields: mallinfo2, or mallinfo before glibc 2.34 (32-bit fields). */
  mallinfoSource(): 'mallinfo2' | 'mallinfo';
  mallinfoFields: string[];
  malloptParams: Record<string, number>;

  pageSize(): number;
  mincore(addr: bigint, length: number, vec: Uint8Array): number;
  madvise(addr: bigint, length: number, advice: number): void;
  mlock(addr: bigint, length: number): void;
  munlock(addr: bigint, length: number): void;
  mmap(length: number, populate: boolean): bigint;
  munmap(addr: bigint, length: number): void;
  madviseAdvice: Record<string, number>;

  readStatus(pid: number, out: Float64Array): void;
  readSample(out: Float64Array): void;
  readSmapsRollup(pid: number, out: Float64Array): void;
  readStatm(pid: number, out: Float64Array): void;
  resetPeakRss(pid: number): void;
  statusFields: string[];
  smapsRollupFields: string[];
  statmFields: string[];

  allocBatch(sizes: Float64Array, fills: Float64Array, count: number, calloc: boolean): number;
  freeBatch(set: number, step: number, min: number, max: number): number;
  releaseBatch(set: number): void;
  batchInfo(set: number): { blocks: number; live: number; liveBytes: number };
  batchAddress(set: number, index: number): bigint;
  maxBatchBlocks: number;
  maxPatternLength: number;

  validateProgram(program: Float64Array): void;
  runProgram(program: Float64Array, fd: number): number;
  programFormat: ProgramFormat;

  startThread(): number;
  closeThread(thread: number): void;
  threadCall(thread: number, call: number, a?: bigint | number, b?: bigint | number): bigint | number;
  liveThreads(): number;
  blockArena(ptr: bigint): 'main' | 'thread' | 'mmap';
  stackLimits(): { soft: number; hard: number; defaultThreadStack: number };
  onlineCpus(): number;
  threadCalls: Record<string, number>;
}

/** The step program format as the addon's interpreter reads and writes it (native/core/program.h). */
export interface ProgramFormat {
  magic: number;
  version: number;
  header: Record<string, number>;
  flags: Record<string, number>;
  record: Record<string, number>;
  sample: Record<string, number>;
  ops: Record<string, number>;
  refusals: Record<string, string>;
}

function load(): { addon: NativeAddon; path: string } {
  const found = locatedBinary('addon');
  if (isProblem(found)) throw new MallocLabError(found.reason, found.code);
  try {
    const addon = loadAddonFile(found.path) as NativeAddon;
    addon.configure(MallocLabError);
    return { addon, path: found.path };
  } catch (cause) {
    const failure = loadFailure(found, cause);
    throw new MallocLabError(failure.reason, failure.code, { cause });
  }
}

const loaded = load();

/** The raw addon. */
export const native: NativeAddon = loaded.addon;
/** The file the addon was loaded from. */
export const addonPath: string = loaded.path;
