// What validation and the run share: reading the header, walking the steps, and
// the states a slot goes through. Internal to the interpreter (program_*.cc).
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "plain_bounds.h"
#include "program.h"

namespace malloclab {

enum SlotState : uint8_t { kEmpty = 0, kHeap = 1, kMapping = 2 };
// Validation only: a slot whose block was freed. It is empty for allocation, but
// its stale address must not reach realloc (realloc of a freed block corrupts the heap).
inline constexpr uint8_t kReleased = 3;
inline bool is_empty(uint8_t state) { return state == kEmpty || state == kReleased; }

struct Header {
  size_t slots;
  size_t sets;
  uint32_t flags;
  size_t steps;
};

inline bool is_integer(double value, double min, double max) {
  return value >= min && value <= max && floor(value) == value;
}

// Fills error (printf-style) and returns false, so checks read `return fail(...)`.
bool fail(ProgramError* error, long step, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

bool read_header(const double* program, size_t length, Header* header, ProgramError* error);

// Walks the steps; visit(index, info, args, argc) returns false to stop. Returns
// false (error filled) for a program whose steps do not parse.
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
    if (!is_integer(argc_value, 0, 3 + 2 * kMaxPatternLength) ||
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

}  // namespace malloclab
