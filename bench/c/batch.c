/*
 * The C reference for the batch case: COUNT x malloc(SIZE), then free them all,
 * the loop of seed 000 and TLPI's free_and_sbrk. The pointer array is allocated
 * once (like the seeds' static `char *ptr[MAX_ALLOCS]`), so a timed round is only
 * the malloc and free loops. Each round is timed inside this process with
 * clock_gettime(CLOCK_MONOTONIC).
 *
 *   batch COUNT SIZE WARMUP ROUNDS [threaded]
 *     runs WARMUP + ROUNDS rounds, prints each timed round's nanoseconds.
 *   batch COUNT SIZE WARMUP serve CMD_FIFO REPLY_FIFO [threaded]
 *     runs WARMUP rounds, then one round per byte read from CMD_FIFO, writing
 *     its nanoseconds as a line to REPLY_FIFO, until CMD_FIFO closes. The bench
 *     uses this to alternate C rounds with malloc-lab rounds on a warm heap.
 *
 * With `threaded`, an idle thread is started and joined first: glibc then takes its
 * multi-threaded paths (arena locks, atomic fastbin updates), as in any Node
 * process, which always has threads.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rounds.h"

static void* idle(void* argument) { return argument; }

static void** map_array(size_t count) {
  void** blocks = mmap(NULL, count * sizeof *blocks, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (blocks == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  return blocks;
}

static long long round_ns(void** blocks, size_t count, size_t size) {
  long long start = now_ns();
  for (size_t i = 0; i < count; ++i) {
    blocks[i] = malloc(size);
    if (blocks[i] == NULL) {
      perror("malloc");
      exit(1);
    }
  }
  for (size_t i = 0; i < count; ++i) free(blocks[i]);
  return now_ns() - start;
}

struct batch {
  void** blocks;
  size_t count;
  size_t size;
};

static double batch_round(void* state) {
  struct batch* batch = state;
  return (double)round_ns(batch->blocks, batch->count, batch->size);
}

int main(int argc, char** argv) {
  int serve = argc >= 5 && strcmp(argv[4], "serve") == 0;
  int expected = serve ? 7 : 5;
  int threaded = 0, bad = argc < expected;
  for (int i = expected; i < argc; ++i) {
    if (strcmp(argv[i], "threaded") == 0)
      threaded = 1;
    else
      bad = 1;
  }
  if (bad) {
    fprintf(stderr,
            "usage: %s COUNT SIZE WARMUP ROUNDS [threaded]\n"
            "       %s COUNT SIZE WARMUP serve CMD_FIFO REPLY_FIFO [threaded]\n",
            argv[0], argv[0]);
    return 2;
  }
  if (threaded) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle, NULL) != 0 || pthread_join(thread, NULL) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  size_t count = strtoull(argv[1], NULL, 10);
  struct batch batch = {map_array(count), count, strtoull(argv[2], NULL, 10)};
  return run_rounds(argv, serve, batch_round, &batch, "%.0f\n");
}
