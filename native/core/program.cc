#include "program.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "plain.h"

namespace malloclab {

namespace {

// Refusals that are not an errno: recorded as negative statuses.
constexpr int kRefusedSbrk = -1;      // would cut into malloc's heap
constexpr int kMalloptRejected = -2;  // glibc's mallopt returned 0

constexpr double kMaxExact = 9007199254740991.0;  // 2^53 - 1
constexpr size_t kMaxBatchBlocks = size_t{1} << 28;
constexpr size_t kMaxPattern = 64;

struct OpInfo {
  int op;
  const char* name;
  int argc;  // -1: variable (batch alloc)
  bool slot_first;
};

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
};

const OpInfo* find_op(int op) {
  for (const OpInfo& info : kOps)
    if (info.op == op) return &info;
  return nullptr;
}

enum SlotState : uint8_t { kEmpty = 0, kHeap = 1, kMapping = 2 };
// Validation only: a slot whose block was freed. It is empty for allocation, but
// its stale address must not reach realloc (realloc of a freed block corrupts the heap).
constexpr uint8_t kReleased = 3;
inline bool is_empty(uint8_t state) { return state == kEmpty || state == kReleased; }

// The advice values the core's checked_madvise accepts (anything else, such as
// MADV_HWPOISON for root, is refused before the run).
bool is_known_advice(double advice) {
  return advice >= 0 && advice <= 1000 && is_known_madvise_advice(static_cast<int>(advice));
}

struct Slot {
  uintptr_t address;
  size_t size;
  uint8_t state;
};

struct Set {
  uintptr_t* blocks;
  size_t capacity;  // entries mapped
  size_t used;      // entries of the current batch
};

struct Header {
  size_t slots;
  size_t sets;
  uint32_t flags;
  size_t steps;
};

bool fail(ProgramError* error, long step, const char* format, ...) {
  error->step = step;
  va_list args;
  va_start(args, format);
  vsnprintf(error->message, sizeof error->message, format, args);
  va_end(args);
  return false;
}

bool is_integer(double value, double min, double max) {
  return value >= min && value <= max && floor(value) == value;
}

bool read_header(const double* program, size_t length, Header* header, ProgramError* error) {
  if (length < static_cast<size_t>(kHeaderLength) || program[0] != kProgramMagic) {
    return fail(error, -1, "not a step program (expected the header magic %.0f)", kProgramMagic);
  }
  if (program[1] != kProgramVersion) {
    return fail(error, -1, "program version %g is not supported (expected %g)", program[1],
                kProgramVersion);
  }
  if (!is_integer(program[2], 0, kMaxSlots) || !is_integer(program[3], 0, kMaxProgramSets) ||
      !is_integer(program[4], 0, 3) || !is_integer(program[5], 0, kMaxSteps)) {
    return fail(error, -1,
                "header out of range (expected slots <= %zu, sets <= %zu, flags 0-3, steps <= %zu)",
                kMaxSlots, kMaxProgramSets, kMaxSteps);
  }
  header->slots = static_cast<size_t>(program[2]);
  header->sets = static_cast<size_t>(program[3]);
  header->flags = static_cast<uint32_t>(program[4]);
  header->steps = static_cast<size_t>(program[5]);
  return true;
}

// Walks the steps; visit(index, op, args, argc) returns false to stop.
template <typename Visit>
bool walk(const double* program, size_t length, const Header& header, ProgramError* error,
          Visit visit) {
  size_t at = kHeaderLength;
  for (size_t step = 0; step < header.steps; ++step) {
    if (at + 2 > length)
      return fail(error, static_cast<long>(step), "program ends inside step %zu", step);
    double op_value = program[at];
    double argc_value = program[at + 1];
    const OpInfo* info =
        is_integer(op_value, 0, 1000) ? find_op(static_cast<int>(op_value)) : nullptr;
    if (info == nullptr)
      return fail(error, static_cast<long>(step), "step %zu: unknown op %g", step, op_value);
    if (!is_integer(argc_value, 0, 3 + 2 * kMaxPattern) ||
        (info->argc >= 0 && argc_value != info->argc)) {
      return fail(error, static_cast<long>(step), "step %zu (%s): %g arguments (expected %d)", step,
                  info->name, argc_value, info->argc);
    }
    size_t argc = static_cast<size_t>(argc_value);
    if (at + 2 + argc > length)
      return fail(error, static_cast<long>(step), "program ends inside step %zu", step);
    if (!visit(step, info, program + at + 2, argc)) return false;
    at += 2 + argc;
  }
  if (at != length) return fail(error, -1, "%zu values after the last step", length - at);
  return true;
}

}  // namespace

const char* op_name(int op) {
  const OpInfo* info = find_op(op);
  return info != nullptr ? info->name : op == kEnd ? "end" : "unknown";
}

bool validate_program(const double* program, size_t length, ProgramError* error) {
  Header header;
  if (!read_header(program, length, &header, error)) return false;
  uint8_t* slots = static_cast<uint8_t*>(map_plain(header.slots + header.sets + kMaxThreads));
  if (slots == nullptr) return fail(error, -1, "cannot map validation memory");
  uint8_t* sets = slots + header.slots;
  uint8_t* threads = sets + header.sets;
  bool unsafe = (header.flags & kFlagUnsafe) != 0;
  bool pending_on_thread = false;
  bool ok = walk(
      program, length, header, error,
      [&](size_t step, const OpInfo* info, const double* args, size_t argc) {
        long at = static_cast<long>(step);
        for (size_t i = 0; i < argc; ++i) {
          if (!isfinite(args[i]))
            return fail(error, at, "step %zu (%s): argument %zu is not finite", step, info->name,
                        i);
        }
        if (pending_on_thread &&
            (info->op == kThreadStart || info->op == kThreadStop || info->op == kOnThread ||
             info->op == kSnapshot || info->op == kSleep || info->op == kPause)) {
          return fail(error, at, "step %zu (%s) cannot run on a thread", step, info->name);
        }
        pending_on_thread = info->op == kOnThread;
        if (info->slot_first) {
          if (!is_integer(args[0], 0, static_cast<double>(header.slots) - 1)) {
            return fail(error, at, "step %zu (%s): slot %g does not exist (expected 0 to %zu)",
                        step, info->name, args[0], header.slots == 0 ? 0 : header.slots - 1);
          }
        }
        uint8_t* slot = info->slot_first ? &slots[static_cast<size_t>(args[0])] : nullptr;
        for (size_t i = info->slot_first ? 1 : 0; i < argc; ++i) {
          // Every other argument is an integer (sbrk may be negative, fill length -1).
          if (!is_integer(args[i], -kMaxExact, kMaxExact)) {
            return fail(error, at, "step %zu (%s): argument %zu (%g) is not an integer", step,
                        info->name, i, args[i]);
          }
        }
        switch (info->op) {
          case kMalloc:
          case kCalloc:
          case kMemalign:
          case kPosixMemalign:
          case kAlignedAlloc:
          case kValloc:
          case kMmap:
            if (!is_empty(*slot)) {
              return fail(error, at,
                          "step %zu (%s): slot %g still holds a live block (free it first)", step,
                          info->name, args[0]);
            }
            for (size_t i = 1; i < argc; ++i) {
              if (args[i] < 0)
                return fail(error, at, "step %zu (%s): argument %zu is negative", step, info->name,
                            i);
            }
            *slot = info->op == kMmap ? kMapping : kHeap;
            return true;
          case kRealloc:
            if (*slot == kMapping)
              return fail(error, at, "step %zu (realloc): slot %g holds a mapping", step, args[0]);
            if (*slot == kReleased) {
              return fail(error, at,
                          "step %zu (realloc): slot %g was freed (a dangling reference; allocate "
                          "it again first)",
                          step, args[0]);
            }
            if (args[1] < 0) return fail(error, at, "step %zu (realloc): size is negative", step);
            *slot = args[1] == 0 ? kEmpty : kHeap;
            return true;
          case kFree:
          case kMunmap:
            if (*slot != (info->op == kFree ? kHeap : kMapping)) {
              return fail(
                  error, at,
                  "step %zu (%s): slot %g holds no live %s (never allocated, or freed twice)", step,
                  info->name, args[0], info->op == kFree ? "block" : "mapping");
            }
            *slot = kReleased;
            return true;
          case kFill:
            if (!is_integer(args[1], 0, 255) || args[2] < 0 || args[3] < -1) {
              return fail(error, at,
                          "step %zu (fill): expected a byte 0-255, offset >= 0, length >= -1",
                          step);
            }
            [[fallthrough]];
          case kTouch:
          case kMincore:
          case kMlock:
          case kMunlock:
          case kMadvise:
          case kUsableSize:
            if (info->op == kMadvise && !is_known_advice(args[1])) {
              return fail(error, at,
                          "step %zu (madvise): advice %g is not supported (expected a MADV_* value "
                          "malloc-lab lists)",
                          step, args[1]);
            }
            if (is_empty(*slot)) {
              return fail(error, at, "step %zu (%s): slot %g is empty (never allocated, or freed)",
                          step, info->name, args[0]);
            }
            if (info->op == kUsableSize && *slot != kHeap)
              return fail(error, at, "step %zu: slot %g is not a malloc block", step, args[0]);
            return true;
          case kBatchAlloc: {
            if (argc < 5 || (argc - 3) % 2 != 0)
              return fail(
                  error, at,
                  "step %zu (batch_alloc): expected set, count, kind and (size, fill) pairs", step);
            if (!is_integer(args[0], 0, static_cast<double>(header.sets) - 1))
              return fail(error, at, "step %zu (batch_alloc): set %g does not exist", step,
                          args[0]);
            size_t pattern = (argc - 3) / 2;
            if (!is_integer(args[1], 1, static_cast<double>(kMaxBatchBlocks / pattern))) {
              return fail(error, at,
                          "step %zu (batch_alloc): count %g is outside 1 to %zu blocks in all",
                          step, args[1], kMaxBatchBlocks);
            }
            if (!is_integer(args[2], 0, 1))
              return fail(error, at,
                          "step %zu (batch_alloc): kind must be 0 (malloc) or 1 (calloc)", step);
            for (size_t k = 0; k < pattern; ++k) {
              if (args[3 + 2 * k] < 0 || !is_integer(args[4 + 2 * k], -1, 255))
                return fail(
                    error, at,
                    "step %zu (batch_alloc): pattern entry %zu needs size >= 0 and fill -1..255",
                    step, k);
            }
            uint8_t* set = &sets[static_cast<size_t>(args[0])];
            if (*set != 0)
              return fail(error, at,
                          "step %zu (batch_alloc): set %g still holds blocks (free them first)",
                          step, args[0]);
            *set = 1;
            return true;
          }
          case kBatchFree: {
            if (!is_integer(args[0], 0, static_cast<double>(header.sets) - 1))
              return fail(error, at, "step %zu (batch_free): set %g does not exist", step, args[0]);
            uint8_t* set = &sets[static_cast<size_t>(args[0])];
            if (*set == 0)
              return fail(error, at, "step %zu (batch_free): set %g holds no blocks", step,
                          args[0]);
            if (args[1] < 1 || args[2] < 1 || args[3] < args[2])
              return fail(error, at,
                          "step %zu (batch_free): expected step >= 1 and 1 <= min <= max", step);
            // Only a rule that frees everything empties the set for reuse.
            if (args[1] == 1 && args[2] == 1 && args[3] >= kMaxExact) *set = 0;
            return true;
          }
          case kMallopt:
            if (!is_integer(args[0], INT32_MIN, INT32_MAX) ||
                !is_integer(args[1], INT32_MIN, INT32_MAX)) {
              return fail(error, at, "step %zu (mallopt): param %g and value %g must be C ints",
                          step, args[0], args[1]);
            }
            switch (static_cast<int>(args[0])) {
              case M_MXFAST:
              case M_TRIM_THRESHOLD:
              case M_TOP_PAD:
              case M_MMAP_THRESHOLD:
              case M_MMAP_MAX:
              case M_CHECK_ACTION:
              case M_PERTURB:
              case M_ARENA_TEST:
              case M_ARENA_MAX:
                return true;
              default:
                return fail(error, at, "step %zu (mallopt): unknown param %g", step, args[0]);
            }
          case kTrim:
          case kSleep:
            if (args[0] < 0)
              return fail(error, at, "step %zu (%s): argument is negative", step, info->name);
            return true;
          case kPause:
            if (!is_integer(args[0], 0, 1023))
              return fail(error, at, "step %zu (pause): fd %g is not from 0 to 1023", step,
                          args[0]);
            return true;
          case kThreadStart:
          case kThreadStop:
          case kOnThread: {
            if (!is_integer(args[0], 0, kMaxThreads - 1))
              return fail(error, at, "step %zu (%s): thread %g is outside 0 to %zu", step,
                          info->name, args[0], kMaxThreads - 1);
            uint8_t* thread = &threads[static_cast<size_t>(args[0])];
            if (info->op == kThreadStart) {
              if (*thread)
                return fail(error, at, "step %zu (thread_start): thread %g already runs", step,
                            args[0]);
              *thread = 1;
            } else {
              if (!*thread)
                return fail(error, at, "step %zu (%s): thread %g is not running", step, info->name,
                            args[0]);
              if (info->op == kThreadStop) *thread = 0;
            }
            return true;
          }
          case kUnsafeFree:
          case kUnsafeWrite:
          case kFreeForeign:
            if (!unsafe)
              return fail(
                  error, at,
                  "step %zu (%s): heap-corrupting ops need the unsafe flag (child processes only)",
                  step, info->name);
            if (is_empty(*slot) && info->op != kUnsafeFree)
              return fail(error, at, "step %zu (%s): slot %g is empty", step, info->name, args[0]);
            return true;
          default:
            return true;
        }
      });
  if (ok && pending_on_thread)
    ok = fail(error, static_cast<long>(header.steps) - 1,
              "the last step is on_thread with no step after it");
  unmap_plain(slots, header.slots + header.sets + kMaxThreads);
  return ok;
}

namespace {

struct Run;

struct Thread {
  Run* run;
  pthread_t handle;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  bool running;
  bool stop;
  bool has_work;
  // The work: a step to execute, and where its outcome goes.
  const OpInfo* info;
  const double* args;
  size_t argc;
  int status;
  double value;
  double value2;
};

struct Run {
  Header header;
  Slot* slots;
  Set* sets;
  Thread* threads;
  uintptr_t break_start[64];  // sbrk segments this run took, most recent last
  size_t break_size[64];
  size_t break_count;
  int out_fd;
  timespec started;
};

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Reads malloc_stats' report (it writes to stderr without allocating) through a memfd.
int count_arenas(double* arenas, double* system_bytes) {
  int memfd = memfd_create("malloc-lab-arenas", MFD_CLOEXEC);
  if (memfd < 0) return errno;
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(memfd, STDERR_FILENO);
  malloc_stats();
  dup2(saved, STDERR_FILENO);
  close(saved);
  char text[65536];
  ssize_t length = pread(memfd, text, sizeof text - 1, 0);
  close(memfd);
  if (length < 0) return errno;
  text[length] = '\0';
  double count = 0, bytes = 0;
  for (char* line = strstr(text, "Arena "); line != nullptr; line = strstr(line + 1, "Arena ")) {
    count += 1;
    char* system = strstr(line, "system bytes");
    char* equals = system != nullptr ? strchr(system, '=') : nullptr;
    if (equals != nullptr) bytes += strtod(equals + 1, nullptr);
  }
  *arenas = count;
  *system_bytes = bytes;
  return 0;
}

void write_record(int fd, const double* record) {
  const char* data = reinterpret_cast<const char*>(record);
  size_t left = kRecordWidth * sizeof(double);
  while (left > 0) {
    ssize_t wrote = write(fd, data, left);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += wrote;
    left -= static_cast<size_t>(wrote);
  }
}

double nanoseconds_since(const timespec& start) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec - start.tv_sec) * 1e9 +
         static_cast<double>(now.tv_nsec - start.tv_nsec);
}

void store(Slot& slot, void* block, size_t size, uint8_t state, int* status, double* value) {
  if (block == nullptr) {
    *status = errno == 0 ? ENOMEM : errno;
    return;
  }
  slot.address = reinterpret_cast<uintptr_t>(block);
  slot.size = size;
  slot.state = state;
  *value = static_cast<double>(slot.address);
}

// Executes one step on the calling thread. Returns the errno-style status.
void execute(Run& run, const OpInfo* info, const double* a, size_t argc, int* status, double* value,
             double* value2) {
  Slot* slot = info->slot_first ? &run.slots[static_cast<size_t>(a[0])] : nullptr;
  errno = 0;
  switch (info->op) {
    case kMalloc:
      store(*slot, malloc(static_cast<size_t>(a[1])), static_cast<size_t>(a[1]), kHeap, status,
            value);
      break;
    case kCalloc: {
      size_t total = 0;
      if (__builtin_mul_overflow(static_cast<size_t>(a[1]), static_cast<size_t>(a[2]), &total))
        total = SIZE_MAX;
      store(*slot, calloc(static_cast<size_t>(a[1]), static_cast<size_t>(a[2])), total, kHeap,
            status, value);
      break;
    }
    case kRealloc: {
      void* moved = realloc(reinterpret_cast<void*>(slot->address), static_cast<size_t>(a[1]));
      if (a[1] == 0) {
        slot->state = kEmpty;
        slot->address = 0;
      } else {
        store(*slot, moved, static_cast<size_t>(a[1]), kHeap, status, value);
      }
      break;
    }
    case kFree:
    case kUnsafeFree:
      free(reinterpret_cast<void*>(slot->address));
      *value = static_cast<double>(slot->address);
      slot->state = kEmpty;
      break;
    case kMemalign:
      store(*slot, memalign(static_cast<size_t>(a[1]), static_cast<size_t>(a[2])),
            static_cast<size_t>(a[2]), kHeap, status, value);
      break;
    case kPosixMemalign: {
      void* block = nullptr;
      int err = posix_memalign(&block, static_cast<size_t>(a[1]), static_cast<size_t>(a[2]));
      if (err != 0)
        *status = err;
      else
        store(*slot, block, static_cast<size_t>(a[2]), kHeap, status, value);
      break;
    }
    case kAlignedAlloc:
      store(*slot, aligned_alloc(static_cast<size_t>(a[1]), static_cast<size_t>(a[2])),
            static_cast<size_t>(a[2]), kHeap, status, value);
      break;
    case kValloc:
      store(*slot, valloc(static_cast<size_t>(a[1])), static_cast<size_t>(a[1]), kHeap, status,
            value);
      break;
    case kFill: {
      size_t offset = static_cast<size_t>(a[2]);
      size_t length =
          a[3] < 0 ? (offset <= slot->size ? slot->size - offset : 0) : static_cast<size_t>(a[3]);
      if (offset > slot->size || length > slot->size - offset) {
        *status = EFAULT;  // outside the block: refused, not written
        break;
      }
      memset(reinterpret_cast<void*>(slot->address + offset), static_cast<int>(a[1]), length);
      break;
    }
    case kTouch: {
      size_t page = page_size();
      volatile uint8_t* start = reinterpret_cast<volatile uint8_t*>(slot->address);
      for (size_t offset = 0; offset < slot->size;
           offset = ((slot->address + offset) & ~(page - 1)) + page - slot->address) {
        start[offset] = start[offset];
      }
      break;
    }
    case kBatchAlloc: {
      Set& set = run.sets[static_cast<size_t>(a[0])];
      size_t pattern_length = (argc - 3) / 2;
      PatternEntry pattern[kMaxPattern];
      for (size_t k = 0; k < pattern_length; ++k) {
        pattern[k] =
            PatternEntry{static_cast<size_t>(a[3 + 2 * k]), static_cast<int>(a[4 + 2 * k])};
      }
      size_t total = static_cast<size_t>(a[1]) * pattern_length;
      size_t made = allocate_pattern(set.blocks, pattern, pattern_length, static_cast<size_t>(a[1]),
                                     a[2] == 1 ? BatchKind::kCalloc : BatchKind::kMalloc);
      set.used = made;
      *value = static_cast<double>(made);
      *value2 = made > 0 ? static_cast<double>(set.blocks[0]) : 0;
      if (made < total) *status = errno == 0 ? ENOMEM : errno;
      break;
    }
    case kBatchFree: {
      Set& set = run.sets[static_cast<size_t>(a[0])];
      size_t max = a[3] > static_cast<double>(set.used) ? set.used : static_cast<size_t>(a[3]);
      *value = static_cast<double>(free_by_rule(set.blocks, set.used, static_cast<size_t>(a[1]),
                                                static_cast<size_t>(a[2]), max));
      break;
    }
    case kSbrk: {
      intptr_t increment = static_cast<intptr_t>(a[0]);
      uintptr_t current = reinterpret_cast<uintptr_t>(sbrk(0));
      if (increment < 0) {
        size_t n = run.break_count;
        size_t give_back = static_cast<size_t>(-increment);
        if (n == 0 || run.break_start[n - 1] + run.break_size[n - 1] != current ||
            give_back > run.break_size[n - 1]) {
          *status = kRefusedSbrk;
          *value = static_cast<double>(current);
          break;
        }
        run.break_size[n - 1] -= give_back;
        if (run.break_size[n - 1] == 0) run.break_count--;
      }
      void* previous = sbrk(increment);
      if (previous == reinterpret_cast<void*>(-1)) {
        *status = errno == 0 ? ENOMEM : errno;
        break;
      }
      if (increment > 0 && run.break_count < 64) {
        run.break_start[run.break_count] = reinterpret_cast<uintptr_t>(previous);
        run.break_size[run.break_count++] = static_cast<size_t>(increment);
      }
      *value = static_cast<double>(reinterpret_cast<uintptr_t>(previous));
      *value2 = static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
      break;
    }
    case kMallopt:
      *value = mallopt(static_cast<int>(a[0]), static_cast<int>(a[1]));
      if (*value == 0) *status = kMalloptRejected;
      break;
    case kTrim:
      *value = malloc_trim(static_cast<size_t>(a[0]));
      break;
    case kMincore: {
      size_t page = page_size();
      uintptr_t start = slot->address & ~(page - 1);
      size_t length = slot->address + (slot->size == 0 ? 1 : slot->size) - start;
      size_t pages = (length + page - 1) / page;
      unsigned char vector[4096];
      size_t resident = 0;
      for (size_t done = 0; done < pages; done += sizeof vector) {
        size_t chunk = pages - done < sizeof vector ? pages - done : sizeof vector;
        if (mincore(reinterpret_cast<void*>(start + done * page), chunk * page, vector) != 0) {
          *status = errno;
          break;
        }
        for (size_t i = 0; i < chunk; ++i) resident += vector[i] & 1;
      }
      *value = static_cast<double>(resident);
      *value2 = static_cast<double>(pages);
      break;
    }
    case kMlock:
      if (mlock(reinterpret_cast<void*>(slot->address), slot->size) != 0) *status = errno;
      break;
    case kMunlock:
      if (munlock(reinterpret_cast<void*>(slot->address), slot->size) != 0) *status = errno;
      break;
    case kMmap: {
      void* mapping = mmap(nullptr, static_cast<size_t>(a[1]), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      store(*slot, mapping == MAP_FAILED ? nullptr : mapping, static_cast<size_t>(a[1]), kMapping,
            status, value);
      break;
    }
    case kMunmap:
      if (munmap(reinterpret_cast<void*>(slot->address), slot->size) != 0)
        *status = errno;
      else
        slot->state = kEmpty;
      break;
    case kMadvise: {
      // Only whole pages inside the block: advice never reaches a neighbour's bytes.
      size_t page = page_size();
      uintptr_t start = (slot->address + page - 1) & ~(page - 1);
      uintptr_t end = (slot->address + slot->size) & ~(page - 1);
      *value = end > start ? static_cast<double>(end - start) : 0;
      if (end > start &&
          madvise(reinterpret_cast<void*>(start), end - start, static_cast<int>(a[1])) != 0)
        *status = errno;
      break;
    }
    case kUsableSize:
      *value = static_cast<double>(malloc_usable_size(reinterpret_cast<void*>(slot->address)));
      break;
    case kArenas:
      *status = count_arenas(value, value2);
      break;
    case kUnsafeWrite:
      memset(reinterpret_cast<void*>(slot->address + static_cast<size_t>(a[1])),
             static_cast<int>(a[3]), static_cast<size_t>(a[2]));
      break;
    case kFreeForeign:
      free(reinterpret_cast<void*>(slot->address + static_cast<uintptr_t>(a[1])));
      break;
    case kPause: {
      // Holds the state still while another process reads it; the parent writes a byte (or
      // closes its end) to let the run go on.
      char byte;
      ssize_t got;
      while ((got = read(static_cast<int>(a[0]), &byte, 1)) < 0 && errno == EINTR) {
      }
      if (got < 0) *status = errno;
      break;
    }
    case kSleep: {
      timespec pause{static_cast<time_t>(a[0] / 1000), static_cast<long>(fmod(a[0], 1000) * 1e6)};
      while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
      }
      break;
    }
    default:
      break;
  }
}

void* thread_main(void* argument) {
  Thread* self = static_cast<Thread*>(argument);
  Run* run = self->run;
  pthread_mutex_lock(&self->mutex);
  for (;;) {
    while (!self->has_work && !self->stop) pthread_cond_wait(&self->wake, &self->mutex);
    if (self->has_work) {
      self->status = 0;
      self->value = NAN;
      self->value2 = NAN;
      execute(*run, self->info, self->args, self->argc, &self->status, &self->value, &self->value2);
      self->has_work = false;
      pthread_cond_broadcast(&self->wake);
      continue;
    }
    break;
  }
  pthread_mutex_unlock(&self->mutex);
  return nullptr;
}

int start_thread(Run& run, Thread& thread) {
  pthread_mutex_init(&thread.mutex, nullptr);
  pthread_cond_init(&thread.wake, nullptr);
  thread.stop = false;
  thread.has_work = false;
  thread.run = &run;
  int err = pthread_create(&thread.handle, nullptr, thread_main, &thread);
  thread.running = err == 0;
  return err;
}

void stop_thread(Thread& thread) {
  if (!thread.running) return;
  pthread_mutex_lock(&thread.mutex);
  thread.stop = true;
  pthread_cond_broadcast(&thread.wake);
  pthread_mutex_unlock(&thread.mutex);
  pthread_join(thread.handle, nullptr);
  pthread_mutex_destroy(&thread.mutex);
  pthread_cond_destroy(&thread.wake);
  thread.running = false;
}

void execute_on(Thread& thread, const OpInfo* info, const double* args, size_t argc, int* status,
                double* value, double* value2) {
  pthread_mutex_lock(&thread.mutex);
  thread.info = info;
  thread.args = args;
  thread.argc = argc;
  thread.has_work = true;
  pthread_cond_broadcast(&thread.wake);
  while (thread.has_work) pthread_cond_wait(&thread.wake, &thread.mutex);
  *status = thread.status;
  *value = thread.value;
  *value2 = thread.value2;
  pthread_mutex_unlock(&thread.mutex);
}

// Batch capacity per set: the largest batch the program allocates into it.
void size_sets(const double* program, size_t length, Run& run) {
  ProgramError ignored;
  walk(program, length, run.header, &ignored,
       [&](size_t, const OpInfo* info, const double* a, size_t argc) {
         if (info->op == kBatchAlloc) {
           size_t total = static_cast<size_t>(a[1]) * ((argc - 3) / 2);
           Set& set = run.sets[static_cast<size_t>(a[0])];
           if (total > set.capacity) set.capacity = total;
         }
         return true;
       });
}

}  // namespace

int run_program(const double* program, size_t length, int out_fd) {
  Run run{};
  ProgramError error;
  if (!read_header(program, length, &run.header, &error)) return EINVAL;
  run.out_fd = out_fd;
  // Everything the run needs is mapped before the first step.
  size_t slots_bytes = run.header.slots * sizeof(Slot);
  size_t sets_bytes = run.header.sets * sizeof(Set);
  size_t threads_bytes = kMaxThreads * sizeof(Thread);
  run.slots = static_cast<Slot*>(map_plain(slots_bytes));
  run.sets = static_cast<Set*>(map_plain(sets_bytes));
  run.threads = static_cast<Thread*>(map_plain(threads_bytes));
  if (run.slots == nullptr || run.sets == nullptr || run.threads == nullptr) return ENOMEM;
  size_sets(program, length, run);
  for (size_t i = 0; i < run.header.sets; ++i) {
    Set& set = run.sets[i];
    if (set.capacity > 0) {
      set.blocks = static_cast<uintptr_t*>(map_plain(set.capacity * sizeof(uintptr_t)));
      if (set.blocks == nullptr) return ENOMEM;
    }
  }

  int result = 0;
  long on_thread = -1;
  clock_gettime(CLOCK_MONOTONIC, &run.started);
  walk(program, length, run.header, &error,
       [&](size_t step, const OpInfo* info, const double* args, size_t argc) {
         double record[kRecordWidth];
         for (double& value : record) value = NAN;
         int status = 0;
         double value = NAN, value2 = NAN;
         if (info->op == kOnThread) {
           on_thread = static_cast<long>(args[0]);
           return true;  // no record: the next step carries the thread in value2 of its record
         }
         if (info->op == kThreadStart) {
           Thread& thread = run.threads[static_cast<size_t>(args[0])];
           status = start_thread(run, thread);
         } else if (info->op == kThreadStop) {
           stop_thread(run.threads[static_cast<size_t>(args[0])]);
         } else if (info->op == kSnapshot) {
           status = read_sample(record + 6);
         } else if (on_thread >= 0) {
           execute_on(run.threads[on_thread], info, args, argc, &status, &value, &value2);
         } else {
           execute(run, info, args, argc, &status, &value, &value2);
         }
         record[0] = static_cast<double>(step);
         record[1] = info->op;
         record[2] = status;
         record[3] = value;
         record[4] = on_thread >= 0 ? static_cast<double>(on_thread) : value2;
         record[5] = nanoseconds_since(run.started);
         on_thread = -1;
         write_record(out_fd, record);
         if (status != 0) {
           result = status;
           return false;
         }
         return true;
       });

  double end[kRecordWidth];
  for (double& value : end) value = NAN;
  end[0] = static_cast<double>(run.header.steps);
  end[1] = kEnd;
  end[2] = result;
  end[5] = nanoseconds_since(run.started);

  for (size_t i = 0; i < kMaxThreads; ++i) stop_thread(run.threads[i]);
  if ((run.header.flags & kFlagKeep) == 0) {
    for (size_t i = 0; i < run.header.slots; ++i) {
      Slot& slot = run.slots[i];
      if (slot.state == kHeap) free(reinterpret_cast<void*>(slot.address));
      if (slot.state == kMapping) munmap(reinterpret_cast<void*>(slot.address), slot.size);
    }
    for (size_t i = 0; i < run.header.sets; ++i) {
      Set& set = run.sets[i];
      if (set.blocks != nullptr) free_by_rule(set.blocks, set.used, 1, 1, set.used);
    }
  }
  for (size_t i = 0; i < run.header.sets; ++i)
    unmap_plain(run.sets[i].blocks, run.sets[i].capacity * sizeof(uintptr_t));
  unmap_plain(run.slots, slots_bytes);
  unmap_plain(run.sets, sets_bytes);
  unmap_plain(run.threads, threads_bytes);
  write_record(out_fd, end);
  return result;
}

}  // namespace malloclab
