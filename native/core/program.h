// The step interpreter: runs a whole experiment (allocator calls, batches, fills,
// sbrk, mallopt, trim, mincore, snapshots, …) inside one call, so nothing runs
// between two steps but the steps. Part of the plain layer: no exceptions, no
// malloc of its own (slots, sets and records live in mmap'd memory).
//
// This header is the format lib/ speaks (lib/experiments/framework/program.ts keeps
// its own copy, so a parent process can build and parse programs without loading
// the addon; the addon exports these tables and test/native-parity.test.ts checks
// that the two agree). The interpreter itself is split by concern:
// program_format.cc (the op and refusal tables, the header), program_steps.h (the
// walk over steps), program_validate.cc (checks before anything runs),
// program_execute.cc (one step), program_run.cc (the run: memory, threads, records).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "plain.h"

namespace malloclab {

// A program is an array of doubles: a header, then steps (op, argc, args...).
inline constexpr double kProgramMagic = 1296846897;  // "MLP1"
inline constexpr double kProgramVersion = 1;
enum HeaderField : int {
  kHeaderMagic = 0,
  kHeaderVersion = 1,
  kHeaderSlots = 2,  // blocks the program names (slot indices 0 to slots - 1)
  kHeaderSets = 3,   // batches it names
  kHeaderFlags = 4,
  kHeaderSteps = 5,
  kHeaderLength = 6,
};
inline constexpr size_t kMaxSlots = 65536;
inline constexpr size_t kMaxProgramSets = 256;
inline constexpr size_t kMaxSteps = 100000;

enum ProgramFlags : uint32_t {
  kFlagUnsafe = 1,  // allow the heap-corruption ops (child processes only)
  kFlagKeep = 2,    // leave live blocks allocated at the end, as a C program exiting
};

// Each step writes one record of kRecordWidth doubles to the output as it completes:
// these fields, then a sample (plain.h's sample layout) for snapshot steps, NaN
// otherwise. A snapshot's value says which call filled the mallinfo fields
// (MallinfoSource: 2 mallinfo2, 1 mallinfo). A final record with op kEnd closes a run
// that finished.
enum RecordField : int {
  kRecordStep = 0,         // the step's index in the program
  kRecordOp = 1,           //
  kRecordStatus = 2,       // 0, an errno, or a refusal (below)
  kRecordValue = 3,        // what the op returned (an address, a count, ...)
  kRecordValue2 = 4,       // a second result; the thread for a step run on one
  kRecordNanoseconds = 5,  // since the run started
  kRecordSample = 6,
};
inline constexpr int kRecordWidth = kRecordSample + kSampleWidth;

// The layouts above by the names lib/ gives them (the addon exports them as programFormat).
extern const NamedValues kHeaderLayout;
extern const NamedValues kFlagValues;
extern const NamedValues kRecordLayout;
extern const NamedValues kSampleLayout;

// Statuses that are refusals rather than errnos.
inline constexpr int kRefusedSbrk = -1;      // would cut into malloc's heap (plain_break.h)
inline constexpr int kMalloptRejected = -2;  // glibc's mallopt returned 0
// Each refusal's stable code (plain_codes.h), for the addon to export.
extern const NamedValues kRefusals;

enum Op : int {
  kEnd = 0,
  kMalloc = 1,              // slot, size
  kCalloc = 2,              // slot, nmemb, size
  kRealloc = 3,             // slot, size
  kFree = 4,                // slot
  kMemalign = 5,            // slot, alignment, size
  kPosixMemalign = 6,       // slot, alignment, size
  kAlignedAlloc = 7,        // slot, alignment, size
  kValloc = 8,              // slot, size
  kFill = 9,                // slot, byte, offset, length (-1: to the end)
  kTouch = 10,              // slot
  kBatchAlloc = 11,         // set, count, kind, (size, fill)...
  kBatchFree = 12,          // set, step, min, max
  kSbrk = 13,               // increment
  kMallopt = 14,            // param, value
  kTrim = 15,               // pad
  kMincore = 16,            // slot -> value resident pages, value2 pages
  kMlock = 17,              // slot
  kMunlock = 18,            // slot
  kMmap = 19,               // slot, length
  kMunmap = 20,             // slot
  kMadvise = 21,            // slot, advice (on the page-aligned part of the block)
  kSnapshot = 22,           // -
  kSleep = 23,              // milliseconds
  kUsableSize = 24,         // slot -> value
  kArenas = 25,             // -> value: arenas malloc_stats lists, value2: their system bytes
  kPause = 26,              // fd: block until a byte arrives on fd, or it reaches end of file
  kThreadStart = 30,        // thread
  kThreadStop = 31,         // thread
  kOnThread = 32,           // thread, then the next step runs on that thread
  kUnsafeFree = 40,         // slot: free without checking (double free)
  kUnsafeWrite = 41,        // slot, offset, length, byte: memset that may pass the block's end
  kFreeForeign = 42,        // slot, offset: free(block + offset), a pointer malloc never returned
  kUnsafeRead = 43,         // slot, offset -> value: the byte at block + offset (may pass the end)
  kAllocaFree = 44,         // size, call (0 free, 1 realloc) of an alloca'd block -> value
  kLongjmpLeak = 45,        // depth, size -> value: bytes malloc'd and lost, value2: deepest alloca
  kFreeHookInstall = 46,    // trim -> value: installed, value2: lookup bits (plain_debug.h)
  kFreeHookRemove = 47,     // -> value: calls the hook saw
  kClock = 50,              // -> value: CLOCK_MONOTONIC ns, value2: thread CPU ns
  kHeapRange = 51,          // -> value: start_brk, value2: sbrk(0)
  kPss = 52,                // -> value: Pss_Anon, value2: Pss (smaps_rollup, bytes)
  kMlockall = 53,           // flags
  kMunlockall = 54,         // -
  kAlloca = 55,             // size -> value: the block, value2: a local of the calling frame
  kMtrace = 56,             // -
  kMuntrace = 57,           // -
  kMcheck = 58,             // -> value: mcheck(NULL)'s return
  kMprobe = 59,             // slot -> value: mcheck_status
  kPrlimit = 60,            // resource, headroom -> value: soft limit, value2: usage
  kAllocUntilRefused = 61,  // set, size, max -> value: blocks, value2: errno of the refusal
  kMmapAboveBreak = 62,     // slot, gap -> value: the page mapped above the break
  kForkHold = 63,  // child, count, size, spacer, fill -> value: its RssAnon, value2: growth
  kForkExit = 64,  // child, free -> value: its last RssAnon, value2: resident when exited
  kForkReap = 65,  // child -> value: its CPU ns from holding to its end, value2: exit status
  // set, count, seed, freed (basis points), (weight, min, max)...: the ageing workload
  // (plain_age.h); the survivors stay in the set -> value kept, value2 freed
  kAge = 70,
  kBatchSpan = 71,  // set, step, min: the blocks min, min + step, ... -> value lowest, value2
                    // highest address
  // set, step, min, stride: of those blocks, each with the next -> value the pairs exactly
  // stride bytes apart (the next one right above), value2 the pairs
  kBatchAdjacent = 72,
};

struct OpInfo {
  int op;
  const char* name;
  int argc;  // -1: variable (batch_alloc)
  bool slot_first;
};
// Every op but kEnd, in code order.
extern const OpInfo kOps[];
extern const int kOpCount;
const OpInfo* find_op(int op);
const char* op_name(int op);

struct ProgramError {
  long step;  // -1: the header
  char message[320];
};

// Checks the whole program before anything runs: header, ops, argument counts and
// ranges, and slot/set states (no use of an empty slot, no double free, no
// overwriting a live slot). Returns false and fills error when it is malformed.
bool validate_program(const double* program, size_t length, ProgramError* error);

// Runs a validated program, writing records to out_fd. Returns 0 when every step
// ran, else the status of the failing step (records stop there).
int run_program(const double* program, size_t length, int out_fd);

}  // namespace malloclab
