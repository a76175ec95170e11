/**
 * explainProcess(pid): where a running process's resident memory lives, from
 * outside and without stopping it, plus what its agent knows when it has one.
 * Reads /proc/<pid>/smaps (and status, task/*, environ, cgroup, and mem and pagemap
 * where permitted), classifies every resident byte, and judges the verdict. Never
 * loads the addon.
 */
import { parseMallocInfo, type MallocInfo } from '../../glibc/malloc-info.js';
import {
  DEFAULT_ARENA_TEST,
  DEFAULT_MMAP_THRESHOLD,
  defaultArenaMax,
  FREE_CHUNK_LINKS,
  HEAP_MAX_SIZE,
  trimmable,
} from '../../glibc/model.js';
import { arenaCapCpuRule } from '../../glibc/structures.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { formatBytes } from '../../infra/units.js';
import * as check from '../../infra/validate.js';
import { type AgentClient, connectToAgent } from '../agent-client.js';
import { allocatorOfMappedFiles } from '../allocator-detection.js';
import { allocatorSettings, type AllocatorSettings } from '../allocator-settings.js';
import { readSmapsRollupOfPid, type Status } from '../proc-files.js';
import { goneError, hasAddressSpace, identify, isGone, readStatusOf } from '../target.js';
import { classReports, hex, regionOf } from './class-report.js';
import { classify, type Classification, type Piece } from './classify.js';
import { affinityCpuCount, cgroupsOf, containerIdOf, cpuQuotaOf, onlineCpuCount } from './cpus.js';
import { type GlibcHeaps, libcData, mmappedChunksIn, readGlibcHeaps, readMallocParameters } from './glibc-heaps.js';
import { glibcVersionOf, libcPathOf } from './libc.js';
import { ProcessMemory, readSmaps, residentBytesOf } from './proc-io.js';
import type { Mapping } from './smaps.js';
import { listThreads, type ThreadList } from './threads.js';
import {
  EXPLAIN_SCHEMA,
  type AgentArena,
  type AgentReport,
  type ArenaCap,
  type ArenaReport,
  type ExplainReport,
  type GlibcReport,
  type StackReport,
} from './types.js';
import { judge } from './verdict.js';

export interface ExplainOptions {
  /** Ask the process's agent: 'auto' (default) when it has one, false never, true or fail (ERR_NO_AGENT). */
  agent?: boolean | 'auto';
  /** How long to wait for the agent (default 3000 ms). */
  agentTimeoutMs?: number;
  /** Regions listed per class (default 20; the rest are counted). */
  regionsPerClass?: number;
  /** Read smaps_rollup after smaps, to check the sum (default true). */
  rollup?: boolean;
}

const denied = (error: unknown) =>
  error instanceof MallocLabError && (error.code === 'EACCES' || error.code === 'EPERM');

function reasonOf(error: unknown): string {
  if (denied(error)) {
    return 'permission denied: it takes the same user (and ptrace access), or root / CAP_SYS_PTRACE';
  }
  return (error as Error)?.message ?? String(error);
}

/** Node, by its executable or a mapped libnode. */
function isNode(mappings: Mapping[], comm: string | null): boolean {
  return (
    comm === 'node' ||
    comm === 'nodejs' ||
    mappings.some((mapping) => mapping.perms[2] === 'x' && /\/(node|nodejs)$|\/libnode\.so/.test(mapping.path))
  );
}

function settingsReport(settings: AllocatorSettings | null): ExplainReport['settings'] {
  if (settings === null) return null;
  const glibc: NonNullable<ExplainReport['settings']>['glibc'] = {};
  for (const [name, setting] of Object.entries(settings.glibc) as [
    keyof AllocatorSettings['glibc'],
    AllocatorSettings['glibc'][keyof AllocatorSettings['glibc']],
  ][]) {
    if (
      setting.source === 'default' &&
      name !== 'arena_max' &&
      name !== 'mmap_threshold' &&
      name !== 'trim_threshold' &&
      name !== 'arena_test'
    )
      continue;
    glibc[name] = {
      value: setting.value,
      source: setting.source,
      ...(setting.raw === undefined ? {} : { raw: setting.raw }),
    };
  }
  return { source: settings.source, glibc, env: settings.env, warnings: settings.warnings };
}

function arenaCap(
  settings: AllocatorSettings | null,
  rule: 'online' | 'online-or-affinity',
  cpus: { online: number | null; affinity: number | null; quota: { cpus: number } | null },
  arenas: number | null,
): ArenaCap {
  const arenaTest = settings?.glibc.arena_test.value ?? DEFAULT_ARENA_TEST;
  const setting = settings?.glibc.arena_max;
  if (setting !== undefined && setting.source !== 'default' && Number.isFinite(setting.value) && setting.value > 0) {
    return {
      value: setting.value,
      source: setting.source as 'GLIBC_TUNABLES' | 'env',
      cpusCounted: null,
      cpuRule: rule,
      arenaTest,
      note: `set by ${setting.source === 'env' ? 'MALLOC_ARENA_MAX' : 'GLIBC_TUNABLES glibc.malloc.arena_max'}=${setting.raw}`,
    };
  }
  // The cap is computed only once arena_test arenas exist, so it is never below arena_test + 1.
  const capOf = (count: number) => Math.max(defaultArenaMax(count), arenaTest + 1);
  const tail = `, computed once ${arenaTest + 1} arenas exist (glibc.malloc.arena_test = ${arenaTest}); a CPU quota does not lower it`;
  const { online, affinity } = cpus;
  const counted = online;
  let decided: 'online' | null = rule === 'online' ? 'online' : null;
  let why = '';
  if (decided === null && online !== null && affinity !== null) {
    if (online === affinity) {
      decided = 'online';
      why = ' (the affinity mask holds them all, so the two rules glibc 2.34–2.38 builds follow agree)';
    } else if (arenas !== null && arenas > capOf(affinity)) {
      decided = 'online';
      why = ` (${arenas} arenas exist, more than 8 × the ${affinity} CPUs of the affinity mask allow: this glibc counts online CPUs)`;
    }
  }
  if (decided === null) {
    return {
      value: null,
      source: 'cpus',
      cpusCounted: null,
      cpuRule: 'online-or-affinity',
      arenaTest,
      note:
        `8 × ${online ?? '?'} online CPUs = ${online === null ? '?' : capOf(online)} in glibc builds with the October 2023 fix (BZ 30945), ` +
        `8 × ${affinity ?? '?'} CPUs in the affinity mask = ${affinity === null ? '?' : capOf(affinity)} in those without it` +
        `; the ${arenas ?? '?'} arenas there are now do not tell which${tail}`,
    };
  }
  // The container trap: a quota of 2 CPUs on a 64-CPU machine still leaves 512 arenas.
  const trap =
    cpus.quota !== null && counted !== null && cpus.quota.cpus < counted
      ? `: its cgroup allows ${cpus.quota.cpus} CPUs' worth of time, yet glibc allows ${capOf(counted)} arenas`
      : '';
  return {
    value: counted === null ? null : capOf(counted),
    source: 'cpus',
    cpusCounted: counted,
    cpuRule: decided,
    arenaTest,
    note: `8 × ${counted ?? '?'} online CPUs${why}${tail}${trap}`,
  };
}

/** Free whole pages in an arena's free chunks (what mtrim madvises), at most; plus the main arena's top beyond the pad. */
function trimmableOf(arena: MallocInfo['arenas'][number], top: number, pageSize: number, pad: number): number {
  let pages = 0;
  for (const bin of arena.sizes) {
    if (bin.to <= pageSize + FREE_CHUNK_LINKS) continue;
    // Each chunk keeps its header's page: at most (size - header) / page whole pages, the largest size bounding all.
    const perChunk = Math.floor((bin.to - FREE_CHUNK_LINKS) / pageSize);
    pages += Math.min(Math.floor((bin.total - FREE_CHUNK_LINKS * bin.count) / pageSize), perChunk * bin.count);
  }
  let bytes = pages * pageSize;
  if (arena.main) bytes += trimmable(top, pad, pageSize);
  return bytes;
}

function agentArenas(info: MallocInfo, pageSize: number, topPad: number): AgentArena[] {
  return info.arenas.map((arena) => {
    const binsTotal = arena.sizes.reduce((sum, bin) => sum + bin.total, 0) - arena.fast.bytes;
    const topBytes = Math.max(0, arena.rest.bytes - binsTotal);
    // Free bytes trim leaves: chunks too small for a whole page, about a page around each larger
    // chunk's header and end, and a thread arena's top (malloc_trim trims only the main arena's).
    let keptBytes = arena.main ? 0 : topBytes;
    for (const bin of arena.sizes)
      keptBytes += bin.to <= pageSize + FREE_CHUNK_LINKS ? bin.total : bin.count * pageSize;
    return {
      index: arena.index,
      main: arena.main,
      systemBytes: arena.systemCurrent,
      freeBytes: arena.freeBytes,
      fastBytes: arena.fast.bytes,
      topBytes,
      trimmableBytes: trimmableOf(arena, topBytes, pageSize, topPad),
      keptBytes,
      heaps: arena.subheaps,
    };
  });
}

function exitedWhileRead(pid: number): MallocLabError {
  return new MallocLabError(`explain: pid ${pid} exited while its memory was being read`, 'ESRCH');
}

/** Where a process's resident memory lives, and why; see ExplainReport. */
export async function explainProcess(pid?: number, options: ExplainOptions = {}): Promise<ExplainReport> {
  const target0 = check.pid(pid, 'explainProcess');
  const wanted = check.options<ExplainOptions>(options, 'explainProcess');
  if (wanted.agent !== undefined && wanted.agent !== 'auto' && typeof wanted.agent !== 'boolean') {
    throw check.typeError('explainProcess', 'options.agent', "true, false or 'auto'", wanted.agent);
  }
  const agentTimeoutMs =
    wanted.agentTimeoutMs === undefined
      ? 3000
      : check.integer(wanted.agentTimeoutMs, 'explainProcess', 'options.agentTimeoutMs', 1, 600_000);
  const regionsPerClass =
    wanted.regionsPerClass === undefined
      ? 20
      : check.integer(wanted.regionsPerClass, 'explainProcess', 'options.regionsPerClass', 0, 1_000_000);
  const started = performance.now();
  const targetPid = target0 === 0 ? process.pid : target0;
  const takenAt = new Date().toISOString();
  const problems: string[] = [];
  let partialReason: string | null = null;
  const markPartial = (why: string) => {
    partialReason ??= why;
  };

  const identity = identify(targetPid);
  const status: Status = readStatusOf(targetPid, 'explain');
  if (!hasAddressSpace(status)) {
    throw new MallocLabError(
      `explain: pid ${targetPid} has no address space (a kernel thread, or a zombie that exited and was not reaped yet): there is no memory to explain`,
      'ESRCH',
    );
  }
  const access: ExplainReport['access'] = {
    smaps: { readable: true },
    mem: { readable: false },
    pagemap: { readable: true },
    threads: { readable: true },
    environ: { readable: true },
  };

  let mappings: Mapping[];
  let pageSize: number;
  try {
    const reading = readSmaps(targetPid);
    mappings = reading.mappings;
    pageSize = reading.pageSize || 4096;
  } catch (error) {
    if (isGone(error)) throw goneError('explain', targetPid);
    if (!denied(error)) throw error;
    access.smaps = { readable: false, reason: reasonOf(error) };
    return deniedReport(targetPid, identity, status, takenAt, started, access, problems);
  }
  // A process that exits while smaps is read leaves a cut-off list: it is a zombie or gone now.
  let after: Status;
  try {
    after = readStatusOf(targetPid, 'explain');
  } catch (error) {
    if (isGone(error)) throw exitedWhileRead(targetPid);
    throw error;
  }
  if (!hasAddressSpace(after) || mappings.length === 0) throw exitedWhileRead(targetPid);

  let rollupRss: number | null = null;
  if (wanted.rollup !== false) {
    try {
      rollupRss = readSmapsRollupOfPid(targetPid).Rss;
      if (!Number.isFinite(rollupRss)) {
        rollupRss = null;
        markPartial('the process exited after its mappings were read; smaps_rollup was empty');
      }
    } catch (error) {
      if (isGone(error)) markPartial('the process exited after its mappings were read; smaps_rollup was not');
      else problems.push(`smaps_rollup: ${reasonOf(error)}`);
    }
  }

  let threads: ThreadList = { threads: [], syscallDenied: false };
  try {
    threads = listThreads(targetPid);
  } catch (error) {
    if (isGone(error)) markPartial('the process exited before its threads were listed');
    else problems.push(`threads: ${reasonOf(error)}`);
  }
  if (threads.syscallDenied) {
    access.threads = { readable: false, reason: 'task/<tid>/syscall: permission denied (it needs ptrace access)' };
  }

  const paths = new Set<string>();
  for (const mapping of mappings) if (mapping.path.charCodeAt(0) === 47) paths.add(mapping.path);
  const files = [...new Set([...paths].map((path) => path.replace(/ \(deleted\)$/, '')))];
  let settings: AllocatorSettings | null = null;
  try {
    settings = allocatorSettings({ pid: targetPid === process.pid ? 0 : targetPid });
  } catch (error) {
    access.environ = { readable: false, reason: reasonOf(error) };
  }
  // LD_PRELOAD is among the allocator variables the settings read from environ; otherwise the detection reads it.
  const detection = allocatorOfMappedFiles(targetPid, files, settings?.source === 'environ' ? settings.env : undefined);

  const opened = ProcessMemory.open(targetPid);
  const memory = opened instanceof Error ? null : opened;
  if (opened instanceof Error) {
    access.mem = { readable: false, reason: reasonOf(opened) };
  } else {
    access.mem = { readable: true };
  }

  try {
    const libcPath = libcPathOf(mappings);
    const version = libcPath === null ? null : glibcVersionOf(targetPid, libcPath);
    const glibcSide = libcPath !== null && detection.libc !== 'musl';
    const heaps: GlibcHeaps = glibcSide
      ? readGlibcHeaps(mappings, memory, version, libcPath)
      : { heaps: [], arenas: [], main: null, mainRegions: [], counted: 'layout', problems: [] };
    problems.push(...heaps.problems);
    const brk = mappings.find((mapping) => mapping.path === '[heap]') ?? null;
    const parameters =
      memory !== null && glibcSide
        ? readMallocParameters(memory, libcData(mappings, libcPath), version, brk?.start ?? null)
        : null;

    const configuredThreshold = settings?.glibc.mmap_threshold;
    const chunkFloor = Math.min(
      DEFAULT_MMAP_THRESHOLD,
      configuredThreshold !== undefined && configuredThreshold.source !== 'default' && configuredThreshold.value > 0
        ? Math.ceil(configuredThreshold.value / pageSize) * pageSize
        : DEFAULT_MMAP_THRESHOLD,
    );
    let pagemapProblem: string | null = null;
    const node = isNode(mappings, identity?.comm ?? null);
    const classification: Classification = classify({
      mappings,
      heaps: heaps.heaps,
      mainRegions: heaps.mainRegions,
      threads: threads.threads,
      pid: targetPid,
      chunksIn: memory === null ? null : (start, end) => mmappedChunksIn(memory, start, end),
      chunkFloor,
      node,
      residentOf: (start, end) => {
        const resident = residentBytesOf(targetPid, start, end, pageSize);
        if (resident instanceof Error) pagemapProblem ??= reasonOf(resident);
        return resident;
      },
    });
    if (pagemapProblem !== null) access.pagemap = { readable: false, reason: pagemapProblem };
    problems.push(...classification.residencyProblems);

    // The agent.
    let agentReport: AgentReport | null = null;
    let mallocInfo: MallocInfo | null = null;
    if (wanted.agent !== false) {
      let client: AgentClient | null = null;
      try {
        client = await connectToAgent(targetPid, 'explain', agentTimeoutMs);
        const stats = await client.stats(agentTimeoutMs);
        mallocInfo = parseMallocInfo(stats.mallocInfoXml);
        agentReport = {
          socket: client.location.shown,
          foundBy: client.location.foundBy,
          answered: true,
          error: null,
          mallinfo: { ...stats.mallinfo },
          arenas: agentArenas(mallocInfo, pageSize, parameters?.topPad ?? 0),
          v8Heap: stats.v8?.heap ?? null,
          memoryUsage: stats.memoryUsage ?? null,
          gatherMs: stats.gatherMs ?? null,
        };
      } catch (error) {
        const typed = error as MallocLabError;
        if (wanted.agent === true) throw error;
        if (typed.code !== ErrorCodes.NO_AGENT || client !== null) {
          agentReport = {
            socket: client?.location.shown ?? '',
            foundBy: client?.location.foundBy ?? 'directory',
            answered: false,
            error: { code: typed.code ?? 'EIO', message: typed.message },
            mallinfo: null,
            arenas: [],
            v8Heap: null,
            memoryUsage: null,
            gatherMs: null,
          };
          if (typed.code === ErrorCodes.AGENT_UNSAFE) problems.push(typed.message);
        }
      } finally {
        client?.close();
      }
    }

    // V8's heap pages: told apart only when the agent's count matches the hinted mappings.
    let v8Confirmation: string | null = null;
    const v8Total = agentReport?.v8Heap?.['total_heap_size'];
    if (node && v8Total !== undefined && v8Total > 0) {
      const hinted = classification.pieces.filter((piece) => piece.kind === 'hinted');
      const reserved = hinted.reduce((sum, piece) => sum + piece.end - piece.start, 0);
      if (hinted.length > 0 && Math.abs(reserved - v8Total) <= 0.1 * v8Total) {
        for (const piece of hinted) piece.class = 'v8-heap';
        v8Confirmation = `${hinted.length} mappings at addresses the program chose total ${formatBytes(reserved)}, and V8 reports a heap of ${formatBytes(v8Total)} (total_heap_size, from the agent): within ${Math.round((100 * Math.abs(reserved - v8Total)) / v8Total)} %`;
      } else if (hinted.length > 0) {
        problems.push(
          `the ${hinted.length} mappings at program-chosen addresses total ${formatBytes(reserved)}, V8 reports ${formatBytes(v8Total)}: not matched, so they stay in anonymous-mmap`,
        );
      }
    }

    const unknownSp = threads.threads.filter((thread) => thread.stackPointer === null);
    const stackPointerProblem =
      unknownSp.length === 0
        ? null
        : unknownSp.some((thread) => thread.unknownBecause === 'permission-denied')
          ? 'task/<tid>/syscall is not readable'
          : `${unknownSp.length} running on a CPU while read`;
    const classes = classReports(
      classification.pieces,
      {
        mappings,
        allocator: detection.allocator,
        node,
        heapsConfirmed: heaps.counted === 'heap_info',
        memoryProblem: access.mem.readable ? null : (access.mem.reason ?? null),
        arenaCount: heaps.counted === 'heap_info' ? heaps.arenas.length : null,
        stackPointerProblem,
        v8Confirmation,
        mmappedByGlibc:
          parameters === null ? null : { chunks: parameters.mmappedChunks, bytes: parameters.mmappedBytes },
      },
      regionsPerClass,
    );
    const totalResident = classification.pieces.reduce((sum, piece) => sum + piece.residentBytes, 0);

    const cgroups = cgroupsOf(targetPid);
    const cpus = {
      online: onlineCpuCount(),
      affinity: affinityCpuCount(targetPid),
      quota: cpuQuotaOf(cgroups),
      containerId: containerIdOf(cgroups),
    };

    const glibc: GlibcReport | null = glibcSide
      ? glibcReport(
          heaps,
          classification,
          mappings,
          mallocInfo,
          agentReport,
          parameters,
          libcPathOf(mappings)!,
          version?.text ?? null,
          arenaCap(
            settings,
            arenaCapCpuRule(version),
            cpus,
            mallocInfo !== null
              ? mallocInfo.arenas.length
              : heaps.counted === 'heap_info'
                ? heaps.arenas.length + 1
                : null,
          ),
          detection.allocator,
        )
      : null;

    const largeFree =
      mallocInfo === null
        ? null
        : mallocInfo.arenas.reduce(
            (sum, arena) =>
              sum +
              arena.sizes
                .filter((bin) => bin.from >= DEFAULT_MMAP_THRESHOLD)
                .reduce((inner, bin) => inner + bin.total, 0),
            0,
          );
    const verdict = judge({
      totalResident,
      classes,
      glibc,
      agent: agentReport,
      allocator: detection.allocator,
      largeFreeChunkBytes: largeFree,
      node,
    });

    const report: ExplainReport = {
      schema: EXPLAIN_SCHEMA,
      pid: targetPid,
      comm: identity?.comm ?? null,
      cmdline: identity?.cmdline ?? null,
      takenAt,
      durationMs: performance.now() - started,
      view: verdict.view,
      outcome: partialReason === null ? 'complete' : 'partial',
      partialReason,
      access,
      totals: {
        residentBytes: totalResident,
        rollupRssBytes: rollupRss,
        reservedBytes: mappings.reduce((sum, mapping) => sum + (mapping.end - mapping.start), 0),
        mappings: mappings.length,
        status,
      },
      classes,
      allocator: {
        name: detection.allocator,
        libc: detection.libc,
        library: detection.library ?? null,
        evidence: detection.evidence,
        problems: detection.problems,
      },
      settings: settingsReport(settings),
      glibc,
      threads: threadsReport(threads, classification, mappings),
      cpus,
      agent: agentReport,
      verdict,
      problems,
    };
    return report;
  } finally {
    memory?.close();
  }
}

function threadsReport(
  threads: ThreadList,
  classification: Classification,
  mappings: Mapping[],
): ExplainReport['threads'] {
  const comm = new Map(threads.threads.map((thread) => [thread.tid, thread.comm]));
  const stackPieces = classification.pieces.filter((piece) => piece.class === 'thread-stacks');
  const guardEndingAt = new Map(
    stackPieces.filter((piece) => piece.kind === 'guard').map((piece) => [piece.end, piece]),
  );
  const stacks: StackReport[] = [];
  for (const piece of stackPieces) {
    if (piece.kind === 'guard') continue;
    const region = regionOf(piece, mappings);
    const guard = guardEndingAt.get(piece.start);
    stacks.push({
      tid: piece.tid ?? null,
      comm: piece.tid === undefined ? null : (comm.get(piece.tid) ?? null),
      start: region.start,
      end: region.end,
      residentBytes: piece.residentBytes,
      reservedBytes: piece.end - piece.start + (guard === undefined ? 0 : guard.end - guard.start),
      foundBy: piece.kind === 'stack-by-layout' ? 'layout' : piece.kind === 'cached-stack' ? 'cache' : 'stack-pointer',
    });
  }
  return { count: threads.threads.length, stacks, unplaced: classification.unplacedThreads };
}

function glibcReport(
  heaps: GlibcHeaps,
  classification: Classification,
  mappings: Mapping[],
  mallocInfo: MallocInfo | null,
  agent: AgentReport | null,
  parameters: ReturnType<typeof readMallocParameters>,
  libc: string,
  version: string | null,
  cap: ArenaCap,
  allocator: string,
): GlibcReport {
  const residentOfHeap = (start: number) =>
    classification.pieces
      .filter(
        (piece: Piece) => piece.class === 'glibc-arenas' && piece.start >= start && piece.end <= start + HEAP_MAX_SIZE,
      )
      .reduce((sum, piece) => sum + piece.residentBytes, 0);
  const agentArena = (index: number | null) =>
    index === null ? undefined : agent?.arenas.find((arena) => arena.index === index);
  // Whole free pages malloc_trim would give back that are still resident: at most the bins' whole pages,
  // and at most the arena's resident bytes less what is in use (counted as resident) and what trim keeps.
  const stillResident = (fromAgent: AgentArena | undefined, resident: number) =>
    fromAgent === undefined
      ? null
      : Math.min(
          fromAgent.trimmableBytes,
          Math.max(0, resident - (fromAgent.systemBytes - fromAgent.freeBytes) - fromAgent.keptBytes),
        );
  const list: ArenaReport[] = [];
  const brk = mappings.find((mapping) => mapping.path === '[heap]');
  // [heap], and the regions the main arena mapped when sbrk failed.
  const mainPieces = classification.pieces.filter((piece: Piece) => piece.class === 'glibc-main-heap');
  const mainResident = mainPieces.reduce((sum, piece) => sum + piece.residentBytes, 0);
  if (heaps.main !== null || mallocInfo !== null || brk !== undefined) {
    const fromAgent = agentArena(0);
    list.push({
      index: 0,
      main: true,
      address: heaps.main === null ? null : hex(heaps.main.address),
      heaps: [],
      reservedBytes: mainPieces.reduce((sum, piece) => sum + piece.end - piece.start, 0),
      residentBytes: mainResident,
      systemBytes: heaps.main?.systemBytes ?? fromAgent?.systemBytes ?? null,
      topBytes: heaps.main?.topBytes ?? fromAgent?.topBytes ?? null,
      attachedThreads: heaps.main?.attachedThreads ?? null,
      freeBytes: fromAgent?.freeBytes ?? null,
      trimmableBytes: stillResident(fromAgent, mainResident),
    });
  }
  const heapReport = (heap: GlibcHeaps['heaps'][number]) => ({
    start: hex(heap.start),
    writableBytes: heap.writableEnd - heap.start,
    reservedBytes: heap.end - heap.start,
    residentBytes: residentOfHeap(heap.start),
    sizeBytes: heap.size,
    confirmed: heap.confirmed,
  });
  if (heaps.counted === 'heap_info') {
    for (const arena of heaps.arenas) {
      const fromAgent = agentArena(arena.index);
      const own = arena.heaps.map(heapReport);
      const residentBytes = own.reduce((sum, heap) => sum + heap.residentBytes, 0);
      list.push({
        index: arena.index,
        main: false,
        address: hex(arena.address),
        heaps: own,
        reservedBytes: own.reduce((sum, heap) => sum + heap.reservedBytes, 0),
        residentBytes,
        systemBytes: arena.systemBytes,
        topBytes: arena.topBytes,
        attachedThreads: arena.attachedThreads,
        freeBytes: fromAgent?.freeBytes ?? null,
        trimmableBytes: stillResident(fromAgent, residentBytes),
      });
    }
  } else {
    for (const heap of heaps.heaps) {
      const own = [heapReport(heap)];
      list.push({
        index: null,
        main: false,
        address: null,
        heaps: own,
        reservedBytes: own[0]!.reservedBytes,
        residentBytes: own[0]!.residentBytes,
        systemBytes: null,
        topBytes: null,
        attachedThreads: null,
        freeBytes: null,
        trimmableBytes: null,
      });
    }
  }
  const glibcServes = allocator === 'glibc';
  const count =
    mallocInfo !== null
      ? mallocInfo.arenas.length
      : !glibcServes
        ? null
        : heaps.counted === 'heap_info'
          ? heaps.arenas.length + 1
          : heaps.heaps.length + 1;
  return {
    version,
    libc,
    heapMaxBytes: HEAP_MAX_SIZE,
    arenas: { count, countedBy: mallocInfo !== null ? 'agent' : heaps.counted, list },
    cap,
    parameters:
      parameters === null
        ? null
        : {
            address: hex(parameters.address),
            layout: parameters.layout,
            mmapThresholdBytes: parameters.mmapThreshold,
            trimThresholdBytes: parameters.trimThreshold,
            topPadBytes: parameters.topPad,
            arenaTest: parameters.arenaTest,
            arenaMax: parameters.arenaMax,
            dynamicThreshold: parameters.dynamicThreshold,
            mmappedChunks: parameters.mmappedChunks,
            mmappedBytes: parameters.mmappedBytes,
          },
  };
}

function deniedReport(
  pid: number,
  identity: ReturnType<typeof identify>,
  status: Status,
  takenAt: string,
  started: number,
  access: ExplainReport['access'],
  problems: string[],
): ExplainReport {
  const reason = access.smaps.reason ?? 'permission denied';
  for (const key of ['mem', 'pagemap', 'threads', 'environ'] as const) access[key] = { readable: false, reason };
  const cgroups = cgroupsOf(pid);
  return {
    schema: EXPLAIN_SCHEMA,
    pid,
    comm: identity?.comm ?? null,
    cmdline: identity?.cmdline ?? null,
    takenAt,
    durationMs: performance.now() - started,
    view: 'outside',
    outcome: 'denied',
    partialReason: null,
    access,
    totals: { residentBytes: status.VmRSS, rollupRssBytes: null, reservedBytes: status.VmSize, mappings: 0, status },
    classes: [],
    allocator: {
      name: 'unknown',
      libc: 'unknown',
      library: null,
      evidence: 'its mappings could not be read',
      problems: [],
    },
    settings: null,
    glibc: null,
    threads: { count: status.Threads, stacks: [], unplaced: [] },
    cpus: {
      online: onlineCpuCount(),
      affinity: affinityCpuCount(pid),
      quota: cpuQuotaOf(cgroups),
      containerId: containerIdOf(cgroups),
    },
    agent: null,
    verdict: {
      view: 'outside',
      summary: `only /proc/${pid}/status is readable: RSS ${formatBytes(status.VmRSS)} (anonymous ${formatBytes(status.RssAnon)}, files ${formatBytes(status.RssFile)}, shared ${formatBytes(status.RssShmem)}), ${status.Threads} threads`,
      split: null,
      mechanisms: [],
      recommendations: [],
      cannotKnow: [
        `where the resident bytes are: /proc/${pid}/smaps is ${reason}`,
        "run explain as the process's user, or as root",
      ],
    },
    problems,
  };
}
