// glibc's malloc debugging as the step interpreter uses it: mtrace/muntrace,
// mcheck/mprobe, and the old __free_hook. Since glibc 2.34 these act only when
// libc_malloc_debug.so is preloaded; libc.so.6 keeps stubs (mcheck returns -1,
// mprobe MCHECK_DISABLED, mtrace does nothing) and the hook variables only as
// compatibility symbols that its malloc never reads. Plain layer.
#pragma once

#include <stddef.h>

namespace malloclab {

void debug_mtrace();
void debug_muntrace();
// mcheck(NULL): 0, or -1 when malloc has already run (or mcheck is the stub).
int debug_mcheck();
// mprobe(block): an enum mcheck_status. With mcheck(NULL) active, a damaged block
// aborts the process (glibc's mabort) before this returns.
int debug_mprobe(void* block);

// Bits of free_hook_install's lookup.
enum HookLookup : int {
  kMallocHookDefault = 1,  // dlsym found a default-version __malloc_hook
  kFreeHookDefault = 2,    // dlsym found a default-version __free_hook
  kFreeHookCompat = 4,     // dlvsym found __free_hook at glibc's base version
};

// Points __free_hook (the default symbol, else the compatibility one) at a hook
// that counts the call, frees, and with trim calls malloc_trim(0). Not thread-safe
// against other threads' frees: child processes only. installed: 1 or 0.
void debug_free_hook_install(bool trim, double* installed, double* lookup);
// Clears the hook; calls: how often free() called it.
void debug_free_hook_remove(double* calls);

}  // namespace malloclab
