// malloc_stats(3) captured instead of printed: glibc writes the report to stderr
// (without allocating), so for the call stderr points at a memfd. One home for the
// capture, its lock and its checks, used by the checked malloc_stats and by the
// interpreter's arenas step.
#pragma once

namespace malloclab {

// Runs malloc_stats() with stderr pointed at a new memfd, under a process-wide lock
// (two captures at once would swap each other's stderr), and puts stderr back.
// Returns the memfd holding the report (pread it from offset 0, then close it), or
// -errno when the memfd or the redirection could not be made (stderr untouched;
// failed_call, if given, names the call that failed).
int capture_malloc_stats_fd(const char** failed_call = nullptr);

// The arenas a malloc_stats report lists ("Arena N:") and the sum of their
// "system bytes". text is NUL-terminated.
void count_arenas(const char* text, double* arenas, double* system_bytes);

}  // namespace malloclab
