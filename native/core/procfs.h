// Reads of /proc/<pid>/{status,smaps_rollup,statm} into caller-provided memory.
// Nothing here calls malloc: a snapshot must not change the heap it observes.
#pragma once

#include <cstddef>
#include <sys/types.h>

namespace malloclab {

struct FieldTable {
  const char* const* names;
  int count;
  bool kilobytes;  // values are "N kB" and are returned as bytes
};

// Fields of /proc/<pid>/status that carry sizes, in the kernel's names, then Threads.
extern const FieldTable kStatusFields;
// Fields of /proc/<pid>/smaps_rollup.
extern const FieldTable kSmapsRollupFields;
// /proc/<pid>/statm's seven columns, converted from pages to bytes.
extern const FieldTable kStatmFields;

// pid 0 means the calling process. out receives table.count values (NaN for a
// field this kernel does not print). Throws Error with the errno of a failed read.
void read_status(pid_t pid, double* out);
void read_smaps_rollup(pid_t pid, double* out);
void read_statm(pid_t pid, double* out);
// Resets VmHWM (writes 5 to /proc/<pid>/clear_refs).
void reset_peak_rss(pid_t pid);

// Parses "Name:  value [kB]" lines; exposed for the step interpreter and tests.
void parse_fields(const char* text, size_t length, const FieldTable& table, double* out);

}  // namespace malloclab
