#include "allocations.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "errors.h"
#include "plain_pages.h"

namespace malloclab {

namespace {

using Lock = std::lock_guard<std::mutex>;

uintptr_t record(void* block, size_t size, uint32_t owner, const char* function, int err) {
  if (block == nullptr) {
    throw_errno(function, err == 0 ? ENOMEM : err, "requested " + std::to_string(size) + " bytes");
  }
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  registry.insert(reinterpret_cast<uintptr_t>(block), size, RegionKind::kHeap, owner);
  return reinterpret_cast<uintptr_t>(block);
}

Region& require_heap_block(Registry& registry, uintptr_t address, const char* function) {
  Region& region = require_live(registry, address, function, "ptr");
  if (region.kind != RegionKind::kHeap) {
    throw Error(code::kNotOwned,
                std::string(function) + ": ptr " + hex(address) + " is a " +
                    region_kind_name(region.kind) +
                    " region, not a malloc block (expected an address from malloc, "
                    "calloc, realloc or the memalign family)");
  }
  return region;
}

void require_power_of_two(size_t alignment, const char* function) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    throw Error(code::kOutOfRange,
                std::string(function) + ": alignment must be a power of two, received " +
                    std::to_string(alignment),
                EINVAL, function);
  }
}

}  // namespace

Region& require_live(Registry& registry, uintptr_t address, const char* function,
                     const char* parameter) {
  Region* region = registry.find_live(address);
  if (region != nullptr) return *region;
  std::string name = std::string(function) + ": " + parameter + " " + hex(address);
  uintptr_t base = 0;
  switch (registry.classify(address, &base)) {
    case Lookup::kFreed:
      throw Error(code::kFreedPointer,
                  name +
                      " was already freed (expected a live block; a second free "
                      "would corrupt the heap)");
    case Lookup::kInterior:
      throw Error(code::kInteriorPointer, name + " points inside the block at " + hex(base) +
                                              " (expected the address the allocator returned)");
    default:
      throw Error(code::kUnknownPointer,
                  name +
                      " was never returned by malloc-lab (expected an address "
                      "from its malloc, calloc, realloc, memalign, mmap or sbrk)");
  }
}

void require_inside(const Region& region, size_t offset, size_t length, const char* function) {
  if (length == kToEnd && offset <= region.size) return;
  if (offset > region.size || length > region.size - offset) {
    throw Error(code::kOutOfBounds,
                std::string(function) + ": range [" + std::to_string(offset) + ", " +
                    std::to_string(offset) + " + " + std::to_string(length) + ") is outside the " +
                    std::to_string(region.size) + "-byte " + region_kind_name(region.kind) +
                    " region at " + hex(region.address) +
                    " (expected offset + length <= " + std::to_string(region.size) + ")");
  }
}

uintptr_t checked_malloc(size_t size, uint32_t owner) {
  errno = 0;
  void* block = malloc(size);
  if (__builtin_expect(block == nullptr, 0)) return record(block, size, owner, "malloc", errno);
  // The hot path (a JS malloc): no errno read, the registry insert inline.
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  registry.insert(reinterpret_cast<uintptr_t>(block), size, RegionKind::kHeap, owner);
  return reinterpret_cast<uintptr_t>(block);
}

uintptr_t checked_calloc(size_t count, size_t size, uint32_t owner) {
  errno = 0;
  void* block = calloc(count, size);
  size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) total = SIZE_MAX;
  return record(block, total, owner, "calloc", errno);
}

uintptr_t checked_realloc(uintptr_t address, size_t size, uint32_t owner) {
  if (address == 0) return checked_malloc(size, owner);
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_heap_block(registry, address, "realloc");
  if (size == 0) {
    registry.mark_freed(&region);
    // glibc frees the block and returns NULL for size 0.
    void* none = realloc(reinterpret_cast<void*>(address), 0);
    (void)none;
    return 0;
  }
  errno = 0;
  void* moved = realloc(reinterpret_cast<void*>(address), size);
  if (moved == nullptr) {
    // The old block is untouched and still ours.
    throw_errno("realloc", errno == 0 ? ENOMEM : errno,
                "requested " + std::to_string(size) + " bytes; the block at " + hex(address) +
                    " is unchanged");
  }
  registry.move(&region, reinterpret_cast<uintptr_t>(moved), size);
  return reinterpret_cast<uintptr_t>(moved);
}

void checked_free(uintptr_t address) {
  if (address == 0) return;
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  // The hot path (a live malloc block) checks inline; anything else goes through
  // require_heap_block, which looks again and throws the error that names it.
  Region* region = registry.find_live(address);
  if (__builtin_expect(region == nullptr || region->kind != RegionKind::kHeap, 0)) {
    region = &require_heap_block(registry, address, "free");
  }
  registry.mark_freed(region);
  free(reinterpret_cast<void*>(address));
}

uintptr_t checked_posix_memalign(size_t alignment, size_t size, uint32_t owner) {
  void* block = nullptr;
  int err = posix_memalign(&block, alignment, size);
  if (err != 0) {
    throw_errno("posix_memalign", err,
                "alignment " + std::to_string(alignment) +
                    " (expected a power of two multiple of " + std::to_string(sizeof(void*)) +
                    "), size " + std::to_string(size));
  }
  return record(block, size, owner, "posix_memalign", 0);
}

uintptr_t checked_aligned_alloc(size_t alignment, size_t size, uint32_t owner) {
  require_power_of_two(alignment, "aligned_alloc");
  errno = 0;
  void* block = aligned_alloc(alignment, size);
  return record(block, size, owner, "aligned_alloc", errno);
}

uintptr_t checked_memalign(size_t alignment, size_t size, uint32_t owner) {
  require_power_of_two(alignment, "memalign");
  errno = 0;
  void* block = memalign(alignment, size);
  return record(block, size, owner, "memalign", errno);
}

uintptr_t checked_valloc(size_t size, uint32_t owner) {
  errno = 0;
  void* block = valloc(size);
  return record(block, size, owner, "valloc", errno);
}

size_t checked_usable_size(uintptr_t address) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  require_heap_block(registry, address, "malloc_usable_size");
  return malloc_usable_size(reinterpret_cast<void*>(address));
}

void fill_bytes(uintptr_t address, size_t offset, size_t length, uint8_t value) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_live(registry, address, "fill", "ptr");
  require_inside(region, offset, length, "fill");
  if (length == kToEnd) length = region.size - offset;
  std::memset(reinterpret_cast<void*>(address + offset), value, length);
}

void touch_pages(uintptr_t address, size_t offset, size_t length) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_live(registry, address, "touch", "ptr");
  require_inside(region, offset, length, "touch");
  if (length == kToEnd) length = region.size - offset;
  touch_range(address + offset, length);
}

void read_bytes(uintptr_t address, size_t offset, size_t length, uint8_t* out) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_live(registry, address, "read", "ptr");
  require_inside(region, offset, length, "read");
  // An empty Uint8Array has no data pointer: memcpy(nullptr, …, 0) is undefined behaviour.
  if (length != 0) std::memcpy(out, reinterpret_cast<const void*>(address + offset), length);
}

void write_bytes(uintptr_t address, size_t offset, const uint8_t* in, size_t length) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_live(registry, address, "write", "ptr");
  require_inside(region, offset, length, "write");
  if (length != 0) std::memcpy(reinterpret_cast<void*>(address + offset), in, length);
}

}  // namespace malloclab

namespace malloclab {

size_t release_regions_of(uint32_t owner) {
  Registry& registry = Registry::instance();
  std::lock_guard<std::mutex> lock(registry.mutex());
  size_t released = 0;
  registry.for_each_live([&](Region& region) {
    if (region.owner != owner || region.kind == RegionKind::kBreak) return true;
    if (region.kind == RegionKind::kHeap) {
      free(reinterpret_cast<void*>(region.address));
    } else {
      munmap(reinterpret_cast<void*>(region.address), region.size);
    }
    registry.mark_freed(&region);
    ++released;
    return true;
  });
  return released;
}

}  // namespace malloclab
