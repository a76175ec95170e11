// alloca() as the step interpreter uses it: stack memory that goes away when the
// function returns, or when longjmp() unwinds past it. Plain layer (no C++ runtime).
#pragma once

#include <stddef.h>

#include "plain_bounds.h"

namespace malloclab {

// alloca(size) in a function that writes each page of the block and returns.
// address: the block; caller_frame: a local of the calling frame. ENOMEM when the
// block would take more than half of RLIMIT_STACK.
int stack_alloca(size_t size, double* address, double* caller_frame);

// alloca(size), zeroed, handed to free() (call 0) or realloc(block, 2 × size)
// (call 1). glibc is expected to abort: child processes only. result: what
// realloc returned, or the block freed.
int stack_alloca_misuse(size_t size, int call, double* result);

// setjmp(), then depth nested calls that each malloc(size) and alloca(size), and a
// longjmp() from the deepest back to the setjmp(): the malloc'd blocks are never
// freed. bytes: what was malloc'd; deepest: the deepest alloca address.
int stack_longjmp_leak(size_t depth, size_t size, double* bytes, double* deepest);

}  // namespace malloclab
