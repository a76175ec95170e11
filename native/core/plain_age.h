// The ageing workload: the churn that turns a fresh heap into one like a service's
// after hours of work (many small blocks, some larger, a random part of them freed),
// run in the same native call as the step program that follows it. Deterministic for
// a seed. Part of the plain layer: no exceptions, no malloc of its own.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace malloclab {

// A share of the blocks (weight, in any unit: the weights' sum is the whole) whose
// sizes are drawn uniformly from [min, max].
struct AgeClass {
  uint32_t weight;
  size_t min;
  size_t max;
};
inline constexpr size_t kMaxAgeClasses = 16;
// The largest block a class may ask for (1 GiB).
inline constexpr size_t kMaxAgeBlockSize = size_t{1} << 30;
// Shares are given in basis points (1/100 of a percent) of the blocks.
inline constexpr uint32_t kAgeBasisPoints = 10000;

struct AgeResult {
  size_t made;  // blocks allocated (fewer than count: malloc returned NULL, errno kept)
  size_t kept;  // of those, still live: blocks[0..kept) (the rest were freed)
};

// count blocks (sizes from classes, each memset), then freed_basis_points of them
// freed in a random order; the survivors are moved to the front of blocks (which
// holds count entries). The same seed gives the same sizes and the same frees.
AgeResult age_heap(uintptr_t* blocks, size_t count, uint64_t seed, uint32_t freed_basis_points,
                   const AgeClass* classes, size_t class_count);

}  // namespace malloclab
