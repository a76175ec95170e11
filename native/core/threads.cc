#include "threads.h"

#include <pthread.h>
#include <sys/resource.h>

#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <string>

#include "allocations.h"
#include "errors.h"
#include "heap.h"
#include "outside_heap.h"
#include "plain_bounds.h"
#include "plain_thread.h"

namespace malloclab {

namespace {

const NamedValue kThreadCallEntries[] = {
    {"malloc", static_cast<int>(ThreadCall::kMalloc)},
    {"calloc", static_cast<int>(ThreadCall::kCalloc)},
    {"realloc", static_cast<int>(ThreadCall::kRealloc)},
    {"free", static_cast<int>(ThreadCall::kFree)},
    {"malloc_trim", static_cast<int>(ThreadCall::kTrim)},
    {"fill", static_cast<int>(ThreadCall::kFill)},
    {"touch", static_cast<int>(ThreadCall::kTouch)},
    {"malloc_usable_size", static_cast<int>(ThreadCall::kUsableSize)}};

}  // namespace

const NamedValues kThreadCalls = named_table(kThreadCallEntries);

namespace {

struct AllocatorThread {
  uint32_t id = 0;  // 0: unused slot
  uint32_t owner = 0;
  ParkedThread thread{};
};

struct ThreadTable {
  std::mutex mutex;  // guards id/owner of slots and next_id
  uint32_t next_id = 1;
  AllocatorThread threads[kMaxThreads];
};

ThreadTable& table() {
  static ThreadTable* threads = new (map_private(sizeof(ThreadTable))) ThreadTable();
  return *threads;
}

// One call, handed to the thread: its arguments, and its result or error. The error is
// carried as a value, not a std::exception_ptr: with GCC 12 that needs CXXABI_1.3.13, and
// the published addon must load with the libstdc++ of glibc-2.28 systems (GCC 8:
// GLIBCXX_3.4.25, CXXABI_1.3.11).
struct Call {
  ThreadCall call;
  uint32_t owner;
  uint64_t a, b, c;
  uint64_t result = 0;
  std::optional<Error> error;
  bool out_of_memory = false;
};

uint64_t execute(const Call& call) {
  switch (call.call) {
    case ThreadCall::kMalloc:
      return checked_malloc(call.a, call.owner);
    case ThreadCall::kCalloc:
      return checked_calloc(call.a, call.b, call.owner);
    case ThreadCall::kRealloc:
      return checked_realloc(call.a, call.b, call.owner);
    case ThreadCall::kFree:
      checked_free(call.a);
      return 0;
    case ThreadCall::kTrim:
      return static_cast<uint64_t>(trim(call.a));
    case ThreadCall::kFill:
      fill_bytes(call.a, 0, kToEnd, static_cast<uint8_t>(call.b));
      return 0;
    case ThreadCall::kTouch:
      touch_pages(call.a, 0, kToEnd);
      return 0;
    case ThreadCall::kUsableSize:
      return checked_usable_size(call.a);
  }
  return 0;
}

// Runs on the parked thread: no exception may leave it (the plain layer is below).
void execute_call(void* context) {
  Call& call = *static_cast<Call*>(context);
  try {
    call.result = execute(call);
  } catch (const Error& error) {
    call.error = error;
  } catch (const std::bad_alloc&) {
    call.out_of_memory = true;
  }
}

AllocatorThread& find(ThreadTable& threads, uint32_t id, const char* function) {
  for (AllocatorThread& thread : threads.threads)
    if (id != 0 && thread.id == id) return thread;
  throw Error(code::kOutOfRange,
              std::string(function) + ": thread " + std::to_string(id) +
                  " is not running (expected an id from startThread, not yet closed)");
}

void join(AllocatorThread& thread) {
  parked_thread_stop(&thread.thread);
  thread.id = 0;
}

}  // namespace

uint32_t thread_start(uint32_t owner) {
  ThreadTable& threads = table();
  std::lock_guard<std::mutex> lock(threads.mutex);
  AllocatorThread* slot = nullptr;
  for (AllocatorThread& thread : threads.threads) {
    if (thread.id == 0) {
      slot = &thread;
      break;
    }
  }
  if (slot == nullptr) {
    throw Error(code::kLimitExceeded,
                "startThread: " + std::to_string(kMaxThreads) +
                    " allocator threads are running (expected fewer; close some)");
  }
  slot->owner = owner;
  int err = parked_thread_start(&slot->thread);
  if (err != 0) throw_errno("pthread_create", err, "starting an allocator thread");
  slot->id = threads.next_id++;
  return slot->id;
}

uint64_t thread_call(uint32_t id, ThreadCall call, uint64_t a, uint64_t b, uint64_t c) {
  ThreadTable& threads = table();
  AllocatorThread* thread;
  {
    std::lock_guard<std::mutex> lock(threads.mutex);
    thread = &find(threads, id, "thread call");
  }
  Call work{call, thread->owner, a, b, c};
  parked_thread_run(&thread->thread, execute_call, &work);
  if (work.out_of_memory) throw std::bad_alloc();
  if (work.error) throw *work.error;
  return work.result;
}

void thread_stop(uint32_t id) {
  ThreadTable& threads = table();
  std::lock_guard<std::mutex> lock(threads.mutex);
  join(find(threads, id, "closeThread"));
}

size_t live_threads() {
  ThreadTable& threads = table();
  std::lock_guard<std::mutex> lock(threads.mutex);
  size_t count = 0;
  for (AllocatorThread& thread : threads.threads) count += thread.id != 0;
  return count;
}

void stop_threads_of(uint32_t owner) {
  ThreadTable& threads = table();
  std::lock_guard<std::mutex> lock(threads.mutex);
  for (AllocatorThread& thread : threads.threads)
    if (thread.id != 0 && thread.owner == owner) join(thread);
}

namespace {
// glibc's size word sits just before the block, outside what malloc handed out.
// Reading it is the point, so AddressSanitizer (whose allocator keeps a redzone
// there) must not instrument this load; it is a plain 8-byte read either way.
__attribute__((no_sanitize("address"))) size_t chunk_size_word(uintptr_t address) {
  return *reinterpret_cast<const volatile size_t*>(address - sizeof(size_t));
}
}  // namespace

ChunkArena chunk_arena(uintptr_t address) {
  Registry& registry = Registry::instance();
  std::lock_guard<std::mutex> lock(registry.mutex());
  Region& region = require_live(registry, address, "blockArena", "ptr");
  if (region.kind != RegionKind::kHeap) {
    throw Error(code::kNotOwned, "blockArena: ptr " + hex(address) + " is a " +
                                     region_kind_name(region.kind) + " region, not a malloc block");
  }
  // The chunk's size word sits just before the block (glibc's chunk layout).
  size_t size_word = chunk_size_word(address);
  if (size_word & 0x2) return ChunkArena::kMmapped;
  return (size_word & 0x4) ? ChunkArena::kThread : ChunkArena::kMain;
}

void stack_limits(double* soft, double* hard, double* default_thread_stack) {
  struct rlimit limit;
  getrlimit(RLIMIT_STACK, &limit);
  *soft = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur);
  *hard = limit.rlim_max == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_max);
  pthread_attr_t attributes;
  size_t stack = 0;
  if (pthread_getattr_default_np(&attributes) == 0) {
    pthread_attr_getstacksize(&attributes, &stack);
    pthread_attr_destroy(&attributes);
  }
  *default_thread_stack = static_cast<double>(stack);
}

}  // namespace malloclab
