// The rule for moving the program break down. malloc's main heap sits just below
// the break, so a negative sbrk may only give back memory that malloc-lab's own
// most recent sbrk took, and only while the break is still where that sbrk left
// it (once malloc has moved it, shrinking would cut into malloc's heap). The
// checked sbrk and the interpreter's sbrk step keep their own ledgers of segments
// (most recent last) and ask this rule.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace malloclab {

struct BreakSegment {
  uintptr_t start;
  size_t size;
};

enum class BreakRefusal {
  kNone,          // allowed
  kNothingTaken,  // malloc-lab's sbrk took nothing (that is still out)
  kBreakMoved,    // the break moved since malloc-lab's last sbrk
  kTooMuch,       // more than the last sbrk took
};

// The bytes a negative increment gives back (INTPTR_MIN included, without overflow).
size_t give_back_of(intptr_t increment);

// May the break, now at current, go down by give_back? top is the most recent
// segment of the ledger (nullptr when it is empty).
BreakRefusal check_break_shrink(const BreakSegment* top, uintptr_t current, size_t give_back);

// Records an allowed shrink in top. Returns true when top is used up (pop it).
bool shrink_segment(BreakSegment* top, size_t give_back);

}  // namespace malloclab
