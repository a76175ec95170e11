// The worker-thread primitive: a native thread, parked on a condition variable,
// that runs one piece of work at a time on request while the caller waits. glibc
// gives a thread an arena of its own on its first malloc, so the work's
// allocations come from that thread's arena. It never mallocs itself. The
// checked API's allocator threads and the interpreter's thread steps run on it.
#pragma once

#include <pthread.h>

namespace malloclab {

struct ParkedThread {
  pthread_t handle;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  bool running;
  bool stop;
  bool has_work;
  void (*work)(void* context);
  void* context;
};

// Starts the thread (thread need not be initialised). Returns 0 or pthread_create's error.
int parked_thread_start(ParkedThread* thread);
// Runs work(context) on the thread and returns when it has finished. Callers on
// other threads queue: each waits for the work before its own.
void parked_thread_run(ParkedThread* thread, void (*work)(void*), void* context);
// Stops and joins the thread; nothing happens when it is not running.
void parked_thread_stop(ParkedThread* thread);

}  // namespace malloclab
