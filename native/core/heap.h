// The allocator's own controls and statistics: the program break, mallopt,
// malloc_trim, mallinfo2, malloc_info and malloc_stats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "plain.h"

namespace malloclab {

uintptr_t program_break();
// Returns the previous break. A negative increment may only give back memory
// that an earlier sbrk of this library took, while the break has not moved since.
uintptr_t checked_sbrk(intptr_t increment, uint32_t owner);

// Throws ERR_UNKNOWN_MALLOPT_PARAM for a parameter glibc 2.36 does not act on
// (glibc itself silently returns 1 for those), ERR_MALLOPT_REJECTED when glibc
// returns 0.
void checked_mallopt(int parameter, int value);
// Returns 1 if memory was released to the system, 0 otherwise (as glibc does).
int trim(size_t pad);

// malloc_info(0, …) captured in memory (never through stdout).
std::string capture_malloc_info();
// malloc_stats() captured by pointing stderr at a memfd for the call.
std::string capture_malloc_stats();

const char* libc_version();

}  // namespace malloclab
