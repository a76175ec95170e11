// Process-level ops of the step interpreter: clocks, the heap's range, the
// process's share of memory, resource limits, locking all memory, a mapping that
// walls the break in, and child processes that allocate and exit. Plain layer.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plain_bounds.h"

namespace malloclab {

// monotonic: CLOCK_MONOTONIC; cpu: the calling thread's CPU time; both ns.
void process_clock(double* monotonic, double* cpu);

// start: the heap's start (start_brk, /proc/self/stat field 47); end: sbrk(0).
int process_heap_range(double* start, double* end);

// This process's Pss_Anon and Pss (/proc/self/smaps_rollup), in bytes: its share
// of pages it maps along with other processes.
int process_pss(double* pss_anon, double* pss);

// The resources prlimit may lower (only the ones that bound the heap).
bool is_limited_resource(double resource);
// Sets resource's soft limit to the current usage (VmData for RLIMIT_DATA, VmSize
// for RLIMIT_AS) plus headroom. limit: the new soft limit; usage: what was in use.
int process_limit(int resource, size_t headroom, double* limit, double* usage);

// One page mapped at the page-aligned break + gap (rounded up to a page), with
// MAP_FIXED_NOREPLACE: the break cannot grow past it. EEXIST when taken.
int process_map_above_break(size_t gap, uintptr_t* address, size_t* length);

struct Child {
  pid_t pid;           // 0: none
  int socket;          // -1 once the child was told to exit
  double cpu_at_hold;  // the child's CPU time (ns) when it reported holding its blocks
};

// fork(); the child mallocs count blocks of size (each followed by malloc(1) when
// spacer; written when fill), reports and waits. rss: the child's RssAnon then;
// growth: its mallinfo2().uordblks growth.
int child_hold(Child& child, size_t count, size_t size, bool spacer, bool fill, double* rss,
               double* growth);
// Lets the child free its blocks (free_first) and _exit(0), and waits for its exit
// without reaping it. rss: its RssAnon just before _exit; exited: its resident
// bytes as an exited (zombie) process, from /proc/<pid>/statm.
int child_exit(Child& child, bool free_first, double* rss, double* exited);
// Reaps an exited child. cpu: its CPU time from holding to its end (ns, wait4's
// rusage), status: its exit status.
int child_reap_timed(Child& child, double* cpu, double* status);
// Ends a child the program left (its socket closes; it exits) and reaps it.
void child_reap(Child& child);

}  // namespace malloclab
