// The mallopt(3) parameters glibc acts on. glibc itself returns 1 for any other
// parameter and does nothing, so both the checked mallopt and the interpreter's
// mallopt step refuse what is not in this table.
#pragma once

#include "plain.h"

namespace malloclab {

// M_MXFAST 1, M_TRIM_THRESHOLD -1, ... M_ARENA_MAX -8, in that order.
extern const NamedValues kMalloptParams;
bool is_known_mallopt_parameter(int parameter);

}  // namespace malloclab
