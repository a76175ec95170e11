// The plain layer: no exceptions, no C++ runtime, no malloc. It builds into the
// addon and into the standalone "fresh" executable, which must not link
// libstdc++ (whose start-up allocates 73 KiB and initialises the heap before main,
// unlike the seeds' C programs).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace malloclab {

struct FieldTable {
  const char* const* names;
  int count;
};

// A name for each of a set of C constants (mallopt parameters, madvise advice, ...):
// the table the plain layer checks against, and the one the addon exports to lib/.
struct NamedValue {
  const char* name;
  int value;
};
struct NamedValues {
  const NamedValue* entries;
  int count;
};
// The table of a static array of entries.
template <size_t N>
constexpr NamedValues named_table(const NamedValue (&entries)[N]) {
  return NamedValues{entries, static_cast<int>(N)};
}
// The entry whose value is value, or nullptr.
const NamedValue* find_value(const NamedValues& table, int value);

// /proc/<pid>/status fields in bytes ("kB" converted), then Threads.
inline constexpr int kStatusFieldCount = 17;
extern const FieldTable kStatusFields;
extern const FieldTable kSmapsRollupFields;
extern const FieldTable kStatmFields;

// Parses "Name:  value [kB]" lines into out (NaN where absent).
void parse_fields(const char* text, size_t length, const FieldTable& table, double* out);
// Reads /proc/<pid>/<file> (pid 0: self) into buffer. Returns length, or -errno.
ssize_t read_proc_file(pid_t pid, const char* file, char* buffer, size_t size);
// status parsed into out (kStatusFields.count values). Returns 0 or an errno.
int read_status_plain(pid_t pid, double* out);

inline constexpr int kMallinfoFields = 10;
extern const char* const kMallinfoFieldNames[kMallinfoFields];
// Positions in kMallinfoFieldNames (and in what read_mallinfo2 writes).
inline constexpr int kMallinfoHblkhd = 4;
inline constexpr int kMallinfoUordblks = 7;
// Which call fills the mallinfo fields. mallinfo2 (glibc 2.33+) is looked up at run time
// on glibc 2.34+; otherwise mallinfo, whose fields are int: they wrap past 4 GiB (read as
// unsigned).
// MALLOC_LAB_FORCE_MALLINFO=1 in the environment makes a process use mallinfo, as on an
// old glibc.
enum class MallinfoSource { kMallinfo = 1, kMallinfo2 = 2 };
MallinfoSource mallinfo_source();
void read_mallinfo2(double* out);

// What every snapshot records, in this order: status, sbrk(0), mallinfo2.
inline constexpr int kSampleStatus = 0;
inline constexpr int kSampleBreak = kSampleStatus + kStatusFieldCount;
inline constexpr int kSampleMallinfo = kSampleBreak + 1;
inline constexpr int kSampleWidth = kSampleMallinfo + kMallinfoFields;
int read_sample(double* out);

// Batch loops shared by block sets and the step interpreter.
struct PatternEntry {
  size_t size;
  int fill;  // byte written over the whole block, or -1 for none
};
enum class BatchKind { kMalloc = 0, kCalloc = 1 };
// count rounds of the pattern, in C's order. Returns how many were allocated;
// fewer than count * pattern_length means malloc returned NULL (errno kept).
size_t allocate_pattern(uintptr_t* blocks, const PatternEntry* pattern, size_t pattern_length,
                        size_t count, BatchKind kind);
// TLPI free_and_sbrk: for (j = min - 1; j < max; j += step) free(blocks[j]),
// skipping entries already freed (0). Returns how many it freed.
size_t free_by_rule(uintptr_t* blocks, size_t total, size_t step, size_t min, size_t max);

// The madvise advice values malloc-lab passes on (no MADV_HWPOISON and friends).
extern const NamedValues kMadviseAdvice;
bool is_known_madvise_advice(int advice);

// Anonymous memory outside the glibc heap; nullptr on failure (errno set).
void* map_plain(size_t bytes);
void unmap_plain(void* address, size_t bytes);

}  // namespace malloclab
