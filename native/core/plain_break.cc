#include "plain_break.h"

namespace malloclab {

size_t give_back_of(intptr_t increment) { return static_cast<size_t>(-(increment + 1)) + 1; }

BreakRefusal check_break_shrink(const BreakSegment* top, uintptr_t current, size_t give_back) {
  if (top == nullptr) return BreakRefusal::kNothingTaken;
  if (top->start + top->size != current) return BreakRefusal::kBreakMoved;
  if (give_back > top->size) return BreakRefusal::kTooMuch;
  return BreakRefusal::kNone;
}

bool shrink_segment(BreakSegment* top, size_t give_back) {
  top->size -= give_back;
  return top->size == 0;
}

}  // namespace malloclab
