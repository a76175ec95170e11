#include "plain_thread.h"

namespace malloclab {

namespace {

void* park(void* argument) {
  ParkedThread* self = static_cast<ParkedThread*>(argument);
  pthread_mutex_lock(&self->mutex);
  for (;;) {
    while (!self->has_work && !self->stop) pthread_cond_wait(&self->wake, &self->mutex);
    if (!self->has_work) break;
    self->work(self->context);
    self->has_work = false;
    pthread_cond_broadcast(&self->wake);
  }
  pthread_mutex_unlock(&self->mutex);
  return nullptr;
}

}  // namespace

int parked_thread_start(ParkedThread* thread) {
  pthread_mutex_init(&thread->mutex, nullptr);
  pthread_cond_init(&thread->wake, nullptr);
  thread->stop = false;
  thread->has_work = false;
  int err = pthread_create(&thread->handle, nullptr, park, thread);
  thread->running = err == 0;
  if (err != 0) {
    pthread_mutex_destroy(&thread->mutex);
    pthread_cond_destroy(&thread->wake);
  }
  return err;
}

void parked_thread_run(ParkedThread* thread, void (*work)(void*), void* context) {
  pthread_mutex_lock(&thread->mutex);
  while (thread->has_work) pthread_cond_wait(&thread->wake, &thread->mutex);
  thread->work = work;
  thread->context = context;
  thread->has_work = true;
  pthread_cond_broadcast(&thread->wake);
  while (thread->has_work) pthread_cond_wait(&thread->wake, &thread->mutex);
  pthread_mutex_unlock(&thread->mutex);
}

void parked_thread_stop(ParkedThread* thread) {
  if (!thread->running) return;
  pthread_mutex_lock(&thread->mutex);
  thread->stop = true;
  pthread_cond_broadcast(&thread->wake);
  pthread_mutex_unlock(&thread->mutex);
  pthread_join(thread->handle, nullptr);
  pthread_mutex_destroy(&thread->mutex);
  pthread_cond_destroy(&thread->wake);
  thread->running = false;
}

}  // namespace malloclab
