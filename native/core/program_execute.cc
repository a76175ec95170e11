// One step, executed: each op is the glibc or kernel call it names, on the slot or
// set it names, with the plain layer's shared pieces (the touch loop, residency
// counting, the sbrk rule, the malloc_stats capture).
#include "program_execute.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plain_age.h"
#include "plain_bounds.h"
#include "plain_debug.h"
#include "plain_pages.h"
#include "plain_stack.h"
#include "plain_stats.h"

namespace malloclab {

namespace {

// The arenas malloc_stats lists, and their system bytes. Returns 0 or an errno.
int arenas(double* count, double* system_bytes) {
  int memfd = capture_malloc_stats_fd();
  if (memfd < 0) return -memfd;
  char text[65536];
  ssize_t length = pread(memfd, text, sizeof text - 1, 0);
  int err = length < 0 ? errno : 0;
  close(memfd);
  if (length < 0) return err;
  text[length] = '\0';
  count_arenas(text, count, system_bytes);
  return 0;
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

}  // namespace

void execute(Run& run, const OpInfo* info, const double* a, size_t argc, StepOutcome* outcome) {
  int* status = &outcome->status;
  double* value = &outcome->value;
  double* value2 = &outcome->value2;
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
    case kTouch:
      touch_range(slot->address, slot->size);
      break;
    case kBatchAlloc: {
      Set& set = run.sets[static_cast<size_t>(a[0])];
      size_t pattern_length = (argc - 3) / 2;
      PatternEntry pattern[kMaxPatternLength];
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
    case kAge: {
      Set& set = run.sets[static_cast<size_t>(a[0])];
      AgeClass classes[kMaxAgeClasses];
      size_t class_count = (argc - 4) / 3;
      for (size_t k = 0; k < class_count; ++k) {
        classes[k] = AgeClass{static_cast<uint32_t>(a[4 + 3 * k]),
                              static_cast<size_t>(a[5 + 3 * k]), static_cast<size_t>(a[6 + 3 * k])};
      }
      size_t count = static_cast<size_t>(a[1]);
      AgeResult result = age_heap(set.blocks, count, static_cast<uint64_t>(a[2]),
                                  static_cast<uint32_t>(a[3]), classes, class_count);
      set.used = result.kept;
      *value = static_cast<double>(result.kept);
      *value2 = static_cast<double>(result.made - result.kept);
      if (result.made < count) *status = errno == 0 ? ENOMEM : errno;
      break;
    }
    case kBatchSpan: {
      const Set& set = run.sets[static_cast<size_t>(a[0])];
      uintptr_t lowest = UINTPTR_MAX, highest = 0;
      for (size_t j = static_cast<size_t>(a[2]) - 1; j < set.used; j += static_cast<size_t>(a[1])) {
        uintptr_t address = set.blocks[j];
        if (address == 0) continue;  // freed
        if (address < lowest) lowest = address;
        if (address > highest) highest = address;
      }
      if (highest != 0) {
        *value = static_cast<double>(lowest);
        *value2 = static_cast<double>(highest);
      }
      break;
    }
    case kBatchAdjacent: {
      const Set& set = run.sets[static_cast<size_t>(a[0])];
      size_t step = static_cast<size_t>(a[1]);
      uintptr_t stride = static_cast<uintptr_t>(a[3]);
      size_t pairs = 0, adjacent = 0;
      for (size_t j = static_cast<size_t>(a[2]) - 1; j + step < set.used; j += step) {
        uintptr_t here = set.blocks[j], next = set.blocks[j + step];
        if (here == 0 || next == 0) continue;  // freed
        ++pairs;
        if (next > here && next - here == stride) ++adjacent;
      }
      *value = static_cast<double>(adjacent);
      *value2 = static_cast<double>(pairs);
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
      BreakSegment* top = run.break_count > 0 ? &run.breaks[run.break_count - 1] : nullptr;
      if (increment < 0 &&
          check_break_shrink(top, current, give_back_of(increment)) != BreakRefusal::kNone) {
        *status = kRefusedSbrk;
        *value = static_cast<double>(current);
        break;
      }
      void* previous = sbrk(increment);
      if (previous == reinterpret_cast<void*>(-1)) {
        *status = errno == 0 ? ENOMEM : errno;
        break;
      }
      if (increment < 0) {
        if (shrink_segment(top, give_back_of(increment))) run.break_count--;
      } else if (increment > 0 && run.break_count < kMaxBreakSegments) {
        run.breaks[run.break_count++] =
            BreakSegment{reinterpret_cast<uintptr_t>(previous), static_cast<size_t>(increment)};
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
      uint8_t vector[4096];
      size_t resident = 0;
      int err = count_resident(start, length, vector, sizeof vector, &resident);
      if (err != 0) *status = err;
      *value = static_cast<double>(resident);
      *value2 = static_cast<double>((length + page - 1) / page);
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
      *status = arenas(value, value2);
      break;
    case kUnsafeWrite:  // the offset may be negative: a block's own header
      memset(reinterpret_cast<void*>(slot->address + static_cast<intptr_t>(a[1])),
             static_cast<int>(a[3]), static_cast<size_t>(a[2]));
      break;
    case kUnsafeRead:
      *value = *reinterpret_cast<volatile uint8_t*>(slot->address + static_cast<intptr_t>(a[1]));
      break;
    case kAllocaFree:
      *status = stack_alloca_misuse(static_cast<size_t>(a[0]), static_cast<int>(a[1]), value);
      break;
    case kLongjmpLeak:
      *status =
          stack_longjmp_leak(static_cast<size_t>(a[0]), static_cast<size_t>(a[1]), value, value2);
      break;
    case kFreeHookInstall:
      debug_free_hook_install(a[0] != 0, value, value2);
      break;
    case kFreeHookRemove:
      debug_free_hook_remove(value);
      break;
    case kClock:
      process_clock(value, value2);
      break;
    case kHeapRange:
      *status = process_heap_range(value, value2);
      break;
    case kPss:
      *status = process_pss(value, value2);
      break;
    case kMlockall:
      if (mlockall(static_cast<int>(a[0])) != 0) *status = errno;
      break;
    case kMunlockall:
      if (munlockall() != 0) *status = errno;
      break;
    case kAlloca:
      *status = stack_alloca(static_cast<size_t>(a[0]), value, value2);
      break;
    case kMtrace:
      debug_mtrace();
      break;
    case kMuntrace:
      debug_muntrace();
      break;
    case kMcheck:
      *value = debug_mcheck();
      break;
    case kMprobe:
      *value = debug_mprobe(reinterpret_cast<void*>(slot->address));
      break;
    case kPrlimit:
      *status = process_limit(static_cast<int>(a[0]), static_cast<size_t>(a[1]), value, value2);
      break;
    case kAllocUntilRefused: {
      Set& set = run.sets[static_cast<size_t>(a[0])];
      size_t size = static_cast<size_t>(a[1]);
      size_t max = static_cast<size_t>(a[2]);
      size_t made = 0;
      int refusal = 0;
      while (made < max) {
        errno = 0;
        void* block = malloc(size);
        if (block == nullptr) {
          refusal = errno == 0 ? ENOMEM : errno;
          break;
        }
        set.blocks[made++] = reinterpret_cast<uintptr_t>(block);
      }
      set.used = made;
      *value = static_cast<double>(made);
      *value2 = refusal;  // a refusal is the measurement here, not a failure of the step
      break;
    }
    case kMmapAboveBreak: {
      uintptr_t address = 0;
      size_t length = 0;
      *status = process_map_above_break(static_cast<size_t>(a[1]), &address, &length);
      if (*status == 0) {
        slot->address = address;
        slot->size = length;
        slot->state = kMapping;
        *value = static_cast<double>(address);
      }
      break;
    }
    case kForkHold:
      *status = child_hold(run.children[static_cast<size_t>(a[0])], static_cast<size_t>(a[1]),
                           static_cast<size_t>(a[2]), a[3] != 0, a[4] != 0, value, value2);
      break;
    case kForkExit:
      *status = child_exit(run.children[static_cast<size_t>(a[0])], a[1] != 0, value, value2);
      break;
    case kForkReap:
      *status = child_reap_timed(run.children[static_cast<size_t>(a[0])], value, value2);
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

namespace {

struct OnThread {
  Run* run;
  const OpInfo* info;
  const double* args;
  size_t argc;
  StepOutcome* outcome;
};

void execute_here(void* context) {
  OnThread* step = static_cast<OnThread*>(context);
  execute(*step->run, step->info, step->args, step->argc, step->outcome);
}

}  // namespace

void execute_on(Run& run, ParkedThread& thread, const OpInfo* info, const double* args, size_t argc,
                StepOutcome* outcome) {
  OnThread step{&run, info, args, argc, outcome};
  parked_thread_run(&thread, execute_here, &step);
}

}  // namespace malloclab
