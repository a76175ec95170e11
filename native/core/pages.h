// Pages: residency (mincore), advice, locking and anonymous mappings.
#pragma once

#include <cstddef>
#include <cstdint>

#include "plain_pages.h"

namespace malloclab {

// mincore(2) over any range (it only reads residency). address must be
// page-aligned; vector receives one byte per page (bit 0: resident).
// Returns the number of resident pages.
size_t checked_mincore(uintptr_t address, size_t length, uint8_t* vector, size_t vector_length);

// These change memory, so [address, address + length) must lie inside one live
// region this library owns. madvise needs a page-aligned address, and the
// page-rounded range must stay inside the region.
void checked_madvise(uintptr_t address, size_t length, int advice);
void checked_mlock(uintptr_t address, size_t length);
void checked_munlock(uintptr_t address, size_t length);

uintptr_t checked_mmap(size_t length, bool populate, uint32_t owner);
// Unmaps a whole mapping made by checked_mmap.
void checked_munmap(uintptr_t address, size_t length);

}  // namespace malloclab
