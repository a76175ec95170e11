// Page facts shared by the checked API and the step interpreter: the page size,
// the touch loop that makes pages resident, and residency counting with mincore.
// Part of the plain layer: no exceptions, no malloc.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace malloclab {

size_t page_size();
size_t round_up_to_page(size_t length);

// Writes one byte per page of [address, address + length), keeping its value, so
// every page becomes resident. A write, not a read: reading untouched anonymous
// memory maps the shared zero page.
void touch_range(uintptr_t address, size_t length);

// mincore(2) over [start, start + length), start page-aligned, in chunks of
// vector_entries pages (vector holds each chunk's bytes in turn; bit 0 is
// "resident"). *resident receives the resident pages counted. Returns 0, or the
// errno of the chunk mincore refused (*resident then counts the chunks before it).
int count_resident(uintptr_t start, size_t length, uint8_t* vector, size_t vector_entries,
                   size_t* resident);

}  // namespace malloclab
