// The program format's tables (ops, refusals) and the header and step reading
// that validation and the run share.
#include <stdarg.h>
#include <stdio.h>

#include "plain_codes.h"
#include "program_steps.h"

namespace malloclab {

const OpInfo kOps[] = {
    {kMalloc, "malloc", 2, true},
    {kCalloc, "calloc", 3, true},
    {kRealloc, "realloc", 2, true},
    {kFree, "free", 1, true},
    {kMemalign, "memalign", 3, true},
    {kPosixMemalign, "posix_memalign", 3, true},
    {kAlignedAlloc, "aligned_alloc", 3, true},
    {kValloc, "valloc", 2, true},
    {kFill, "fill", 4, true},
    {kTouch, "touch", 1, true},
    {kBatchAlloc, "batch_alloc", -1, false},
    {kBatchFree, "batch_free", 4, false},
    {kSbrk, "sbrk", 1, false},
    {kMallopt, "mallopt", 2, false},
    {kTrim, "malloc_trim", 1, false},
    {kMincore, "mincore", 1, true},
    {kMlock, "mlock", 1, true},
    {kMunlock, "munlock", 1, true},
    {kMmap, "mmap", 2, true},
    {kMunmap, "munmap", 1, true},
    {kMadvise, "madvise", 2, true},
    {kSnapshot, "snapshot", 0, false},
    {kSleep, "sleep", 1, false},
    {kUsableSize, "malloc_usable_size", 1, true},
    {kArenas, "arenas", 0, false},
    {kPause, "pause", 1, false},
    {kThreadStart, "thread_start", 1, false},
    {kThreadStop, "thread_stop", 1, false},
    {kOnThread, "on_thread", 1, false},
    {kUnsafeFree, "unsafe_free", 1, true},
    {kUnsafeWrite, "unsafe_write", 4, true},
    {kFreeForeign, "free_foreign", 2, true},
    {kUnsafeRead, "unsafe_read", 2, true},
    {kAllocaFree, "alloca_free", 2, false},
    {kLongjmpLeak, "longjmp_leak", 2, false},
    {kFreeHookInstall, "free_hook_install", 1, false},
    {kFreeHookRemove, "free_hook_remove", 0, false},
    {kClock, "clock", 0, false},
    {kHeapRange, "heap_range", 0, false},
    {kPss, "pss", 0, false},
    {kMlockall, "mlockall", 1, false},
    {kMunlockall, "munlockall", 0, false},
    {kAlloca, "alloca", 1, false},
    {kMtrace, "mtrace", 0, false},
    {kMuntrace, "muntrace", 0, false},
    {kMcheck, "mcheck", 0, false},
    {kMprobe, "mprobe", 1, true},
    {kPrlimit, "prlimit", 2, false},
    {kAllocUntilRefused, "alloc_until_refused", 3, false},
    {kMmapAboveBreak, "mmap_above_break", 2, true},
    {kForkHold, "fork_hold", 5, false},
    {kForkExit, "fork_exit", 2, false},
    {kForkReap, "fork_reap", 1, false},
    {kAge, "age", -1, false},
    {kBatchSpan, "batch_span", 3, false},
    {kBatchAdjacent, "batch_adjacent", 4, false},
};
const int kOpCount = static_cast<int>(sizeof kOps / sizeof *kOps);

namespace {
const NamedValue kHeaderEntries[] = {
    {"magic", kHeaderMagic},   {"version", kHeaderVersion}, {"slots", kHeaderSlots},
    {"sets", kHeaderSets},     {"flags", kHeaderFlags},     {"steps", kHeaderSteps},
    {"length", kHeaderLength},
};
const NamedValue kFlagEntries[] = {{"unsafe", kFlagUnsafe}, {"keep", kFlagKeep}};
const NamedValue kRecordEntries[] = {
    {"step", kRecordStep},     {"op", kRecordOp},         {"status", kRecordStatus},
    {"value", kRecordValue},   {"value2", kRecordValue2}, {"nanoseconds", kRecordNanoseconds},
    {"sample", kRecordSample}, {"width", kRecordWidth},
};
const NamedValue kSampleEntries[] = {
    {"status", kSampleStatus},
    {"brk", kSampleBreak},
    {"mallinfo", kSampleMallinfo},
    {"width", kSampleWidth},
};
const NamedValue kRefusalEntries[] = {
    {code::kSbrkRefused, kRefusedSbrk},
    {code::kMalloptRejected, kMalloptRejected},
};
}  // namespace

const NamedValues kHeaderLayout = named_table(kHeaderEntries);
const NamedValues kFlagValues = named_table(kFlagEntries);
const NamedValues kRecordLayout = named_table(kRecordEntries);
const NamedValues kSampleLayout = named_table(kSampleEntries);
const NamedValues kRefusals = named_table(kRefusalEntries);

const OpInfo* find_op(int op) {
  for (const OpInfo& info : kOps)
    if (info.op == op) return &info;
  return nullptr;
}

const char* op_name(int op) {
  const OpInfo* info = find_op(op);
  return info != nullptr ? info->name : op == kEnd ? "end" : "unknown";
}

bool fail(ProgramError* error, long step, const char* format, ...) {
  error->step = step;
  va_list args;
  va_start(args, format);
  vsnprintf(error->message, sizeof error->message, format, args);
  va_end(args);
  return false;
}

bool read_header(const double* program, size_t length, Header* header, ProgramError* error) {
  if (length < static_cast<size_t>(kHeaderLength) || program[kHeaderMagic] != kProgramMagic) {
    return fail(error, -1, "not a step program (expected the header magic %.0f)", kProgramMagic);
  }
  if (program[kHeaderVersion] != kProgramVersion) {
    return fail(error, -1, "program version %g is not supported (expected %g)",
                program[kHeaderVersion], kProgramVersion);
  }
  constexpr double kAllFlags = kFlagUnsafe | kFlagKeep;
  if (!is_integer(program[kHeaderSlots], 0, kMaxSlots) ||
      !is_integer(program[kHeaderSets], 0, kMaxProgramSets) ||
      !is_integer(program[kHeaderFlags], 0, kAllFlags) ||
      !is_integer(program[kHeaderSteps], 0, kMaxSteps)) {
    return fail(error, -1,
                "header out of range (expected slots <= %zu, sets <= %zu, flags 0-%.0f, steps <= "
                "%zu)",
                kMaxSlots, kMaxProgramSets, kAllFlags, kMaxSteps);
  }
  header->slots = static_cast<size_t>(program[kHeaderSlots]);
  header->sets = static_cast<size_t>(program[kHeaderSets]);
  header->flags = static_cast<uint32_t>(program[kHeaderFlags]);
  header->steps = static_cast<size_t>(program[kHeaderSteps]);
  return true;
}

}  // namespace malloclab
