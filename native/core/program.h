// The step interpreter: runs a whole experiment (allocator calls, batches, fills,
// sbrk, mallopt, trim, mincore, snapshots, …) inside one call, so nothing runs
// between two steps but the steps. Part of the plain layer: no exceptions, no
// malloc of its own (slots, sets and records live in mmap'd memory).
//
// A program is an array of doubles:
//   header: kMagic, kVersion, slot_count, set_count, flags, step_count
//   steps:  op, argc, args...
// Each step writes one record of kRecordWidth doubles to out_fd as it completes:
//   step index, op, status (0 or an errno), value, value2, nanoseconds since the
//   run started, then a sample (status fields, break, mallinfo2) for kSnapshot
//   steps, NaN otherwise. A final record with op kEnd closes a run that finished.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace malloclab {

inline constexpr double kProgramMagic = 1296846897;  // "MLP1"
inline constexpr double kProgramVersion = 1;
inline constexpr int kHeaderLength = 6;
inline constexpr int kRecordWidth = 6 + 28;
inline constexpr size_t kMaxSlots = 65536;
inline constexpr size_t kMaxProgramSets = 256;
inline constexpr size_t kMaxSteps = 100000;
inline constexpr size_t kMaxThreads = 1024;

enum ProgramFlags : uint32_t {
  kFlagUnsafe = 1,  // allow the heap-corruption ops (child processes only)
  kFlagKeep = 2,    // leave live blocks allocated at the end, as a C program exiting
};

enum Op : int {
  kEnd = 0,
  kMalloc = 1,         // slot, size
  kCalloc = 2,         // slot, nmemb, size
  kRealloc = 3,        // slot, size
  kFree = 4,           // slot
  kMemalign = 5,       // slot, alignment, size
  kPosixMemalign = 6,  // slot, alignment, size
  kAlignedAlloc = 7,   // slot, alignment, size
  kValloc = 8,         // slot, size
  kFill = 9,           // slot, byte, offset, length (-1: to the end)
  kTouch = 10,         // slot
  kBatchAlloc = 11,    // set, count, kind, (size, fill)...
  kBatchFree = 12,     // set, step, min, max
  kSbrk = 13,          // increment
  kMallopt = 14,       // param, value
  kTrim = 15,          // pad
  kMincore = 16,       // slot -> value resident pages, value2 pages
  kMlock = 17,         // slot
  kMunlock = 18,       // slot
  kMmap = 19,          // slot, length
  kMunmap = 20,        // slot
  kMadvise = 21,       // slot, advice (on the page-aligned part of the block)
  kSnapshot = 22,      // -
  kSleep = 23,         // milliseconds
  kUsableSize = 24,    // slot -> value
  kArenas = 25,        // -> value: arenas malloc_stats lists, value2: their system bytes
  kPause = 26,         // fd: block until a byte arrives on fd, or it reaches end of file
  kThreadStart = 30,   // thread
  kThreadStop = 31,    // thread
  kOnThread = 32,      // thread, then the next step runs on that thread
  kUnsafeFree = 40,    // slot: free without checking (double free)
  kUnsafeWrite = 41,   // slot, offset, length, byte: memset that may pass the block's end
  kFreeForeign = 42,   // slot, offset: free(block + offset), a pointer malloc never returned
};

struct ProgramError {
  long step;  // -1: the header
  char message[320];
};

// Checks the whole program before anything runs: header, ops, argument counts and
// ranges, and slot/set states (no use of an empty slot, no double free, no
// overwriting a live slot). Returns false and fills error when it is malformed.
bool validate_program(const double* program, size_t length, ProgramError* error);

// Runs a validated program, writing records to out_fd. Returns 0 when every step
// ran, else the errno of the failing step (records stop there).
int run_program(const double* program, size_t length, int out_fd);

const char* op_name(int op);

}  // namespace malloclab
