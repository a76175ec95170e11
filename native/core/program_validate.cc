// Validation: the whole program is checked before any step runs, so a run never
// stops half way on a malformed step (ops, argument counts and ranges, and what
// each slot, set and thread holds at each step).
#include "plain_age.h"
#include "plain_bounds.h"
#include "plain_mallopt.h"
#include "plain_process.h"
#include "plain_stack.h"
#include "program_steps.h"

namespace malloclab {

namespace {

// The advice values the checked madvise accepts (anything else, such as
// MADV_HWPOISON for root, is refused before the run).
bool is_known_advice(double advice) {
  return advice >= 0 && advice <= 1000 && is_known_madvise_advice(static_cast<int>(advice));
}

}  // namespace

bool validate_program(const double* program, size_t length, ProgramError* error) {
  Header header;
  if (!read_header(program, length, &header, error)) return false;
  size_t states = header.slots + header.sets + kMaxThreads + kMaxChildren;
  uint8_t* slots = static_cast<uint8_t*>(map_plain(states));
  if (slots == nullptr) return fail(error, -1, "cannot map validation memory");
  uint8_t* sets = slots + header.slots;
  uint8_t* threads = sets + header.sets;
  uint8_t* children = threads + kMaxThreads;
  bool unsafe = (header.flags & kFlagUnsafe) != 0;
  bool pending_on_thread = false;
  bool ok = walk(
      program, length, header, error,
      [&](size_t step, const OpInfo* info, const double* args, size_t argc) {
        long at = static_cast<long>(step);
        // The batch ops name a set in args[0]: it must exist; ops that fill it need it
        // empty and mark it filled, ops that read it need it filled.
        auto set_exists = [&] {
          return is_integer(args[0], 0, static_cast<double>(header.sets) - 1) ||
                 fail(error, at, "step %zu (%s): set %g does not exist", step, info->name, args[0]);
        };
        auto fill_set = [&] {
          uint8_t* set = &sets[static_cast<size_t>(args[0])];
          if (*set != 0)
            return fail(error, at, "step %zu (%s): set %g still holds blocks (free them first)",
                        step, info->name, args[0]);
          *set = 1;
          return true;
        };
        auto set_holds_blocks = [&] {
          return sets[static_cast<size_t>(args[0])] != 0 ||
                 fail(error, at, "step %zu (%s): set %g holds no blocks", step, info->name,
                      args[0]);
        };
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
          case kMmapAboveBreak:
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
            *slot = info->op == kMmap || info->op == kMmapAboveBreak ? kMapping : kHeap;
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
            if (!set_exists()) return false;
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
            return fill_set();
          }
          case kAge: {
            if (argc < 7 || (argc - 4) % 3 != 0 || (argc - 4) / 3 > kMaxAgeClasses)
              return fail(error, at,
                          "step %zu (age): expected set, count, seed, freed and 1 to %zu (weight, "
                          "min, max) classes",
                          step, kMaxAgeClasses);
            if (!set_exists()) return false;
            if (!is_integer(args[1], 1, static_cast<double>(kMaxBatchBlocks)))
              return fail(error, at, "step %zu (age): count %g is outside 1 to %zu", step, args[1],
                          kMaxBatchBlocks);
            if (args[2] < 0)
              return fail(error, at, "step %zu (age): seed %g is negative", step, args[2]);
            if (!is_integer(args[3], 0, kAgeBasisPoints))
              return fail(error, at,
                          "step %zu (age): freed %g is outside 0 to %u basis points of the blocks",
                          step, args[3], kAgeBasisPoints);
            double weights = 0;
            for (size_t k = 4; k < argc; k += 3) {
              if (!is_integer(args[k], 0, UINT32_MAX) || args[k + 1] < 0 ||
                  args[k + 2] < args[k + 1] || args[k + 2] > kMaxAgeBlockSize)
                return fail(error, at,
                            "step %zu (age): class %zu needs a weight 0-%u and 0 <= min <= max <= "
                            "%zu",
                            step, (k - 4) / 3, UINT32_MAX, kMaxAgeBlockSize);
              weights += args[k];
            }
            if (weights == 0)
              return fail(error, at, "step %zu (age): the classes' weights add up to 0", step);
            return fill_set();
          }
          case kBatchSpan:
          case kBatchAdjacent: {
            if (!set_exists() || !set_holds_blocks()) return false;
            if (args[1] < 1 || args[2] < 1)
              return fail(error, at, "step %zu (%s): expected step >= 1 and min >= 1", step,
                          info->name);
            if (info->op == kBatchAdjacent && args[3] < 1)
              return fail(error, at, "step %zu (batch_adjacent): expected stride >= 1", step);
            return true;
          }
          case kBatchFree: {
            if (!set_exists() || !set_holds_blocks()) return false;
            uint8_t* set = &sets[static_cast<size_t>(args[0])];
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
            if (!is_known_mallopt_parameter(static_cast<int>(args[0])))
              return fail(error, at, "step %zu (mallopt): unknown param %g", step, args[0]);
            return true;
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
          case kMprobe:
            if (*slot != kHeap)
              return fail(error, at, "step %zu (mprobe): slot %g holds no malloc block", step,
                          args[0]);
            return true;
          case kMlockall:
            if (!unsafe)
              return fail(error, at,
                          "step %zu (mlockall): locking the whole process needs the unsafe flag "
                          "(child processes only)",
                          step);
            if (!is_integer(args[0], 1, 7))
              return fail(error, at, "step %zu (mlockall): flags %g are not MCL_* bits", step,
                          args[0]);
            return true;
          case kAlloca:
            if (!is_integer(args[0], 1, static_cast<double>(kMaxStackBytes)))
              return fail(error, at, "step %zu (alloca): size %g is outside 1 to %zu", step,
                          args[0], kMaxStackBytes);
            return true;
          case kAllocUntilRefused: {
            if (!set_exists()) return false;
            if (args[1] < 1 || !is_integer(args[2], 1, static_cast<double>(kMaxBatchBlocks)))
              return fail(error, at,
                          "step %zu (alloc_until_refused): expected size >= 1 and 1 <= max <= %zu",
                          step, kMaxBatchBlocks);
            return fill_set();
          }
          case kForkHold:
          case kForkExit:
          case kForkReap: {
            if (!is_integer(args[0], 0, kMaxChildren - 1))
              return fail(error, at, "step %zu (%s): child %g is outside 0 to %zu", step,
                          info->name, args[0], kMaxChildren - 1);
            // 0: no child, 1: holding its blocks, 2: exited, not yet reaped.
            uint8_t* child = &children[static_cast<size_t>(args[0])];
            if (info->op == kForkReap) {
              if (*child != 2)
                return fail(error, at, "step %zu (fork_reap): child %g has not exited", step,
                            args[0]);
              *child = 0;
            } else if (info->op == kForkHold) {
              if (*child)
                return fail(error, at, "step %zu (fork_hold): child %g already holds", step,
                            args[0]);
              if (!is_integer(args[1], 0, static_cast<double>(kMaxBatchBlocks)) || args[2] < 0 ||
                  !is_integer(args[3], 0, 1) || !is_integer(args[4], 0, 1))
                return fail(error, at,
                            "step %zu (fork_hold): expected count <= %zu, size >= 0, spacer and "
                            "fill 0 or 1",
                            step, kMaxBatchBlocks);
              *child = 1;
            } else {
              if (*child != 1)
                return fail(error, at, "step %zu (fork_exit): child %g holds nothing", step,
                            args[0]);
              if (!is_integer(args[1], 0, 1))
                return fail(error, at, "step %zu (fork_exit): free must be 0 or 1", step);
              *child = 2;
            }
            return true;
          }
          case kPrlimit:
          case kUnsafeRead:
          case kAllocaFree:
          case kLongjmpLeak:
          case kFreeHookInstall:
          case kFreeHookRemove:
            if (!unsafe)
              return fail(error, at, "step %zu (%s): needs the unsafe flag (child processes only)",
                          step, info->name);
            if (info->op == kPrlimit &&
                (!is_limited_resource(args[0]) || args[1] < 0 || args[1] > kMaxExact))
              return fail(error, at,
                          "step %zu (prlimit): resource %g is not RLIMIT_DATA or RLIMIT_AS, or the "
                          "headroom is negative",
                          step, args[0]);
            if (info->op == kUnsafeRead && (is_empty(*slot) || !is_integer(args[1], -16, 1 << 20)))
              return fail(error, at,
                          "step %zu (unsafe_read): slot %g is empty or offset %g is outside -16 to "
                          "2^20",
                          step, args[0], args[1]);
            if (info->op == kAllocaFree &&
                (!is_integer(args[0], 1, static_cast<double>(kMaxStackBytes)) ||
                 !is_integer(args[1], 0, 1)))
              return fail(error, at,
                          "step %zu (alloca_free): expected a size 1 to %zu and call 0 or 1", step,
                          kMaxStackBytes);
            if (info->op == kLongjmpLeak &&
                (!is_integer(args[0], 1, static_cast<double>(kMaxDescentDepth)) || args[1] < 1 ||
                 args[0] * args[1] > static_cast<double>(kMaxStackBytes)))
              return fail(
                  error, at,
                  "step %zu (longjmp_leak): expected depth 1 to %zu and depth × size <= %zu", step,
                  kMaxDescentDepth, kMaxStackBytes);
            if (info->op == kFreeHookInstall && !is_integer(args[0], 0, 1))
              return fail(error, at, "step %zu (free_hook_install): trim must be 0 or 1", step);
            return true;
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
  unmap_plain(slots, states);
  return ok;
}

}  // namespace malloclab
