// Force-included (-include) in the published builds, whose floor is glibc 2.28. Linking
// against a newer glibc binds each symbol to its newest version; for the ones whose
// newest version is above 2.28, this names the version glibc 2.28 has instead (newer
// glibc keeps those old versions for exactly this). The ELF test in test/package.test.ts
// fails if a symbol above 2.28 gets through.
//
// pthread_* and dlsym/dlvsym moved from libpthread/libdl into libc in 2.34, which then gave them
// new versions; on older glibc they are found in libpthread.so.0 and libdl.so.2, which the
// portable build therefore links (native/malloc_lab.gypi). mallinfo2 (2.33) is looked up at
// run time instead (core/plain.cc).
#pragma once

#include "../core/plain_glibc_base.h"

#ifndef MALLOC_LAB_GLIBC_BASE
#error "the portable build knows the base glibc version of x86_64 and aarch64 only"
#endif

__asm__(".symver pthread_create,pthread_create@" MALLOC_LAB_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" MALLOC_LAB_GLIBC_BASE);
__asm__(".symver pthread_attr_getstacksize,pthread_attr_getstacksize@" MALLOC_LAB_GLIBC_BASE);
__asm__(".symver pthread_getattr_default_np,pthread_getattr_default_np@GLIBC_2.18");
__asm__(".symver dlsym,dlsym@" MALLOC_LAB_GLIBC_BASE);
__asm__(".symver dlvsym,dlvsym@" MALLOC_LAB_GLIBC_BASE);
// The fresh host's start-up (compat/floor_start.cc) calls this one.
__asm__(".symver malloc_lab_libc_start_main,__libc_start_main@" MALLOC_LAB_GLIBC_BASE);
