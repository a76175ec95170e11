#include "batches.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "errors.h"
#include "outside_heap.h"

namespace malloclab {

void validate_pattern(const PatternEntry* pattern, size_t pattern_length, size_t count) {
  if (pattern_length == 0 || pattern_length > kMaxPatternLength) {
    throw Error(code::kLimitExceeded, "batch: pattern has " + std::to_string(pattern_length) +
                                          " entries (expected 1 to " +
                                          std::to_string(kMaxPatternLength) + ")");
  }
  if (count == 0 || count > kMaxBatchBlocks / pattern_length) {
    throw Error(code::kLimitExceeded, "batch: count " + std::to_string(count) + " x " +
                                          std::to_string(pattern_length) +
                                          " pattern entries is outside the limit (expected 1 to " +
                                          std::to_string(kMaxBatchBlocks) + " blocks in all)");
  }
  for (size_t k = 0; k < pattern_length; ++k) {
    if (pattern[k].fill < -1 || pattern[k].fill > 255) {
      throw Error(code::kOutOfRange, "batch: pattern[" + std::to_string(k) + "].fill is " +
                                         std::to_string(pattern[k].fill) +
                                         " (expected a byte 0-255 or none)");
    }
  }
}

void validate_rule(size_t total, size_t step, size_t min, size_t max) {
  if (step == 0 || min == 0 || min > max || max > total) {
    throw Error(code::kOutOfRange,
                "free rule: step " + std::to_string(step) + ", min " + std::to_string(min) +
                    ", max " + std::to_string(max) +
                    " (expected step >= 1 and 1 <= min <= max <= " + std::to_string(total) + ")");
  }
}

namespace {

struct BlockSet {
  uint32_t id;  // 0: slot unused
  uint32_t owner;
  OutsideVector<uintptr_t> blocks;
  PatternEntry pattern[kMaxPatternLength];
  size_t pattern_length;
  size_t live;
  size_t live_bytes;
};

struct SetTable {
  std::mutex mutex;
  uint32_t next_id = 1;
  BlockSet sets[kMaxSets];
};

SetTable& table() {
  static SetTable* sets = new (map_private(sizeof(SetTable))) SetTable();
  return *sets;
}

BlockSet& find(SetTable& sets, uint32_t id, const char* function) {
  if (id != 0) {
    for (BlockSet& set : sets.sets)
      if (set.id == id) return set;
  }
  throw Error(code::kUnknownSet,
              std::string(function) + ": set " + std::to_string(id) +
                  " is not a live block set (expected one returned by allocBatch and not "
                  "yet released)");
}

// Walks the pattern alongside the blocks: no division per block.
void recount(BlockSet& set) {
  size_t live = 0, bytes = 0, k = 0;
  for (size_t i = 0; i < set.blocks.size(); ++i) {
    if (set.blocks[i] != 0) {
      ++live;
      bytes += set.pattern[k].size;
    }
    if (++k == set.pattern_length) k = 0;
  }
  set.live = live;
  set.live_bytes = bytes;
}

void drop(BlockSet& set) {
  free_by_rule(set.blocks.data(), set.blocks.size(), 1, 1, set.blocks.size());
  set.blocks.release();
  set.id = 0;
}

}  // namespace

uint32_t set_allocate(const PatternEntry* pattern, size_t pattern_length, size_t count,
                      BatchKind kind, uint32_t owner) {
  validate_pattern(pattern, pattern_length, count);
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  BlockSet* slot = nullptr;
  for (BlockSet& set : sets.sets) {
    if (set.id == 0) {
      slot = &set;
      break;
    }
  }
  if (slot == nullptr) {
    throw Error(code::kLimitExceeded,
                "allocBatch: " + std::to_string(kMaxSets) +
                    " block sets are live (expected fewer; release sets you no longer need)");
  }
  size_t total = count * pattern_length;
  slot->blocks.resize(total);  // mmap'd, so the pointer array stays off the heap
  errno = 0;
  size_t made = allocate_pattern(slot->blocks.data(), pattern, pattern_length, count, kind);
  if (made < total) {
    int err = errno == 0 ? ENOMEM : errno;
    free_by_rule(slot->blocks.data(), made, 1, 1, made == 0 ? 1 : made);
    slot->blocks.release();
    throw_errno(kind == BatchKind::kCalloc ? "calloc" : "malloc", err,
                "block " + std::to_string(made) + " of " + std::to_string(total) + "; the " +
                    std::to_string(made) + " made before it were freed");
  }
  std::memcpy(slot->pattern, pattern, pattern_length * sizeof(PatternEntry));
  slot->pattern_length = pattern_length;
  slot->owner = owner;
  slot->id = sets.next_id++;
  // Every block is live right after allocation: no need to walk them.
  size_t round_bytes = 0;
  for (size_t k = 0; k < pattern_length; ++k) round_bytes += pattern[k].size;
  slot->live = total;
  slot->live_bytes = round_bytes * count;
  return slot->id;
}

size_t set_free(uint32_t id, size_t step, size_t min, size_t max) {
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  BlockSet& set = find(sets, id, "freeBatch");
  validate_rule(set.blocks.size(), step, min, max);
  size_t freed = free_by_rule(set.blocks.data(), set.blocks.size(), step, min, max);
  recount(set);
  return freed;
}

void set_release(uint32_t id) {
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  drop(find(sets, id, "releaseBatch"));
}

SetInfo set_info(uint32_t id) {
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  BlockSet& set = find(sets, id, "batchInfo");
  return SetInfo{set.blocks.size(), set.live, set.live_bytes};
}

uintptr_t set_address(uint32_t id, size_t index) {
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  BlockSet& set = find(sets, id, "batchAddress");
  if (index >= set.blocks.size()) {
    throw Error(code::kOutOfBounds, "batchAddress: index " + std::to_string(index) +
                                        " is outside the set (expected 0 to " +
                                        std::to_string(set.blocks.size() - 1) + ")");
  }
  return set.blocks[index];
}

size_t release_sets_of(uint32_t owner) {
  SetTable& sets = table();
  std::lock_guard<std::mutex> lock(sets.mutex);
  size_t released = 0;
  for (BlockSet& set : sets.sets) {
    if (set.id != 0 && set.owner == owner) {
      drop(set);
      ++released;
    }
  }
  return released;
}

}  // namespace malloclab
