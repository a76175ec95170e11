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

namespace malloclab {

namespace {

// A condition variable over std::mutex. Not std::condition_variable, nor std::exception_ptr
// below: with GCC 12 they need GLIBCXX_3.4.30 and CXXABI_1.3.13, and the published addon
// must load with the libstdc++ of glibc-2.28 systems (GCC 8: GLIBCXX_3.4.25, CXXABI_1.3.11).
class Wakeup {
 public:
  Wakeup() { pthread_cond_init(&cond_, nullptr); }
  ~Wakeup() { pthread_cond_destroy(&cond_); }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  template <class Ready>
  void wait(std::unique_lock<std::mutex>& lock, Ready ready) {
    while (!ready()) pthread_cond_wait(&cond_, lock.mutex()->native_handle());
  }
  void notify_all() { pthread_cond_broadcast(&cond_); }

 private:
  pthread_cond_t cond_;
};

struct AllocatorThread {
  uint32_t id = 0;  // 0: unused slot
  uint32_t owner = 0;
  pthread_t handle{};
  std::mutex mutex;
  Wakeup wake;
  bool stop = false;
  bool has_work = false;
  ThreadCall call{};
  uint64_t a = 0, b = 0, c = 0, result = 0;
  // What the call threw, carried back to the calling thread and thrown there.
  std::optional<Error> error;
  bool out_of_memory = false;
};

struct ThreadTable {
  std::mutex mutex;  // guards id/owner of slots and next_id
  uint32_t next_id = 1;
  AllocatorThread threads[kMaxAllocatorThreads];
};

ThreadTable& table() {
  static ThreadTable* threads = new (map_private(sizeof(ThreadTable))) ThreadTable();
  return *threads;
}

uint64_t execute(AllocatorThread& thread) {
  switch (thread.call) {
    case ThreadCall::kMalloc:
      return checked_malloc(thread.a, thread.owner);
    case ThreadCall::kCalloc:
      return checked_calloc(thread.a, thread.b, thread.owner);
    case ThreadCall::kRealloc:
      return checked_realloc(thread.a, thread.b, thread.owner);
    case ThreadCall::kFree:
      checked_free(thread.a);
      return 0;
    case ThreadCall::kTrim:
      return static_cast<uint64_t>(trim(thread.a));
    case ThreadCall::kFill:
      fill_bytes(thread.a, 0, kToEnd, static_cast<uint8_t>(thread.b));
      return 0;
    case ThreadCall::kTouch:
      touch_pages(thread.a, 0, kToEnd);
      return 0;
    case ThreadCall::kUsableSize:
      return checked_usable_size(thread.a);
  }
  return 0;
}

void* thread_main(void* argument) {
  AllocatorThread& thread = *static_cast<AllocatorThread*>(argument);
  std::unique_lock<std::mutex> lock(thread.mutex);
  for (;;) {
    thread.wake.wait(lock, [&] { return thread.has_work || thread.stop; });
    if (!thread.has_work) break;
    try {
      thread.result = execute(thread);
    } catch (const Error& error) {
      thread.error = error;
    } catch (const std::bad_alloc&) {
      thread.out_of_memory = true;
    }
    thread.has_work = false;
    thread.wake.notify_all();
  }
  return nullptr;
}

AllocatorThread& find(ThreadTable& threads, uint32_t id, const char* function) {
  for (AllocatorThread& thread : threads.threads)
    if (id != 0 && thread.id == id) return thread;
  throw Error(code::kOutOfRange,
              std::string(function) + ": thread " + std::to_string(id) +
                  " is not running (expected an id from startThread, not yet closed)");
}

void join(AllocatorThread& thread) {
  {
    std::lock_guard<std::mutex> lock(thread.mutex);
    thread.stop = true;
  }
  thread.wake.notify_all();
  pthread_join(thread.handle, nullptr);
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
                "startThread: " + std::to_string(kMaxAllocatorThreads) +
                    " allocator threads are running (expected fewer; close some)");
  }
  slot->owner = owner;
  slot->stop = false;
  slot->has_work = false;
  slot->error.reset();
  slot->out_of_memory = false;
  int err = pthread_create(&slot->handle, nullptr, thread_main, slot);
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
  std::unique_lock<std::mutex> lock(thread->mutex);
  thread->wake.wait(lock, [&] { return !thread->has_work; });  // another caller's call first
  thread->call = call;
  thread->a = a;
  thread->b = b;
  thread->c = c;
  thread->error.reset();
  thread->out_of_memory = false;
  thread->has_work = true;
  thread->wake.notify_all();
  thread->wake.wait(lock, [&] { return !thread->has_work; });
  if (thread->out_of_memory) throw std::bad_alloc();
  if (thread->error) {
    Error error = std::move(*thread->error);
    thread->error.reset();
    throw error;
  }
  return thread->result;
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
