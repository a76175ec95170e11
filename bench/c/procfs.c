/*
 * The C references for the snapshot case.
 *
 *   procfs status ITERATIONS WARMUP ROUNDS
 *     open("/proc/self/status") + read + close + parse the 17 fields malloc-lab
 *     reports (kB converted to bytes), ITERATIONS times per round.
 *   procfs statm ITERATIONS WARMUP ROUNDS
 *     pread of /proc/self/statm through a descriptor kept open + parse the 7
 *     numbers (pages converted to bytes), ITERATIONS times per round.
 *
 * Prints nanoseconds per iteration, one line per round (timed with
 * clock_gettime(CLOCK_MONOTONIC) inside this process).
 *
 *   procfs status|statm ITERATIONS WARMUP serve CMD_FIFO REPLY_FIFO
 *     after the warm-up, runs one round per byte read from CMD_FIFO and writes
 *     its nanoseconds per iteration as a line to REPLY_FIFO (see batch.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rounds.h"

static const char* const names[] = {
    "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS",  "RssAnon",      "RssFile", "RssShmem",
    "VmData", "VmStk",  "VmExe", "VmLib", "VmPTE", "VmSwap", "HugetlbPages", "Threads"};
enum { kFields = sizeof names / sizeof names[0] };

static volatile double sink;

static void parse_status(const char* text, size_t length, double* out) {
  for (int i = 0; i < kFields; ++i) out[i] = NAN;
  const char* end = text + length;
  for (const char* line = text; line < end;) {
    const char* newline = memchr(line, '\n', (size_t)(end - line));
    const char* line_end = newline ? newline : end;
    const char* colon = memchr(line, ':', (size_t)(line_end - line));
    if (colon) {
      size_t name_length = (size_t)(colon - line);
      for (int i = 0; i < kFields; ++i) {
        if (strncmp(names[i], line, name_length) == 0 && names[i][name_length] == '\0') {
          const char* p = colon + 1;
          while (p < line_end && (*p == ' ' || *p == '\t')) ++p;
          double value = 0;
          while (p < line_end && *p >= '0' && *p <= '9') value = value * 10 + (*p++ - '0');
          out[i] = (p + 3 <= line_end && memcmp(p, " kB", 3) == 0) ? value * 1024 : value;
          break;
        }
      }
    }
    line = line_end + 1;
  }
}

static void status_once(double* out) {
  char buffer[16384];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("open");
    exit(1);
  }
  ssize_t length = read(fd, buffer, sizeof buffer);
  close(fd);
  if (length < 0) {
    perror("read");
    exit(1);
  }
  parse_status(buffer, (size_t)length, out);
}

static int statm_fd = -1;

static void statm_once(double* out) {
  char buffer[256];
  ssize_t length = pread(statm_fd, buffer, sizeof buffer - 1, 0);
  if (length < 0) {
    perror("pread");
    exit(1);
  }
  buffer[length] = '\0';
  const double page = (double)sysconf(_SC_PAGESIZE);
  const char* p = buffer;
  for (int i = 0; i < 7; ++i) {
    char* next = NULL;
    unsigned long long pages = strtoull(p, &next, 10);
    out[i] = next == p ? NAN : (double)pages * page;
    p = next;
  }
}

static double round_ns(int statm, long iterations) {
  double out[kFields];
  long long start = now_ns();
  for (long i = 0; i < iterations; ++i) {
    if (statm)
      statm_once(out);
    else
      status_once(out);
    sink = out[5];
  }
  return (double)(now_ns() - start) / (double)iterations;
}

struct procfs {
  int statm;
  long iterations;
};

static double procfs_round(void* state) {
  struct procfs* procfs = state;
  return round_ns(procfs->statm, procfs->iterations);
}

int main(int argc, char** argv) {
  int serve = argc == 7 && strcmp(argv[4], "serve") == 0;
  if (argc != 5 && !serve) {
    fprintf(stderr,
            "usage: %s status|statm ITERATIONS WARMUP ROUNDS\n"
            "       %s status|statm ITERATIONS WARMUP serve CMD_FIFO REPLY_FIFO\n",
            argv[0], argv[0]);
    return 2;
  }
  int statm = strcmp(argv[1], "statm") == 0;
  long iterations = atol(argv[2]);
  if (statm) {
    statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (statm_fd < 0) {
      perror("open");
      return 1;
    }
  }
  struct procfs procfs = {statm, iterations};
  return run_rounds(argv, serve, procfs_round, &procfs, "%.1f\n");
}
