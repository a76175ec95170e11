// Batches: the seeds' large loops (1024 x 10 KiB interleaved with 1-byte
// blocks; millions of 4-byte blocks) run here at C speed. The loops are shared
// by block sets (kept across calls) and the step interpreter.
#pragma once

#include <cstddef>
#include <cstdint>

#include "plain.h"
#include "plain_bounds.h"

namespace malloclab {

void validate_pattern(const PatternEntry* pattern, size_t pattern_length, size_t count);
void validate_rule(size_t total, size_t step, size_t min, size_t max);

// Block sets: a batch kept across calls. Their blocks are owned by the set (not
// the per-block registry), and are freed through it.
struct SetInfo {
  size_t blocks;
  size_t live;
  size_t live_bytes;
};

uint32_t set_allocate(const PatternEntry* pattern, size_t pattern_length, size_t count,
                      BatchKind kind, uint32_t owner);
size_t set_free(uint32_t id, size_t step, size_t min, size_t max);
void set_release(uint32_t id);
SetInfo set_info(uint32_t id);
uintptr_t set_address(uint32_t id, size_t index);
// Frees every set made by owner (an environment being torn down).
size_t release_sets_of(uint32_t owner);

}  // namespace malloclab
