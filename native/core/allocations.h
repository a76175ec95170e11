// The malloc family, checked against the registry, and byte access inside
// blocks this library returned. Each function does one glibc call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "registry.h"

namespace malloclab {

uintptr_t checked_malloc(size_t size, uint32_t owner);
uintptr_t checked_calloc(size_t count, size_t size, uint32_t owner);
// Mirrors C: realloc(0, n) allocates; realloc(p, 0) frees p and returns 0.
uintptr_t checked_realloc(uintptr_t address, size_t size, uint32_t owner);
// Mirrors C: free(0) does nothing.
void checked_free(uintptr_t address);
uintptr_t checked_posix_memalign(size_t alignment, size_t size, uint32_t owner);
uintptr_t checked_aligned_alloc(size_t alignment, size_t size, uint32_t owner);
uintptr_t checked_memalign(size_t alignment, size_t size, uint32_t owner);
uintptr_t checked_valloc(size_t size, uint32_t owner);
size_t checked_usable_size(uintptr_t address);

// Byte access: [offset, offset + length) must lie inside the live region that
// starts at address (a block, a mapping or sbrk'd memory). kToEnd as length
// means "from offset to the end of the region".
inline constexpr size_t kToEnd = SIZE_MAX;
void fill_bytes(uintptr_t address, size_t offset, size_t length, uint8_t value);
// Writes one byte per page (keeping its value) so every page becomes resident.
void touch_pages(uintptr_t address, size_t offset, size_t length);
void read_bytes(uintptr_t address, size_t offset, size_t length, uint8_t* out);
void write_bytes(uintptr_t address, size_t offset, const uint8_t* in, size_t length);

// Throws the error that says what address is (freed, interior, unknown) when it
// is not the start of a live region of the wanted kind. Lock held by caller.
Region& require_live(Registry& registry, uintptr_t address, const char* function,
                     const char* parameter);
// Throws ERR_OUT_OF_BOUNDS unless [offset, offset + length) lies in region.
void require_inside(const Region& region, size_t offset, size_t length, const char* function);

}  // namespace malloclab

namespace malloclab {
// Frees the heap blocks and unmaps the mappings owner still holds (memory taken
// with sbrk stays: only a negative sbrk may give it back). Returns the count.
size_t release_regions_of(uint32_t owner);
}  // namespace malloclab
