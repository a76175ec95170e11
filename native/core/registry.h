// The registry of blocks and mappings this library handed out: the one policy
// the native layer owns. Every call that frees, resizes, writes or advises
// memory first proves here that the memory is ours and alive.
//
// Storage is an open-addressing table in mmap'd memory (not the glibc heap), so
// keeping the books does not move the program break or reuse freed chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace malloclab {

enum class RegionKind : uint8_t {
  kHeap = 1,     // malloc, calloc, realloc, memalign family
  kMapping = 2,  // anonymous mmap
  kBreak = 3,    // memory taken with sbrk
};

const char* region_kind_name(RegionKind kind);

struct Region {
  uintptr_t address;
  size_t size;     // bytes requested (the bound for reads and writes)
  uint32_t owner;  // the environment (main thread or Worker) that made it
  RegionKind kind;
  uint8_t state;  // Registry::kLive or Registry::kFreed
};

enum class Lookup { kLive, kFreed, kInterior, kUnknown };

class Registry {
 public:
  static constexpr uint8_t kEmpty = 0;
  static constexpr uint8_t kLive = 1;
  static constexpr uint8_t kFreed = 2;

  static Registry& instance() {
    // Never destroyed: Workers and exit handlers may still consult it at exit.
    static Registry* registry = create();
    return *registry;
  }

  // The lock guards every method; callers that need check-then-act atomicity
  // (free, realloc) hold it across the glibc call too.
  std::mutex& mutex() { return mutex_; }

  // The hot calls (insert, find_live, mark_freed) are inline: one hash and one
  // probe sequence per JS malloc or free.
  inline void insert(uintptr_t address, size_t size, RegionKind kind, uint32_t owner);
  // The live region starting exactly at address, or nullptr.
  inline Region* find_live(uintptr_t address);
  // Marks a live region freed, remembering it so a second free is named as such.
  inline void mark_freed(Region* region);
  // Moves a live region to a new address/size (realloc).
  void move(Region* region, uintptr_t new_address, size_t new_size);
  // What address is, for error messages; interior_base receives the start of
  // the live region that contains it, if any.
  Lookup classify(uintptr_t address, uintptr_t* interior_base);

  size_t live_count() const { return live_; }
  size_t live_bytes() const { return live_bytes_; }
  // Visits live regions; stops when visit returns false.
  template <typename Visit>
  void for_each_live(Visit visit) {
    for (size_t i = 0; i < capacity_; ++i)
      if (slots_[i].state == kLive && !visit(slots_[i])) return;
  }

 private:
  Registry() = default;
  static Registry* create();  // in mmap'd memory, not the glibc heap
  size_t slot_of(uintptr_t address) const {
    // Blocks are 16-byte aligned; Fibonacci hashing spreads the remaining bits.
    return static_cast<size_t>(((address >> 4) * 0x9E3779B97F4A7C15ull) >> 20) & (capacity_ - 1);
  }
  inline Region* probe(uintptr_t address);
  void grow();

  std::mutex mutex_;
  Region* slots_ = nullptr;
  size_t capacity_ = 0;  // a power of two
  size_t used_ = 0;      // live + freed slots
  size_t live_ = 0;
  size_t freed_ = 0;
  size_t live_bytes_ = 0;
};

inline Region* Registry::probe(uintptr_t address) {
  if (capacity_ == 0) return nullptr;
  for (size_t i = slot_of(address);; i = (i + 1) & (capacity_ - 1)) {
    Region& slot = slots_[i];
    if (slot.state == kEmpty) return nullptr;
    if (slot.address == address) return &slot;
  }
}

inline void Registry::insert(uintptr_t address, size_t size, RegionKind kind, uint32_t owner) {
  if ((used_ + 1) * 2 > capacity_) grow();
  // Entries are never removed, so one walk finds either the address (seen
  // before, now freed: glibc handed it out again, and it names the new block)
  // or the empty slot where it belongs.
  for (size_t i = slot_of(address);; i = (i + 1) & (capacity_ - 1)) {
    Region& slot = slots_[i];
    if (slot.state == kEmpty) {
      ++used_;
    } else if (slot.address == address) {
      if (slot.state == kFreed) --freed_;
    } else {
      continue;
    }
    slot = Region{address, size, owner, kind, kLive};
    break;
  }
  ++live_;
  live_bytes_ += size;
}

inline Region* Registry::find_live(uintptr_t address) {
  Region* region = probe(address);
  return region != nullptr && region->state == kLive ? region : nullptr;
}

inline void Registry::mark_freed(Region* region) {
  region->state = kFreed;
  --live_;
  live_bytes_ -= region->size;
  ++freed_;
}

}  // namespace malloclab
