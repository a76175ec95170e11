// Allocator threads: real native threads that stay alive and run allocator
// calls on request, so glibc picks *that* thread's arena. Calls are synchronous:
// the caller waits for the thread to finish the call. Blocks join the same
// registry; any thread may free them (glibc allows it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "plain.h"

namespace malloclab {

// What a thread can be asked to run (lib/bridge/threads.ts numbers them the same way).
enum class ThreadCall { kMalloc, kCalloc, kRealloc, kFree, kTrim, kFill, kTouch, kUsableSize };
// Each call's name and number, in ThreadCall's order, for the addon to export.
extern const NamedValues kThreadCalls;

// Returns a thread id; throws Error(ERR_LIMIT_EXCEEDED) past kMaxThreads (plain_bounds.h)
// and the errno of pthread_create (EAGAIN) when the system refuses.
uint32_t thread_start(uint32_t owner);
// Runs one call on thread id and returns its result (an address, a count or 0);
// a core Error raised on the thread is rethrown here.
uint64_t thread_call(uint32_t id, ThreadCall call, uint64_t a, uint64_t b, uint64_t c);
// Stops and joins the thread. Blocks it allocated stay allocated and registered.
void thread_stop(uint32_t id);
size_t live_threads();
// Stops every thread owner started (an environment being torn down).
void stop_threads_of(uint32_t owner);

// Which arena a live heap block's chunk belongs to: glibc marks chunks of
// non-main arenas (NON_MAIN_ARENA) and mmapped chunks (IS_MMAPPED) in the size word.
enum class ChunkArena { kMain, kThread, kMmapped };
ChunkArena chunk_arena(uintptr_t address);

// RLIMIT_STACK (soft, hard; -1 for unlimited) and glibc's default thread stack size.
void stack_limits(double* soft, double* hard, double* default_thread_stack);

}  // namespace malloclab
