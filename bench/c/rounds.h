/*
 * What both C references share: a monotonic clock, and running timed rounds
 * either standalone (print ROUNDS results) or served one per byte read from a
 * command FIFO, each result written back on a reply FIFO, so that
 * bench/lib/coprocess.mjs can alternate C rounds with malloc-lab rounds.
 */
#ifndef MALLOC_LAB_BENCH_ROUNDS_H
#define MALLOC_LAB_BENCH_ROUNDS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/*
 * argv[3] is WARMUP; then either argv[4] = ROUNDS, or argv[4] = "serve" with
 * argv[5] = CMD_FIFO and argv[6] = REPLY_FIFO. format prints one result.
 */
static int run_rounds(char** argv, int serve, double (*round)(void*), void* state,
                      const char* format) {
  int warmup = atoi(argv[3]);
  for (int i = 0; i < warmup; ++i) round(state);
  if (!serve) {
    int rounds = atoi(argv[4]);
    for (int i = 0; i < rounds; ++i) printf(format, round(state));
    return 0;
  }
  int commands = open(argv[5], O_RDONLY);
  int replies = open(argv[6], O_WRONLY);
  if (commands < 0 || replies < 0) {
    perror("open fifo");
    return 1;
  }
  char command;
  while (read(commands, &command, 1) == 1) {
    char line[48];
    int length = snprintf(line, sizeof line, format, round(state));
    if (write(replies, line, (size_t)length) != length) return 1;
  }
  return 0;
}

#endif
