/**
 * malloc-lab: drive the real glibc allocator from Node.js and measure what the
 * kernel sees. Importing this module on a system without glibc (or without the
 * built addon) fails with one sentence; `malloc-lab/probe` answers without throwing.
 */
export { MallocLabError, ErrorCodes, type ErrorCode } from './infra/errors.js';
export { supported, probe, type Support } from './probe.js';
export { addonPath } from './infra/native.js';
export {
  malloc,
  calloc,
  realloc,
  free,
  posix_memalign,
  aligned_alloc,
  memalign,
  valloc,
  malloc_usable_size,
  fill,
  touch,
  read,
  write,
  registryStats,
  type ByteRange,
} from './bridge/allocations.js';
export {
  programBreak,
  breakRoom,
  type BreakRoom,
  sbrk,
  mallopt,
  malloc_trim,
  mallinfo2,
  mallinfoSource,
  malloc_info,
  malloc_stats,
  gnu_get_libc_version,
  MALLINFO_FIELDS,
  type Mallinfo2,
} from './bridge/heap.js';
export { parseMallocInfo, type MallocInfo, type MallocInfoArena } from './glibc/malloc-info.js';
export { MALLOPT_PARAMS, MALLOPT_SETTINGS, type MalloptName } from './glibc/mallopt-params.js';
export { RLIMIT, MCL, MCHECK_STATUS, mcheckStatusName } from './glibc/process-constants.js';
export { parseMtraceLog, type MtraceLog, type MtraceEvent, type MtraceBlock } from './glibc/mtrace-log.js';
export {
  PAGE_SIZE,
  pageSize,
  mincore,
  residency,
  madvise,
  mlock,
  munlock,
  mmap,
  munmap,
  MADVISE_ADVICE,
  type MadviseAdvice,
  type Residency,
} from './bridge/pages.js';
export {
  snapshot,
  status,
  smapsRollup,
  statm,
  sample,
  resetPeakRss,
  STATUS_FIELDS,
  SMAPS_ROLLUP_FIELDS,
  STATM_FIELDS,
  type Snapshot,
  type SnapshotOptions,
  type Status,
  type StatusField,
  type SmapsRollup,
  type Statm,
  type Sample,
} from './bridge/procfs.js';
export { measure, deltaOf, type Measurement, type Delta } from './bridge/measure.js';
export {
  allocBatch,
  BlockSet,
  MAX_BATCH_BLOCKS,
  type BatchSpec,
  type PatternEntry,
  type FreeRule,
} from './bridge/batches.js';
export { KiB, MiB, GiB, formatBytes, formatAddress } from './infra/units.js';
export { startThread, liveThreads, AllocatorThread } from './bridge/threads.js';
export {
  arenaCensus,
  blockArena,
  stackLimits,
  onlineCpus,
  type ArenaCensus,
  type ArenaSummary,
  type StackLimits,
} from './bridge/arenas.js';
export {
  StepProgram,
  StepBuilder,
  parseRecords,
  OPS,
  HOOK_LOOKUP,
  type OpName,
  type ParsedRun,
  type StepResult,
} from './experiments/framework/program.js';
export {
  runOnHost,
  allocatorLibrary,
  mallocDebugLibrary,
  HOSTS,
  ALLOCATORS,
  type HostName,
  type AllocatorName,
  type AllocatorLibraries,
  type HostRun,
  type HostRunOptions,
} from './experiments/framework/hosts.js';
export {
  runExperiment,
  runWorld,
  resolveParameters,
  type ExperimentRun,
  type RunOptions,
} from './experiments/framework/runner.js';
export { DEFAULT_WORLDS, HEAPS, selectWorlds, type World, type HeapName } from './experiments/framework/worlds.js';
export {
  DEFAULT_AGEING,
  AGEING_STEP,
  resolveAgeing,
  agedProgram,
  type Ageing,
  type AgeingClass,
} from './experiments/framework/ageing.js';
export { designedSettings, glibcAllocator } from './experiments/framework/preconditions.js';
export * as glibcModel from './glibc/model.js';
export { CATALOGUE, findExperiment } from './experiments/catalogue/index.js';
export {
  SEED_CLAIMS,
  OWN_CLAIMS,
  seedClaimProblems,
  type SeedClaim,
  type SeedId,
  type ClaimReference,
  type OwnClaim,
} from './experiments/claims/index.js';
export type {
  ExperimentDefinition,
  ClaimDefinition,
  ClaimResult,
  ClaimContext,
  Judgement,
  Precondition,
  Verdict,
  VerdictCounts,
  Variant,
  Parameter,
} from './experiments/framework/types.js';
export { EXPERIMENT_RUN_SCHEMA_PATH } from './experiments/framework/schema.js';
export {
  createScheduler,
  runKind,
  type RunKind,
  type RunScheduler,
  type ScheduledRun,
} from './experiments/framework/scheduler.js';
export { renderExperiment } from './report/text.js';
export { renderSvg } from './report/svg.js';
export { renderRunSummary } from './report/run-summary.js';
export { renderRunsHtml } from './report/html/runs.js';
export { renderExplainHtml } from './report/html/explain.js';
export { renderCompareHtml } from './report/html/compare.js';
export { trim, type TrimResult, type TrimOptions } from './service/trim.js';
export {
  startPeriodicTrimmer,
  TRIM_KILL_SWITCH,
  type PeriodicTrimmer,
  type PeriodicTrimmerOptions,
  type TrimEvent,
  type TrimOutcome,
  type TrimmerStats,
} from './service/periodic-trimmer.js';
export {
  detectAllocator,
  type AllocatorDetection,
  type DetectedAllocator,
  type MappedAllocator,
  type DetectOptions,
} from './process/allocator-detection.js';
export {
  allocatorSettings,
  GLIBC_MALLOC_TUNABLES,
  type AllocatorSettings,
  type GlibcSetting,
  type GlibcMallocTunable,
  type SettingsOptions,
  type TunableEntry,
} from './process/allocator-settings.js';
export { rssToHeapRatio, type HeapRatio } from './service/heap-ratio.js';
export { statusReport } from './bridge/status-report.js';
export { renderStatusReport, type StatusReport } from './process/status.js';
export { watchProcess, type WatchResult, type WatchSample } from './process/watch.js';
export { explainProcess, type ExplainOptions } from './process/explain/explain.js';
export {
  EXPLAIN_SCHEMA,
  type ExplainReport,
  type ClassReport,
  type RegionReport,
  type GlibcReport,
  type ArenaReport,
  type Verdict as ExplainVerdict,
  type VerdictPart,
  type Mechanism,
  type Recommendation,
} from './process/explain/types.js';
export { MEMORY_CLASSES, type MemoryClass } from './process/explain/classify.js';
export { EXPLAIN_REPORT_SCHEMA_PATH } from './process/explain/schema.js';
export { parseSmaps, type Mapping } from './process/explain/smaps.js';
export { renderExplainText } from './report/explain-text.js';
export { renderExplainSvg } from './report/explain-svg.js';
export { startAgent, type Agent, type AgentOptions } from './integrations/agent.js';
export { compareAllocators, type CompareOptions, type CompareProgress } from './compare/compare.js';
export {
  defaultConfigurations,
  MATRIX_NAMES,
  type Configuration,
  type ConfigurationSpec,
} from './compare/configurations.js';
export type {
  CompareResult,
  CompareRun,
  ConfigurationSummary,
  CpuTime,
  RunExit,
  Series,
  SeriesSummary,
  Spread,
} from './compare/types.js';
export type { RunVerification, ProcessCheck } from './compare/verification.js';
export { COMPARE_RESULT_SCHEMA_PATH } from './compare/schema.js';
export { renderCompareTable } from './report/compare-table.js';
export { renderCompareSvg } from './report/compare-svg.js';
