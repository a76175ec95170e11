/*
 * The C reference for the sampler case: what `malloc-lab compare --tree` reads
 * per sample, done in C. The process tree under ROOT is found once; then each
 * iteration preads, through descriptors kept open, every member's
 * /proc/<pid>/statm (resident and shared pages), /proc/<pid>/stat (utime,
 * stime, cutime, cstime) and /proc/<pid>/task/<pid>/children, and parses them.
 *
 *   tree ROOT ITERATIONS WARMUP ROUNDS
 *   tree ROOT ITERATIONS WARMUP serve CMD_FIFO REPLY_FIFO
 *
 * Prints nanoseconds per iteration (one sweep over the tree), one line per round.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rounds.h"

enum { kMaxMembers = 1024 };

struct member {
  int statm;
  int stat;
  int children;
};

static struct member members[kMaxMembers];
static int member_count;
static volatile double sink;

static int open_proc(int pid, const char* file) {
  char path[128];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  return open(path, O_RDONLY | O_CLOEXEC);
}

/* Up to count numbers from text, separated by anything else. */
static int numbers(const char* text, ssize_t length, unsigned long long* out, int count) {
  int found = 0;
  const char* end = text + length;
  for (const char* p = text; p < end && found < count;) {
    if (*p < '0' || *p > '9') {
      ++p;
      continue;
    }
    unsigned long long value = 0;
    while (p < end && *p >= '0' && *p <= '9') value = value * 10 + (unsigned long long)(*p++ - '0');
    out[found++] = value;
  }
  return found;
}

static void add(int pid) {
  if (member_count == kMaxMembers) return;
  char children[48];
  snprintf(children, sizeof children, "task/%d/children", pid);
  struct member* member = &members[member_count++];
  member->statm = open_proc(pid, "statm");
  member->stat = open_proc(pid, "stat");
  member->children = open_proc(pid, children);
  char buffer[16384];
  ssize_t length = member->children < 0 ? -1 : pread(member->children, buffer, sizeof buffer, 0);
  unsigned long long pids[kMaxMembers];
  int found = length > 0 ? numbers(buffer, length, pids, kMaxMembers) : 0;
  for (int i = 0; i < found; ++i) add((int)pids[i]);
}

static double sweep(void) {
  char buffer[16384];
  double total = 0;
  for (int i = 0; i < member_count; ++i) {
    unsigned long long values[4];
    ssize_t length = pread(members[i].statm, buffer, sizeof buffer, 0);
    if (length > 0 && numbers(buffer, length, values, 3) == 3)
      total += (double)(values[1] - values[2]);
    length = pread(members[i].stat, buffer, sizeof buffer, 0);
    if (length > 0) {
      const char* close = memrchr(buffer, ')', (size_t)length);
      if (close != NULL) {
        /* After ") " come the state and then 12 fields before utime. */
        const char* p = close + 2;
        for (int spaces = 0; p < buffer + length && spaces < 12; ++p)
          if (*p == ' ') ++spaces;
        if (numbers(p, buffer + length - p, values, 4) == 4)
          total += (double)(values[0] + values[1]);
      }
    }
    length = pread(members[i].children, buffer, sizeof buffer, 0);
    unsigned long long pids[kMaxMembers];
    if (length > 0) total += numbers(buffer, length, pids, kMaxMembers);
  }
  return total;
}

struct tree {
  long iterations;
};

static double tree_round(void* state) {
  struct tree* tree = state;
  long long start = now_ns();
  for (long i = 0; i < tree->iterations; ++i) sink = sweep();
  return (double)(now_ns() - start) / (double)tree->iterations;
}

int main(int argc, char** argv) {
  int serve = argc == 7 && strcmp(argv[4], "serve") == 0;
  if (argc != 5 && !serve) {
    fprintf(stderr,
            "usage: %s ROOT ITERATIONS WARMUP ROUNDS\n"
            "       %s ROOT ITERATIONS WARMUP serve CMD_FIFO REPLY_FIFO\n",
            argv[0], argv[0]);
    return 2;
  }
  add(atoi(argv[1]));
  struct tree tree = {atol(argv[2])};
  return run_rounds(argv, serve, tree_round, &tree, "%.1f\n");
}
