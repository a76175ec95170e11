#include "plain_debug.h"

#include <dlfcn.h>
#include <malloc.h>
#include <mcheck.h>
#include <stdlib.h>

#include "plain_glibc_base.h"

namespace malloclab {

namespace {

// The hooks' compatibility symbols are bound at glibc's base version.
#ifdef MALLOC_LAB_GLIBC_BASE
constexpr const char* kGlibcBaseVersion = MALLOC_LAB_GLIBC_BASE;
#else
constexpr const char* kGlibcBaseVersion = "GLIBC_2.0";
#endif

using FreeHook = void (*)(void*, const void*);

FreeHook* hook_slot = nullptr;
size_t hook_calls = 0;
bool hook_trims = false;

void counting_free_hook(void* block, const void*) {
  __atomic_add_fetch(&hook_calls, 1, __ATOMIC_RELAXED);
  // The classic pattern: unhook, free through the allocator, hook again.
  *hook_slot = nullptr;
  free(block);
  if (hook_trims) malloc_trim(0);
  *hook_slot = counting_free_hook;
}

}  // namespace

void debug_mtrace() { mtrace(); }

void debug_muntrace() { muntrace(); }

int debug_mcheck() { return mcheck(nullptr); }

int debug_mprobe(void* block) { return mprobe(block); }

void debug_free_hook_install(bool trim, double* installed, double* lookup) {
  int found = 0;
  void* free_hook = dlsym(RTLD_DEFAULT, "__free_hook");
  if (dlsym(RTLD_DEFAULT, "__malloc_hook") != nullptr) found |= kMallocHookDefault;
  if (free_hook != nullptr) found |= kFreeHookDefault;
  void* compat = dlvsym(RTLD_DEFAULT, "__free_hook", kGlibcBaseVersion);
  if (compat != nullptr) found |= kFreeHookCompat;
  *lookup = found;
  hook_slot = static_cast<FreeHook*>(free_hook != nullptr ? free_hook : compat);
  *installed = hook_slot != nullptr ? 1 : 0;
  if (hook_slot == nullptr) return;
  hook_calls = 0;
  hook_trims = trim;
  *hook_slot = counting_free_hook;
}

void debug_free_hook_remove(double* calls) {
  if (hook_slot != nullptr) *hook_slot = nullptr;
  hook_slot = nullptr;
  *calls = static_cast<double>(__atomic_load_n(&hook_calls, __ATOMIC_RELAXED));
}

}  // namespace malloclab
