// Limits that turn an absurd request into an error instead of an OOM kill or a
// hang. The checked API (block sets, allocator threads) and the step interpreter
// (batch_alloc, thread_start) refuse the same things, so the numbers live here once.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace malloclab {

// The largest integer a double (a JavaScript number, a program's value) carries exactly.
inline constexpr int64_t kMaxExactInteger = (int64_t{1} << 53) - 1;
inline constexpr double kMaxExact = static_cast<double>(kMaxExactInteger);

// Blocks in one batch: 2^28 is the seed's 1 GiB of 4-byte mallocs.
inline constexpr size_t kMaxBatchBlocks = size_t{1} << 28;
// Sizes in one batch's repeating pattern.
inline constexpr size_t kMaxPatternLength = 64;
// Native threads that run allocator calls at once (per process, and per step program).
inline constexpr size_t kMaxThreads = 1024;
// Block sets live at once (the checked API's allocBatch).
inline constexpr size_t kMaxSets = 4096;
// Child processes a step program holds at once (fork_hold).
inline constexpr size_t kMaxChildren = 64;
// The largest alloca a step takes (or descent: depth × size), whatever RLIMIT_STACK allows,
// and the deepest descent before a longjmp.
inline constexpr size_t kMaxStackBytes = size_t{64} << 20;
inline constexpr size_t kMaxDescentDepth = 64;

}  // namespace malloclab
