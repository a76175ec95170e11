// Reads of /proc/<pid>/{status,smaps_rollup,statm} into caller-provided memory.
// Nothing here calls malloc: a snapshot must not change the heap it observes.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "plain.h"

namespace malloclab {

// pid 0 means the calling process. out receives table.count values (NaN for a
// field this kernel does not print). Throws Error with the errno of a failed read.
void read_status(pid_t pid, double* out);
void read_smaps_rollup(pid_t pid, double* out);
void read_statm(pid_t pid, double* out);
// This process's status, sbrk(0) and mallinfo2 in one read (plain.h's sample
// layout, kSampleWidth values); throws as read_status does.
void read_self_sample(double* out);
// Resets VmHWM (writes 5 to /proc/<pid>/clear_refs).
void reset_peak_rss(pid_t pid);

}  // namespace malloclab
