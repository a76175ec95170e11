#include "plain_age.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

namespace malloclab {

namespace {

// splitmix64: small, fast, and the same on every platform for a seed.
uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) (bound > 0); the modulo bias is negligible for bounds far below 2^64.
uint64_t below(uint64_t* state, uint64_t bound) { return next_random(state) % bound; }

}  // namespace

AgeResult age_heap(uintptr_t* blocks, size_t count, uint64_t seed, uint32_t freed_basis_points,
                   const AgeClass* classes, size_t class_count) {
  uint64_t state = seed;
  uint64_t total_weight = 0;
  for (size_t k = 0; k < class_count; ++k) total_weight += classes[k].weight;
  AgeResult result{0, 0};
  for (; result.made < count; ++result.made) {
    uint64_t pick = below(&state, total_weight);
    size_t k = 0;
    while (pick >= classes[k].weight) pick -= classes[k++].weight;
    size_t size = classes[k].min + below(&state, classes[k].max - classes[k].min + 1);
    errno = 0;
    void* block = malloc(size);
    if (block == nullptr) break;
    memset(block, 0x5a, size);
    blocks[result.made] = reinterpret_cast<uintptr_t>(block);
  }
  // Fisher-Yates over the blocks made: the first `freed` of the shuffled order are freed
  // in that order, the rest move to the front.
  for (size_t i = result.made; i > 1; --i) {
    size_t j = below(&state, i);
    uintptr_t swap = blocks[i - 1];
    blocks[i - 1] = blocks[j];
    blocks[j] = swap;
  }
  size_t freed = static_cast<size_t>(static_cast<uint64_t>(result.made) * freed_basis_points /
                                     kAgeBasisPoints);
  int kept_errno = errno;
  for (size_t i = 0; i < freed; ++i) free(reinterpret_cast<void*>(blocks[i]));
  for (size_t i = freed; i < result.made; ++i) blocks[i - freed] = blocks[i];
  for (size_t i = result.made - freed; i < count; ++i) blocks[i] = 0;
  result.kept = result.made - freed;
  errno = kept_errno;
  return result;
}

}  // namespace malloclab
