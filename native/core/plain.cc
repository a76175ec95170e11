#include "plain.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plain_pages.h"

namespace malloclab {

namespace {
const char* const kStatusNames[] = {
    "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS",  "RssAnon",      "RssFile", "RssShmem",
    "VmData", "VmStk",  "VmExe", "VmLib", "VmPTE", "VmSwap", "HugetlbPages", "Threads"};
const char* const kSmapsRollupNames[] = {"Rss",
                                         "Pss",
                                         "Pss_Dirty",
                                         "Pss_Anon",
                                         "Pss_File",
                                         "Pss_Shmem",
                                         "Shared_Clean",
                                         "Shared_Dirty",
                                         "Private_Clean",
                                         "Private_Dirty",
                                         "Referenced",
                                         "Anonymous",
                                         "KSM",
                                         "LazyFree",
                                         "AnonHugePages",
                                         "ShmemPmdMapped",
                                         "FilePmdMapped",
                                         "Shared_Hugetlb",
                                         "Private_Hugetlb",
                                         "Swap",
                                         "SwapPss",
                                         "Locked"};
const char* const kStatmNames[] = {"size", "resident", "shared", "text", "lib", "data", "dt"};
}  // namespace

static_assert(sizeof kStatusNames / sizeof *kStatusNames == kStatusFieldCount);
const FieldTable kStatusFields = {kStatusNames, kStatusFieldCount};
const FieldTable kSmapsRollupFields = {kSmapsRollupNames, 22};
const FieldTable kStatmFields = {kStatmNames, 7};

void parse_fields(const char* text, size_t length, const FieldTable& table, double* out) {
  // Status has ~55 lines and 17 wanted names: lines whose first byte starts no wanted
  // name are skipped at once, and names are compared inline, stopping at the first
  // byte that differs (a strncmp call per name and line was a fifth of a snapshot).
  bool starts[256] = {};
  for (int i = 0; i < table.count; ++i) {
    out[i] = NAN;
    starts[static_cast<unsigned char>(table.names[i][0])] = true;
  }
  const char* end = text + length;
  const char* line = text;
  while (line < end) {
    const char* newline = static_cast<const char*>(memchr(line, '\n', end - line));
    const char* line_end = newline != nullptr ? newline : end;
    const char* colon = starts[static_cast<unsigned char>(*line)]
                            ? static_cast<const char*>(memchr(line, ':', line_end - line))
                            : nullptr;
    if (colon != nullptr) {
      for (int i = 0; i < table.count; ++i) {
        const char* name = table.names[i];
        const char* at = line;
        while (at < colon && *name != '\0' && *name == *at) {
          ++name;
          ++at;
        }
        if (at == colon && *name == '\0') {
          const char* p = colon + 1;
          while (p < line_end && (*p == ' ' || *p == '\t')) ++p;
          double value = 0;
          bool any = false;
          while (p < line_end && *p >= '0' && *p <= '9') {
            value = value * 10 + (*p - '0');
            any = true;
            ++p;
          }
          bool in_kb = p + 3 <= line_end && memcmp(p, " kB", 3) == 0;
          if (any) out[i] = in_kb ? value * 1024 : value;
          break;
        }
      }
    }
    line = line_end + 1;
  }
}

ssize_t read_proc_file(pid_t pid, const char* file, char* buffer, size_t size) {
  char path[64];
  if (pid == 0) {
    snprintf(path, sizeof path, "/proc/self/%s", file);
  } else {
    snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t length = 0;
  while (length < size) {
    ssize_t got = read(fd, buffer + length, size - length);
    if (got < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return -err;
    }
    if (got == 0) break;
    const bool short_read = static_cast<size_t>(got) < size - length;
    length += static_cast<size_t>(got);
    // /proc/<pid>/{status,statm,smaps_rollup} are generated whole on the first read
    // (seq_file single_open): a read that returns less than asked for has returned
    // the rest of the file, so the read that would return 0 is skipped.
    if (short_read) break;
  }
  close(fd);
  return static_cast<ssize_t>(length);
}

int read_status_plain(pid_t pid, double* out) {
  char buffer[8192];
  ssize_t length = read_proc_file(pid, "status", buffer, sizeof buffer);
  if (length < 0) return static_cast<int>(-length);
  parse_fields(buffer, static_cast<size_t>(length), kStatusFields, out);
  return 0;
}

const char* const kMallinfoFieldNames[kMallinfoFields] = {
    "arena",   "ordblks", "smblks",   "hblks",    "hblkhd",
    "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"};

namespace {
// struct mallinfo2's layout, declared here so the source builds against glibc < 2.33 too.
struct Mallinfo2Fields {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
typedef Mallinfo2Fields (*Mallinfo2Function)();

// glibc's version as major * 1000 + minor, read without allocating.
int glibc_version() {
  const char* text = gnu_get_libc_version();
  int major = 0, minor = 0;
  while (*text >= '0' && *text <= '9') major = major * 10 + (*text++ - '0');
  if (*text == '.') ++text;
  while (*text >= '0' && *text <= '9') minor = minor * 10 + (*text++ - '0');
  return major * 1000 + minor;
}

// Resolved once; a race between two first calls stores the same value twice. dlsym only
// from 2.34 on: before that it callocs on every first call, which would initialise the
// fresh host's heap before its first step (2.33 has mallinfo2 but that dlsym too).
Mallinfo2Function g_mallinfo2 = nullptr;
int g_mallinfo_resolved = 0;

Mallinfo2Function resolve_mallinfo2() {
  if (__atomic_load_n(&g_mallinfo_resolved, __ATOMIC_ACQUIRE) == 0) {
    const char* force = getenv("MALLOC_LAB_FORCE_MALLINFO");
    const bool forced = force != nullptr && strcmp(force, "1") == 0;
    // By version, as a linked call binds: a preloaded allocator that defines its own
    // mallinfo2@GLIBC_2.33 (libc_malloc_debug.so, with its own copy of malloc) is found
    // first, where an unversioned dlsym would skip its non-default version and read
    // libc's arenas, which that process no longer uses.
    void* found = !forced && glibc_version() >= 2034
                      ? dlvsym(RTLD_DEFAULT, "mallinfo2", "GLIBC_2.33")
                      : nullptr;
    __atomic_store_n(&g_mallinfo2, reinterpret_cast<Mallinfo2Function>(found), __ATOMIC_RELAXED);
    __atomic_store_n(&g_mallinfo_resolved, 1, __ATOMIC_RELEASE);
  }
  return __atomic_load_n(&g_mallinfo2, __ATOMIC_RELAXED);
}
}  // namespace

MallinfoSource mallinfo_source() {
  return resolve_mallinfo2() != nullptr ? MallinfoSource::kMallinfo2 : MallinfoSource::kMallinfo;
}

void read_mallinfo2(double* out) {
  Mallinfo2Function modern = resolve_mallinfo2();
  if (modern != nullptr) {
    const Mallinfo2Fields info = modern();
    const size_t values[kMallinfoFields] = {
        info.arena,   info.ordblks, info.smblks,   info.hblks,    info.hblkhd,
        info.usmblks, info.fsmblks, info.uordblks, info.fordblks, info.keepcost};
    for (int i = 0; i < kMallinfoFields; ++i) out[i] = static_cast<double>(values[i]);
    return;
  }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const struct mallinfo info = mallinfo();
#pragma GCC diagnostic pop
  const int values[kMallinfoFields] = {info.arena,    info.ordblks, info.smblks,  info.hblks,
                                       info.hblkhd,   info.usmblks, info.fsmblks, info.uordblks,
                                       info.fordblks, info.keepcost};
  // glibc stores each size_t count into an int: read back as unsigned, exact below 4 GiB.
  for (int i = 0; i < kMallinfoFields; ++i) {
    out[i] = static_cast<double>(static_cast<unsigned int>(values[i]));
  }
}

int read_sample(double* out) {
  int err = read_status_plain(0, out + kSampleStatus);
  out[kSampleBreak] = static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
  read_mallinfo2(out + kSampleMallinfo);
  return err;
}

namespace {
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
// The loop below writes every entry of the pointer array anyway; faulting its
// pages in with one madvise beforehand saves a trap per 512 entries (for 1 M
// blocks, 1954 page faults: about a tenth of mapping and filling the array).
// The same pages end up resident either way. Older kernels refuse it (EINVAL):
// then the loop faults them in as before.
void prefault(uintptr_t* blocks, size_t entries) {
  const size_t bytes = entries * sizeof *blocks;
  if (bytes < (size_t{64} << 10)) return;
  const uintptr_t page = page_size();
  const uintptr_t start = reinterpret_cast<uintptr_t>(blocks) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(blocks) + bytes;
  const int saved = errno;
  madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
  errno = saved;
}
}  // namespace

size_t allocate_pattern(uintptr_t* blocks, const PatternEntry* pattern, size_t pattern_length,
                        size_t count, BatchKind kind) {
  prefault(blocks, count * pattern_length);
  if (pattern_length == 1 && pattern[0].fill < 0 && kind == BatchKind::kMalloc) {
    // The seeds' loop (one size, no memset): malloc and the store, nothing else, as in C.
    const size_t size = pattern[0].size;
    for (size_t i = 0; i < count; ++i) {
      void* block = malloc(size);
      if (block == nullptr) return i;
      blocks[i] = reinterpret_cast<uintptr_t>(block);
    }
    return count;
  }
  size_t made = 0;
  for (size_t round = 0; round < count; ++round) {
    for (size_t k = 0; k < pattern_length; ++k) {
      const PatternEntry& entry = pattern[k];
      void* block = kind == BatchKind::kCalloc ? calloc(1, entry.size) : malloc(entry.size);
      if (block == nullptr) return made;
      if (entry.fill >= 0) memset(block, entry.fill, entry.size);
      blocks[made++] = reinterpret_cast<uintptr_t>(block);
    }
  }
  return made;
}

size_t free_by_rule(uintptr_t* blocks, size_t total, size_t step, size_t min, size_t max) {
  size_t freed = 0;
  for (size_t j = min - 1; j < max && j < total; j += step) {
    if (blocks[j] != 0) {
      free(reinterpret_cast<void*>(blocks[j]));
      blocks[j] = 0;
      ++freed;
    }
  }
  return freed;
}

namespace {
const NamedValue kAdviceEntries[] = {
    {"MADV_NORMAL", MADV_NORMAL},
    {"MADV_RANDOM", MADV_RANDOM},
    {"MADV_SEQUENTIAL", MADV_SEQUENTIAL},
    {"MADV_WILLNEED", MADV_WILLNEED},
    {"MADV_DONTNEED", MADV_DONTNEED},
    {"MADV_FREE", MADV_FREE},
    {"MADV_DONTFORK", MADV_DONTFORK},
    {"MADV_DOFORK", MADV_DOFORK},
    {"MADV_MERGEABLE", MADV_MERGEABLE},
    {"MADV_UNMERGEABLE", MADV_UNMERGEABLE},
    {"MADV_HUGEPAGE", MADV_HUGEPAGE},
    {"MADV_NOHUGEPAGE", MADV_NOHUGEPAGE},
    {"MADV_DONTDUMP", MADV_DONTDUMP},
    {"MADV_DODUMP", MADV_DODUMP},
    {"MADV_WIPEONFORK", MADV_WIPEONFORK},
    {"MADV_KEEPONFORK", MADV_KEEPONFORK},
    {"MADV_COLD", MADV_COLD},
    {"MADV_PAGEOUT", MADV_PAGEOUT},
    {"MADV_POPULATE_READ", MADV_POPULATE_READ},
    {"MADV_POPULATE_WRITE", MADV_POPULATE_WRITE},
};
}  // namespace

const NamedValues kMadviseAdvice = named_table(kAdviceEntries);

const NamedValue* find_value(const NamedValues& table, int value) {
  for (int i = 0; i < table.count; ++i)
    if (table.entries[i].value == value) return &table.entries[i];
  return nullptr;
}

bool is_known_madvise_advice(int advice) { return find_value(kMadviseAdvice, advice) != nullptr; }

void* map_plain(size_t bytes) {
  if (bytes == 0) bytes = 1;
  void* address = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return address == MAP_FAILED ? nullptr : address;
}

void unmap_plain(void* address, size_t bytes) {
  if (address != nullptr) munmap(address, bytes == 0 ? 1 : bytes);
}

}  // namespace malloclab
