// The version glibc's oldest symbols carry on this architecture: where glibc keeps the
// compatibility symbols the published binaries bind to (compat/glibc_floor.h) and the
// malloc hooks' compatibility symbols (plain_debug.cc). Left undefined elsewhere.
#pragma once

#if defined(__x86_64__)
#define MALLOC_LAB_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define MALLOC_LAB_GLIBC_BASE "GLIBC_2.17"
#endif
