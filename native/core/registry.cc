#include "registry.h"

#include "outside_heap.h"

namespace malloclab {

const char* region_kind_name(RegionKind kind) {
  switch (kind) {
    case RegionKind::kHeap:
      return "heap";
    case RegionKind::kMapping:
      return "mapping";
    case RegionKind::kBreak:
      return "break";
  }
  return "unknown";
}

Registry* Registry::create() { return new (map_private(sizeof(Registry))) Registry(); }

void Registry::grow() {
  Region* old_slots = slots_;
  size_t old_capacity = capacity_;
  // Forget freed entries once they outnumber the live ones: they only serve
  // better error messages, and must not make the table grow without bound.
  bool keep_freed = freed_ <= live_ + 4096;
  size_t needed = (keep_freed ? used_ : live_) * 2 + 1;
  size_t capacity = 1024;
  while (capacity < needed * 2) capacity *= 2;
  slots_ = static_cast<Region*>(map_private(capacity * sizeof(Region)));
  capacity_ = capacity;
  used_ = 0;
  freed_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    const Region& region = old_slots[i];
    if (region.state == kLive || (keep_freed && region.state == kFreed)) {
      size_t j = slot_of(region.address);
      while (slots_[j].state != kEmpty) j = (j + 1) & (capacity_ - 1);
      slots_[j] = region;
      ++used_;
      if (region.state == kFreed) ++freed_;
    }
  }
  if (old_slots != nullptr) unmap_private(old_slots, old_capacity * sizeof(Region));
}

void Registry::move(Region* region, uintptr_t new_address, size_t new_size) {
  RegionKind kind = region->kind;
  uint32_t owner = region->owner;
  if (new_address == region->address) {
    live_bytes_ = live_bytes_ - region->size + new_size;
    region->size = new_size;
    return;
  }
  mark_freed(region);
  insert(new_address, new_size, kind, owner);
}

Lookup Registry::classify(uintptr_t address, uintptr_t* interior_base) {
  Region* exact = probe(address);
  if (exact != nullptr) return exact->state == kLive ? Lookup::kLive : Lookup::kFreed;
  // Only on the error path: a linear scan is fine.
  for (size_t i = 0; i < capacity_; ++i) {
    const Region& region = slots_[i];
    if (region.state == kLive && address > region.address &&
        address < region.address + (region.size == 0 ? 1 : region.size)) {
      if (interior_base != nullptr) *interior_base = region.address;
      return Lookup::kInterior;
    }
  }
  return Lookup::kUnknown;
}

}  // namespace malloclab
