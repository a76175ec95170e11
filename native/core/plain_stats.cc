#include "plain_stats.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

namespace malloclab {

namespace {
pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;
}  // namespace

int capture_malloc_stats_fd(const char** failed_call) {
  pthread_mutex_lock(&stderr_lock);
  int memfd = memfd_create("malloc-lab-stats", MFD_CLOEXEC);
  if (memfd < 0) {
    int err = errno;
    if (failed_call != nullptr) *failed_call = "memfd_create";
    pthread_mutex_unlock(&stderr_lock);
    return -err;
  }
  fflush(stderr);
  int saved_stderr = dup(STDERR_FILENO);
  if (saved_stderr < 0 || dup2(memfd, STDERR_FILENO) < 0) {
    int err = errno;
    if (failed_call != nullptr) *failed_call = saved_stderr < 0 ? "dup" : "dup2";
    if (saved_stderr >= 0) close(saved_stderr);
    close(memfd);
    pthread_mutex_unlock(&stderr_lock);
    return -err;
  }
  malloc_stats();
  fflush(stderr);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  pthread_mutex_unlock(&stderr_lock);
  return memfd;
}

void count_arenas(const char* text, double* arenas, double* system_bytes) {
  double count = 0, bytes = 0;
  for (const char* line = strstr(text, "Arena "); line != nullptr;
       line = strstr(line + 1, "Arena ")) {
    count += 1;
    const char* system = strstr(line, "system bytes");
    const char* equals = system != nullptr ? strchr(system, '=') : nullptr;
    if (equals != nullptr) bytes += strtod(equals + 1, nullptr);
  }
  *arenas = count;
  *system_bytes = bytes;
}

}  // namespace malloclab
