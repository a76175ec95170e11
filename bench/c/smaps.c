/*
 * The C references for explain and export: the kernel's own cost of the files
 * they read, with nothing parsed.
 *
 *   smaps smaps PID WARMUP ROUNDS
 *     one round: open("/proc/PID/smaps") + read it all (64 KiB reads) + close.
 *   smaps rollups PID,PID,… WARMUP ROUNDS
 *     one round: open + read + close of /proc/PID/smaps_rollup for every pid.
 *
 * Prints nanoseconds per round, one line per round; with `serve CMD_FIFO
 * REPLY_FIFO` instead of ROUNDS, runs one round per byte read (rounds.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rounds.h"

enum { kMaxPids = 4096 };

struct files {
  int count;
  char paths[kMaxPids][48];
};

static volatile long long sink;

static double read_all(void* state) {
  struct files* files = state;
  static char buffer[1 << 16];
  long long start = now_ns();
  for (int i = 0; i < files->count; ++i) {
    int fd = open(files->paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror(files->paths[i]);
      exit(1);
    }
    ssize_t got;
    long long total = 0;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) total += got;
    close(fd);
    sink = total;
  }
  return (double)(now_ns() - start);
}

int main(int argc, char** argv) {
  int serve = argc == 7 && strcmp(argv[4], "serve") == 0;
  if (argc != 5 && !serve) {
    fprintf(stderr, "usage: smaps smaps|rollups PID[,PID…] WARMUP ROUNDS|serve CMD REPLY\n");
    return 2;
  }
  static struct files files;
  const char* file = strcmp(argv[1], "smaps") == 0 ? "smaps" : "smaps_rollup";
  char* pids = argv[2];
  for (char* pid = strtok(pids, ","); pid != NULL && files.count < kMaxPids;
       pid = strtok(NULL, ",")) {
    snprintf(files.paths[files.count++], sizeof files.paths[0], "/proc/%s/%s", pid, file);
  }
  return run_rounds(argv, serve, read_all, &files, "%.0f\n");
}
